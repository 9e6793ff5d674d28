//! Removing what interrupted uploads leave in the artifact folder: the temporary file of a
//! plain upload (`.weir-upload.*` next to its target) and the staging folder of a multipart
//! upload that was neither completed nor aborted (`.weir-upload.multipart/<id>/`). A server
//! killed mid-upload leaves them behind; they are hidden from listings and take disk space.
//!
//! Only entries older than a threshold go, because another weir process on the same data
//! folder may be uploading into them right now.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::local::UPLOAD_TEMP_PREFIX;

/// Age after which an unfinished upload counts as abandoned.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// Removes the leftovers of uploads under `root` last modified more than `older_than` ago.
/// Returns how many files and folders were removed. Links are not followed.
pub fn remove_stale_uploads(root: &Path, older_than: Duration) -> usize {
    let cutoff = SystemTime::now().checked_sub(older_than).unwrap_or(SystemTime::UNIX_EPOCH);
    let mut removed = 0;
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            let name = entry.file_name();
            let is_upload = name.to_string_lossy().starts_with(UPLOAD_TEMP_PREFIX);
            if kind.is_symlink() {
                continue;
            }
            if kind.is_dir() && !is_upload {
                folders.push(entry.path());
                continue;
            }
            if !is_upload {
                continue;
            }
            if kind.is_dir() {
                // The multipart staging folder: each upload inside it is judged by its age.
                removed += remove_old_children(&entry.path(), cutoff);
            } else if is_older(&entry, cutoff) && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

fn remove_old_children(folder: &Path, cutoff: SystemTime) -> usize {
    let Ok(entries) = std::fs::read_dir(folder) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        if !is_older(&entry, cutoff) {
            continue;
        }
        let deleted = match entry.file_type() {
            Ok(kind) if kind.is_dir() => std::fs::remove_dir_all(entry.path()).is_ok(),
            Ok(_) => std::fs::remove_file(entry.path()).is_ok(),
            Err(_) => false,
        };
        removed += usize::from(deleted);
    }
    removed
}

fn is_older(entry: &std::fs::DirEntry, cutoff: SystemTime) -> bool {
    entry.metadata().and_then(|meta| meta.modified()).is_ok_and(|modified| modified < cutoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_old_upload_leftovers_are_removed() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let root = dir.path();
        std::fs::create_dir_all(root.join("1/run/artifacts")).unwrap();
        std::fs::write(root.join("1/run/artifacts/model.pkl"), b"keep").unwrap();
        std::fs::write(root.join("1/run/artifacts/.weir-upload.abc"), b"partial").unwrap();
        std::fs::create_dir_all(root.join(".weir-upload.multipart/u1")).unwrap();
        std::fs::write(root.join(".weir-upload.multipart/u1/1.tok"), b"part").unwrap();

        // Nothing is old enough yet.
        assert_eq!(remove_stale_uploads(root, Duration::from_secs(3600)), 0);
        assert!(root.join("1/run/artifacts/.weir-upload.abc").exists());

        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(remove_stale_uploads(root, Duration::from_millis(10)), 2);
        assert!(!root.join("1/run/artifacts/.weir-upload.abc").exists());
        assert!(!root.join(".weir-upload.multipart/u1").exists());
        assert!(root.join(".weir-upload.multipart").exists());
        assert_eq!(std::fs::read(root.join("1/run/artifacts/model.pkl")).unwrap(), b"keep");
    }
}
