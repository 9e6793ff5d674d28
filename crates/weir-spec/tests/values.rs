//! Parameter value parsing, type coercion, text rendering and number normalisation.

use std::time::Duration;

use serde_json::{json, Value};
use weir_spec::values::{
    coerce, normalize_numbers, parse_cli_value, parse_duration, render_text, ValueError,
};
use weir_spec::ParameterType::{self, *};

#[test]
fn parse_cli_accepts() {
    let cases: &[(&str, ParameterType, Value)] = &[
        ("hello world", String, json!("hello world")),
        (" 20 ", String, json!(" 20 ")),
        ("", String, json!("")),
        ("20", NumberInteger, json!(20)),
        ("-3", NumberInteger, json!(-3)),
        ("20.0", NumberInteger, json!(20)),
        (" 7 ", NumberInteger, json!(7)),
        ("0.5", NumberDouble, json!(0.5)),
        ("20", NumberDouble, json!(20.0)),
        ("1e3", NumberDouble, json!(1000.0)),
        ("true", Boolean, json!(true)),
        ("True", Boolean, json!(true)),
        ("TRUE", Boolean, json!(true)),
        ("1", Boolean, json!(true)),
        ("t", Boolean, json!(true)),
        ("false", Boolean, json!(false)),
        ("0", Boolean, json!(false)),
        ("F", Boolean, json!(false)),
        ("[1, 2, \"a\"]", List, json!([1, 2, "a"])),
        ("[]", List, json!([])),
        ("{\"k\": {\"n\": 1}}", Struct, json!({"k": {"n": 1}})),
        ("anything", Unspecified, json!("anything")),
    ];
    for (text, ty, expected) in cases {
        let parsed = parse_cli_value(text, *ty);
        assert_eq!(parsed.as_ref(), Ok(expected), "{text:?} as {}", ty.as_str());
    }
}

#[test]
fn parse_cli_rejects() {
    let cases: &[(&str, ParameterType, &str)] = &[
        ("abc", NumberInteger, "expected NUMBER_INTEGER, found \"abc\" (not a number)"),
        ("5.5", NumberInteger, "expected NUMBER_INTEGER, found \"5.5\" (not a whole number)"),
        ("", NumberInteger, "expected NUMBER_INTEGER, found \"\" (not a number)"),
        ("inf", NumberDouble, "expected NUMBER_DOUBLE, found \"inf\" (not a finite number)"),
        ("x", NumberDouble, "expected NUMBER_DOUBLE, found \"x\" (not a finite number)"),
        ("yes", Boolean, "expected BOOLEAN, found \"yes\" (use true or false)"),
        (
            "{\"a\": 1}",
            List,
            "expected LIST, found \"{\\\"a\\\": 1}\" (valid JSON but not a JSON list)",
        ),
        ("[1]", Struct, "expected STRUCT, found \"[1]\" (valid JSON but not a JSON object)"),
    ];
    for (text, ty, expected) in cases {
        let error = parse_cli_value(text, *ty).err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some(*expected), "{text:?} as {}", ty.as_str());
    }
}

#[test]
fn parse_cli_bad_json_names_text() {
    let error = parse_cli_value("[1, 2", List).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.starts_with("expected LIST, found \"[1, 2\" (not a JSON list: "), "{error}");
}

#[test]
fn coerce_accepts() {
    let cases: &[(Value, ParameterType, Value)] = &[
        (json!("x"), String, json!("x")),
        (json!(5), String, json!("5")),
        (json!(2.5), String, json!("2.5")),
        (json!(true), String, json!("true")),
        (json!(["A", 2.0]), String, json!(r#"["A",2]"#)),
        (json!({"a": 1}), String, json!(r#"{"a":1}"#)),
        (json!(5.0), NumberInteger, json!(5)),
        (json!(5), NumberInteger, json!(5)),
        (json!(-2.0), NumberInteger, json!(-2)),
        (json!("5"), NumberInteger, json!(5)),
        (json!(" 5.0 "), NumberInteger, json!(5)),
        (json!(5), NumberDouble, json!(5.0)),
        (json!(0.25), NumberDouble, json!(0.25)),
        (json!("0.25"), NumberDouble, json!(0.25)),
        (json!(true), Boolean, json!(true)),
        (json!("false"), Boolean, json!(false)),
        (json!([1.0, "a"]), List, json!([1.0, "a"])),
        (json!("[1, 2]"), List, json!([1, 2])),
        (json!({"a": 1}), Struct, json!({"a": 1})),
        (json!("{\"a\": 1}"), Struct, json!({"a": 1})),
        (json!({"state": "FAILED"}), TaskFinalStatus, json!({"state": "FAILED"})),
        (json!(null), NumberInteger, json!(null)),
        (json!([1]), Unspecified, json!([1])),
    ];
    for (value, ty, expected) in cases {
        let coerced = coerce(value, *ty);
        assert_eq!(coerced.as_ref(), Ok(expected), "{value} as {}", ty.as_str());
    }
}

#[test]
fn coerce_rejects() {
    let cases: &[(Value, ParameterType, &str)] = &[
        (json!(5.5), NumberInteger, "expected NUMBER_INTEGER, found the number 5.5"),
        (json!(true), NumberInteger, "expected NUMBER_INTEGER, found the boolean true"),
        (json!("five"), NumberInteger, "expected NUMBER_INTEGER, found \"five\" (not a number)"),
        (json!([1]), NumberDouble, "expected NUMBER_DOUBLE, found the list [1]"),
        (json!(1), Boolean, "expected BOOLEAN, found the number 1"),
        (json!("maybe"), Boolean, "expected BOOLEAN, found \"maybe\" (use true or false)"),
        (json!({"a": 1}), List, "expected LIST, found the object {\"a\":1}"),
        (
            json!("x"),
            List,
            "expected LIST, found \"x\" (not a JSON list: expected value at line 1 column 1)",
        ),
        (json!([1]), Struct, "expected STRUCT, found the list [1]"),
    ];
    for (value, ty, expected) in cases {
        let error = coerce(value, *ty).err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some(*expected), "{value} as {}", ty.as_str());
    }
}

#[test]
fn coerce_mismatch_variant() {
    let error = coerce(&json!(5.5), NumberInteger);
    assert!(matches!(error, Err(ValueError::Mismatch { expected: "NUMBER_INTEGER", .. })));
}

#[test]
fn render_text_follows_backend() {
    let cases: &[(Value, &str)] = &[
        (json!("as is {x}"), "as is {x}"),
        (json!(5.0), "5"),
        (json!(5), "5"),
        (json!(0.5), "0.5"),
        (json!(-2.25), "-2.25"),
        (json!(1e21), "1000000000000000000000"),
        (json!(1e-7), "0.0000001"),
        (json!(0.1), "0.1"),
        (json!(true), "true"),
        (json!(false), "false"),
        (json!(null), "null"),
        (json!([1.0, 2.5, "a"]), "[1,2.5,\"a\"]"),
        (json!({"b": 1.0, "a": [0.0, {"c": 4.0}]}), "{\"b\":1,\"a\":[0,{\"c\":4}]}"),
    ];
    for (value, expected) in cases {
        assert_eq!(render_text(value), *expected, "{value}");
    }
}

#[test]
fn normalize_numbers_inside_containers() {
    let cases: &[(Value, Value)] = &[
        (json!([0.0, 1.0, 4.0]), json!([0, 1, 4])),
        (json!([0.5, 2]), json!([0.5, 2])),
        (json!({"n": 3.0, "m": {"k": [1.0]}}), json!({"n": 3, "m": {"k": [1]}})),
        (json!([1e300]), json!([1e300])),
        (json!(5.0), json!(5.0)),
        (json!("5.0"), json!("5.0")),
    ];
    for (value, expected) in cases {
        let normalized = normalize_numbers(value.clone());
        assert_eq!(&normalized, expected, "{value}");
        assert_eq!(normalized.to_string(), expected.to_string(), "text of {value}");
    }
}

#[test]
fn parse_duration_forms() {
    assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
    assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
    assert_eq!(parse_duration("0.5s"), Some(Duration::from_millis(500)));
    assert_eq!(parse_duration("3600s"), Some(Duration::from_secs(3600)));
    assert_eq!(parse_duration("5"), None);
    assert_eq!(parse_duration("-1s"), None);
    assert_eq!(parse_duration("5m"), None);
}
