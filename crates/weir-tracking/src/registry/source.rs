//! The `source` of a new model version: which sources are accepted, and where the version's
//! files are (its storage location).
//!
//! The rules are MLflow's (MLflow 3.17.2, `_create_model_version` in
//! `mlflow/server/handlers.py` and `create_model_version` in its SQL registry store):
//! - A source whose scheme makes a server connect to the host it names (`http`, `https`, `ftp`,
//!   `sftp`, `hdfs`, `viewfs`, `r2`, `b2`, `abfss`, `mlflow-artifacts://host`) is rejected.
//! - `models:/<name>/<version|stage|latest>` and `models:/<name>@<alias>` copy another
//!   registered version: the source becomes `models:/<name>/<version>`, and the run id, model
//!   id and storage location come from that version.
//! - A source must sit inside the run (`run_id`) or logged model (`model_id`) that the request
//!   names when it is a `runs:/` URI, an `mlflow-artifacts:/` URI or a local path, and a
//!   `models:/<model_id>` source needs the same `model_id`.
//! - Other sources (`s3://`, `gs://`, ...) need an absolute path without `.` or `..` parts.
//! - `models:/<model_id>` stores the logged model's artifact location; every other source is
//!   its own storage location. A `runs:/` source stays as it is, so `get-download-uri` returns
//!   it and the client resolves it, as with MLflow.
//! - A prompt version (tag `mlflow.prompt.is_prompt` = `true`) needs a placeholder source.

use std::path::{Component, Path, PathBuf};

use rusqlite::{OptionalExtension, Transaction};

use super::store;
use crate::error::{Result, TrackingError};

/// The sources MLflow's own clients send for prompt versions.
const PROMPT_SOURCES: [&str; 2] = ["dummy-source", "prompt-template"];

/// Schemes whose artifact stores connect to the host the URI names.
const HOST_SCHEMES: [&str; 9] =
    ["ftp", "sftp", "hdfs", "viewfs", "http", "https", "r2", "b2", "abfss"];

/// How many rounds of percent-decoding a source may need before it stops changing.
const MAX_DECODE_ROUNDS: usize = 10;

/// The source fields of a create request.
#[derive(Debug, Clone)]
pub struct Request {
    pub source: String,
    /// `run_id`, `None` when the field is missing.
    pub run_id: Option<String>,
    /// `model_id`, `None` when the field is missing.
    pub model_id: Option<String>,
    pub is_prompt: bool,
}

/// The source, storage location, run id and model id of a new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub source: String,
    pub storage_location: String,
    pub run_id: Option<String>,
    pub model_id: Option<String>,
}

/// Checks a source against the rules above and resolves where its files are.
pub fn resolve(tx: &Transaction<'_>, request: Request) -> Result<Resolved> {
    if request.is_prompt {
        if !PROMPT_SOURCES.contains(&request.source.as_str()) {
            return Err(TrackingError::invalid(format!(
                "Invalid prompt version source '{}': prompt versions use the placeholder \
                 source 'dummy-source'.",
                request.source
            )));
        }
        return Ok(Resolved {
            storage_location: request.source.clone(),
            source: request.source,
            run_id: Some(request.run_id.unwrap_or_default()),
            model_id: request.model_id.filter(|id| !id.is_empty()),
        });
    }
    reject_host_schemes(&request.source)?;
    let lineage = registered_lineage(tx, request)?;
    match lineage.model_id.as_deref().filter(|id| !id.is_empty()) {
        Some(model_id) => check_inside_model(tx, &lineage.source, model_id)?,
        None => check_inside_run(tx, &lineage.source, lineage.run_id.as_deref().unwrap_or(""))?,
    }
    storage(tx, lineage)
}

/// Follows a `models:/<name>/...` source to the version it names.
fn registered_lineage(tx: &Transaction<'_>, request: Request) -> Result<Resolved> {
    let Request { source, run_id, model_id, .. } = request;
    let unchanged = |source: String| Resolved {
        storage_location: source.clone(),
        source,
        run_id: Some(run_id.clone().unwrap_or_default()),
        model_id: model_id.clone(),
    };

    let uri = Uri::split(&source);
    if uri.scheme != "models" {
        return Ok(unchanged(source));
    }
    if !uri.netloc.is_empty() {
        return Err(TrackingError::invalid(format!(
            "Invalid model version source '{source}': a models:/ source must name a model of \
             this registry, without a host."
        )));
    }
    let target = ModelUri::parse(&source).ok_or_else(|| not_inside(&source, "model_id"))?;
    let (name, version) = match target {
        ModelUri::LoggedModel(_) => return Ok(unchanged(source)),
        ModelUri::Version { name, version } => (name, version),
        ModelUri::Latest { name } => (name.clone(), newest_version(tx, &name, None)?),
        ModelUri::Stage { name, stage } => {
            let stage = super::checks::canonical_stage(&stage)?;
            (name.clone(), newest_version(tx, &name, Some(stage))?)
        }
        ModelUri::Alias { name, alias } => (name.clone(), aliased_version(tx, &name, &alias)?),
    };

    let (model_key, version_key) = store::version_key(tx, &name, version)?;
    if store::is_prompt(tx, model_key)? {
        return Err(TrackingError::invalid(format!(
            "Invalid model version source '{source}': '{name}' is a prompt, and a prompt \
             version cannot be the source of a model version."
        )));
    }
    let (origin_run, origin_model, origin_storage): (Option<String>, Option<String>, String) = tx
        .prepare_cached(
            "SELECT run_id, model_id, storage_location FROM registry_model_versions
             WHERE version_key = ?1",
        )?
        .query_row([version_key], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;

    let differs = |given: &Option<String>, origin: &Option<String>| {
        given.as_ref().is_some_and(|given| given != origin.as_deref().unwrap_or(""))
    };
    if differs(&run_id, &origin_run) || differs(&model_id, &origin_model) {
        return Err(TrackingError::invalid(format!(
            "Invalid model version source '{source}': 'run_id' and 'model_id' must match those \
             of the version the source names, or be left out."
        )));
    }
    Ok(Resolved {
        source: format!("models:/{name}/{version}"),
        storage_location: origin_storage,
        run_id: if run_id.is_some() { run_id } else { origin_run },
        model_id: if model_id.is_some() { model_id } else { origin_model },
    })
}

/// Sets the storage location of a checked source, and the run id a logged model supplies.
fn storage(tx: &Transaction<'_>, mut lineage: Resolved) -> Result<Resolved> {
    let no_run = |run_id: &Option<String>| run_id.as_deref().is_none_or(str::is_empty);
    if let Some(ModelUri::LoggedModel(model_id)) = ModelUri::parse(&lineage.source) {
        let (location, source_run) =
            logged_model(tx, &model_id)?.ok_or_else(|| no_logged_model(&model_id))?;
        lineage.storage_location = location;
        if no_run(&lineage.run_id) {
            lineage.run_id = source_run;
        }
    }
    if no_run(&lineage.run_id) {
        if let Some(model_id) = lineage.model_id.as_deref().filter(|id| !id.is_empty()) {
            let (_, source_run) =
                logged_model(tx, model_id)?.ok_or_else(|| no_logged_model(model_id))?;
            lineage.run_id = source_run;
        }
    }
    Ok(lineage)
}

/// MLflow's `_validate_source_run`: without a model id, a source that lives in a run must
/// name that run in `run_id`.
fn check_inside_run(tx: &Transaction<'_>, source: &str, run_id: &str) -> Result<()> {
    if is_local(source) {
        if !run_id.is_empty() {
            let root = run_artifact_uri(tx, run_id)?.ok_or_else(|| not_inside(source, "run_id"))?;
            if local_contains(&root, source) {
                return Ok(());
            }
        }
        return Err(local_source(source, "run_id"));
    }
    reject_relative_parts(source)?;
    let uri = Uri::split(source);
    if uri.scheme == "runs" {
        let source_run = uri.path.trim_start_matches('/').split('/').next().unwrap_or("");
        if uri.netloc.is_empty() && !run_id.is_empty() && source_run == run_id {
            return Ok(());
        }
        return Err(not_inside(source, "run_id"));
    }
    if uri.scheme == "models" {
        let names_logged_model =
            matches!(ModelUri::parse(source), None | Some(ModelUri::LoggedModel(_)));
        if !uri.netloc.is_empty() || names_logged_model {
            return Err(not_inside(source, "model_id"));
        }
    }
    if uri.scheme == "mlflow-artifacts" {
        if !run_id.is_empty() {
            if let Some(root) = run_artifact_uri(tx, run_id)? {
                if uri_contains(&root, source) {
                    return Ok(());
                }
            }
        }
        return Err(not_inside(source, "run_id"));
    }
    Ok(())
}

/// MLflow's `_validate_source_model`: with a model id, a source that lives in a logged model
/// must be inside that model.
fn check_inside_model(tx: &Transaction<'_>, source: &str, model_id: &str) -> Result<()> {
    if is_local(source) {
        if let Some((root, _)) = logged_model(tx, model_id)? {
            if local_contains(&root, source) {
                return Ok(());
            }
        }
        return Err(local_source(source, "model_id"));
    }
    reject_relative_parts(source)?;
    let uri = Uri::split(source);
    if uri.scheme == "models" {
        if !uri.netloc.is_empty() {
            return Err(not_inside(source, "model_id"));
        }
        match ModelUri::parse(source) {
            None => return Err(not_inside(source, "model_id")),
            Some(ModelUri::LoggedModel(id)) if id == model_id => return Ok(()),
            Some(ModelUri::LoggedModel(_)) => return Err(not_inside(source, "model_id")),
            Some(_) => {}
        }
    }
    if uri.scheme == "runs" {
        return Err(not_inside(source, "model_id"));
    }
    if uri.scheme == "mlflow-artifacts" {
        if let Some((root, _)) = logged_model(tx, model_id)? {
            if uri_contains(&root, source) {
                return Ok(());
            }
        }
        return Err(not_inside(source, "model_id"));
    }
    Ok(())
}

fn reject_host_schemes(source: &str) -> Result<()> {
    let uri = Uri::split(source);
    let names_host = HOST_SCHEMES.contains(&uri.scheme.as_str())
        || (uri.scheme == "mlflow-artifacts" && !uri.netloc.is_empty());
    if names_host {
        return Err(TrackingError::invalid(format!(
            "Invalid model version source '{source}': Weir does not connect to the host that a \
             '{}' URI names. Register files stored in Weir (mlflow-artifacts:/...) or in an \
             object store (s3://..., gs://...).",
            uri.scheme
        )));
    }
    Ok(())
}

/// Rejects a source whose path is relative or has `.` or `..` parts once fully decoded, which
/// could reach files outside the intended folder.
fn reject_relative_parts(source: &str) -> Result<()> {
    let mut decoded = source.to_owned();
    for _ in 0..MAX_DECODE_ROUNDS {
        let next = percent_decode(&decoded, true);
        if next == decoded {
            break;
        }
        decoded = next;
    }
    let path = Uri::split(&decoded).path.trim_end_matches('/').to_owned();
    let has_parent = decoded.split('/').any(|part| part == "..");
    let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
    let normal = path.starts_with('/') && !parts.is_empty() && !parts.contains(&".");
    if has_parent || path.contains('\0') || !normal {
        return Err(TrackingError::invalid(format!(
            "Invalid model version source '{source}': its path must be absolute, with no '.' \
             or '..' parts."
        )));
    }
    Ok(())
}

/// The newest version of a model, in `stage` or in any stage.
fn newest_version(tx: &Transaction<'_>, name: &str, stage: Option<&str>) -> Result<i64> {
    let model_key = store::model_key(tx, name)?;
    let newest: Option<i64> = tx
        .prepare_cached(
            "SELECT MAX(version) FROM registry_model_versions
             WHERE model_key = ?1 AND (?2 IS NULL OR current_stage = ?2)",
        )?
        .query_row((model_key, stage), |row| row.get(0))?;
    newest.ok_or_else(|| match stage {
        Some(stage) => TrackingError::not_found(format!(
            "Registered model '{name}' has no version in stage '{stage}'."
        )),
        None => TrackingError::not_found(format!("Registered model '{name}' has no versions.")),
    })
}

/// The version an alias points to, as `registered-models/alias` finds it.
pub fn aliased_version(tx: &Transaction<'_>, name: &str, alias: &str) -> Result<i64> {
    if alias.eq_ignore_ascii_case("latest") {
        return newest_version(tx, name, None);
    }
    let model_key = store::model_key(tx, name)?;
    tx.prepare_cached("SELECT version FROM registry_aliases WHERE model_key = ?1 AND alias = ?2")?
        .query_row((model_key, alias), |row| row.get(0))
        .optional()?
        .ok_or_else(|| {
            TrackingError::invalid(format!(
                "Registered model '{name}' has no alias '{alias}'. Set it with \
                 registered-models/alias first."
            ))
        })
}

fn run_artifact_uri(tx: &Transaction<'_>, run_id: &str) -> Result<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT artifact_uri FROM tracking_runs WHERE run_id = ?1")?
        .query_row([run_id], |row| row.get(0))
        .optional()?)
}

/// Returns the artifact location and source run of a logged model, or `None` when it is not
/// stored.
fn logged_model(tx: &Transaction<'_>, model_id: &str) -> Result<Option<(String, Option<String>)>> {
    Ok(tx
        .prepare_cached(
            "SELECT artifact_location, source_run_id FROM tracking_logged_models
             WHERE model_id = ?1",
        )?
        .query_row([model_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?)
}

fn no_logged_model(model_id: &str) -> TrackingError {
    TrackingError::not_found(format!(
        "Logged model '{model_id}' not found. Log the model before registering it."
    ))
}

fn not_inside(source: &str, field: &str) -> TrackingError {
    TrackingError::invalid(format!(
        "Invalid model version source '{source}': the '{field}' request parameter must name \
         the {} that contains the source.",
        if field == "run_id" { "run" } else { "logged model" }
    ))
}

fn local_source(source: &str, field: &str) -> TrackingError {
    TrackingError::invalid(format!(
        "Invalid model version source '{source}': a local path can be registered only inside \
         the local artifact folder of the {} that '{field}' names.",
        if field == "run_id" { "run" } else { "logged model" }
    ))
}

/// The target of a `models:/` URI, read as MLflow's `_parse_model_uri` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelUri {
    /// `models:/<model_id>`.
    LoggedModel(String),
    /// `models:/<name>/<digits>`.
    Version { name: String, version: i64 },
    /// `models:/<name>/latest`, in any case.
    Latest { name: String },
    /// `models:/<name>/<stage>`.
    Stage { name: String, stage: String },
    /// `models:/<name>@<alias>`.
    Alias { name: String, alias: String },
}

impl ModelUri {
    /// Reads a `models:/` URI; `None` when it is not one or is malformed.
    pub fn parse(uri: &str) -> Option<ModelUri> {
        let parsed = Uri::split_whole(uri);
        if parsed.scheme != "models" || !parsed.path.starts_with('/') || parsed.path.len() <= 1 {
            return None;
        }
        let parts: Vec<&str> = parsed.path.trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            [first, ..] if first.trim().is_empty() => None,
            [name, suffix] => {
                if suffix.trim().is_empty() {
                    None
                } else if suffix.chars().all(|c| c.is_ascii_digit()) {
                    let version = suffix.parse().ok()?;
                    Some(ModelUri::Version { name: (*name).to_owned(), version })
                } else if suffix.eq_ignore_ascii_case("latest") {
                    Some(ModelUri::Latest { name: (*name).to_owned() })
                } else {
                    Some(ModelUri::Stage { name: (*name).to_owned(), stage: (*suffix).to_owned() })
                }
            }
            [single] if single.contains('@') => {
                let (name, alias) = single.rsplit_once('@')?;
                if alias.trim().is_empty() {
                    return None;
                }
                Some(ModelUri::Alias { name: name.to_owned(), alias: alias.to_owned() })
            }
            [single] => Some(ModelUri::LoggedModel((*single).to_owned())),
            _ => None,
        }
    }
}

/// The scheme, authority and path of a URI, split as Python's `urllib.parse.urlparse` splits
/// them. The scheme is lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Uri<'a> {
    scheme: String,
    netloc: &'a str,
    path: &'a str,
}

impl<'a> Uri<'a> {
    /// Splits a URI; the path ends before `?` or `#`.
    fn split(uri: &'a str) -> Uri<'a> {
        let mut parsed = Uri::split_whole(uri);
        parsed.path = parsed.path.split(['?', '#']).next().unwrap_or("");
        parsed
    }

    /// Splits a URI; the path ends before `?` only, as `urlparse(allow_fragments=False)`.
    fn split_whole(uri: &'a str) -> Uri<'a> {
        let (scheme, rest) = match uri.split_once(':') {
            Some((scheme, rest)) if is_scheme(scheme) => (scheme.to_ascii_lowercase(), rest),
            _ => (String::new(), uri),
        };
        let (netloc, rest) = match rest.strip_prefix("//") {
            Some(after) => {
                let end = after.find(['/', '?', '#']).unwrap_or(after.len());
                after.split_at(end)
            }
            None => ("", rest),
        };
        let path = rest.split('?').next().unwrap_or("");
        Uri { scheme, netloc, path }
    }
}

fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn is_local(uri: &str) -> bool {
    matches!(Uri::split(uri).scheme.as_str(), "" | "file")
}

/// True when the local path of `source` is the local folder `root` or inside it.
fn local_contains(root: &str, source: &str) -> bool {
    if !is_local(root) {
        return false;
    }
    local_path(source).starts_with(local_path(root))
}

/// Returns the absolute, lexically normalized file path of a local URI or plain path.
fn local_path(uri: &str) -> PathBuf {
    let parsed = Uri::split(uri);
    let text =
        if parsed.scheme == "file" { percent_decode(parsed.path, false) } else { uri.into() };
    let path = Path::new(&text);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut normal = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    normal
}

/// MLflow's `_is_uri_within_root`: same scheme and authority, and the root's decoded path
/// parts start the source's.
fn uri_contains(root: &str, source: &str) -> bool {
    let (root, source) = (Uri::split(root), Uri::split(source));
    let parts = |path: &str| -> Vec<String> {
        path.split('/').filter(|part| !part.is_empty()).map(decode_fully).collect()
    };
    let (root_parts, source_parts) = (parts(root.path), parts(source.path));
    root.scheme == source.scheme
        && root.netloc.eq_ignore_ascii_case(source.netloc)
        && !root_parts.is_empty()
        && source_parts.starts_with(&root_parts)
}

fn decode_fully(text: &str) -> String {
    let mut decoded = text.to_owned();
    for _ in 0..MAX_DECODE_ROUNDS {
        let next = percent_decode(&decoded, false);
        if next == decoded {
            break;
        }
        decoded = next;
    }
    decoded
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`); bytes that are not UTF-8
/// become U+FFFD, as Python's `unquote` does.
fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let escaped = (byte == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(value) => {
                out.push(value);
                index += 3;
            }
            None => {
                out.push(if byte == b'+' && plus_is_space { b' ' } else { byte });
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_uris_parse_as_mlflow_reads_them() {
        let parse = ModelUri::parse;
        assert_eq!(parse("models:/m-abc"), Some(ModelUri::LoggedModel("m-abc".into())));
        assert_eq!(
            parse("models:/digits/3"),
            Some(ModelUri::Version { name: "digits".into(), version: 3 })
        );
        assert_eq!(
            parse("models:/digits/LATEST"),
            Some(ModelUri::Latest { name: "digits".into() })
        );
        assert_eq!(
            parse("models:/digits/Production"),
            Some(ModelUri::Stage { name: "digits".into(), stage: "Production".into() })
        );
        assert_eq!(
            parse("models:/digits@champion"),
            Some(ModelUri::Alias { name: "digits".into(), alias: "champion".into() })
        );
        for bad in ["models:/", "models:", "models:/a/b/c", "models:/a/ ", "models:/a@", "s3://x"] {
            assert_eq!(parse(bad), None, "{bad} was parsed");
        }
    }

    #[test]
    fn uris_split_like_urlparse() {
        let uri = Uri::split("S3://bucket/key/x?v=1#f");
        assert_eq!((uri.scheme.as_str(), uri.netloc, uri.path), ("s3", "bucket", "/key/x"));
        let uri = Uri::split("runs:/abc/model");
        assert_eq!((uri.scheme.as_str(), uri.netloc, uri.path), ("runs", "", "/abc/model"));
        let uri = Uri::split("relative/path");
        assert_eq!((uri.scheme.as_str(), uri.netloc, uri.path), ("", "", "relative/path"));
    }

    #[test]
    fn relative_parts_are_rejected() {
        for good in ["s3://b/x", "s3://b/x/", "runs:/abc/model", "mlflow-artifacts:/1/a/b"] {
            assert!(reject_relative_parts(good).is_ok(), "{good} was rejected");
        }
        for bad in ["s3://b/../x", "s3://b/%2e%2e/x", "s3://b/./x", "s3://b", "s3://b/", "x"] {
            assert!(reject_relative_parts(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn containment_compares_decoded_parts() {
        let root = "mlflow-artifacts:/1/abc/artifacts";
        assert!(uri_contains(root, "mlflow-artifacts:/1/abc/artifacts/model"));
        assert!(uri_contains(root, "mlflow-artifacts:/1/abc/%61rtifacts/model"));
        assert!(!uri_contains(root, "mlflow-artifacts:/1/abd/artifacts/model"));
        assert!(!uri_contains(root, "s3:/1/abc/artifacts/model"));
        assert!(!uri_contains("mlflow-artifacts:/", "mlflow-artifacts:/1"));
    }
}
