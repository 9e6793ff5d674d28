//! Binds run arguments to the pipeline's root inputs: defaults, type conversion, and errors
//! that name the parameter and the expected type.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use weir_executor::RuntimeArtifact;
use weir_spec::{values, ParameterSpec, ParameterType, PipelineSpec};

/// Root inputs after binding: parameter values and input artifacts given by URI.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BoundInputs {
    pub parameters: BTreeMap<String, Value>,
    pub artifacts: BTreeMap<String, Vec<RuntimeArtifact>>,
}

impl BoundInputs {
    pub fn to_json(&self) -> Value {
        let artifacts: Map<String, Value> = self
            .artifacts
            .iter()
            .map(|(name, list)| (name.clone(), serde_json::to_value(list).unwrap_or(Value::Null)))
            .collect();
        serde_json::json!({"parameters": self.parameters, "artifacts": artifacts})
    }

    pub fn from_json(value: &Value) -> Result<Self, String> {
        let parameters = match value.get("parameters") {
            Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            _ => BTreeMap::new(),
        };
        let artifacts = match value.get("artifacts") {
            Some(v @ Value::Object(_)) => serde_json::from_value(v.clone())
                .map_err(|e| format!("stored input artifacts are invalid: {e}"))?,
            _ => BTreeMap::new(),
        };
        Ok(BoundInputs { parameters, artifacts })
    }
}

/// Checks `arguments` against the root inputs of `spec`, returning every problem at once.
pub(crate) fn bind_arguments(
    spec: &PipelineSpec,
    arguments: &BTreeMap<String, Value>,
) -> Result<BoundInputs, String> {
    let definitions = &spec.root.input_definitions;
    let mut problems = Vec::new();
    let mut bound = BoundInputs::default();

    for name in arguments.keys() {
        if !definitions.parameters.contains_key(name) && !definitions.artifacts.contains_key(name) {
            let known: Vec<&str> = definitions
                .parameters
                .keys()
                .chain(definitions.artifacts.keys())
                .map(String::as_str)
                .collect();
            let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            problems.push(format!(
                "unknown pipeline parameter {name:?}; the pipeline's inputs are: {known}"
            ));
        }
    }

    for (name, definition) in &definitions.parameters {
        match bind_parameter(name, definition, arguments.get(name)) {
            Ok(Some(value)) => {
                bound.parameters.insert(name.clone(), value);
            }
            Ok(None) => {}
            Err(problem) => problems.push(problem),
        }
    }

    for (name, definition) in &definitions.artifacts {
        match arguments.get(name) {
            Some(Value::String(uri)) if !uri.is_empty() => {
                let artifact = RuntimeArtifact {
                    name: name.clone(),
                    artifact_type: definition.artifact_type.clone(),
                    uri: uri.clone(),
                    metadata: Map::new(),
                };
                bound.artifacts.insert(name.clone(), vec![artifact]);
            }
            Some(other) => problems
                .push(format!("pipeline input artifact {name:?} takes a URI string, got {other}")),
            None if definition.is_optional => {}
            None => problems.push(format!(
                "missing pipeline input artifact {name:?}; pass its URI with --param {name}=URI"
            )),
        }
    }

    if problems.is_empty() {
        Ok(bound)
    } else {
        Err(problems.join("\n"))
    }
}

fn bind_parameter(
    name: &str,
    definition: &ParameterSpec,
    argument: Option<&Value>,
) -> Result<Option<Value>, String> {
    let ty = definition.parameter_type;
    if let Some(value) = argument {
        return convert(value, ty)
            .map(Some)
            .map_err(|e| format!("invalid value for pipeline parameter {name:?}: {e}"));
    }
    if let Some(default) = &definition.default_value {
        return convert(default, ty)
            .map(Some)
            .map_err(|e| format!("invalid default for pipeline parameter {name:?}: {e}"));
    }
    if definition.is_optional
        || matches!(ty, ParameterType::TaskFinalStatus | ParameterType::TaskConfig)
    {
        return Ok(None);
    }
    Err(format!(
        "missing required pipeline parameter {name:?} ({}); pass it with --param {name}=VALUE",
        ty.as_str()
    ))
}

fn convert(value: &Value, ty: ParameterType) -> Result<Value, String> {
    if ty == ParameterType::Unspecified {
        return Ok(value.clone());
    }
    // Task inputs turn any value into text for a STRING input, but a run argument that is a
    // list or dict for a STRING parameter is almost always a mistake.
    if ty == ParameterType::String && (value.is_array() || value.is_object()) {
        return Err(format!("expected a string, got {value}"));
    }
    values::coerce(value, ty).map_err(|e| e.to_string())
}
