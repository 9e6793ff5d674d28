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

/// Serializes an executor input like [`to_compact_json`], except that numbers that are whole
/// input parameter values (`inputs.parameterValues[name]`) keep their fraction: a
/// NUMBER_DOUBLE input of `0.0` reaches a Python `float` parameter as `0.0`, not `0`.
pub(crate) fn executor_input_json(input: &crate::ExecutorInput) -> String {
    let mut buffer = Vec::with_capacity(512);
    let mut serializer = Serializer::with_formatter(&mut buffer, TopLevelDoubles { depth: 0 });
    if let Err(error) = input.serialize(&mut serializer) {
        return format!("\"<JSON serialization failed: {error}>\"");
    }
    String::from_utf8(buffer)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into())
}

/// Depth of `inputs.parameterValues` members in the executor input document: the document,
/// `inputs`, then `parameterValues` are the three enclosing objects. No other number sits
/// directly at that depth (artifact maps and output maps hold objects).
const PARAMETER_VALUE_DEPTH: usize = 3;

struct TopLevelDoubles {
    depth: usize,
}

impl Formatter for TopLevelDoubles {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        if self.depth == PARAMETER_VALUE_DEPTH {
            CompactFormatter.write_f64(writer, value)
        } else {
            IntegralDoubles.write_f64(writer, value)
        }
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth += 1;
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        writer.write_all(b"}")
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth += 1;
        writer.write_all(b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        writer.write_all(b"]")
    }
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
    fn executor_input_keeps_top_level_double_fraction() {
        let mut input = crate::ExecutorInput::default();
        input.inputs.parameter_values.insert("ratio".into(), json!(0.0));
        input.inputs.parameter_values.insert("count".into(), json!(3));
        input.inputs.parameter_values.insert("xs".into(), json!([1.0, 2.5]));
        let text = executor_input_json(&input);
        assert!(text.contains(r#""ratio":0.0"#), "{text}");
        assert!(text.contains(r#""count":3"#), "{text}");
        assert!(text.contains(r#""xs":[1,2.5]"#), "{text}");
    }

    #[test]
    fn compact_json_keeps_large_doubles_exact() {
        assert_eq!(to_compact_json(&json!([1e20, 3e21])), "[100000000000000000000,3e+21]");
    }
}
