//! Pipeline specs in their three forms.
//!
//! - The text a client uploads (YAML or JSON).
//! - The `pipeline_spec` object of the API: the `PipelineSpec` itself, or
//!   `{"pipeline_spec": ..., "platform_spec": ...}` when the pipeline has a platform spec, as the
//!   kfp client sends it.
//! - The stored form `{"pipelineSpec": ..., "platformSpec": ...}` that the engine and the store
//!   use.

use serde_json::{json, Value};
use weir_spec::{Pipeline, SpecError};

use crate::error::ApiError;

/// Loads and validates uploaded pipeline text (YAML or JSON); `origin` names it in errors.
pub fn load_text(text: &str, origin: &str) -> Result<Pipeline, ApiError> {
    weir_spec::load_str(text, origin).map_err(spec_error)
}

/// Loads and validates the `pipeline_spec` object of a request.
pub fn load_api_spec(value: &Value, origin: &str) -> Result<Pipeline, ApiError> {
    if !value.is_object() {
        return Err(ApiError::invalid(format!(
            "{origin}: pipeline_spec must be a JSON object holding a compiled pipeline, got {}",
            kind_of(value)
        )));
    }
    // The loader unwraps `{"pipeline_spec": X}` whether X is the spec itself or the pair of
    // pipeline spec and platform spec.
    let wrapped = json!({ "pipeline_spec": value });
    let text = wrapped.to_string();
    weir_spec::load_str(&text, origin).map_err(spec_error)
}

/// Loads a stored spec back into a pipeline.
pub fn load_stored(stored: &Value, origin: &str) -> Result<Pipeline, ApiError> {
    load_api_spec(&stored_to_api(stored), origin)
}

/// Returns the stored form of a pipeline.
pub fn to_stored(pipeline: &Pipeline) -> Value {
    json!({"pipelineSpec": pipeline.spec, "platformSpec": pipeline.platform_spec})
}

/// Converts a stored spec to the API's `pipeline_spec` object.
pub fn stored_to_api(stored: &Value) -> Value {
    let Some(spec) = stored.get("pipelineSpec") else {
        return stored.clone();
    };
    match stored.get("platformSpec") {
        Some(platform) if !platform.is_null() => {
            json!({"pipeline_spec": spec, "platform_spec": platform})
        }
        _ => spec.clone(),
    }
}

fn spec_error(error: SpecError) -> ApiError {
    ApiError::invalid(error.to_string())
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
