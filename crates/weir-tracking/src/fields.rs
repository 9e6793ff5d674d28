//! [`Fields`], the request fields of one MLflow call, read the same way from a JSON body
//! (POST, PATCH, DELETE) and from a query string (GET).
//!
//! The MLflow client sends proto messages as JSON: 64-bit integers may come as numbers or as
//! strings, doubles may be the strings `"NaN"`, `"Infinity"` and `"-Infinity"`, and a GET
//! request repeats a key for each item of a list. The accessors accept each of those forms and
//! name the field in every error, as MLflow does.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::Method;
use serde_json::{Map, Value};

use crate::error::{Result, TrackingError};

/// Largest JSON body a tracking call accepts (log-batch with 1,000 long entries fits easily).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The fields of one request.
#[derive(Debug, Clone, Default)]
pub struct Fields(Map<String, Value>);

impl Fields {
    /// Reads a JSON object body. An empty body reads as no fields.
    pub fn from_json(body: &[u8]) -> Result<Fields> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fields::default());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Fields(map)),
            Ok(other) => Err(TrackingError::bad_request(format!(
                "the request body must be a JSON object, got {}",
                kind_of(&other)
            ))),
            Err(err) => Err(TrackingError::bad_request(format!(
                "the request body is not valid JSON: {err}"
            ))),
        }
    }

    /// Reads a query string; a key given more than once becomes a list.
    pub fn from_query(query: &str) -> Fields {
        let mut map = Map::new();
        for (key, value) in form_pairs(query) {
            match map.get_mut(&key) {
                Some(Value::Array(items)) => items.push(Value::String(value)),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, Value::String(value)]);
                }
                None => {
                    map.insert(key, Value::String(value));
                }
            }
        }
        Fields(map)
    }

    /// Wraps a JSON object, such as one item of a list field.
    pub fn from_map(map: Map<String, Value>) -> Fields {
        Fields(map)
    }

    /// Returns the raw value of a field that is present and not null.
    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|value| !value.is_null())
    }

    /// Reads a required string field; a missing or empty one is `INVALID_PARAMETER_VALUE`.
    pub fn str(&self, key: &str) -> Result<String> {
        match self.opt_str(key)? {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(TrackingError::missing(key)),
        }
    }

    /// Reads an optional string field. A JSON number or boolean is rejected, as MLflow's proto
    /// parsing rejects it. A query string contains only text.
    pub fn opt_str(&self, key: &str) -> Result<Option<String>> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Array(items)) if items.len() == 1 => {
                Fields::single(key, &items[0]).map(Some)
            }
            Some(other) => Err(wrong_type(key, "a string", other)),
        }
    }

    /// Reads an optional enum field, such as a status. Proto JSON sends an enum by name or by
    /// number, and both are returned as text.
    pub fn opt_enum(&self, key: &str) -> Result<Option<String>> {
        match self.raw(key) {
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            _ => self.opt_str(key),
        }
    }

    fn single(key: &str, value: &Value) -> Result<String> {
        match value {
            Value::String(text) => Ok(text.clone()),
            other => Err(wrong_type(key, "a string", other)),
        }
    }

    /// Reads an optional 64-bit integer, given as a JSON number or as decimal text.
    pub fn opt_i64(&self, key: &str) -> Result<Option<i64>> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Number(number)) => number
                .as_i64()
                .or_else(|| number.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .map(Some)
                .ok_or_else(|| wrong_type(key, "an integer", &Value::Number(number.clone()))),
            Some(Value::String(text)) => text
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| wrong_type(key, "an integer", &Value::String(text.clone()))),
            Some(Value::Array(items)) if items.len() == 1 => {
                Fields::from_map(Map::from_iter([(key.to_owned(), items[0].clone())])).opt_i64(key)
            }
            Some(other) => Err(wrong_type(key, "an integer", other)),
        }
    }

    /// Reads a required double. Accepts JSON numbers, decimal text and the proto JSON names of the
    /// special values (`NaN`, `Infinity`, `-Infinity`).
    pub fn f64(&self, key: &str) -> Result<f64> {
        match self.raw(key) {
            None => Err(TrackingError::missing(key)),
            Some(Value::Number(number)) => {
                number.as_f64().ok_or_else(|| wrong_type(key, "a number", self.raw_or_null(key)))
            }
            Some(Value::String(text)) => parse_double(text)
                .ok_or_else(|| wrong_type(key, "a number", &Value::String(text.clone()))),
            Some(other) => Err(wrong_type(key, "a number", other)),
        }
    }

    fn raw_or_null(&self, key: &str) -> &Value {
        self.raw(key).unwrap_or(&Value::Null)
    }

    /// Reads an optional boolean, given as JSON `true`/`false` or as that text.
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(Value::String(text)) => match text.to_ascii_lowercase().as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(wrong_type(key, "true or false", &Value::String(text.clone()))),
            },
            Some(other) => Err(wrong_type(key, "true or false", other)),
        }
    }

    /// Reads a list of strings. A single string is a list of one, and a missing field is empty.
    pub fn str_list(&self, key: &str) -> Result<Vec<String>> {
        match self.raw(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                items.iter().map(|item| Fields::single(key, item)).collect()
            }
            Some(single) => Ok(vec![Fields::single(key, single)?]),
        }
    }

    /// Reads a list of objects, such as `metrics` of log-batch. A missing field is empty.
    pub fn objects(&self, key: &str) -> Result<Vec<Fields>> {
        match self.raw(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::Object(map) => Ok(Fields(map.clone())),
                    other => Err(wrong_type(key, "a list of objects", other)),
                })
                .collect(),
            Some(other) => Err(wrong_type(key, "a list of objects", other)),
        }
    }

    /// Reads an optional nested object.
    pub fn object(&self, key: &str) -> Result<Option<Fields>> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Fields(map.clone()))),
            Some(other) => Err(wrong_type(key, "an object", other)),
        }
    }

    /// Reads the run id of a run call: `run_id`, or the older `run_uuid`.
    pub fn run_id(&self) -> Result<String> {
        match self.opt_str("run_id")?.filter(|id| !id.is_empty()) {
            Some(id) => Ok(id),
            None => self.str("run_uuid").map_err(|_| TrackingError::missing("run_id")),
        }
    }

    /// `max_results`, checked against MLflow's bounds for the endpoint.
    pub fn max_results(&self, default: i64, max: i64) -> Result<i64> {
        match self.opt_i64("max_results")? {
            None => Ok(default),
            Some(n) if n >= 1 && n <= max => Ok(n),
            Some(n) => Err(TrackingError::invalid(format!(
                "Invalid value {n} for parameter 'max_results' supplied. It must be at least 1 \
                 and at most {max}."
            ))),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = TrackingError;

    async fn from_request(request: Request, state: &S) -> Result<Fields> {
        let query = request.uri().query().unwrap_or("").to_owned();
        if request.method() == Method::GET {
            return Ok(Fields::from_query(&query));
        }
        let body = Bytes::from_request(request, state).await.map_err(|err| {
            TrackingError::bad_request(format!("could not read the request body: {err}"))
        })?;
        if body.iter().all(u8::is_ascii_whitespace) && !query.is_empty() {
            return Ok(Fields::from_query(&query));
        }
        Fields::from_json(&body)
    }
}

/// Reads a proto JSON double: a decimal number or `NaN`, `Infinity`, `-Infinity`.
pub fn parse_double(text: &str) -> Option<f64> {
    match text.trim() {
        "NaN" | "nan" => Some(f64::NAN),
        "Infinity" | "inf" => Some(f64::INFINITY),
        "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
        other => other.parse::<f64>().ok(),
    }
}

/// Writes a double as proto JSON does: a number, or the name of a special value.
pub fn double_json(value: f64) -> Value {
    if value.is_nan() {
        Value::String("NaN".to_owned())
    } else if value == f64::INFINITY {
        Value::String("Infinity".to_owned())
    } else if value == f64::NEG_INFINITY {
        Value::String("-Infinity".to_owned())
    } else {
        serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}

fn wrong_type(key: &str, expected: &str, got: &Value) -> TrackingError {
    TrackingError::invalid(format!(
        "Invalid value {got} for parameter '{key}' supplied: expected {expected}."
    ))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Splits a query string into decoded pairs.
fn form_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}
