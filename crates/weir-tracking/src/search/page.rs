//! MLflow's offset page tokens: base64 of the JSON `{"offset": N}`, the format of
//! `SearchUtils.create_page_token` in MLflow 3.17.2, so a token from either server reads the
//! same. Runs and experiments searches and metric histories use it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

use crate::error::{Result, TrackingError};

/// Encodes the offset of the next page, byte for byte as MLflow's Python `json.dumps` writes
/// it (`{"offset": 100}`, with a space after the colon).
pub fn encode_offset(offset: i64) -> String {
    STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

/// Reads the offset of a page token; no token, or an empty one, is offset 0. As in MLflow, a
/// token whose offset is 0 or missing is invalid.
pub fn decode_offset(token: Option<&str>) -> Result<i64> {
    let Some(token) = token.filter(|token| !token.is_empty()) else {
        return Ok(0);
    };
    let invalid = |problem: &str| {
        TrackingError::invalid(format!(
            "Invalid page token '{token}': {problem}. Send the next_page_token of the previous \
             response unchanged."
        ))
    };
    let bytes = STANDARD.decode(token.trim()).map_err(|_| invalid("it is not base64"))?;
    let parsed: Value =
        serde_json::from_slice(&bytes).map_err(|_| invalid("it does not hold JSON"))?;
    let offset = match parsed.get("offset") {
        Some(Value::Number(number)) => number.as_i64(),
        Some(Value::String(text)) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    match offset {
        Some(offset) if offset > 0 => Ok(offset),
        _ => Err(invalid("it holds no positive offset")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_mlflow_bytes() {
        // base64.b64encode(json.dumps({"offset": 100}).encode()) in Python.
        assert_eq!(encode_offset(100), "eyJvZmZzZXQiOiAxMDB9");
        assert_eq!(decode_offset(Some("eyJvZmZzZXQiOiAxMDB9")).unwrap(), 100);
    }

    #[test]
    fn missing_token_is_offset_zero() {
        assert_eq!(decode_offset(None).unwrap(), 0);
        assert_eq!(decode_offset(Some("")).unwrap(), 0);
    }

    #[test]
    fn offset_as_text_is_read() {
        let token = STANDARD.encode(r#"{"offset": "7"}"#);
        assert_eq!(decode_offset(Some(&token)).unwrap(), 7);
    }

    #[test]
    fn bad_tokens_are_rejected() {
        let zero = STANDARD.encode(r#"{"offset": 0}"#);
        let negative = STANDARD.encode(r#"{"offset": -3}"#);
        let no_offset = STANDARD.encode(r#"{"page": 3}"#);
        let not_json = STANDARD.encode("offset=3");
        for token in ["xyz", "eyJvZmZzZXQiOiAxMDB", &zero, &negative, &no_offset, &not_json] {
            let error = decode_offset(Some(token)).unwrap_err();
            assert_eq!(error.code, crate::ErrorCode::InvalidParameterValue, "token {token}");
            assert!(error.message.contains(token), "message {}", error.message);
        }
    }
}
