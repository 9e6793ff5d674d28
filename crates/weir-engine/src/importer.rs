//! Importer tasks: no process runs; the task publishes an existing URI as its `artifact`
//! output, with metadata whose placeholders are resolved from the task's inputs.

use serde_json::{Map, Value};
use weir_executor::{RuntimeArtifact, TaskOutputs};
use weir_spec::{values, ComponentSpec};
use weir_store::State;

use crate::record::{Node, SharedCtx};
use crate::resolve::{NodeResult, Scope};

pub(crate) async fn run_importer(
    ctx: SharedCtx,
    mut node: Node,
    component: &ComponentSpec,
    inputs: Scope,
) -> NodeResult {
    let label = component.executor_label.clone().unwrap_or_default();
    let Some(importer) =
        ctx.spec.deployment_spec.executors.get(&label).and_then(|e| e.importer.clone())
    else {
        let message = format!("executor {label:?} is not an importer");
        return node.finish(&ctx, NodeResult::failed(message)).await;
    };
    if let Err(message) = node.save(&ctx, State::Running).await {
        return NodeResult::failed(message);
    }

    let uri = if let Some(constant) = &importer.artifact_uri.constant {
        Some(values::render_text(constant))
    } else if let Some(name) = &importer.artifact_uri.runtime_parameter {
        inputs.parameters.get(name).map(values::render_text)
    } else {
        None
    };
    let Some(uri) = uri.filter(|u| !u.is_empty()) else {
        let message = "importer has no artifact URI; set the importer's artifact_uri".to_string();
        return node.finish(&ctx, NodeResult::failed(message)).await;
    };

    let metadata = match importer.metadata.as_ref().map(|m| substitute(m, &inputs)) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let artifact = RuntimeArtifact {
        name: "artifact".into(),
        artifact_type: importer.type_schema.clone(),
        uri,
        metadata,
    };
    let mut outputs = TaskOutputs::default();
    outputs.artifacts.insert("artifact".into(), vec![artifact]);
    node.finish(&ctx, NodeResult::succeeded(outputs)).await
}

/// Replaces `{{$.inputs.parameters['NAME']}}` in keys and values. A string that is exactly one
/// placeholder takes the parameter's value with its type.
fn substitute(value: &Value, inputs: &Scope) -> Value {
    match value {
        Value::String(text) => {
            if let Some(name) = whole_placeholder(text) {
                if let Some(found) = inputs.parameters.get(name) {
                    return found.clone();
                }
            }
            Value::String(substitute_text(text, inputs))
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, inputs)).collect()),
        Value::Object(map) => Value::Object(
            map.iter().map(|(k, v)| (substitute_text(k, inputs), substitute(v, inputs))).collect(),
        ),
        other => other.clone(),
    }
}

fn whole_placeholder(text: &str) -> Option<&str> {
    text.strip_prefix("{{$.inputs.parameters['")?.strip_suffix("']}}")
}

fn substitute_text(text: &str, inputs: &Scope) -> String {
    let mut result = text.to_string();
    for (name, value) in &inputs.parameters {
        let placeholder = format!("{{{{$.inputs.parameters['{name}']}}}}");
        if result.contains(&placeholder) {
            result = result.replace(&placeholder, &values::render_text(value));
        }
    }
    result
}
