//! Store records to KFP v2beta1 API JSON and request bodies to store records.
//!
//! Output follows the protobuf JSON mapping the KFP API server uses: snake_case field names,
//! enums as their names, 64-bit integers as strings, timestamps in RFC 3339 UTC, and unset
//! fields left out. Request bodies accept snake_case and lowerCamelCase field names.

pub mod experiment;
pub mod pipeline;
pub mod recurring;
pub mod run;
pub mod spec;
pub mod task;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A `googleRpcStatus`, the KFP form of an error inside a record (a failed run or task).
#[derive(Debug, Clone, Serialize)]
pub struct RpcStatus {
    pub code: i32,
    pub message: String,
    pub details: Vec<Value>,
}

impl RpcStatus {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        RpcStatus { code, message: message.into(), details: Vec::new() }
    }
}

/// Formats a timestamp as protobuf JSON does: RFC 3339 in UTC with 0, 3, 6 or 9 fraction digits.
pub fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub fn optional_timestamp(time: Option<DateTime<Utc>>) -> Option<String> {
    time.map(timestamp)
}

/// Returns `None` for an empty string, so the field is left out of the output.
pub fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// Deserializes a protobuf JSON 64-bit integer, which may be a JSON number or a string.
pub fn de_int64<'de, D>(deserializer: D) -> Result<Option<i64>, D::Error>
where
    D: Deserializer<'de>,
{
    let value = Option::<Value>::deserialize(deserializer)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("expected an integer, got {n}"))),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("expected an integer, got {text:?}"))),
        Some(other) => Err(serde::de::Error::custom(format!("expected an integer, got {other}"))),
    }
}

/// Deserializes an RFC 3339 timestamp; an empty string or null is `None`.
pub fn de_timestamp<'de, D>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error>
where
    D: Deserializer<'de>,
{
    let text = Option::<String>::deserialize(deserializer)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => {
            DateTime::parse_from_rfc3339(text).map(|t| Some(t.with_timezone(&Utc))).map_err(|e| {
                serde::de::Error::custom(format!(
                    "invalid timestamp {text:?}: {e}; expected RFC 3339 such as \
                     2024-01-01T12:00:00Z"
                ))
            })
        }
    }
}

/// Reads an optional string field; `null` counts as absent.
pub fn de_string<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let whole = DateTime::from_timestamp(1_704_110_400, 0).unwrap_or_default();
        assert_eq!(timestamp(whole), "2024-01-01T12:00:00Z");
        let micros = DateTime::from_timestamp_micros(1_704_110_400_123_456).unwrap_or_default();
        assert_eq!(timestamp(micros), "2024-01-01T12:00:00.123456Z");
    }
}
