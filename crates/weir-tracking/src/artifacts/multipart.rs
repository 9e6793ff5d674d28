//! Multipart uploads to the artifact proxy (`CreateMultipartUpload`, `CompleteMultipartUpload`
//! and `AbortMultipartUpload` in MLflow's `mlflow_artifacts.proto`), stored in Weir's local
//! artifact folder.
//!
//! As in MLflow, the file lands at the request's route path followed by the base name of the
//! `path` field (the client sends its local file path there). [`create`] picks a random upload
//! id and makes the staging folder `<artifact_root>/.weir-upload.multipart/<id>/` holding
//! `upload.json`: the target path and the part count. Each part is then sent with
//! `PUT .../mlflow-artifacts/mpu/parts/<id>/<part_number>` ([`put_part`]), which streams it into
//! the staging folder as `<part_number>.<token>` and returns the token in its `ETag` header. A
//! part sent twice keeps both copies, and the ETag in the complete call picks one.
//!
//! [`complete`] checks that each part `1..=num_parts` is listed once with the ETag of a stored
//! copy. It then concatenates the parts in order into a temporary file next to the target with
//! a file-to-file kernel copy, so no part is held in memory. Last, it renames the file into
//! place and removes the staging folder. [`abort`] removes the staging folder.
//!
//! The staging folder's name starts with [`UPLOAD_TEMP_PREFIX`], so listings hide it and
//! [`local::resolve`] refuses every path through it: no other proxy request can read or change
//! it.
//!
//! NOTE: only complete and abort remove a staging folder. An upload whose client died before
//! either keeps its parts on disk until someone deletes the folder by hand; the `mlflow` client
//! aborts the upload on every failure it sees, and nothing else removes stale uploads.

use std::collections::{BTreeMap, HashSet};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use axum::body::Body;
use serde_json::{json, Value};

use super::local::{self, blocking, io_failed, TempFile, UPLOAD_TEMP_PREFIX};
use super::path::ArtifactPath;
use crate::error::{Result, TrackingError};

/// Folder below the artifact root that contains the staging folder of each open upload. Its name
/// starts with [`UPLOAD_TEMP_PREFIX`], which makes it private.
pub const STAGING_FOLDER: &str = ".weir-upload.multipart";

/// Maximum number of parts in one upload: S3's limit, which MLflow's S3 store also uses.
pub const MAX_PARTS: u32 = 10_000;

/// File in a staging folder that records the upload's target and part count.
const MANIFEST_FILE: &str = "upload.json";

/// Length of an upload id or an ETag token: a UUID as 32 lowercase hex digits.
const TOKEN_LEN: usize = 32;

/// The target and part count of an open upload, as [`create`] records them.
struct Manifest {
    target: ArtifactPath,
    num_parts: u32,
}

/// Returns the artifact a multipart upload writes: the route's folder followed by the base
/// name of the client's local file path, as MLflow's artifact stores place it.
pub fn target_path(folder: &ArtifactPath, local_file: &str) -> Result<ArtifactPath> {
    let name = local_file.rsplit(['/', '\\']).next().unwrap_or_default();
    let parsed = ArtifactPath::parse(name)?;
    if parsed.parts().len() != 1 {
        return Err(TrackingError::invalid(format!(
            "Invalid path '{local_file}': it must end with the name of the file to upload."
        )));
    }
    if name.starts_with(UPLOAD_TEMP_PREFIX) {
        return Err(TrackingError::invalid(format!(
            "Invalid artifact file name '{name}': names starting with '{UPLOAD_TEMP_PREFIX}' are \
             reserved for uploads in progress. Rename the file."
        )));
    }
    Ok(folder.join(&parsed))
}

/// Starts an upload of `num_parts` parts to `target` and returns its id.
pub async fn create(root: PathBuf, target: ArtifactPath, num_parts: u32) -> Result<String> {
    blocking(move || {
        let resolved = local::resolve(&root, &target)?;
        if resolved.is_dir() {
            return Err(TrackingError::invalid(format!(
                "Cannot upload to '{}': a folder with that name exists. Delete it first or \
                 choose another name.",
                target.as_posix()
            )));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let folder = root.join(STAGING_FOLDER).join(&id);
        let failed = |err: std::io::Error| io_failed("start a multipart upload of", &target, &err);
        std::fs::create_dir_all(&folder).map_err(failed)?;
        let manifest = json!({ "path": target.as_posix(), "num_parts": num_parts });
        std::fs::write(folder.join(MANIFEST_FILE), manifest.to_string()).map_err(failed)?;
        tracing::info!(artifact = %target.as_posix(), upload_id = %id, num_parts,
            "Started a multipart upload.");
        Ok(id)
    })
    .await
}

/// Stores part `part_number` of upload `id` from a request body and returns its `ETag` header
/// value, which the complete call must repeat.
pub async fn put_part(root: PathBuf, id: String, part_number: i64, body: Body) -> Result<String> {
    let (folder, manifest) = blocking(move || open_upload(&root, &id)).await?;
    if !(1..=i64::from(manifest.num_parts)).contains(&part_number) {
        return Err(TrackingError::invalid(format!(
            "Invalid part number {part_number}: this upload has parts 1 to {}. Use the URLs the \
             create call returned.",
            manifest.num_parts
        )));
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    let mut temp =
        TempFile { path: folder.join(format!("{UPLOAD_TEMP_PREFIX}{token}")), renamed: false };
    let stored = local::stream_to_file(body, &temp.path, &manifest.target).await;
    let part_file = folder.join(format!("{part_number}.{token}"));
    let renamed = match stored {
        Ok(_) => tokio::fs::rename(&temp.path, &part_file)
            .await
            .map_err(|err| io_failed("upload", &manifest.target, &err)),
        Err(err) => Err(err),
    };
    if let Err(err) = renamed {
        // Completing or aborting the upload meanwhile removes its folder.
        return Err(if folder.exists() { err } else { unknown_upload(&folder_id(&folder)) });
    }
    temp.renamed = true;
    Ok(format!("\"{token}\""))
}

/// Completes upload `id`: checks the parts and their ETags, writes `target` from them and
/// removes the staging folder. `parts` contains each listed part's number and ETag. Returns the
/// size of the file.
pub async fn complete(
    root: PathBuf,
    id: String,
    target: ArtifactPath,
    parts: Vec<(i64, Option<String>)>,
) -> Result<u64> {
    blocking(move || {
        let (folder, manifest) = open_upload(&root, &id)?;
        check_target(&id, &manifest, &target)?;
        let names = part_files(&id, &folder, &manifest, &parts)?;

        // Claim the upload by renaming its folder, so a concurrent complete, abort or part
        // upload finds no upload of this id.
        let claimed = root.join(STAGING_FOLDER).join(format!("{id}.closing"));
        std::fs::rename(&folder, &claimed).map_err(|err| match err.kind() {
            ErrorKind::NotFound => unknown_upload(&id),
            _ => io_failed("complete", &target, &err),
        })?;
        match concatenate(&root, &target, &claimed, &names) {
            Ok(size) => {
                if let Err(err) = std::fs::remove_dir_all(&claimed) {
                    tracing::warn!(folder = %claimed.display(), error = %err,
                        "Could not remove the staging folder of a completed multipart upload.");
                }
                tracing::info!(artifact = %target.as_posix(), upload_id = %id, bytes = size,
                    "Completed a multipart upload.");
                Ok(size)
            }
            Err(err) => {
                // Reopen the upload, so the client can abort it or try again.
                if let Err(rename_err) = std::fs::rename(&claimed, &folder) {
                    tracing::warn!(folder = %claimed.display(), error = %rename_err,
                        "Could not reopen a multipart upload whose completion failed.");
                }
                Err(err)
            }
        }
    })
    .await
}

/// Aborts upload `id` of `target`: removes its staging folder and every part in it.
pub async fn abort(root: PathBuf, id: String, target: ArtifactPath) -> Result<()> {
    blocking(move || {
        let (folder, manifest) = open_upload(&root, &id)?;
        check_target(&id, &manifest, &target)?;
        std::fs::remove_dir_all(&folder).map_err(|err| match err.kind() {
            ErrorKind::NotFound => unknown_upload(&id),
            _ => io_failed("abort the multipart upload of", &target, &err),
        })?;
        tracing::info!(artifact = %target.as_posix(), upload_id = %id,
            "Aborted a multipart upload.");
        Ok(())
    })
    .await
}

/// Finds the staging folder of upload `id` and reads its manifest. Blocking.
fn open_upload(root: &Path, id: &str) -> Result<(PathBuf, Manifest)> {
    let well_formed =
        id.len() == TOKEN_LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !well_formed {
        return Err(unknown_upload(id));
    }
    let folder = root.join(STAGING_FOLDER).join(id);
    let text = match std::fs::read_to_string(folder.join(MANIFEST_FILE)) {
        Ok(text) => text,
        Err(err) if err.kind() == ErrorKind::NotFound => return Err(unknown_upload(id)),
        Err(err) => {
            return Err(TrackingError::internal(format!(
                "could not read the multipart upload '{id}': {err}. Check the permissions of \
                 the Weir data folder"
            )))
        }
    };
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let target = value["path"].as_str().map(ArtifactPath::parse);
    let num_parts = value["num_parts"].as_u64().and_then(|n| u32::try_from(n).ok());
    match (target, num_parts) {
        (Some(Ok(target)), Some(num_parts)) => Ok((folder, Manifest { target, num_parts })),
        _ => Err(TrackingError::internal(format!(
            "the record of multipart upload '{id}' in {} is damaged. Abort the upload and \
             start it again",
            folder.display()
        ))),
    }
}

/// Checks that a complete or abort call names the artifact the upload was created for.
fn check_target(id: &str, manifest: &Manifest, target: &ArtifactPath) -> Result<()> {
    if manifest.target == *target {
        return Ok(());
    }
    Err(TrackingError::invalid(format!(
        "Multipart upload '{id}' writes '{}', not '{}'. Send the same artifact path and file \
         name as in the create call.",
        manifest.target.as_posix(),
        target.as_posix()
    )))
}

/// Returns the file name of each part in order, after checking that `parts` lists each part
/// once with the ETag of a stored copy. Blocking.
fn part_files(
    id: &str,
    folder: &Path,
    manifest: &Manifest,
    parts: &[(i64, Option<String>)],
) -> Result<Vec<String>> {
    let mut etags = BTreeMap::new();
    for (number, etag) in parts {
        if !(1..=i64::from(manifest.num_parts)).contains(number) {
            return Err(TrackingError::invalid(format!(
                "Invalid part number {number} in the parts of multipart upload '{id}': it has \
                 parts 1 to {}.",
                manifest.num_parts
            )));
        }
        if etags.insert(*number, etag.clone().unwrap_or_default()).is_some() {
            return Err(TrackingError::invalid(format!(
                "Part {number} is listed twice in the parts of multipart upload '{id}'. List \
                 each part once."
            )));
        }
    }
    let stored: HashSet<String> = std::fs::read_dir(folder)
        .map_err(|err| match err.kind() {
            ErrorKind::NotFound => unknown_upload(id),
            _ => io_failed("complete", &manifest.target, &err),
        })?
        .filter_map(|entry| entry.ok().map(|entry| entry.file_name().to_string_lossy().into()))
        .collect();

    let mut names = Vec::new();
    for number in 1..=manifest.num_parts {
        let Some(etag) = etags.get(&i64::from(number)) else {
            return Err(TrackingError::invalid(format!(
                "Part {number} is missing from the parts of multipart upload '{id}'. List every \
                 part from 1 to {} with the ETag its upload returned.",
                manifest.num_parts
            )));
        };
        let name = format!("{number}.{}", etag.trim_matches('"'));
        if stored.contains(&name) && name.len() == number.to_string().len() + 1 + TOKEN_LEN {
            names.push(name);
            continue;
        }
        let prefix = format!("{number}.");
        let message = if stored.iter().any(|stored| stored.starts_with(&prefix)) {
            format!(
                "The ETag '{etag}' of part {number} does not match the stored part of multipart \
                 upload '{id}'. Send the ETag that the part's upload returned."
            )
        } else {
            format!(
                "Part {number} of multipart upload '{id}' was not uploaded. Send it to its URL \
                 before completing the upload."
            )
        };
        return Err(TrackingError::invalid(message));
    }
    Ok(names)
}

/// Writes `target` from the part files `names` in `folder`, through a temporary file renamed
/// into place. Returns the size written. Blocking.
fn concatenate(root: &Path, target: &ArtifactPath, folder: &Path, names: &[String]) -> Result<u64> {
    let destination = local::prepare_target(root, target)?;
    let mut temp = TempFile::next_to(&destination);
    let failed = |err: std::io::Error| io_failed("complete", target, &err);
    let mut file = std::fs::File::create(&temp.path).map_err(failed)?;
    let mut size = 0u64;
    for name in names {
        let mut part = std::fs::File::open(folder.join(name)).map_err(failed)?;
        // Copies file to file inside the kernel where it can (`copy_file_range` on Linux).
        size += std::io::copy(&mut part, &mut file).map_err(failed)?;
    }
    drop(file);
    std::fs::rename(&temp.path, &destination).map_err(failed)?;
    temp.renamed = true;
    Ok(size)
}

/// Returns the upload id that names a staging folder.
fn folder_id(folder: &Path) -> String {
    folder.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}

fn unknown_upload(id: &str) -> TrackingError {
    TrackingError::not_found(format!(
        "No multipart upload with id '{id}': it was never created, or it was already completed \
         or aborted. Start a new upload with mlflow-artifacts/mpu/create."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_folder_is_private() {
        assert!(STAGING_FOLDER.starts_with(UPLOAD_TEMP_PREFIX));
    }

    #[test]
    fn target_is_folder_and_base_name() {
        let folder = ArtifactPath::parse("1/abc/artifacts/data").unwrap_or_default();
        let target = |local: &str| target_path(&folder, local).map(|path| path.as_posix());
        assert_eq!(target("/tmp/x/big.bin").ok().as_deref(), Some("1/abc/artifacts/data/big.bin"));
        assert_eq!(
            target("C:\\data\\big.bin").ok().as_deref(),
            Some("1/abc/artifacts/data/big.bin")
        );
        assert_eq!(target("big.bin").ok().as_deref(), Some("1/abc/artifacts/data/big.bin"));
        for bad in ["", "/tmp/", "/tmp/..", "a%2Fb", "/tmp/x#y"] {
            assert!(target(bad).is_err(), "{bad}");
        }
    }
}
