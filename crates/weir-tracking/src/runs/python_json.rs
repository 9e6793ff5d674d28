//! JSON text in the layout of Python's `json.dumps` with default arguments: `", "` between
//! items, `": "` after keys, and every non-ASCII character escaped as `\uXXXX`.
//!
//! MLflow writes the `mlflow.log-model.history` tag this way, and searches such as
//! `tags."mlflow.log-model.history" LIKE '%"artifact_path": "model"%'` depend on the layout.
//! Numbers keep serde_json's form, which can differ from Python's: `1e-7` where Python writes
//! `1e-07`.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};
use serde_json::Value;

/// Writes `value` as Python's `json.dumps(value)` would.
pub fn to_string(value: &Value) -> String {
    let mut out = Vec::new();
    let mut serializer = Serializer::with_formatter(&mut out, PythonFormatter);
    // Serializing a `Value` into memory has no failure path: every map key is a string.
    if value.serialize(&mut serializer).is_err() {
        return value.to_string();
    }
    String::from_utf8(out).unwrap_or_else(|_| value.to_string())
}

struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        write_separator(writer, first)
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        write_separator(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        for c in fragment.chars() {
            if c.is_ascii() {
                writer.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

/// Writes Python's `", "` item separator before every item but the first.
fn write_separator<W: ?Sized + Write>(writer: &mut W, first: bool) -> io::Result<()> {
    if first {
        Ok(())
    } else {
        writer.write_all(b", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn layout_matches_python_json_dumps() {
        let value = json!([{ "a": 1, "b": [true, null, "x"], "c": {} }]);
        assert_eq!(to_string(&value), r#"[{"a": 1, "b": [true, null, "x"], "c": {}}]"#);
    }

    #[test]
    fn non_ascii_is_escaped_like_python() {
        assert_eq!(to_string(&json!("é😀\n")), r#""\u00e9\ud83d\ude00\n""#);
    }
}
