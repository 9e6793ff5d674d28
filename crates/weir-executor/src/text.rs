//! Compact JSON as the KFP backend writes it into command lines: integral doubles have no
//! fraction, as Go's protojson prints them, so a `List[int]` reaches the task as `[1,2]` and
//! not `[1.0,2.0]`.
//!
//! The serializer formats numbers while writing, so `{{$}}` needs no normalized copy of the
//! executor input. Unlike `weir_spec::values::normalize_numbers`, it also prints integral
//! doubles beyond the i64 range without a fraction, up to 1e21.

use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, Serializer};

/// Serializes `value` as compact JSON with integral doubles written as integers.
pub(crate) fn to_compact_json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut buffer = Vec::with_capacity(256);
    let mut serializer = Serializer::with_formatter(&mut buffer, IntegralDoubles);
    if let Err(error) = value.serialize(&mut serializer) {
        // JSON values and protocol structs with string keys cannot fail to serialize into a
        // Vec. If that changes, the message shows up in the command line.
        return format!("\"<JSON serialization failed: {error}>\"");
    }
    // serde_json writes valid UTF-8 only.
    String::from_utf8(buffer)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into())
}

/// Compact JSON formatter that writes doubles with no fractional part as integers.
struct IntegralDoubles;

impl Formatter for IntegralDoubles {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        // From 1e21 up the exponent form stays, which is also where JavaScript's number
        // printing switches to it.
        if value.fract() == 0.0 && value.abs() < 1e21 {
            write!(writer, "{value:.0}")
        } else {
            CompactFormatter.write_f64(writer, value)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn compact_json_prints_integral_doubles_as_integers() {
        let value = json!({"k": {"n": 4.0}, "xs": [1.0, 2.5, -3.0], "b": [true, null, "s"]});
        assert_eq!(to_compact_json(&value), r#"{"k":{"n":4},"xs":[1,2.5,-3],"b":[true,null,"s"]}"#);
    }

    #[test]
    fn compact_json_keeps_large_doubles_exact() {
        assert_eq!(to_compact_json(&json!([1e20, 3e21])), "[100000000000000000000,3e+21]");
    }
}
