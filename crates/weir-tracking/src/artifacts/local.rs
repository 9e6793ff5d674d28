//! The artifact folder on disk: resolving an [`ArtifactPath`] to a file below the root without
//! leaving it, listing a folder, deleting, and writing an upload through a temporary file.
//!
//! Every function that touches the disk resolves its path with [`resolve`] first. It joins the
//! parts to the root, then follows symbolic links in the longest existing prefix and checks
//! that the result is still inside the root, so neither `..` nor a link can reach other files.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use axum::body::{Body, HttpBody};
use tokio::io::{AsyncWriteExt, BufWriter};

use super::path::ArtifactPath;
use crate::error::{Result, TrackingError};

/// Name prefix of the temporary file an upload writes before it is renamed into place.
/// Listings hide such files and uploads may not use such names.
pub const UPLOAD_TEMP_PREFIX: &str = ".weir-upload.";

/// Write buffer of an upload, so small body chunks become large file writes.
const UPLOAD_BUFFER_BYTES: usize = 1024 * 1024;

/// One entry of a folder listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
    /// The size in bytes; `None` for folders.
    pub size: Option<u64>,
}

/// Returns the file system path of `path` below `root`, or `INVALID_PARAMETER_VALUE` when a
/// symbolic link leads outside the root. The path need not exist. Blocking.
pub fn resolve(root: &Path, path: &ArtifactPath) -> Result<PathBuf> {
    if let Some(part) = path.parts().iter().find(|part| part.starts_with(UPLOAD_TEMP_PREFIX)) {
        return Err(TrackingError::invalid(format!(
            "Invalid path '{}': the name '{part}' starts with '{UPLOAD_TEMP_PREFIX}', which is \
             reserved for uploads in progress. Use another name.",
            path.as_posix()
        )));
    }
    let real_root = root.canonicalize().map_err(|err| {
        TrackingError::internal(format!(
            "could not open the artifact folder {}: {err}. Check that the Weir data folder is \
             readable",
            root.display()
        ))
    })?;
    let mut joined = real_root.clone();
    joined.extend(path.parts());

    // Follow links in the longest prefix that exists; the rest cannot contain links yet.
    let mut existing = joined.as_path();
    let mut missing = Vec::new();
    let real_prefix = loop {
        match existing.canonicalize() {
            Ok(real) => break real,
            Err(_) => match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    missing.push(name.to_owned());
                    existing = parent;
                }
                _ => return Err(outside_root(path)),
            },
        }
    };
    if !real_prefix.starts_with(&real_root) {
        return Err(outside_root(path));
    }
    let mut real = real_prefix;
    real.extend(missing.iter().rev());
    Ok(real)
}

fn outside_root(path: &ArtifactPath) -> TrackingError {
    TrackingError::invalid(format!(
        "Invalid path '{}': it leads outside the artifact folder through a symbolic link.",
        path.as_posix()
    ))
}

/// Lists the entries of a folder, sorted by name, without upload temporaries. A path that is
/// missing or is a file lists as empty, as MLflow's local artifact store does. Blocking.
pub fn list(root: &Path, path: &ArtifactPath) -> Result<Vec<Entry>> {
    let folder = resolve(root, path)?;
    let reader = match std::fs::read_dir(&folder) {
        Ok(reader) => reader,
        Err(err) if matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            return Ok(Vec::new());
        }
        Err(err) => return Err(io_failed("list", path, &err)),
    };
    let mut entries = Vec::new();
    for item in reader {
        let item = item.map_err(|err| io_failed("list", path, &err))?;
        let name = item.file_name().to_string_lossy().into_owned();
        if name.starts_with(UPLOAD_TEMP_PREFIX) {
            continue;
        }
        // `fs::metadata` follows links, so a link to a folder lists as a folder. A dangling
        // link is left out.
        let Ok(metadata) = std::fs::metadata(item.path()) else {
            continue;
        };
        let is_dir = metadata.is_dir();
        entries.push(Entry { name, is_dir, size: (!is_dir).then_some(metadata.len()) });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Deletes a file, or a folder with everything in it. A missing path is not an error, as in
/// MLflow. The root itself cannot be deleted. Blocking.
pub fn delete(root: &Path, path: &ArtifactPath) -> Result<()> {
    if path.is_root() {
        return Err(TrackingError::invalid(
            "Invalid path '': name a file or folder below the artifact root to delete.",
        ));
    }
    let target = resolve(root, path)?;
    let removed = match std::fs::symlink_metadata(&target) {
        Ok(metadata) if metadata.is_dir() => std::fs::remove_dir_all(&target),
        Ok(_) => std::fs::remove_file(&target),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    };
    removed.map_err(|err| io_failed("delete", path, &err))?;
    tracing::info!(artifact = %path.as_posix(), "Deleted an artifact.");
    Ok(())
}

/// Writes a request body to `path`: streams it into a temporary file next to the target, then
/// renames it over the target, so readers never see half a file. Returns the bytes written.
/// Like MLflow's local store, it does not call `fsync`, so a power loss soon after an upload
/// can lose the file.
pub async fn write(root: PathBuf, path: ArtifactPath, body: Body) -> Result<u64> {
    let target = blocking({
        let path = path.clone();
        move || prepare_target(&root, &path)
    })
    .await?;
    let mut temp = TempFile::next_to(&target);
    let written = stream_to_file(body, &temp.path, &path).await?;
    tokio::fs::rename(&temp.path, &target).await.map_err(|err| io_failed("upload", &path, &err))?;
    temp.renamed = true;
    tracing::debug!(artifact = %path.as_posix(), bytes = written, "Stored an artifact.");
    Ok(written)
}

/// Checks that `path` may receive an upload, creates its parent folders and returns its file
/// system path. Fails when the name is reserved or a folder of that name exists. Blocking.
pub fn prepare_target(root: &Path, path: &ArtifactPath) -> Result<PathBuf> {
    let Some(name) = path.name() else {
        return Err(TrackingError::invalid(
            "Invalid path '': name the file to upload below the artifact root.",
        ));
    };
    if name.starts_with(UPLOAD_TEMP_PREFIX) {
        return Err(TrackingError::invalid(format!(
            "Invalid artifact file name '{name}': names starting with '{UPLOAD_TEMP_PREFIX}' are \
             reserved for uploads in progress. Rename the file."
        )));
    }
    let folder = resolve(root, &path.parent())?;
    std::fs::create_dir_all(&folder).map_err(|err| io_failed("upload", path, &err))?;
    // Resolve again: the folders now exist, so links among them are checked too.
    let target = resolve(root, path)?;
    if target.is_dir() {
        return Err(TrackingError::invalid(format!(
            "Cannot upload to '{}': a folder with that name exists. Delete it first or choose \
             another name.",
            path.as_posix()
        )));
    }
    Ok(target)
}

/// Streams a request body into a new file at `file` through a large write buffer, so the body
/// is never held in memory whole. `path` names the artifact in error messages. Returns the
/// bytes written.
pub async fn stream_to_file(mut body: Body, file: &Path, path: &ArtifactPath) -> Result<u64> {
    let created =
        tokio::fs::File::create(file).await.map_err(|err| io_failed("upload", path, &err))?;
    let mut writer = BufWriter::with_capacity(UPLOAD_BUFFER_BYTES, created);
    let mut written = 0u64;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|err| {
            TrackingError::bad_request(format!(
                "could not read the upload of '{}': {err}. Send the file again",
                path.as_posix()
            ))
        })?;
        if let Ok(data) = frame.into_data() {
            writer.write_all(&data).await.map_err(|err| io_failed("upload", path, &err))?;
            written += data.len() as u64;
        }
    }
    writer.flush().await.map_err(|err| io_failed("upload", path, &err))?;
    Ok(written)
}

/// An upload's temporary file, removed when the upload fails or its request is dropped. Set
/// `renamed` once the file has been moved into place.
pub struct TempFile {
    pub path: PathBuf,
    pub renamed: bool,
}

impl TempFile {
    /// Names a new temporary file in the folder of `target`, with the reserved prefix, so
    /// listings hide it and the rename into place stays on one file system.
    pub fn next_to(target: &Path) -> TempFile {
        let folder = target.parent().map(Path::to_path_buf).unwrap_or_default();
        let path = folder.join(format!("{UPLOAD_TEMP_PREFIX}{}", uuid::Uuid::new_v4()));
        TempFile { path, renamed: false }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.renamed {
            return;
        }
        match std::fs::remove_file(&self.path) {
            Err(err) if err.kind() != ErrorKind::NotFound => {
                tracing::warn!(path = %self.path.display(), error = %err,
                "Could not remove the temporary file of a failed upload.")
            }
            _ => {}
        }
    }
}

/// Runs blocking file system work on tokio's blocking pool.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|err| {
        TrackingError::internal(format!("an artifact file system task failed: {err}"))
    })?
}

/// Builds the error for a failed file system call, naming the artifact: `INTERNAL_ERROR`, or
/// `INVALID_PARAMETER_VALUE` when a file is in the way of a folder.
pub fn io_failed(action: &str, path: &ArtifactPath, err: &std::io::Error) -> TrackingError {
    let artifact = path.as_posix();
    match err.kind() {
        ErrorKind::NotADirectory | ErrorKind::AlreadyExists => TrackingError::invalid(format!(
            "Cannot {action} the artifact '{artifact}': a file is in the way of a folder on its \
             path ({err}). Choose another path."
        )),
        _ => TrackingError::internal(format!(
            "could not {action} the artifact '{artifact}': {err}. Check the free space and \
             permissions of the Weir data folder"
        )),
    }
}
