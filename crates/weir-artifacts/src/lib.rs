//! Where run artifacts and task logs live on the local disk, and how artifact URIs map to the
//! local paths that tasks read and write.
//!
//! [`LocalArtifactStore`] lays out one directory per run under a root directory: the run
//! directory is the run's pipeline root, each task gets a directory below it named by its task
//! path, and task logs go to `<run>/.logs/`. Output artifact URIs are absolute local paths, so
//! tasks write their artifacts in place and nothing is copied.
//!
//! [`local_path_for_uri`] implements the mapping the KFP SDK (`kfp/dsl/types/artifact_types.py`,
//! kfp 2.17) and the KFP backend launcher use for `.path`: `gs://b/k` becomes `/gcs/b/k`, and so
//! on. This crate has no notion of pipelines, tasks or processes.

use std::path::{Path, PathBuf};

/// Local directory layout of run artifacts, task outputs and task logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalArtifactStore {
    root: PathBuf,
}

impl LocalArtifactStore {
    /// Creates a store rooted at `root`. Nothing is created on disk until a task writes.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalArtifactStore { root: root.into() }
    }

    /// Directory that contains every run.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Directory of one run (`<root>/<run_id>`), which is the run's pipeline root.
    pub fn run_root(&self, run_id: &str) -> PathBuf {
        self.root.join(safe_segment(run_id))
    }

    /// Directory of one task run (`<root>/<run_id>/<task_path>`).
    ///
    /// `task_path` is slash-separated, such as `for-loop-2/iteration-3/square`. Each segment is
    /// sanitized so the result always stays inside the run root: empty segments and `.` are
    /// dropped, a `..` segment becomes `%2E%2E`, a leading `/` is ignored, and backslashes and
    /// NUL bytes become `_`.
    pub fn task_root(&self, run_id: &str, task_path: &str) -> PathBuf {
        let mut path = self.run_root(run_id);
        for segment in task_path.split('/') {
            if segment.is_empty() || segment == "." {
                continue;
            }
            path.push(safe_segment(segment));
        }
        path
    }

    /// URI of an output artifact: the absolute local path `<task_root>/<output_name>`.
    ///
    /// The URI is a plain path (no `file://`), as kfp.local writes it, so `.path` of the
    /// artifact is the URI itself.
    pub fn output_uri(&self, run_id: &str, task_path: &str, output_name: &str) -> String {
        let path = self.task_root(run_id, task_path).join(safe_segment(output_name));
        absolute(&path).to_string_lossy().into_owned()
    }

    /// Log file of one task (`<root>/<run_id>/.logs/<task_id>.log`).
    pub fn log_path(&self, run_id: &str, task_id: &str) -> PathBuf {
        let file_name = format!("{}.log", safe_segment(task_id));
        self.run_root(run_id).join(".logs").join(file_name)
    }
}

/// Maps an artifact URI to the local path a task uses for it.
///
/// | URI | path |
/// |---|---|
/// | `gs://b/k` | `/gcs/b/k` |
/// | `s3://b/k` | `/s3/b/k` |
/// | `minio://b/k` | `/minio/b/k` |
/// | `oci://reg/img:tag` | `/oci/reg_img:tag/models` |
/// | `file:///p` | `/p` |
/// | anything else | the URI itself |
///
/// For `oci://` every `/` after the scheme becomes `_`, and `/models` is appended as the KFP
/// backend launcher does for every artifact (the SDK appends it only for `Model.path`).
pub fn local_path_for_uri(uri: &str) -> PathBuf {
    if let Some(rest) = uri.strip_prefix("gs://") {
        return PathBuf::from(format!("/gcs/{rest}"));
    }
    if let Some(rest) = uri.strip_prefix("s3://") {
        return PathBuf::from(format!("/s3/{rest}"));
    }
    if let Some(rest) = uri.strip_prefix("minio://") {
        return PathBuf::from(format!("/minio/{rest}"));
    }
    if let Some(rest) = uri.strip_prefix("oci://") {
        return PathBuf::from(format!("/oci/{}/models", rest.replace('/', "_")));
    }
    if let Some(rest) = uri.strip_prefix("file://") {
        return PathBuf::from(rest);
    }
    PathBuf::from(uri)
}

/// Turns one path segment into a name that cannot leave its parent directory.
fn safe_segment(segment: &str) -> String {
    match segment {
        "" => "_".to_string(),
        "." => "%2E".to_string(),
        ".." => "%2E%2E".to_string(),
        _ => segment.replace(['/', '\\', '\0'], "_"),
    }
}

/// Makes `path` absolute against the current directory, without touching the file system
/// beyond reading the current directory.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> LocalArtifactStore {
        LocalArtifactStore::new("/data/runs")
    }

    #[test]
    fn run_root_is_root_plus_run_id() {
        assert_eq!(store().run_root("r1"), PathBuf::from("/data/runs/r1"));
    }

    #[test]
    fn task_root_follows_task_path() {
        let root = store().task_root("r1", "for-loop-2/iteration-3/square");
        assert_eq!(root, PathBuf::from("/data/runs/r1/for-loop-2/iteration-3/square"));
    }

    #[test]
    fn task_root_never_leaves_run_root() {
        let cases = [
            ("../../etc", "/data/runs/r1/%2E%2E/%2E%2E/etc"),
            ("/abs/task", "/data/runs/r1/abs/task"),
            ("a/./b//c", "/data/runs/r1/a/b/c"),
            ("a\\..\\b", "/data/runs/r1/a_.._b"),
            ("", "/data/runs/r1"),
        ];
        for (task_path, expected) in cases {
            let root = store().task_root("r1", task_path);
            assert_eq!(root, PathBuf::from(expected), "task path {task_path:?}");
            assert!(root.starts_with("/data/runs/r1"), "task path {task_path:?}");
        }
    }

    #[test]
    fn run_id_cannot_escape_root() {
        assert_eq!(store().run_root(".."), PathBuf::from("/data/runs/%2E%2E"));
        assert_eq!(store().run_root("a/b"), PathBuf::from("/data/runs/a_b"));
        assert_eq!(store().run_root(""), PathBuf::from("/data/runs/_"));
    }

    #[test]
    fn output_uri_is_absolute_path() {
        let uri = store().output_uri("r1", "train", "model");
        assert_eq!(uri, "/data/runs/r1/train/model");
    }

    #[test]
    fn output_uri_of_relative_root_is_absolute() {
        let uri = LocalArtifactStore::new("rel").output_uri("r1", "t", "o");
        let expected = std::env::current_dir().unwrap().join("rel/r1/t/o");
        assert_eq!(uri, expected.to_string_lossy());
    }

    #[test]
    fn output_uri_sanitizes_output_name() {
        let uri = store().output_uri("r1", "t", "..");
        assert_eq!(uri, "/data/runs/r1/t/%2E%2E");
    }

    #[test]
    fn log_path_is_under_logs_dir() {
        let path = store().log_path("r1", "task-7");
        assert_eq!(path, PathBuf::from("/data/runs/r1/.logs/task-7.log"));
    }

    #[test]
    fn local_path_mapping() {
        let cases = [
            ("gs://bucket/key/file", "/gcs/bucket/key/file"),
            ("s3://bucket/key", "/s3/bucket/key"),
            ("minio://mlpipeline/v2/artifacts/x", "/minio/mlpipeline/v2/artifacts/x"),
            ("oci://registry.io/org/img:1.0", "/oci/registry.io_org_img:1.0/models"),
            ("file:///tmp/data.csv", "/tmp/data.csv"),
            ("/abs/local/path", "/abs/local/path"),
            ("relative/path", "relative/path"),
        ];
        for (uri, expected) in cases {
            assert_eq!(local_path_for_uri(uri), PathBuf::from(expected), "uri {uri}");
        }
    }
}
