//! Parameter value helpers shared by the CLI and the engine: parsing `--param name=text`,
//! converting a JSON value to a declared [`ParameterType`], rendering a value as placeholder
//! text, and parsing protobuf duration text.
//!
//! Text rendering follows the KFP backend: strings as is, numbers in the shortest form without
//! an exponent (`5.0` -> `5`, `0.5` -> `0.5`), and lists and structs as compact JSON in which
//! integral doubles are printed as integers.

use std::time::Duration;

use serde_json::{Number, Value};

use crate::model::ParameterType;

/// Error for a value that does not fit a declared parameter type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Text (from the command line or inside a JSON string) does not parse as the type.
    #[error("expected {expected}, found {text:?}{}", hint_text(hint))]
    Parse { expected: &'static str, text: String, hint: Option<String> },
    /// A JSON value of another kind.
    #[error("expected {expected}, found {found}")]
    Mismatch { expected: &'static str, found: String },
}

fn hint_text(hint: &Option<String>) -> String {
    hint.as_ref().map(|hint| format!(" ({hint})")).unwrap_or_default()
}

/// Parses a command-line value for an input of type `ty`. STRING takes the text as is;
/// numbers and booleans parse the trimmed text; LIST and STRUCT parse JSON text.
pub fn parse_cli_value(text: &str, ty: ParameterType) -> Result<Value, ValueError> {
    match ty {
        ParameterType::String | ParameterType::Unspecified => Ok(Value::String(text.to_string())),
        ParameterType::NumberInteger => parse_integer(text).map(Value::from),
        ParameterType::NumberDouble => parse_double(text).and_then(|n| double_value(n, text)),
        ParameterType::Boolean => parse_bool(text).map(Value::Bool),
        ParameterType::List => parse_json_kind(text, ty, Value::is_array),
        ParameterType::Struct | ParameterType::TaskFinalStatus | ParameterType::TaskConfig => {
            parse_json_kind(text, ty, Value::is_object)
        }
    }
}

/// Checks `value` against the declared type and converts it: an integral double becomes an
/// integer for NUMBER_INTEGER, numeric and boolean text is parsed for number and boolean types,
/// and LIST/STRUCT accept JSON text of a list/object. STRING accepts every value and renders a
/// non-string as its text (see [`render_text`]), as the KFP backend driver does, so a field of a
/// dict loop item that contains a list can feed a `str` input. `null` passes unchanged, since
/// whether an absent value is allowed depends on the input being optional.
pub fn coerce(value: &Value, ty: ParameterType) -> Result<Value, ValueError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let expected = type_name(ty);
    let mismatch = || ValueError::Mismatch { expected, found: describe(value) };
    match ty {
        ParameterType::Unspecified => Ok(value.clone()),
        ParameterType::String => Ok(Value::String(render_text(value))),
        ParameterType::NumberInteger => match value {
            Value::Number(number) => {
                integer_from_number(number).map(Value::from).ok_or_else(|| ValueError::Mismatch {
                    expected,
                    found: format!("the number {number}"),
                })
            }
            Value::String(text) => parse_integer(text).map(Value::from),
            _ => Err(mismatch()),
        },
        ParameterType::NumberDouble => match value {
            Value::Number(number) => {
                let double = number.as_f64().ok_or_else(mismatch)?;
                double_value(double, &number.to_string())
            }
            Value::String(text) => parse_double(text).and_then(|n| double_value(n, text)),
            _ => Err(mismatch()),
        },
        ParameterType::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::String(text) => parse_bool(text).map(Value::Bool),
            _ => Err(mismatch()),
        },
        ParameterType::List => match value {
            Value::Array(_) => Ok(value.clone()),
            Value::String(text) => parse_json_kind(text, ty, Value::is_array),
            _ => Err(mismatch()),
        },
        ParameterType::Struct | ParameterType::TaskFinalStatus | ParameterType::TaskConfig => {
            match value {
                Value::Object(_) => Ok(value.clone()),
                Value::String(text) => parse_json_kind(text, ty, Value::is_object),
                _ => Err(mismatch()),
            }
        }
    }
}

/// Renders a value as placeholder text: strings as is, numbers without a needless fraction or
/// exponent, booleans as `true`/`false`, `null` as `null`, lists and structs as compact JSON.
pub fn render_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => format_number(number),
        Value::Bool(flag) => flag.to_string(),
        Value::Null => "null".to_string(),
        Value::Array(_) | Value::Object(_) => normalize_numbers(value.clone()).to_string(),
    }
}

/// Turns integral doubles inside lists and structs into integers, at any depth. A top-level
/// number is left as it is because its declared type decides its form.
pub fn normalize_numbers(value: Value) -> Value {
    fn normalize_inner(value: Value) -> Value {
        match value {
            Value::Number(number) => match integer_from_number(&number) {
                Some(integer) if number.is_f64() => Value::from(integer),
                _ => Value::Number(number),
            },
            other => normalize_numbers(other),
        }
    }
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(normalize_inner).collect()),
        Value::Object(fields) => Value::Object(
            fields.into_iter().map(|(key, item)| (key, normalize_inner(item))).collect(),
        ),
        other => other,
    }
}

/// Parses protobuf duration text (`"5s"`, `"0.5s"`, `"3600s"`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let seconds: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    Duration::try_from_secs_f64(seconds).ok()
}

/// Returns the IR name of a type, as used in messages.
fn type_name(ty: ParameterType) -> &'static str {
    ty.as_str()
}

fn parse_integer(text: &str) -> Result<i64, ValueError> {
    let trimmed = text.trim();
    if let Ok(integer) = trimmed.parse::<i64>() {
        return Ok(integer);
    }
    let error = |hint: &str| ValueError::Parse {
        expected: type_name(ParameterType::NumberInteger),
        text: text.to_string(),
        hint: Some(hint.to_string()),
    };
    match trimmed.parse::<f64>() {
        Ok(double) if double.is_finite() => {
            integer_from_double(double).ok_or_else(|| error("not a whole number"))
        }
        _ => Err(error("not a number")),
    }
}

fn parse_double(text: &str) -> Result<f64, ValueError> {
    match text.trim().parse::<f64>() {
        Ok(double) if double.is_finite() => Ok(double),
        _ => Err(ValueError::Parse {
            expected: type_name(ParameterType::NumberDouble),
            text: text.to_string(),
            hint: Some("not a finite number".to_string()),
        }),
    }
}

/// Accepts the forms Go's `strconv.ParseBool` accepts (`1`, `t`, `T`, `TRUE`, `true`, `True` and
/// the false forms) plus any capitalisation of `true` and `false`.
fn parse_bool(text: &str) -> Result<bool, ValueError> {
    let trimmed = text.trim();
    match trimmed {
        "1" | "t" | "T" => return Ok(true),
        "0" | "f" | "F" => return Ok(false),
        _ => {}
    }
    if trimmed.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if trimmed.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(ValueError::Parse {
            expected: type_name(ParameterType::Boolean),
            text: text.to_string(),
            hint: Some("use true or false".to_string()),
        })
    }
}

fn parse_json_kind(
    text: &str,
    ty: ParameterType,
    is_kind: fn(&Value) -> bool,
) -> Result<Value, ValueError> {
    let kind = if ty == ParameterType::List { "a JSON list" } else { "a JSON object" };
    match serde_json::from_str::<Value>(text) {
        Ok(value) if is_kind(&value) => Ok(value),
        Ok(_) => Err(ValueError::Parse {
            expected: type_name(ty),
            text: text.to_string(),
            hint: Some(format!("valid JSON but not {kind}")),
        }),
        Err(error) => Err(ValueError::Parse {
            expected: type_name(ty),
            text: text.to_string(),
            hint: Some(format!("not {kind}: {error}")),
        }),
    }
}

fn double_value(double: f64, text: &str) -> Result<Value, ValueError> {
    Number::from_f64(double).map(Value::Number).ok_or_else(|| ValueError::Parse {
        expected: type_name(ParameterType::NumberDouble),
        text: text.to_string(),
        hint: Some("not a finite number".to_string()),
    })
}

fn integer_from_number(number: &Number) -> Option<i64> {
    match number.as_i64() {
        Some(integer) => Some(integer),
        None => number.as_f64().and_then(integer_from_double),
    }
}

/// Converts a whole double inside the i64 range; bounds as in CEL's `int()` conversion.
fn integer_from_double(double: f64) -> Option<i64> {
    let whole = double.fract() == 0.0;
    let in_range = double > i64::MIN as f64 && double < i64::MAX as f64;
    (whole && in_range).then_some(double as i64)
}

/// Formats like Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest text that reads back
/// to the same double, never with an exponent. Rust's `Display` for `f64` has those rules.
fn format_number(number: &Number) -> String {
    if number.is_f64() {
        number.as_f64().map(|double| double.to_string()).unwrap_or_else(|| number.to_string())
    } else {
        number.to_string()
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(flag) => format!("the boolean {flag}"),
        Value::Number(number) => format!("the number {number}"),
        Value::String(text) => format!("the string {text:?}"),
        Value::Array(_) => format!("the list {}", truncate(&value.to_string())),
        Value::Object(_) => format!("the object {}", truncate(&value.to_string())),
    }
}

fn truncate(text: &str) -> String {
    const MAX_CHARS: usize = 60;
    if text.chars().count() <= MAX_CHARS {
        return text.to_string();
    }
    let head: String = text.chars().take(MAX_CHARS).collect();
    format!("{head}...")
}
