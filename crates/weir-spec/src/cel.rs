//! CEL evaluation for trigger conditions and parameter expression selectors, using the `cel`
//! crate.
//!
//! The kfp compiler writes conditions such as
//! `!(inputs.parameter_values['pipelinechannel--flip-Output'] == 'heads') &&
//! int(inputs.parameter_values['n']) > 2`, where `inputs.parameter_values['k']` is the task's own
//! resolved input `k`, and selectors such as `parseJson(string_value)["a"]`, where `string_value`
//! is the JSON text of a loop item. Values enter CEL as the `google.protobuf.Value` kinds the
//! backend uses: every JSON number is a double, which is why the compiler wraps integer inputs in
//! `int(...)`. `int(5.7)` truncates toward zero and `int('5')` parses.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cel::objects::{Key, Map};
use cel::{Context, ExecutionError, Program};
use serde_json::Value as Json;

use crate::values::normalize_numbers;

/// Error of compiling or evaluating a CEL expression.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CelError {
    #[error("invalid CEL expression `{expression}`: {message}")]
    Syntax { expression: String, message: String },
    #[error("failed to evaluate CEL expression `{expression}`: {message}")]
    Evaluation { expression: String, message: String },
    #[error("condition `{expression}` evaluated to {found}, expected a boolean")]
    NotBool { expression: String, found: String },
}

/// Checks that `expression` parses as CEL.
pub fn check_syntax(expression: &str) -> Result<(), CelError> {
    compile(expression).map(|_| ())
}

/// Evaluates a trigger condition against the task's resolved input parameter values, visible as
/// `inputs.parameter_values['name']`. The result must be a boolean.
pub fn evaluate_condition(
    expression: &str,
    parameter_values: &BTreeMap<String, Json>,
) -> Result<bool, CelError> {
    let program = compile(expression)?;
    for name in referenced_parameters(expression) {
        if !parameter_values.contains_key(&name) {
            return Err(CelError::Evaluation {
                expression: expression.to_string(),
                message: format!("input parameter '{name}' has no value"),
            });
        }
    }

    let values: HashMap<Key, cel::Value> = parameter_values
        .iter()
        .map(|(name, value)| (Key::from(name.clone()), to_cel(value)))
        .collect();
    let mut inputs = HashMap::new();
    inputs.insert(Key::from("parameter_values".to_string()), map_value(values));

    let mut context = new_context();
    context.add_variable_from_value("inputs", map_value(inputs));
    match execute(&program, &context, expression)? {
        cel::Value::Bool(result) => Ok(result),
        other => {
            Err(CelError::NotBool { expression: expression.to_string(), found: describe(&other) })
        }
    }
}

/// Evaluates a `parameterExpressionSelector` such as `parseJson(string_value)["a"]` over `value`.
/// `string_value` is the JSON text of the value; a string value is its own text. Integral
/// doubles in the result are returned as integers.
pub fn evaluate_selector(expression: &str, value: &Json) -> Result<Json, CelError> {
    let program = compile(expression)?;
    let text = match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    };

    let mut context = new_context();
    context.add_variable_from_value("string_value", text);
    let result = execute(&program, &context, expression)?;
    let json = from_cel(&result)
        .map_err(|message| CelError::Evaluation { expression: expression.to_string(), message })?;
    Ok(match json {
        Json::Number(_) => normalize_scalar(json),
        other => normalize_numbers(other),
    })
}

/// Names read as `parameter_values['NAME']` (or with double quotes) in a condition, in order of
/// first appearance.
pub fn referenced_parameters(expression: &str) -> Vec<String> {
    const MARKER: &str = "parameter_values[";
    let mut names: Vec<String> = Vec::new();
    let mut rest = expression;
    while let Some(start) = rest.find(MARKER) {
        rest = &rest[start + MARKER.len()..];
        let trimmed = rest.trim_start();
        let Some(quote) = trimmed.chars().next().filter(|c| *c == '\'' || *c == '"') else {
            continue;
        };
        let body = &trimmed[1..];
        let Some(end) = body.find(quote) else { break };
        let name = body[..end].to_string();
        if !names.contains(&name) {
            names.push(name);
        }
        rest = &body[end + 1..];
    }
    names
}

fn compile(expression: &str) -> Result<Program, CelError> {
    Program::compile(expression).map_err(|errors| CelError::Syntax {
        expression: expression.to_string(),
        message: errors.to_string().lines().collect::<Vec<_>>().join("; "),
    })
}

fn execute(program: &Program, context: &Context, expression: &str) -> Result<cel::Value, CelError> {
    program.execute(context).map_err(|error| CelError::Evaluation {
        expression: expression.to_string(),
        message: error.to_string(),
    })
}

fn new_context() -> Context<'static, 'static> {
    let mut context = Context::default();
    // `parseJson` is not a standard CEL function, so registering it cannot conflict.
    if let Err(error) = context.add_function("parseJson", parse_json) {
        tracing::error!(%error, "Failed to register the CEL function parseJson.");
    }
    context
}

/// The `parseJson(string)` function the KFP backend declares: JSON text to a CEL value.
fn parse_json(text: Arc<String>) -> Result<cel::Value, ExecutionError> {
    let parsed: Json = serde_json::from_str(&text).map_err(|error| {
        ExecutionError::function_error("parseJson", format!("invalid JSON {text:?}: {error}"))
    })?;
    Ok(to_cel(&parsed))
}

/// Converts JSON to CEL the way `google.protobuf.Value` does: every number becomes a double.
fn to_cel(value: &Json) -> cel::Value {
    match value {
        Json::Null => cel::Value::Null,
        Json::Bool(flag) => cel::Value::Bool(*flag),
        Json::Number(number) => cel::Value::Float(number.as_f64().unwrap_or(f64::NAN)),
        Json::String(text) => cel::Value::String(Arc::new(text.clone())),
        Json::Array(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Json::Object(fields) => map_value(
            fields.iter().map(|(key, value)| (Key::from(key.clone()), to_cel(value))).collect(),
        ),
    }
}

fn map_value(fields: HashMap<Key, cel::Value>) -> cel::Value {
    cel::Value::Map(Map { map: Arc::new(fields) })
}

fn from_cel(value: &cel::Value) -> Result<Json, String> {
    Ok(match value {
        cel::Value::Null => Json::Null,
        cel::Value::Bool(flag) => Json::Bool(*flag),
        cel::Value::Int(number) => Json::from(*number),
        cel::Value::UInt(number) => Json::from(*number),
        cel::Value::Float(number) => serde_json::Number::from_f64(*number)
            .map(Json::Number)
            .ok_or_else(|| format!("the result {number} is not a finite number"))?,
        cel::Value::String(text) => Json::String(text.to_string()),
        cel::Value::List(items) => {
            Json::Array(items.iter().map(from_cel).collect::<Result<_, _>>()?)
        }
        cel::Value::Map(map) => {
            // Sorted keys keep the output stable, as a HashMap has no order.
            let mut fields: Vec<(String, Json)> = Vec::new();
            for (key, item) in map.map.iter() {
                let key = match key {
                    Key::String(text) => text.to_string(),
                    Key::Int(number) => number.to_string(),
                    Key::Uint(number) => number.to_string(),
                    Key::Bool(flag) => flag.to_string(),
                };
                fields.push((key, from_cel(item)?));
            }
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(fields.into_iter().collect())
        }
        other => return Err(format!("the result {} has no JSON form", describe(other))),
    })
}

/// Turns a top-level integral double into an integer, as inside lists and structs.
fn normalize_scalar(value: Json) -> Json {
    match normalize_numbers(Json::Array(vec![value])) {
        Json::Array(mut items) => items.pop().unwrap_or(Json::Null),
        other => other,
    }
}

fn describe(value: &cel::Value) -> String {
    match value {
        cel::Value::String(text) => format!("the string {:?}", text.as_str()),
        cel::Value::Int(number) => format!("the integer {number}"),
        cel::Value::UInt(number) => format!("the unsigned integer {number}"),
        cel::Value::Float(number) => format!("the double {number}"),
        cel::Value::Null => "null".to_string(),
        cel::Value::List(_) => "a list".to_string(),
        cel::Value::Map(_) => "a map".to_string(),
        other => format!("a value of type {}", other.type_of()),
    }
}
