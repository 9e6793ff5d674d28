//! The paging, sorting and filtering query parameters of every list endpoint, turned into a
//! store [`ListQuery`].
//!
//! `filter` is a URL-encoded JSON `Filter`: `{"predicates": [{"key": "display_name",
//! "operation": "EQUALS", "string_value": "x"}]}`. As in the protobuf JSON mapping that the KFP
//! API server uses, field names may be snake_case or lowerCamelCase (`string_value` or
//! `stringValue`) and the operation may be its name or its number (the kfp client sends `1` for
//! `EQUALS`). `sort_by` is `"<field>"` or `"<field> desc"`. Field names are the API's; the store
//! checks which fields can be filtered and sorted on.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use weir_store::{FilterValue, ListQuery, Op, Predicate};

use crate::error::ApiError;

/// Query parameters shared by the list endpoints.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    pub page_token: Option<String>,
    pub page_size: Option<String>,
    pub sort_by: Option<String>,
    pub filter: Option<String>,
    pub namespace: Option<String>,
    pub experiment_id: Option<String>,
}

impl ListParams {
    /// Builds the store query, or an `InvalidArgument` error naming the bad parameter.
    pub fn to_query(&self) -> Result<ListQuery, ApiError> {
        let mut query = ListQuery {
            namespace: self.namespace.clone().filter(|ns| !ns.is_empty()),
            ..ListQuery::default()
        };
        if let Some(size) = self.page_size.as_deref().filter(|s| !s.is_empty()) {
            query.page_size = parse_page_size(size)?;
        }
        query.page_token = self.page_token.clone().filter(|token| !token.is_empty());
        if let Some(sort_by) = self.sort_by.as_deref() {
            let (field, descending) = parse_sort_by(sort_by)?;
            query.sort_field = field;
            query.descending = descending;
        }
        if let Some(filter) = self.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            query.predicates = parse_filter(filter)?;
        }
        Ok(query)
    }
}

fn parse_page_size(text: &str) -> Result<usize, ApiError> {
    match text.trim().parse::<i64>() {
        Ok(size) if size >= 0 => Ok(usize::try_from(size).unwrap_or(usize::MAX)),
        _ => Err(ApiError::invalid(format!(
            "invalid page_size {text:?}: expected a whole number of 0 or more"
        ))),
    }
}

/// Parses `"field"`, `"field asc"` or `"field desc"`; an empty text keeps the default order.
pub fn parse_sort_by(text: &str) -> Result<(Option<String>, bool), ApiError> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        [] => Ok((None, false)),
        [field] => Ok((Some((*field).to_string()), false)),
        [field, order] if order.eq_ignore_ascii_case("desc") => {
            Ok((Some((*field).to_string()), true))
        }
        [field, order] if order.eq_ignore_ascii_case("asc") => {
            Ok((Some((*field).to_string()), false))
        }
        _ => Err(ApiError::invalid(format!(
            "invalid sort_by {text:?}: expected \"<field>\" or \"<field> desc\", such as \
             \"created_at desc\""
        ))),
    }
}

/// Parses the JSON text of a `Filter` into predicates.
pub fn parse_filter(text: &str) -> Result<Vec<Predicate>, ApiError> {
    let value: Value = serde_json::from_str(text).map_err(|error| {
        ApiError::invalid(format!(
            "invalid filter: {error}; expected URL-encoded JSON such as \
             {{\"predicates\": [{{\"key\": \"display_name\", \"operation\": \"EQUALS\", \
             \"string_value\": \"name\"}}]}}"
        ))
    })?;
    let Value::Object(filter) = value else {
        return Err(ApiError::invalid(format!(
            "invalid filter {text:?}: expected a JSON object with `predicates`"
        )));
    };
    let predicates = match filter.get("predicates") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "invalid filter: `predicates` must be a list, got {other}"
            )))
        }
    };
    predicates
        .iter()
        .enumerate()
        .map(|(index, item)| {
            parse_predicate(item).map_err(|message| {
                ApiError::invalid(format!("invalid filter predicate {index}: {message}"))
            })
        })
        .collect()
}

fn parse_predicate(item: &Value) -> Result<Predicate, String> {
    let Value::Object(fields) = item else {
        return Err(format!("expected an object with `key` and `operation`, got {item}"));
    };
    let key = match field(fields, "key") {
        Some(Value::String(key)) if !key.is_empty() => key.clone(),
        Some(other) => return Err(format!("`key` must be a field name, got {other}")),
        None => return Err("missing `key`".to_string()),
    };
    let op = match field(fields, "operation") {
        Some(operation) => parse_op(operation)?,
        None => return Err(format!("missing `operation` for key {key:?}")),
    };
    let value = parse_value(fields, &key)?;

    let is_list = matches!(value, FilterValue::IntList(_) | FilterValue::TextList(_));
    match op {
        Op::In if !is_list => {
            return Err(format!(
                "operation IN on {key:?} takes `int_values`, `long_values` or `string_values`"
            ))
        }
        Op::IsSubstring if !matches!(value, FilterValue::Text(_)) => {
            return Err(format!("operation IS_SUBSTRING on {key:?} takes `string_value`"))
        }
        _ if op != Op::In && is_list => {
            return Err(format!(
                "operation {} on {key:?} takes a single value; lists are for IN",
                op.as_str()
            ))
        }
        _ => {}
    }
    Ok(Predicate { field: key, op, value })
}

/// Looks a field up by its snake_case name or its lowerCamelCase JSON name.
fn field<'a>(fields: &'a Map<String, Value>, snake: &str) -> Option<&'a Value> {
    if let Some(value) = fields.get(snake) {
        return Some(value);
    }
    fields.get(&camel_case(snake))
}

fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

const OPERATIONS: [(&str, i64, Op); 8] = [
    ("EQUALS", 1, Op::Equals),
    ("NOT_EQUALS", 2, Op::NotEquals),
    ("GREATER_THAN", 3, Op::GreaterThan),
    ("GREATER_THAN_EQUALS", 5, Op::GreaterThanEquals),
    ("LESS_THAN", 6, Op::LessThan),
    ("LESS_THAN_EQUALS", 7, Op::LessThanEquals),
    ("IN", 8, Op::In),
    ("IS_SUBSTRING", 9, Op::IsSubstring),
];

fn parse_op(value: &Value) -> Result<Op, String> {
    let found = match value {
        Value::String(name) => OPERATIONS.iter().find(|(n, _, _)| n == name),
        Value::Number(number) => {
            number.as_i64().and_then(|n| OPERATIONS.iter().find(|(_, code, _)| *code == n))
        }
        _ => None,
    };
    found.map(|(_, _, op)| *op).ok_or_else(|| {
        let names: Vec<&str> = OPERATIONS.iter().map(|(name, _, _)| *name).collect();
        format!("unknown operation {value}; expected one of {}", names.join(", "))
    })
}

/// Reads the one value field of a predicate.
fn parse_value(fields: &Map<String, Value>, key: &str) -> Result<FilterValue, String> {
    let mut found = Vec::new();
    if let Some(v) = field(fields, "string_value") {
        found.push(("string_value", text(v, "string_value").map(FilterValue::Text)));
    }
    for name in ["int_value", "long_value"] {
        if let Some(v) = field(fields, name) {
            found.push((name, integer(v, name).map(FilterValue::Int)));
        }
    }
    if let Some(v) = field(fields, "timestamp_value") {
        found.push(("timestamp_value", timestamp(v).map(FilterValue::Timestamp)));
    }
    if let Some(v) = field(fields, "bool_value") {
        let parsed =
            v.as_bool().ok_or_else(|| format!("`bool_value` must be true or false, got {v}"));
        found.push(("bool_value", parsed.map(FilterValue::Bool)));
    }
    for name in ["int_values", "long_values"] {
        if let Some(v) = field(fields, name) {
            let parsed: Result<Vec<i64>, String> =
                list(v, name)?.iter().map(|item| integer(item, name)).collect();
            found.push((name, parsed.map(FilterValue::IntList)));
        }
    }
    if let Some(v) = field(fields, "string_values") {
        let parsed: Result<Vec<String>, String> =
            list(v, "string_values")?.iter().map(|item| text(item, "string_values")).collect();
        found.push(("string_values", parsed.map(FilterValue::TextList)));
    }

    match found.len() {
        0 => Err(format!(
            "no value for key {key:?}; set one of string_value, int_value, long_value, \
             timestamp_value, bool_value, int_values, long_values or string_values"
        )),
        1 => found.remove(0).1,
        _ => {
            let names: Vec<&str> = found.iter().map(|(name, _)| *name).collect();
            Err(format!("key {key:?} has several values ({}); set exactly one", names.join(", ")))
        }
    }
}

fn text(value: &Value, name: &str) -> Result<String, String> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("`{name}` must be a string, got {value}"))
}

/// Reads an integer given as a JSON number or, as protobuf JSON writes 64-bit integers, a string.
fn integer(value: &Value, name: &str) -> Result<i64, String> {
    let parsed = match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| format!("`{name}` must be an integer, got {value}"))
}

fn timestamp(value: &Value) -> Result<DateTime<Utc>, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("`timestamp_value` must be an RFC 3339 string, got {value}"))?;
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|e| {
        format!(
            "invalid timestamp_value {text:?}: {e}; expected RFC 3339 such as 2024-01-01T12:00:00Z"
        )
    })
}

/// Reads `{"values": [...]}`, the shape of `int_values`, `long_values` and `string_values`.
fn list<'a>(value: &'a Value, name: &str) -> Result<&'a Vec<Value>, String> {
    match value.get("values") {
        Some(Value::Array(items)) => Ok(items),
        None if value.is_object() => Err(format!("`{name}` has no `values` list")),
        _ => Err(format!("`{name}` must be {{\"values\": [...]}}, got {value}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Predicate> {
        match parse_filter(text) {
            Ok(predicates) => predicates,
            Err(e) => panic!("filter {text} failed: {e}"),
        }
    }

    fn error(text: &str) -> String {
        match parse_filter(text) {
            Ok(p) => panic!("filter {text} was accepted: {p:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn filter_snake_case_names() {
        let predicates = parse(
            r#"{"predicates":[{"key":"display_name","operation":"EQUALS","string_value":"a"}]}"#,
        );
        assert_eq!(
            predicates,
            vec![Predicate {
                field: "display_name".into(),
                op: Op::Equals,
                value: FilterValue::Text("a".into())
            }]
        );
    }

    #[test]
    fn filter_camel_case_and_numeric_operation() {
        let predicates =
            parse(r#"{"predicates":[{"key":"display_name","operation":1,"stringValue":"a"}]}"#);
        assert_eq!(predicates[0].op, Op::Equals);
        assert_eq!(predicates[0].value, FilterValue::Text("a".into()));
    }

    #[test]
    fn filter_value_kinds() {
        let cases = [
            (r#""int_value": 3"#, FilterValue::Int(3)),
            (r#""long_value": "1234567890123""#, FilterValue::Int(1_234_567_890_123)),
            (r#""bool_value": true"#, FilterValue::Bool(true)),
            (
                r#""timestamp_value": "2024-01-01T12:00:00Z""#,
                FilterValue::Timestamp(
                    DateTime::from_timestamp(1_704_110_400, 0).unwrap_or_default(),
                ),
            ),
        ];
        for (value, expected) in cases {
            let text =
                format!(r#"{{"predicates":[{{"key":"k","operation":"GREATER_THAN",{value}}}]}}"#);
            assert_eq!(parse(&text)[0].value, expected, "{text}");
        }
    }

    #[test]
    fn filter_in_lists() {
        let text = r#"{"predicates":[{"key":"state","operation":"IN",
            "string_values":{"values":["RUNNING","FAILED"]}}]}"#;
        assert_eq!(
            parse(text)[0].value,
            FilterValue::TextList(vec!["RUNNING".into(), "FAILED".into()])
        );
        let text =
            r#"{"predicates":[{"key":"n","operation":"IN","long_values":{"values":["1",2]}}]}"#;
        assert_eq!(parse(text)[0].value, FilterValue::IntList(vec![1, 2]));
    }

    #[test]
    fn filter_empty_forms() {
        assert_eq!(parse("{}"), vec![]);
        assert_eq!(parse(r#"{"predicates":[]}"#), vec![]);
    }

    #[test]
    fn filter_errors_name_the_problem() {
        assert!(
            error("{not json").starts_with("invalid filter: key must be a string"),
            "{}",
            error("{not json")
        );
        assert_eq!(
            error(r#"{"predicates":[{"key":"a","operation":"LIKE","string_value":"x"}]}"#),
            "invalid filter predicate 0: unknown operation \"LIKE\"; expected one of EQUALS, \
             NOT_EQUALS, GREATER_THAN, GREATER_THAN_EQUALS, LESS_THAN, LESS_THAN_EQUALS, IN, \
             IS_SUBSTRING"
        );
        assert_eq!(
            error(r#"{"predicates":[{"key":"a","operation":"EQUALS"}]}"#),
            "invalid filter predicate 0: no value for key \"a\"; set one of string_value, \
             int_value, long_value, timestamp_value, bool_value, int_values, long_values or \
             string_values"
        );
        assert_eq!(
            error(r#"{"predicates":[{"key":"a","operation":"IN","string_value":"x"}]}"#),
            "invalid filter predicate 0: operation IN on \"a\" takes `int_values`, \
             `long_values` or `string_values`"
        );
        assert_eq!(
            error(r#"{"predicates":[{"key":"a","operation":"IS_SUBSTRING","int_value":1}]}"#),
            "invalid filter predicate 0: operation IS_SUBSTRING on \"a\" takes `string_value`"
        );
        assert_eq!(
            error(r#"{"predicates":[{"operation":"EQUALS","string_value":"x"}]}"#),
            "invalid filter predicate 0: missing `key`"
        );
        assert_eq!(
            error(r#"{"predicates":{"key":"a"}}"#),
            "invalid filter: `predicates` must be a list, got {\"key\":\"a\"}"
        );
    }

    #[test]
    fn sort_by_forms() {
        assert_eq!(parse_sort_by("").ok(), Some((None, false)));
        assert_eq!(parse_sort_by("created_at").ok(), Some((Some("created_at".into()), false)));
        assert_eq!(parse_sort_by("created_at desc").ok(), Some((Some("created_at".into()), true)));
        assert_eq!(parse_sort_by("name asc").ok(), Some((Some("name".into()), false)));
        assert!(parse_sort_by("name sideways").is_err());
    }

    #[test]
    fn page_size_must_be_whole() {
        let params = ListParams { page_size: Some("-1".into()), ..ListParams::default() };
        assert_eq!(
            params.to_query().err().map(|e| e.to_string()),
            Some("invalid page_size \"-1\": expected a whole number of 0 or more".to_string())
        );
        let params = ListParams { page_size: Some("50".into()), ..ListParams::default() };
        assert_eq!(params.to_query().ok().map(|q| q.page_size), Some(50));
    }
}
