//! Sending one artifact file: the file is streamed in chunks, never read whole, with the
//! headers MLflow's server sends (a content type guessed from the name, `Content-Disposition:
//! attachment`, `X-Content-Type-Options: nosniff`).

use std::path::PathBuf;

use axum::body::Body;
use axum::http::header::{
    HeaderValue, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::Response;
use tokio_util::io::ReaderStream;

use super::local::{blocking, io_failed, resolve};
use super::path::ArtifactPath;
use crate::error::{Result, TrackingError};

/// Read size of a download stream.
const DOWNLOAD_CHUNK_BYTES: usize = 256 * 1024;

/// Extensions (or whole names, for files without one) that MLflow 3.17.2 serves as
/// `text/plain`, so the UI shows them inline as text.
const TEXT_EXTENSIONS: &[&str] = &[
    "txt",
    "log",
    "err",
    "cfg",
    "conf",
    "cnf",
    "cf",
    "ini",
    "properties",
    "prop",
    "hocon",
    "toml",
    "yaml",
    "yml",
    "xml",
    "json",
    "js",
    "py",
    "py3",
    "csv",
    "tsv",
    "md",
    "rst",
    "ipynb",
    "MLmodel",
    "MLproject",
];

/// Streams the file at `path` below `root`. A missing file is `RESOURCE_DOES_NOT_EXIST` and a
/// folder is `INVALID_PARAMETER_VALUE`, as in MLflow.
///
/// NOTE: `Range` headers are ignored and the whole file is sent with status 200. The `mlflow`
/// client sends no `Range` header to the proxy.
pub async fn send(root: PathBuf, path: ArtifactPath) -> Result<Response> {
    let local = blocking({
        let path = path.clone();
        move || {
            let local = resolve(&root, &path)?;
            match std::fs::metadata(&local) {
                Ok(metadata) if metadata.is_dir() => Err(TrackingError::invalid(format!(
                    "The artifact path '{}' is a folder, not a file. List it with \
                     mlflow-artifacts/artifacts?path=... and download its files one by one.",
                    path.as_posix()
                ))),
                Ok(_) => Ok(local),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(no_such(&path)),
                Err(err) => Err(io_failed("read", &path, &err)),
            }
        }
    })
    .await?;
    let file = tokio::fs::File::open(&local).await.map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => no_such(&path),
        _ => io_failed("read", &path, &err),
    })?;
    let size = file.metadata().await.map_err(|err| io_failed("read", &path, &err))?.len();
    let name = path.name().unwrap_or("artifact");

    let mut response =
        Response::new(Body::from_stream(ReaderStream::with_capacity(file, DOWNLOAD_CHUNK_BYTES)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(name)));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(disposition) = HeaderValue::from_str(&attachment(name)) {
        headers.insert(CONTENT_DISPOSITION, disposition);
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

fn no_such(path: &ArtifactPath) -> TrackingError {
    TrackingError::not_found(format!(
        "No such artifact: '{}'. List the folder to see which files exist.",
        path.as_posix()
    ))
}

/// Guesses the content type from the file name. Unknown types are `application/octet-stream`.
pub fn content_type(name: &str) -> &'static str {
    let extension = match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => extension,
        _ => name,
    };
    if TEXT_EXTENSIONS.contains(&extension) {
        return "text/plain";
    }
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "mp4" => "video/mp4",
        "wav" => "audio/x-wav",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

/// Formats a `Content-Disposition: attachment` value (RFC 6266). A name outside ASCII also
/// gets the RFC 5987 `filename*` form, with an ASCII fallback in `filename`.
fn attachment(name: &str) -> String {
    let fallback: String =
        name.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '_' }).collect();
    let quoted = fallback.replace('\\', "\\\\").replace('"', "\\\"");
    if name.is_ascii() {
        return format!("attachment; filename=\"{quoted}\"");
    }
    let mut encoded = String::new();
    for byte in name.bytes() {
        let unreserved = byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte);
        if unreserved {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{quoted}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_follow_mlflow() {
        assert_eq!(content_type("MLmodel"), "text/plain");
        assert_eq!(content_type("conda.yaml"), "text/plain");
        assert_eq!(content_type("metrics.json"), "text/plain");
        assert_eq!(content_type("plot.png"), "image/png");
        assert_eq!(content_type("model.pkl"), "application/octet-stream");
        assert_eq!(content_type(".hidden"), "application/octet-stream");
    }

    #[test]
    fn attachment_names_are_quoted() {
        assert_eq!(attachment("model.pkl"), "attachment; filename=\"model.pkl\"");
        assert_eq!(attachment("a\"b"), "attachment; filename=\"a\\\"b\"");
        assert_eq!(
            attachment("résumé.txt"),
            "attachment; filename=\"r_sum_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"
        );
    }
}
