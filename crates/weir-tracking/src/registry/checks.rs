//! Checks of registry request values, with MLflow's rules (MLflow 3.17.2,
//! `mlflow/utils/validation.py` and `model_version_stages.py`): model names, version numbers,
//! aliases, stages and tags.

use crate::error::{Result, TrackingError};
use crate::fields::Fields;
use crate::validate;

/// Maximum length of a registered-model or model-version tag value.
pub const MAX_TAG_VALUE_LENGTH: usize = 100_000;
/// Maximum length of an alias.
pub const MAX_ALIAS_LENGTH: usize = 255;

/// The stage names MLflow accepts, in its order.
pub const STAGES: [&str; 4] = ["None", "Staging", "Production", "Archived"];

/// The tag that marks a registered model or a version as a prompt of MLflow's prompt registry.
pub const IS_PROMPT_TAG: &str = "mlflow.prompt.is_prompt";

/// Reads and checks the model name in `field`.
pub fn model_name(fields: &Fields, field: &str) -> Result<String> {
    let name = fields.opt_str(field)?.unwrap_or_default();
    check_model_name(field, &name)?;
    Ok(name)
}

/// Checks a model name: not blank, no `/` or `:`, and not a name a file path would change
/// (`.` or a name starting with `..`).
pub fn check_model_name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(TrackingError::missing(field));
    }
    if name.contains(['/', ':']) {
        return Err(TrackingError::invalid(format!(
            "Invalid model name '{name}': names cannot contain '/' or ':'. Choose another name."
        )));
    }
    if name == "." || name.starts_with("..") {
        return Err(TrackingError::invalid(format!(
            "Invalid model name '{name}': names may be used as file paths, so they cannot be \
             '.' or start with '..'. Choose another name."
        )));
    }
    Ok(())
}

/// Reads the `version` field as a version number.
pub fn version(fields: &Fields) -> Result<i64> {
    parse_version(&fields.str("version")?)
}

/// Parses a version number given as text.
pub fn parse_version(text: &str) -> Result<i64> {
    text.trim().parse::<i64>().map_err(|_| {
        TrackingError::invalid(format!(
            "Invalid value '{text}' for parameter 'version': a model version is an integer such \
             as '1'."
        ))
    })
}

/// Reads and checks the `alias` field, as every alias call does.
pub fn alias(fields: &Fields) -> Result<String> {
    let alias = fields.opt_str("alias")?.unwrap_or_default();
    if alias.is_empty() {
        return Err(TrackingError::missing("alias"));
    }
    if !alias.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
        return Err(TrackingError::invalid(format!(
            "Invalid alias name '{alias}': aliases may only contain letters, digits, \
             underscores (_) and dashes (-)."
        )));
    }
    validate::length("alias", MAX_ALIAS_LENGTH, &alias)?;
    Ok(alias)
}

/// Rejects the alias names that a model URI reads as something else: `latest` in any case,
/// and `v<digits>` or `V<digits>`, which name a version.
pub fn alias_not_reserved(alias: &str) -> Result<()> {
    if alias.eq_ignore_ascii_case("latest") {
        return Err(TrackingError::invalid(format!(
            "The alias name '{alias}' is reserved: 'latest' in any case names the newest \
             version. Choose another alias."
        )));
    }
    if is_version_alias(alias) {
        return Err(TrackingError::invalid(format!(
            "The alias name '{alias}' is reserved: 'v' followed by digits names a version. \
             Choose another alias."
        )));
    }
    Ok(())
}

fn is_version_alias(alias: &str) -> bool {
    let Some(digits) = alias.strip_prefix(['v', 'V']) else {
        return false;
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// Returns MLflow's spelling of a stage given in any case.
pub fn canonical_stage(stage: &str) -> Result<&'static str> {
    STAGES.into_iter().find(|known| known.eq_ignore_ascii_case(stage)).ok_or_else(|| {
        TrackingError::invalid(format!(
            "Invalid model version stage '{stage}'. Use one of {}.",
            STAGES.join(", ")
        ))
    })
}

/// Checks a tag key and value of a registered model or a model version.
pub fn tag(key: &str, value: &str) -> Result<()> {
    validate::key("key", key)?;
    validate::length("value", MAX_TAG_VALUE_LENGTH, value)
}

/// Reads the `tags` list of a create call. A key given twice keeps its last value, as in
/// MLflow.
pub fn tag_list(fields: &Fields) -> Result<Vec<(String, String)>> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for item in fields.objects("tags")? {
        let key = item.opt_str("key")?.unwrap_or_default();
        let value = item.opt_str("value")?.unwrap_or_default();
        tag(&key, &value)?;
        match tags.iter_mut().find(|(existing, _)| *existing == key) {
            Some(entry) => entry.1 = value,
            None => tags.push((key, value)),
        }
    }
    Ok(tags)
}

/// True when the tags mark a prompt: `mlflow.prompt.is_prompt` is `true` in any case.
pub fn is_prompt(tags: &[(String, String)]) -> bool {
    tags.iter().any(|(key, value)| key == IS_PROMPT_TAG && value.eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_follow_mlflow_rules() {
        for good in ["digits", "my model", "a.b", "x..y", "m-1_2"] {
            assert!(check_model_name("name", good).is_ok(), "{good} was rejected");
        }
        for bad in ["", "  ", "a/b", "a:b", ".", "..", "..x"] {
            assert!(check_model_name("name", bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn reserved_aliases_are_rejected() {
        for reserved in ["latest", "LATEST", "Latest", "v1", "V22", "v0"] {
            assert!(alias_not_reserved(reserved).is_err(), "{reserved} was accepted");
        }
        for free in ["champion", "v", "v1a", "version1", "latest2", "x-v1"] {
            assert!(alias_not_reserved(free).is_ok(), "{free} was rejected");
        }
    }

    #[test]
    fn stages_are_case_insensitive() {
        assert_eq!(canonical_stage("production").ok(), Some("Production"));
        assert_eq!(canonical_stage("NONE").ok(), Some("None"));
        assert_eq!(canonical_stage("Archived").ok(), Some("Archived"));
        assert!(canonical_stage("prod").is_err());
        assert!(canonical_stage("").is_err());
    }

    #[test]
    fn versions_are_integers() {
        assert_eq!(parse_version("3").ok(), Some(3));
        assert_eq!(parse_version(" 12 ").ok(), Some(12));
        assert!(parse_version("x").is_err());
        assert!(parse_version("1.5").is_err());
        assert!(parse_version("").is_err());
    }
}
