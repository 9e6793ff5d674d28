//! [`ArtifactPath`], a relative artifact path that passed the path-traversal checks, and
//! [`proxied_root`], which reads the folder that an `mlflow-artifacts:` URI names.
//!
//! The checks follow MLflow's `validate_path_is_safe` (MLflow 3.17.2): the path is
//! percent-decoded until it stops changing, then rejected with `INVALID_PARAMETER_VALUE` when
//! it is absolute, has a `..` part, or contains `#`. Weir also rejects backslashes, drive
//! letters, `file:` URIs and control characters on every platform, so the same request
//! behaves the same way wherever Weir runs.

use crate::error::{ErrorCode, Result, TrackingError};

/// How many rounds of percent-decoding a path may need before it stops changing.
const MAX_DECODE_ROUNDS: usize = 10;

/// The route prefix of the artifact proxy inside an `http(s)://` artifact URI.
const PROXY_ROUTE: &str = "/api/2.0/mlflow-artifacts/artifacts";

/// A normalized relative path below an artifact folder: `/`-separated parts, none empty, `.`
/// or `..`. The empty path is the folder itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArtifactPath {
    parts: Vec<String>,
}

impl ArtifactPath {
    /// Checks a path sent by a client and normalizes it (`a//./b/` becomes `a/b`).
    pub fn parse(raw: &str) -> Result<ArtifactPath> {
        let decoded = decode_fully(raw).ok_or_else(|| invalid_path(raw))?;
        let unsafe_char = |c: char| c.is_control() || c == '#' || c == '\\';
        if decoded.chars().any(unsafe_char)
            || decoded.starts_with('/')
            || has_drive_letter(&decoded)
            || decoded.get(..5).is_some_and(|scheme| scheme.eq_ignore_ascii_case("file:"))
        {
            return Err(invalid_path(raw));
        }
        let mut parts = Vec::new();
        for part in decoded.split('/') {
            match part {
                "" | "." => {}
                ".." => return Err(invalid_path(raw)),
                _ => parts.push(part.to_owned()),
            }
        }
        Ok(ArtifactPath { parts })
    }

    /// Reads an optional path field: a missing field is the folder itself.
    pub fn parse_optional(raw: Option<&str>) -> Result<ArtifactPath> {
        raw.map_or_else(|| Ok(ArtifactPath::default()), ArtifactPath::parse)
    }

    /// True for the folder itself.
    pub fn is_root(&self) -> bool {
        self.parts.is_empty()
    }

    /// Returns the path parts, outermost first.
    pub fn parts(&self) -> &[String] {
        &self.parts
    }

    /// Returns the last part, the file or folder name, or `None` for the folder itself.
    pub fn name(&self) -> Option<&str> {
        self.parts.last().map(String::as_str)
    }

    /// Returns the path without its last part.
    pub fn parent(&self) -> ArtifactPath {
        let keep = self.parts.len().saturating_sub(1);
        ArtifactPath { parts: self.parts[..keep].to_vec() }
    }

    /// `self` followed by `child`.
    pub fn join(&self, child: &ArtifactPath) -> ArtifactPath {
        let parts = self.parts.iter().chain(&child.parts).cloned().collect();
        ArtifactPath { parts }
    }

    /// `self` followed by one file or folder name, as listings build child paths.
    pub fn child(&self, name: &str) -> ArtifactPath {
        let mut parts = self.parts.clone();
        parts.push(name.to_owned());
        ArtifactPath { parts }
    }

    /// Formats the path as `a/b/c`. The folder itself is the empty string.
    pub fn as_posix(&self) -> String {
        self.parts.join("/")
    }
}

/// Returns the folder below the artifact root that a proxied artifact URI names:
/// `mlflow-artifacts:/1/abc/artifacts`, `mlflow-artifacts://host:port/1/abc/artifacts` and
/// `http(s)://host/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts` all name `1/abc/artifacts`.
///
/// Other schemes (`s3://`, `file://`, plain paths) fail with `NOT_IMPLEMENTED`: Weir serves only
/// the artifacts it stores itself.
pub fn proxied_root(uri: &str) -> Result<ArtifactPath> {
    let path = if let Some(rest) = strip_prefix_ignore_case(uri, "mlflow-artifacts:") {
        match rest.strip_prefix("//") {
            Some(authority_and_path) => authority_and_path
                .find('/')
                .map_or("", |slash| authority_and_path.get(slash..).unwrap_or("")),
            None => rest,
        }
    } else if strip_prefix_ignore_case(uri, "http://").is_some()
        || strip_prefix_ignore_case(uri, "https://").is_some()
    {
        match uri.split_once(PROXY_ROUTE) {
            Some((_, rest)) => rest,
            None => return Err(not_proxied(uri)),
        }
    } else {
        return Err(not_proxied(uri));
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    ArtifactPath::parse(path.trim_start_matches('/'))
}

fn not_proxied(uri: &str) -> TrackingError {
    TrackingError::new(
        ErrorCode::NotImplemented,
        format!(
            "The artifact location '{uri}' is not served by Weir: only 'mlflow-artifacts:' \
             locations are. Create the experiment without an artifact_location to store its \
             artifacts in Weir."
        ),
    )
}

fn invalid_path(raw: &str) -> TrackingError {
    TrackingError::invalid(format!(
        "Invalid path '{raw}': an artifact path must be relative and must not contain '..' \
         parts, backslashes, '#', drive letters or control characters."
    ))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// `C:`, `C:/…` and `C:\…`, which Windows reads as an absolute path.
fn has_drive_letter(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && matches!(bytes.get(2), None | Some(b'/') | Some(b'\\'))
}

/// Percent-decodes until the text stops changing, so `%252e%252e` is seen as `..`. Returns
/// `None` when it still changes after [`MAX_DECODE_ROUNDS`] or decodes to invalid UTF-8.
fn decode_fully(raw: &str) -> Option<String> {
    let mut current = raw.to_owned();
    for _ in 0..MAX_DECODE_ROUNDS {
        let next = percent_decode(&current)?;
        if next == current {
            return Some(current);
        }
        current = next;
    }
    None
}

/// Decodes one round of percent-escapes. A `%` not followed by two hex digits is kept.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&high), Some(&low)) => hex_value(high).zip(hex_value(low)),
            _ => None,
        };
        match escaped {
            Some((high, low)) => {
                out.push(high * 16 + low);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posix(raw: &str) -> Result<String> {
        ArtifactPath::parse(raw).map(|path| path.as_posix())
    }

    #[test]
    fn safe_paths_are_normalized() {
        assert_eq!(posix("model/MLmodel").ok().as_deref(), Some("model/MLmodel"));
        assert_eq!(posix("a//./b/").ok().as_deref(), Some("a/b"));
        assert_eq!(posix("").ok().as_deref(), Some(""));
        assert_eq!(posix("a%20b.txt").ok().as_deref(), Some("a b.txt"));
        assert_eq!(posix("..a/b..").ok().as_deref(), Some("..a/b.."));
        assert_eq!(posix("100%").ok().as_deref(), Some("100%"));
    }

    #[test]
    fn traversal_forms_are_rejected() {
        let attempts = [
            "..",
            "../etc/passwd",
            "a/../../b",
            "/etc/passwd",
            "%2e%2e/x",
            "%252e%252e%252fx",
            "..%2fx",
            "a\\..\\b",
            "C:/Windows",
            "c:",
            "file:///etc/passwd",
            "a#b",
            "a\nb",
            "%00",
            "%2Fetc",
        ];
        for attempt in attempts {
            let err = posix(attempt).expect_err(attempt);
            assert_eq!(err.code, ErrorCode::InvalidParameterValue, "{attempt}");
        }
    }

    #[test]
    fn proxied_uris_name_their_folder() {
        let cases = [
            ("mlflow-artifacts:/1/abc/artifacts", "1/abc/artifacts"),
            ("mlflow-artifacts://127.0.0.1:5000/1/abc/artifacts", "1/abc/artifacts"),
            ("mlflow-artifacts:/0", "0"),
            ("http://h:1/api/2.0/mlflow-artifacts/artifacts/2/r/artifacts", "2/r/artifacts"),
        ];
        for (uri, folder) in cases {
            assert_eq!(proxied_root(uri).map(|p| p.as_posix()).ok().as_deref(), Some(folder));
        }
        assert_eq!(
            proxied_root("s3://bucket/1").map_err(|err| err.code).err(),
            Some(ErrorCode::NotImplemented)
        );
        assert_eq!(
            proxied_root("mlflow-artifacts:/../x").map_err(|err| err.code).err(),
            Some(ErrorCode::InvalidParameterValue)
        );
    }
}
