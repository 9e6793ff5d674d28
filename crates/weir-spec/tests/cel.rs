//! CEL conditions and selectors as the kfp compiler writes them, evaluated with task inputs.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use weir_spec::cel::{
    check_syntax, evaluate_condition, evaluate_selector, referenced_parameters, CelError,
};

fn inputs(values: &[(&str, Value)]) -> BTreeMap<String, Value> {
    values.iter().map(|(name, value)| (name.to_string(), value.clone())).collect()
}

/// Evaluates `condition` with `values` and asserts the result.
fn check(condition: &str, values: &[(&str, Value)], expected: bool) {
    match evaluate_condition(condition, &inputs(values)) {
        Ok(result) => assert_eq!(result, expected, "{condition} with {values:?}"),
        Err(error) => panic!("{condition} with {values:?} failed: {error}"),
    }
}

#[test]
fn string_comparisons() {
    let flip = "inputs.parameter_values['pipelinechannel--flip-coin-Output'] == 'heads'";
    check(flip, &[("pipelinechannel--flip-coin-Output", json!("heads"))], true);
    check(flip, &[("pipelinechannel--flip-coin-Output", json!("tails"))], false);

    let differs = "inputs.parameter_values['pipelinechannel--print-op1-Output'] != 'Hello'";
    check(differs, &[("pipelinechannel--print-op1-Output", json!("Hello"))], false);
    check(differs, &[("pipelinechannel--print-op1-Output", json!("Bye"))], true);
}

#[test]
fn negated_clauses_of_else_branch() {
    let condition = "!(inputs.parameter_values['pipelinechannel--flip-three-sided-die-Output'] \
                     == 'heads') && !(inputs.parameter_values\
                     ['pipelinechannel--flip-three-sided-die-Output'] == 'tails')";
    let key = "pipelinechannel--flip-three-sided-die-Output";
    check(condition, &[(key, json!("heads"))], false);
    check(condition, &[(key, json!("tails"))], false);
    check(condition, &[(key, json!("draw"))], true);
}

#[test]
fn integer_comparisons_on_doubles() {
    let key = "pipelinechannel--int-0-to-9999-Output";
    let below = "int(inputs.parameter_values['pipelinechannel--int-0-to-9999-Output']) < 5000";
    check(below, &[(key, json!(4999))], true);
    check(below, &[(key, json!(4999.0))], true);
    check(below, &[(key, json!(5000.0))], false);

    let equal = "!(int(inputs.parameter_values['pipelinechannel--int-0-to-9999-Output']) < 5000) \
                 && !(int(inputs.parameter_values['pipelinechannel--int-0-to-9999-Output']) > \
                 5000)";
    check(equal, &[(key, json!(5000))], true);
    check(equal, &[(key, json!(5001))], false);
}

#[test]
fn integer_against_integer_input() {
    let condition = "int(inputs.parameter_values['pipelinechannel--loop-item-param-1']) >= \
                     int(inputs.parameter_values['pipelinechannel--threshold'])";
    let item = "pipelinechannel--loop-item-param-1";
    let threshold = "pipelinechannel--threshold";
    check(condition, &[(item, json!(2)), (threshold, json!(2.0))], true);
    check(condition, &[(item, json!(1)), (threshold, json!(2))], false);
}

#[test]
fn int_truncates_and_parses() {
    let condition = "int(inputs.parameter_values['x']) == 5";
    check(condition, &[("x", json!(5.7))], true);
    check(condition, &[("x", json!(-5.7))], false);
    check("int(inputs.parameter_values['x']) == -5", &[("x", json!(-5.7))], true);
    check(condition, &[("x", json!("5"))], true);
}

#[test]
fn boolean_and_mixed_literals() {
    let drumroll = "inputs.parameter_values['pipelinechannel--add_drumroll'] == true";
    check(drumroll, &[("pipelinechannel--add_drumroll", json!(true))], true);
    check(drumroll, &[("pipelinechannel--add_drumroll", json!(false))], false);

    let text_bool = "inputs.parameter_values['pipelinechannel--bool-identity-Output'] == 'true'";
    check(text_bool, &[("pipelinechannel--bool-identity-Output", json!("true"))], true);

    // A number compared with a string literal: the compiler quotes the number.
    let quoted = "inputs.parameter_values['pipelinechannel--loop-item-param-11'] == '1'";
    check(quoted, &[("pipelinechannel--loop-item-param-11", json!("1"))], true);

    check("double(inputs.parameter_values['x']) > 0.5", &[("x", json!(1))], true);
    check("inputs.parameter_values['x'] == 2", &[("x", json!(2.0))], true);
    check("inputs.parameter_values['x'] == 2.5", &[("x", json!(2.5))], true);
}

#[test]
fn or_and_parentheses() {
    let condition = "(inputs.parameter_values['a'] == 'x' || inputs.parameter_values['b'] == 'y') \
                     && true";
    check(condition, &[("a", json!("x")), ("b", json!("n"))], true);
    check(condition, &[("a", json!("n")), ("b", json!("n"))], false);
}

#[test]
fn parse_json_inside_condition() {
    let condition = "parseJson(inputs.parameter_values['row'])['a'] == 1.0";
    check(condition, &[("row", json!("{\"a\": 1}"))], true);
}

#[test]
fn missing_input_names_it() {
    let condition = "inputs.parameter_values['missing'] == 'x'";
    let error = evaluate_condition(condition, &inputs(&[("other", json!("x"))]));
    let Err(CelError::Evaluation { expression, message }) = error else {
        panic!("expected an evaluation error, got {error:?}");
    };
    assert_eq!(expression, condition);
    assert!(message.contains("'missing'"), "{message}");
}

#[test]
fn non_bool_result_is_error() {
    let error = evaluate_condition("inputs.parameter_values['x']", &inputs(&[("x", json!("hi"))]));
    let Err(CelError::NotBool { expression, found }) = error else {
        panic!("expected NotBool, got {error:?}");
    };
    assert_eq!(expression, "inputs.parameter_values['x']");
    assert_eq!(found, "the string \"hi\"");
}

#[test]
fn syntax_errors() {
    for bad in ["inputs.parameter_values['x'] ==", "(a && b", "int(", "a ='b'"] {
        let result = check_syntax(bad);
        assert!(matches!(result, Err(CelError::Syntax { .. })), "{bad}: {result:?}");
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains(bad), "{message}");
    }
    assert_eq!(check_syntax("!(inputs.parameter_values['k'] == 'v') && true"), Ok(()));
}

#[test]
fn referenced_parameters_in_order() {
    let condition = "!(int(inputs.parameter_values['b']) < 3) && \
                     inputs.parameter_values[\"a\"] == 'x' && inputs.parameter_values['b'] > 1";
    assert_eq!(referenced_parameters(condition), vec!["b".to_string(), "a".to_string()]);
    assert!(referenced_parameters("true").is_empty());
}

#[test]
fn selectors_on_loop_items() {
    let cases = [
        ("parseJson(string_value)[\"a\"]", json!({"a": 1, "b": "x"}), json!(1)),
        ("parseJson(string_value)[\"b\"]", json!({"a": 1, "b": "x"}), json!("x")),
        ("parseJson(string_value)[\"A_a\"]", json!("{\"A_a\": \"heads\"}"), json!("heads")),
        ("parseJson(string_value)[\"a\"]", json!({"a": 0.5}), json!(0.5)),
        ("parseJson(string_value)[\"a\"][\"b\"]", json!({"a": {"b": [1.0, 2]}}), json!([1, 2])),
        ("parseJson(string_value)[\"a\"]", json!({"a": {"k": 3.0}}), json!({"k": 3})),
        ("parseJson(string_value)[1]", json!([10, 20]), json!(20)),
        ("string_value", json!("plain"), json!("plain")),
    ];
    for (selector, value, expected) in cases {
        match evaluate_selector(selector, &value) {
            Ok(result) => assert_eq!(result, expected, "{selector} on {value}"),
            Err(error) => panic!("{selector} on {value} failed: {error}"),
        }
    }
}

#[test]
fn selector_missing_key_is_error() {
    let result = evaluate_selector("parseJson(string_value)[\"zz\"]", &json!({"a": 1}));
    assert!(matches!(result, Err(CelError::Evaluation { .. })), "{result:?}");
}

#[test]
fn selector_invalid_json_is_error() {
    let result = evaluate_selector("parseJson(string_value)[\"a\"]", &json!("not json"));
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("not json"), "{message}");
}

/// Returns a value of the kind the condition compares input `name` with: a number inside
/// `int(...)`, a boolean before `== true`/`== false`, and a string otherwise.
fn sample_value(condition: &str, name: &str) -> Value {
    let read = format!("inputs.parameter_values['{name}']");
    if condition.contains(&format!("int({read})")) {
        json!(3.0)
    } else if condition.contains(&format!("{read} == true"))
        || condition.contains(&format!("{read} == false"))
    {
        json!(true)
    } else {
        json!("heads")
    }
}

#[test]
fn corpus_conditions_evaluate_to_bool() {
    let shared = match std::env::var_os("WEIR_SHARED") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    let corpus = shared.join("corpus/kfp-ir");
    let entries =
        std::fs::read_dir(&corpus).unwrap_or_else(|e| panic!("{}: {e}", corpus.display()));

    let mut evaluated = 0;
    let mut failures = Vec::new();
    for path in entries.filter_map(|entry| entry.ok().map(|e| e.path())) {
        let Ok(pipeline) = weir_spec::load_file(&path) else { continue };
        let spec = &pipeline.spec;
        let dags = std::iter::once(&spec.root).chain(spec.components.values());
        for dag in dags.filter_map(|component| component.dag.as_ref()) {
            for task in dag.tasks.values() {
                let policy = task.trigger_policy.as_ref();
                let Some(condition) = policy.and_then(|p| p.condition.as_deref()) else {
                    continue;
                };
                let values: BTreeMap<String, Value> = referenced_parameters(condition)
                    .into_iter()
                    .map(|name| {
                        let value = sample_value(condition, &name);
                        (name, value)
                    })
                    .collect();
                evaluated += 1;
                if let Err(error) = evaluate_condition(condition, &values) {
                    failures.push(format!("{}: {error}", path.display()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(evaluated, 81, "conditions in the corpus");
}

#[test]
fn mixed_kind_equality_is_false() {
    check("inputs.parameter_values['x'] == '1'", &[("x", json!(1))], false);
    check("inputs.parameter_values['x'] != '1'", &[("x", json!(1))], true);
    check("inputs.parameter_values['x'] == true", &[("x", json!("true"))], false);
}
