//! Page tokens of listings: the position after the last row of a page, tied to one query.
//!
//! A token contains the sort value and the key of the last row returned (keyset pagination), so
//! the next page starts with an index seek at any depth instead of skipping rows. It also holds a
//! fingerprint of the query's conditions and order. A token used with another query would return
//! rows from the wrong position, so [`PageToken::decode`] rejects it instead.
//!
//! The text form is the hexadecimal bytes of a small JSON object, which needs no escaping in a
//! URL. Tokens stay valid across restarts of the same weir version. A later version may compute
//! the fingerprint differently and then rejects older tokens as belonging to another query.

use rusqlite::types::Value as SqlValue;
use serde_json::{json, Value};

use crate::{Result, StoreError};

/// Position after the last row of a page.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PageToken {
    /// Value of the sort field in the last row, or NULL for a row without one.
    pub sort_value: SqlValue,
    /// Tie-breaking key of the last row.
    pub key: SqlValue,
}

impl PageToken {
    /// Encodes the token for the query with `fingerprint`.
    pub fn encode(&self, fingerprint: u64) -> String {
        let document = json!({
            "q": format!("{fingerprint:016x}"),
            "v": to_json(&self.sort_value),
            "k": to_json(&self.key),
        });
        hex_encode(document.to_string().as_bytes())
    }

    /// Decodes `text` and checks that it was made for the query with `fingerprint`.
    pub fn decode(text: &str, fingerprint: u64) -> Result<PageToken> {
        let invalid = || {
            StoreError::InvalidQuery(format!(
                "page token {text:?} is invalid; pass the next_page_token of the previous page \
                 unchanged, or leave the token out to start from the first page"
            ))
        };
        let bytes = hex_decode(text).ok_or_else(invalid)?;
        let document: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;

        let expected = format!("{fingerprint:016x}");
        if document.get("q").and_then(Value::as_str) != Some(expected.as_str()) {
            return Err(StoreError::InvalidQuery(
                "page token does not match this query; repeat the filter and sort order of the \
                 previous page, or leave the token out to start from the first page"
                    .to_owned(),
            ));
        }
        let sort_value = document.get("v").and_then(from_json).ok_or_else(invalid)?;
        let key = document.get("k").and_then(from_json).ok_or_else(invalid)?;
        Ok(PageToken { sort_value, key })
    }
}

/// Hashes `text` with 64-bit FNV-1a, a hash that does not change between Rust versions.
pub(super) fn fingerprint(text: &str) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    text.bytes().fold(OFFSET_BASIS, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(PRIME))
}

/// Converts a sort value or key to JSON. Listings sort only on INTEGER, TEXT and NULL columns.
fn to_json(value: &SqlValue) -> Value {
    match value {
        SqlValue::Integer(number) => json!(number),
        SqlValue::Text(text) => json!(text),
        SqlValue::Real(number) => json!(number),
        SqlValue::Null | SqlValue::Blob(_) => Value::Null,
    }
}

fn from_json(value: &Value) -> Option<SqlValue> {
    match value {
        Value::Null => Some(SqlValue::Null),
        Value::Number(number) => number.as_i64().map(SqlValue::Integer),
        Value::String(text) => Some(SqlValue::Text(text.clone())),
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => None,
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    let pairs = text.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    let digit = |byte: u8| char::from(byte).to_digit(16).and_then(|value| u8::try_from(value).ok());
    pairs.map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips_each_value_type() {
        let cases = [
            (SqlValue::Integer(1_700_000_000_000_000), SqlValue::Integer(42)),
            (SqlValue::Text("name with \"quotes\" and ü".to_owned()), SqlValue::Text("id".into())),
            (SqlValue::Null, SqlValue::Integer(-7)),
        ];
        for (sort_value, key) in cases {
            let token = PageToken { sort_value, key };

            let text = token.encode(99);

            assert!(text.bytes().all(|byte| byte.is_ascii_hexdigit()), "token {text}");
            assert_eq!(PageToken::decode(&text, 99).unwrap(), token);
        }
    }

    #[test]
    fn token_of_other_query_is_rejected() {
        let token = PageToken { sort_value: SqlValue::Integer(5), key: SqlValue::Integer(6) };

        let err = PageToken::decode(&token.encode(1), 2).unwrap_err();

        assert_eq!(
            err.to_string(),
            "page token does not match this query; repeat the filter and sort order of the \
             previous page, or leave the token out to start from the first page"
        );
    }

    #[test]
    fn malformed_tokens_are_invalid() {
        let not_json = hex_encode(b"not json");
        let no_key = hex_encode(br#"{"q":"0000000000000001","v":1}"#);
        let boolean_value = hex_encode(br#"{"q":"0000000000000001","v":true,"k":1}"#);
        for text in ["xyz", "abc", not_json.as_str(), no_key.as_str(), boolean_value.as_str()] {
            let err = PageToken::decode(text, 1).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "page token {text:?} is invalid; pass the next_page_token of the previous \
                     page unchanged, or leave the token out to start from the first page"
                ),
                "token {text:?}"
            );
        }
    }

    #[test]
    fn fingerprint_is_fnv1a() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fingerprint(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fingerprint("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fingerprint("foobar"), 0x8594_4171_f739_67e8);
    }
}
