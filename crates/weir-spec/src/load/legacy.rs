//! Rewrites of legacy spellings so the engine reads one form: constants written in the old typed
//! `Value` form (`{stringValue: "1"}`, `{intValue: "5"}`, `{doubleValue: 0.5}`) inside
//! `runtimeValue.constant` or the deprecated `runtimeValue.constantValue` become plain values in
//! `runtimeValue.constant`.

use serde_json::Value;

use crate::model::{ParameterType, PipelineSpec, RuntimeValue};

/// Rewrites every legacy constant of every task input in `spec`.
pub(super) fn normalize_legacy_constants(spec: &mut PipelineSpec) {
    let components = spec.components.clone();
    let owners = std::iter::once(&mut spec.root).chain(spec.components.values_mut());
    for dag in owners.filter_map(|component| component.dag.as_mut()) {
        for task in dag.tasks.values_mut() {
            let callee = components.get(&task.component_ref.name);
            for (key, input) in task.inputs.parameters.iter_mut() {
                let Some(runtime_value) = input.runtime_value.as_mut() else { continue };
                let declared = callee
                    .and_then(|c| c.input_definitions.parameters.get(key))
                    .map(|p| p.parameter_type)
                    .unwrap_or_default();
                normalize_runtime_value(runtime_value, declared);
            }
        }
    }
}

fn normalize_runtime_value(runtime_value: &mut RuntimeValue, declared: ParameterType) {
    if runtime_value.constant.is_none() {
        if let Some(typed) = runtime_value.constant_value.take() {
            runtime_value.constant = Some(untyped(&typed).unwrap_or(typed));
        }
        return;
    }
    // A STRUCT input may legitimately receive an object that happens to look typed.
    if declared == ParameterType::Struct {
        return;
    }
    if let Some(plain) = runtime_value.constant.as_ref().and_then(untyped) {
        tracing::debug!(value = %plain, "Unwrapped a constant written in the typed Value form.");
        runtime_value.constant = Some(plain);
    }
}

/// Returns the plain value of a one-key typed form, or `None` if `value` is not one.
pub(super) fn untyped(value: &Value) -> Option<Value> {
    let fields = value.as_object().filter(|fields| fields.len() == 1)?;
    let (key, inner) = fields.iter().next()?;
    match key.as_str() {
        "stringValue" | "string_value" => inner.as_str().map(|_| inner.clone()),
        "intValue" | "int_value" => match inner {
            Value::Number(_) => Some(inner.clone()),
            // protobuf JSON writes int64 as text.
            Value::String(text) => text.trim().parse::<i64>().ok().map(Value::from),
            _ => None,
        },
        "doubleValue" | "double_value" => inner.is_number().then(|| inner.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn untyped_reads_each_form() {
        assert_eq!(untyped(&json!({"stringValue": "1"})), Some(json!("1")));
        assert_eq!(untyped(&json!({"intValue": "5"})), Some(json!(5)));
        assert_eq!(untyped(&json!({"intValue": 7})), Some(json!(7)));
        assert_eq!(untyped(&json!({"doubleValue": 0.5})), Some(json!(0.5)));
    }

    #[test]
    fn untyped_leaves_other_objects() {
        assert_eq!(untyped(&json!({"a": 1})), None);
        assert_eq!(untyped(&json!({"stringValue": "1", "b": 2})), None);
        assert_eq!(untyped(&json!({"intValue": "five"})), None);
        assert_eq!(untyped(&json!("text")), None);
    }

    #[test]
    fn constant_value_moves_to_constant() {
        let mut runtime_value = RuntimeValue {
            constant_value: Some(json!({"intValue": "3"})),
            ..RuntimeValue::default()
        };
        normalize_runtime_value(&mut runtime_value, ParameterType::NumberInteger);
        assert_eq!(runtime_value.constant, Some(json!(3)));
        assert_eq!(runtime_value.constant_value, None);
    }

    #[test]
    fn struct_input_keeps_typed_looking_object() {
        let original = json!({"stringValue": "1"});
        let mut runtime_value =
            RuntimeValue { constant: Some(original.clone()), ..RuntimeValue::default() };
        normalize_runtime_value(&mut runtime_value, ParameterType::Struct);
        assert_eq!(runtime_value.constant, Some(original));
    }
}
