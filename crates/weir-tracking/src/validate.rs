//! Checks MLflow applies to names and values before it stores them, with MLflow's limits.

use crate::error::{Result, TrackingError};

/// Maximum length of a metric, param or tag key.
pub const MAX_ENTITY_KEY_LENGTH: usize = 250;
/// Maximum length of a param value.
pub const MAX_PARAM_VALUE_LENGTH: usize = 6000;
/// Maximum length of a run tag value.
pub const MAX_TAG_VALUE_LENGTH: usize = 8000;
/// Maximum length of an experiment name.
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
/// Maximum length of an experiment tag key.
pub const MAX_EXPERIMENT_TAG_KEY_LENGTH: usize = 250;
/// Maximum length of an experiment tag value.
pub const MAX_EXPERIMENT_TAG_VALUE_LENGTH: usize = 20000;

/// Checks a metric, param or tag key: letters, digits, `_ - . / : ` and spaces only, and no
/// form that a file path would turn into another name (`a/../b`, `/a`, `.`).
///
/// `field` is the request field that held the key, for the message.
pub fn key(field: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(TrackingError::missing(field));
    }
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':' | ' ');
    if !name.chars().all(allowed) {
        return Err(TrackingError::invalid(format!(
            "Invalid value '{name}' for parameter '{field}' supplied: names may only contain \
             letters, digits, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) \
             and slashes (/)."
        )));
    }
    if !is_normal_path(name) {
        return Err(TrackingError::invalid(format!(
            "Invalid value '{name}' for parameter '{field}' supplied: names may be used as file \
             paths, so they cannot start with '/', end with '/', contain '//', or have '.' or \
             '..' parts."
        )));
    }
    length(field, MAX_ENTITY_KEY_LENGTH, name)
}

/// Checks that `value` has at most `limit` characters.
pub fn length(field: &str, limit: usize, value: &str) -> Result<()> {
    if value.chars().count() > limit {
        return Err(TrackingError::invalid(format!(
            "'{field}' exceeds the maximum length of {limit} characters; shorten the value."
        )));
    }
    Ok(())
}

/// True when the name is already in the form a path normalization would give it.
fn is_normal_path(name: &str) -> bool {
    if name.starts_with('/') || name.ends_with('/') {
        return false;
    }
    name.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_mlflow_rules() {
        assert!(key("key", "train/loss:v1 a-b.c_d").is_ok());
        assert!(key("key", "accuracy").is_ok());
        for bad in ["a$b", "../x", "a/../b", "/a", "a/", "a//b", ".", ""] {
            assert!(key("key", bad).is_err(), "{bad} was accepted");
        }
        assert!(key("key", &"k".repeat(251)).is_err());
        assert!(key("key", &"k".repeat(250)).is_ok());
    }
}
