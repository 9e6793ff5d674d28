//! MLflow's search filter grammar: `metrics.acc > 0.5 and params.lr = '0.01'`, a conjunction
//! of comparisons between an entity's key and a literal, and the `order_by` clauses.
//!
//! The same parser serves runs, experiments, registered models and model versions: [`parse`]
//! and [`parse_order_by`] check the syntax and name the entity of each identifier, and
//! [`crate::search::rules`] then checks which entities, keys, operators and values one
//! endpoint accepts.
//!
//! The grammar follows what MLflow 3.17.2 accepts (its `SearchUtils`, built on `sqlparse`):
//! - an identifier is `entity.key` or a bare attribute name. The entity is everything before
//!   the first dot (`metrics`, `metric`, `params`, `param`, `parameter(s)`, `tags`, `tag`,
//!   `attributes`, `attribute`, `attr`, `run`, `datasets`, `dataset`). A key may be quoted
//!   with backquotes or double quotes (`` metrics.`my key` ``, `tags."a b"`) to keep dots and
//!   spaces in it;
//! - comparators `=`, `!=`, `>`, `>=`, `<`, `<=`, `LIKE`, `ILIKE`, `IN`, `NOT IN`, `IS NULL`,
//!   `IS NOT NULL`, keywords in any case;
//! - values are strings in single or double quotes (taken as written, without unescaping, as
//!   MLflow does), numbers (`-1`, `.5`, `1e-3`) and lists of strings `('a', "b")`;
//! - comparisons are joined by `AND` in any case. MLflow also accepts a missing, leading,
//!   trailing or repeated `AND`, so this parser does too. `OR` and parentheses are rejected.
//!
//! Every error is `INVALID_PARAMETER_VALUE` and names the part of the filter at fault.

use crate::error::{Result, TrackingError};
use crate::search::token::{is_bare_word, tokenize, Kind, Token};

/// The kind of value a comparison reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// `metrics.<key>`: the latest value of a metric.
    Metric,
    /// `params.<key>`.
    Param,
    /// `tags.<key>`.
    Tag,
    /// `attributes.<key>` or a bare attribute name such as `run_name` or `name`.
    Attribute,
    /// `datasets.<key>` (`name`, `digest`, `context`).
    Dataset,
}

impl Entity {
    /// Returns the entity's name as MLflow's messages write it.
    pub fn name(self) -> &'static str {
        match self {
            Entity::Metric => "metric",
            Entity::Param => "parameter",
            Entity::Tag => "tag",
            Entity::Attribute => "attribute",
            Entity::Dataset => "dataset",
        }
    }
}

/// Every entity prefix MLflow accepts, with the entity it names. An endpoint accepts a subset
/// ([`crate::search::rules::Rules::prefixes`]).
pub const PREFIXES: &[(&str, Entity)] = &[
    ("metric", Entity::Metric),
    ("metrics", Entity::Metric),
    ("parameter", Entity::Param),
    ("parameters", Entity::Param),
    ("param", Entity::Param),
    ("params", Entity::Param),
    ("tag", Entity::Tag),
    ("tags", Entity::Tag),
    ("attribute", Entity::Attribute),
    ("attributes", Entity::Attribute),
    ("attr", Entity::Attribute),
    ("run", Entity::Attribute),
    ("dataset", Entity::Dataset),
    ("datasets", Entity::Dataset),
];

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Like,
    ILike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

impl Op {
    /// Returns the operator as MLflow writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Like => "LIKE",
            Op::ILike => "ILIKE",
            Op::In => "IN",
            Op::NotIn => "NOT IN",
            Op::IsNull => "IS NULL",
            Op::IsNotNull => "IS NOT NULL",
        }
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A quoted string, without its quotes.
    Str(String),
    /// A number written with a fraction or an exponent (`0.5`, `1e-3`), or an integer too
    /// large for `i64`.
    Num(f64),
    /// A number written as an integer (`5`, `-3`).
    Int(i64),
    /// `(...)` after `IN` or `NOT IN`: one or more quoted strings.
    List(Vec<String>),
    /// No value: the operator is `IS NULL` or `IS NOT NULL`.
    None,
}

impl Literal {
    /// Returns the value as a number when it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Literal::Num(value) => Some(*value),
            Literal::Int(value) => Some(*value as f64),
            _ => None,
        }
    }

    /// Formats the value as a filter writes it, for messages.
    pub fn describe(&self) -> String {
        match self {
            Literal::Str(text) => format!("'{text}'"),
            Literal::Num(value) => value.to_string(),
            Literal::Int(value) => value.to_string(),
            Literal::List(items) => {
                let quoted: Vec<String> = items.iter().map(|item| format!("'{item}'")).collect();
                format!("({})", quoted.join(", "))
            }
            Literal::None => "NULL".to_owned(),
        }
    }
}

/// One `entity.key op value` comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub entity: Entity,
    pub key: String,
    pub op: Op,
    pub value: Literal,
    /// The entity as written before the first dot (`metrics`, `attr`), or `None` for a bare
    /// attribute name. Endpoints that accept fewer spellings check it.
    pub prefix: Option<String>,
}

/// One `order_by` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub entity: Entity,
    pub key: String,
    pub ascending: bool,
    /// The entity as written before the first dot, or `None` for a bare attribute name.
    pub prefix: Option<String>,
}

/// Parses a filter string into its comparisons. An empty filter has none. A filter of only
/// whitespace is rejected, as MLflow rejects it.
pub fn parse(filter: &str) -> Result<Vec<Comparison>> {
    if filter.is_empty() {
        return Ok(Vec::new());
    }
    if filter.trim().is_empty() {
        return Err(TrackingError::invalid(format!(
            "Invalid filter '{filter}': it contains only whitespace. Send an empty filter to \
             match everything."
        )));
    }
    let tokens = tokenize(filter)?;
    let mut parser = Parser { filter, tokens, next: 0 };
    let mut comparisons = Vec::new();
    while let Some(token) = parser.peek() {
        if token.is_keyword("AND") {
            parser.next += 1;
            continue;
        }
        comparisons.push(parser.comparison()?);
    }
    Ok(comparisons)
}

/// Parses one `order_by` clause such as `metrics.acc DESC` or `name ASC`: an identifier and
/// an optional `ASC` or `DESC` in any case. Like MLflow, the clause must not start or end
/// with whitespace.
pub fn parse_order_by(clause: &str) -> Result<OrderBy> {
    let unparsable = || {
        TrackingError::invalid(format!(
            "Invalid order_by clause '{clause}': expected an identifier and an optional ASC or \
             DESC, such as 'metrics.acc DESC'."
        ))
    };
    if clause.is_empty() || clause.trim() != clause {
        return Err(unparsable());
    }
    let tokens = tokenize(clause).map_err(|_| unparsable())?;
    let (identifier, direction) = match tokens.as_slice() {
        [Token { kind: Kind::Ident, text }] => (text, None),
        [Token { kind: Kind::Ident, text }, Token { kind: Kind::Ident, text: word }]
            if is_bare_word(word) =>
        {
            (text, Some(word))
        }
        _ => return Err(unparsable()),
    };
    let ascending = match direction.map(|word| word.to_ascii_lowercase()) {
        None => true,
        Some(word) if word == "asc" => true,
        Some(word) if word == "desc" => false,
        Some(_) => {
            return Err(TrackingError::invalid(format!(
                "Invalid ordering key in order_by clause '{clause}': use ASC or DESC."
            )))
        }
    };
    let (prefix, entity, key) = split_identifier(identifier)?;
    Ok(OrderBy { entity, key, ascending, prefix })
}

/// Splits an identifier as MLflow does: the entity is the text before the first dot (with
/// backquotes trimmed) and the key the rest, without its quotes. A name without a dot is an
/// attribute.
fn split_identifier(identifier: &str) -> Result<(Option<String>, Entity, String)> {
    let Some((written, rest)) = identifier.split_once('.') else {
        return Ok((None, Entity::Attribute, unquote_key(identifier)));
    };
    let prefix = trim_quotes(written, '`');
    let entity = PREFIXES.iter().find(|(name, _)| *name == prefix).map(|(_, entity)| *entity);
    let Some(entity) = entity else {
        let known: Vec<&str> = PREFIXES.iter().map(|(name, _)| *name).collect();
        return Err(TrackingError::invalid(format!(
            "Invalid entity type '{prefix}' in '{identifier}'. Use one of {}.",
            known.join(", ")
        )));
    };
    Ok((Some(prefix.to_owned()), entity, unquote_key(rest)))
}

/// Removes one pair of single or double quotes around a key, else one pair of backquotes.
fn unquote_key(key: &str) -> String {
    let unquoted =
        if is_quoted(key, '\'') || is_quoted(key, '"') { &key[1..key.len() - 1] } else { key };
    trim_quotes(unquoted, '`').to_owned()
}

fn trim_quotes(text: &str, quote: char) -> &str {
    if is_quoted(text, quote) {
        &text[1..text.len() - 1]
    } else {
        text
    }
}

fn is_quoted(text: &str, quote: char) -> bool {
    text.len() >= 2 && text.starts_with(quote) && text.ends_with(quote)
}

/// Words that cannot start a comparison.
const KEYWORDS: &[&str] = &["AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "BETWEEN"];

struct Parser<'a> {
    filter: &'a str,
    tokens: Vec<Token>,
    next: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn take(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        if token.is_some() {
            self.next += 1;
        }
        token
    }

    fn error(&self, problem: &str) -> TrackingError {
        TrackingError::invalid(format!("Invalid filter '{}': {problem}", self.filter))
    }

    /// Parses `identifier op value`, `identifier IS [NOT] NULL` or
    /// `identifier [NOT] IN (...)`.
    fn comparison(&mut self) -> Result<Comparison> {
        let Some(left) = self.take() else {
            return Err(self.error("expected a comparison such as metrics.acc > 0.5."));
        };
        if left.kind != Kind::Ident || KEYWORDS.iter().any(|word| left.is_keyword(word)) {
            let hint = if left.is_keyword("OR") {
                "OR is not supported; join comparisons with AND."
            } else if left.kind == Kind::Open {
                "parentheses around comparisons are not supported; join comparisons with AND."
            } else {
                "expected an identifier such as metrics.acc, params.lr or tags.`my key`."
            };
            return Err(self.error(&format!("invalid clause '{}': {hint}", left.text)));
        }
        let (prefix, entity, key) = split_identifier(&left.text)?;
        let op = self.operator(&left.text)?;
        let value = match op {
            Op::IsNull | Op::IsNotNull => Literal::None,
            Op::In | Op::NotIn => self.list(&left.text)?,
            _ => self.value(&left.text)?,
        };
        Ok(Comparison { entity, key, op, value, prefix })
    }

    fn operator(&mut self, left: &str) -> Result<Op> {
        let missing = |parser: &Self| {
            parser.error(&format!(
                "expected a comparator after '{left}', one of =, !=, >, >=, <, <=, LIKE, ILIKE, \
                 IN, NOT IN, IS NULL, IS NOT NULL."
            ))
        };
        let Some(token) = self.take() else {
            return Err(missing(self));
        };
        let op = match token.kind {
            Kind::Comparator => match token.text.as_str() {
                "=" => Op::Eq,
                "!=" => Op::Ne,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                "<" => Op::Lt,
                "<=" => Op::Le,
                other => {
                    return Err(self.error(&format!(
                        "invalid comparator '{other}' after '{left}'; use one of =, !=, >, >=, \
                         <, <=."
                    )))
                }
            },
            Kind::Ident if token.is_keyword("LIKE") => Op::Like,
            Kind::Ident if token.is_keyword("ILIKE") => Op::ILike,
            Kind::Ident if token.is_keyword("IN") => Op::In,
            Kind::Ident if token.is_keyword("NOT") => match self.take() {
                Some(next) if next.is_keyword("IN") => Op::NotIn,
                Some(next) => {
                    return Err(self.error(&format!(
                        "invalid comparator 'NOT {}' after '{left}'; the only negated \
                         comparator is NOT IN.",
                        next.text
                    )))
                }
                None => return Err(missing(self)),
            },
            Kind::Ident if token.is_keyword("IS") => self.null_test(left)?,
            _ => return Err(missing(self)),
        };
        Ok(op)
    }

    /// Parses the rest of `IS NULL` or `IS NOT NULL`.
    fn null_test(&mut self, left: &str) -> Result<Op> {
        let negated = self.peek().is_some_and(|token| token.is_keyword("NOT"));
        if negated {
            self.next += 1;
        }
        match self.take() {
            Some(token) if token.is_keyword("NULL") => {
                Ok(if negated { Op::IsNotNull } else { Op::IsNull })
            }
            _ => Err(self.error(&format!(
                "expected IS NULL or IS NOT NULL after '{left}'; IS only compares with NULL."
            ))),
        }
    }

    fn value(&mut self, left: &str) -> Result<Literal> {
        let Some(token) = self.take() else {
            return Err(self.error(&format!("expected a value after the comparator of '{left}'.")));
        };
        match token.kind {
            Kind::Str => Ok(Literal::Str(token.text)),
            Kind::Number => Ok(number(&token.text)),
            Kind::Ident if is_quoted(&token.text, '"') => {
                Ok(Literal::Str(token.text[1..token.text.len() - 1].to_owned()))
            }
            Kind::Ident if token.is_keyword("NULL") => {
                Err(self
                    .error(&format!("'{left}' is compared with NULL; use IS NULL or IS NOT NULL.")))
            }
            Kind::Ident => Err(self.error(&format!(
                "the value {} of '{left}' is not quoted; write strings in single or double \
                 quotes, such as '{}'.",
                token.text, token.text
            ))),
            Kind::Open => {
                Err(self.error(&format!("a list of values for '{left}' needs IN or NOT IN.")))
            }
            _ => Err(self.error(&format!(
                "expected a value after the comparator of '{left}', found '{}'.",
                token.text
            ))),
        }
    }

    /// Parses `('a', "b", ...)`, a non-empty list of quoted strings with an optional trailing
    /// comma.
    fn list(&mut self, left: &str) -> Result<Literal> {
        let expected = |parser: &Self| {
            parser.error(&format!(
                "IN and NOT IN after '{left}' need a non-empty list of quoted strings, such as \
                 ('a', 'b')."
            ))
        };
        if !self.take().is_some_and(|token| token.kind == Kind::Open) {
            return Err(expected(self));
        }
        let mut items = Vec::new();
        loop {
            let Some(token) = self.take() else {
                return Err(expected(self));
            };
            match token.kind {
                Kind::Close if !items.is_empty() => return Ok(Literal::List(items)),
                Kind::Str => items.push(unescape(&token.text)),
                Kind::Ident if is_quoted(&token.text, '"') => {
                    items.push(unescape(&token.text[1..token.text.len() - 1]));
                }
                _ => return Err(expected(self)),
            }
            match self.take() {
                Some(token) if token.kind == Kind::Comma => {
                    if self.peek().is_some_and(|next| next.kind == Kind::Close) {
                        self.next += 1;
                        return Ok(Literal::List(items));
                    }
                }
                Some(token) if token.kind == Kind::Close => return Ok(Literal::List(items)),
                _ => return Err(expected(self)),
            }
        }
    }
}

/// Reads a number token: an integer when written without a fraction or an exponent.
fn number(text: &str) -> Literal {
    if let Ok(value) = text.parse::<i64>() {
        return Literal::Int(value);
    }
    // The tokenizer only produces digits with an optional sign, fraction and exponent.
    Literal::Num(text.parse::<f64>().unwrap_or(f64::NAN))
}

/// Resolves the backslash escapes of a list item, as MLflow's reading of a list as a Python
/// tuple does. Strings outside lists keep their text as written.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(escaped @ ('\\' | '\'' | '"')) => out.push(escaped),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `filter` and writes each comparison as `entity:key op value`.
    fn render(filter: &str) -> Vec<String> {
        match parse(filter) {
            Ok(comparisons) => comparisons
                .iter()
                .map(|c| {
                    let value = match &c.value {
                        Literal::None => String::new(),
                        other => format!(" {}", other.describe()),
                    };
                    format!("{}:{} {}{value}", c.entity.name(), c.key, c.op.as_str())
                })
                .collect(),
            Err(error) => panic!("{filter:?} was rejected: {}", error.message),
        }
    }

    fn check(filter: &str, expected: &[&str]) {
        assert_eq!(render(filter), expected, "filter {filter:?}");
    }

    /// Asserts that `filter` is rejected with a message that contains `part`.
    fn check_error(filter: &str, part: &str) {
        match parse(filter) {
            Ok(comparisons) => panic!("{filter:?} was accepted as {comparisons:?}"),
            Err(error) => {
                assert_eq!(error.code, crate::ErrorCode::InvalidParameterValue, "{filter:?}");
                assert!(
                    error.message.contains(part),
                    "the error for {filter:?} should name {part:?}: {}",
                    error.message
                );
            }
        }
    }

    #[test]
    fn empty_filter_has_no_comparisons() {
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn conjunctions_parse() {
        check(
            "metrics.acc > 0.5 and params.lr = '0.01'",
            &["metric:acc > 0.5", "parameter:lr = '0.01'"],
        );
        check("metrics.acc>0.5", &["metric:acc > 0.5"]);
        check(
            "metrics.acc  >  0.5   AND   params.lr='0.01'",
            &["metric:acc > 0.5", "parameter:lr = '0.01'"],
        );
        check("metrics.a = 1 And metrics.b = 2", &["metric:a = 1", "metric:b = 2"]);
    }

    #[test]
    fn stray_and_is_accepted_like_mlflow() {
        check("metrics.acc > 1 and", &["metric:acc > 1"]);
        check("and metrics.acc > 1", &["metric:acc > 1"]);
        check("metrics.a > 1 and and metrics.b > 1", &["metric:a > 1", "metric:b > 1"]);
        check("metrics.a > 1 metrics.b > 2", &["metric:a > 1", "metric:b > 2"]);
    }

    #[test]
    fn entity_aliases_resolve() {
        for (filter, entity) in [
            ("metric.x > 1", Entity::Metric),
            ("metrics.x > 1", Entity::Metric),
            ("param.x = 'a'", Entity::Param),
            ("params.x = 'a'", Entity::Param),
            ("parameter.x = 'a'", Entity::Param),
            ("parameters.x = 'a'", Entity::Param),
            ("tag.x = 'a'", Entity::Tag),
            ("tags.x = 'a'", Entity::Tag),
            ("attribute.status = 'a'", Entity::Attribute),
            ("attributes.status = 'a'", Entity::Attribute),
            ("attr.status = 'a'", Entity::Attribute),
            ("run.status = 'a'", Entity::Attribute),
            ("status = 'a'", Entity::Attribute),
            ("dataset.name = 'a'", Entity::Dataset),
            ("datasets.name = 'a'", Entity::Dataset),
            ("`params`.x = 'a'", Entity::Param),
        ] {
            let parsed = parse(filter).unwrap();
            assert_eq!(parsed[0].entity, entity, "{filter}");
        }
    }

    #[test]
    fn prefix_is_kept_as_written() {
        assert_eq!(parse("attr.name = 'a'").unwrap()[0].prefix.as_deref(), Some("attr"));
        assert_eq!(parse("`tags`.x = 'a'").unwrap()[0].prefix.as_deref(), Some("tags"));
        assert_eq!(parse("name = 'a'").unwrap()[0].prefix, None);
    }

    #[test]
    fn quoted_keys_keep_spaces_and_dots() {
        check("params.`my key` = 'x'", &["parameter:my key = 'x'"]);
        check("params.\"my key\" = 'x'", &["parameter:my key = 'x'"]);
        check("params.'my key' = 'x'", &["parameter:my key = 'x'"]);
        check("tags.`mlflow.user` = 'y'", &["tag:mlflow.user = 'y'"]);
        check("tags.mlflow.runName = 'x'", &["tag:mlflow.runName = 'x'"]);
        check("metrics.`my-metric` > 1", &["metric:my-metric > 1"]);
        check("\"run name\" = 'abc'", &["attribute:run name = 'abc'"]);
        check("`Run Name` = 'abc'", &["attribute:Run Name = 'abc'"]);
    }

    #[test]
    fn key_characters_follow_mlflow() {
        check("metrics.1abc > 1", &["metric:1abc > 1"]);
        check("metrics.a_b > 1", &["metric:a_b > 1"]);
        check("metrics.é > 1", &["metric:é > 1"]);
        check("params.select = 'x'", &["parameter:select = 'x'"]);
    }

    #[test]
    fn numbers_parse() {
        let value = |filter: &str| parse(filter).unwrap().remove(0).value;
        assert_eq!(value("metrics.a > -1"), Literal::Int(-1));
        assert_eq!(value("metrics.a > 1e-3"), Literal::Num(0.001));
        assert_eq!(value("metrics.a > 1E3"), Literal::Num(1000.0));
        assert_eq!(value("metrics.a > .5"), Literal::Num(0.5));
        assert_eq!(value("metrics.a > 5."), Literal::Num(5.0));
        assert_eq!(value("metrics.a > -.5"), Literal::Num(-0.5));
        assert_eq!(value("start_time >= 1.5"), Literal::Num(1.5));
        assert_eq!(value("start_time > 1700000000000"), Literal::Int(1_700_000_000_000));
        assert_eq!(value("metrics.a > 99999999999999999999"), Literal::Num(1e20));
    }

    #[test]
    fn strings_keep_their_text() {
        let value = |filter: &str| parse(filter).unwrap().remove(0).value;
        assert_eq!(value("params.x = \"0.01\""), Literal::Str("0.01".into()));
        assert_eq!(value("params.x = 'it''s'"), Literal::Str("it''s".into()));
        assert_eq!(value(r"params.x = 'a\'b'"), Literal::Str(r"a\'b".into()));
        assert_eq!(value("params.x = ''"), Literal::Str(String::new()));
        assert_eq!(value("params.x = \"\""), Literal::Str(String::new()));
        assert_eq!(value("params.x = 'a and b'"), Literal::Str("a and b".into()));
    }

    #[test]
    fn keyword_comparators_ignore_case() {
        check("tags.x LIKE '%a%'", &["tag:x LIKE '%a%'"]);
        check("tags.x like '%a%'", &["tag:x LIKE '%a%'"]);
        check("tags.x ILIKE '%A%'", &["tag:x ILIKE '%A%'"]);
        check("tags.x ilike '%A%'", &["tag:x ILIKE '%A%'"]);
        check("tags.x IS NULL", &["tag:x IS NULL"]);
        check("tags.x is null", &["tag:x IS NULL"]);
        check("tags.x is not null", &["tag:x IS NOT NULL"]);
        check(
            "tags.x IS NOT NULL and params.y IS NULL",
            &["tag:x IS NOT NULL", "parameter:y IS NULL"],
        );
    }

    #[test]
    fn symbol_comparators_parse() {
        for op in ["=", "!=", ">", ">=", "<", "<="] {
            check(&format!("metrics.a {op} 1"), &[&format!("metric:a {op} 1")]);
        }
    }

    #[test]
    fn lists_parse() {
        check("run_id IN ('a', 'b')", &["attribute:run_id IN ('a', 'b')"]);
        check("run_id IN ('a')", &["attribute:run_id IN ('a')"]);
        check("run_id in ('a', \"b\")", &["attribute:run_id IN ('a', 'b')"]);
        check("run_id NOT IN ('a', 'b')", &["attribute:run_id NOT IN ('a', 'b')"]);
        check("run_id not in ('a', 'b')", &["attribute:run_id NOT IN ('a', 'b')"]);
        check("run_id IN ('a',)", &["attribute:run_id IN ('a')"]);
        check("datasets.context IN ('train', 'eval')", &["dataset:context IN ('train', 'eval')"]);
        let parsed = parse(r"run_id IN ('a\'b', 'c\\d')").unwrap();
        assert_eq!(parsed[0].value, Literal::List(vec!["a'b".into(), r"c\d".into()]));
    }

    #[test]
    fn or_and_parentheses_are_rejected() {
        check_error("metrics.acc = 1 or metrics.b = 2", "OR");
        check_error("metrics.acc = 1 OR metrics.b = 2", "OR");
        check_error("(metrics.acc > 1)", "parentheses");
    }

    #[test]
    fn incomplete_comparisons_are_rejected() {
        check_error("metrics.acc", "after 'metrics.acc'");
        check_error("metrics.acc >", "after the comparator of 'metrics.acc'");
        check_error("> 1", "'>'");
        check_error("'a' = params.x", "'a'");
        check_error("metrics.acc BETWEEN 1 AND 2", "after 'metrics.acc'");
        check_error("params.x = 'a' 'b'", "'b'");
        check_error("metrics.acc > 1 , metrics.b > 2", "','");
    }

    #[test]
    fn bad_characters_and_separators_are_rejected() {
        check_error("metrics.acc > 1; metrics.b > 2", "';'");
        check_error("metrics.acc > 1;", "';'");
        check_error("metrics.my-metric > 1", "'-'");
        check_error("metrics.a$b > 1", "'$'");
        check_error("metrics.acc > + 1", "'+'");
        check_error("metrics.acc > - 1", "'-'");
    }

    #[test]
    fn bad_values_are_rejected() {
        check_error("status = FINISHED", "FINISHED");
        check_error("metrics.acc > NaN", "NaN");
        check_error("metrics.acc > inf", "inf");
        check_error("metrics.acc > 0x10", "0x10");
        check_error("metrics.acc >= 1e", "1e");
        check_error("params.x = NULL", "IS NULL");
        check_error("params.x = 'unterminated", "never closed");
        check_error("params.`x = 'a'", "never closed");
        check_error("params.p = ('a')", "IN or NOT IN");
    }

    #[test]
    fn bad_comparators_are_rejected() {
        check_error("metrics.acc <> 1", "'<>'");
        check_error("metrics.acc == 1", "'=='");
        check_error("metrics.acc => 1", "'=>'");
        check_error("params.x NOT LIKE 'a'", "NOT LIKE");
        check_error("params.x IS 'a'", "IS NULL or IS NOT NULL");
        check_error("params.x IS NOT 'a'", "IS NULL or IS NOT NULL");
    }

    #[test]
    fn bad_lists_are_rejected() {
        check_error("run_id IN ()", "non-empty list");
        check_error("run_id IN (1, 2)", "non-empty list");
        check_error("run_id IN ('a', 2)", "non-empty list");
        check_error("run_id IN ('a', 'b'", "non-empty list");
        check_error("run_id IN 'a'", "non-empty list");
        check_error("run_id IN (('a'))", "non-empty list");
    }

    #[test]
    fn unknown_entities_are_rejected() {
        check_error("foo.bar = 'x'", "'foo'");
        check_error("`metrics.acc` > 1", "'`metrics'");
        check_error("metrics . acc > 1", "'.'");
    }

    #[test]
    fn blank_filter_is_rejected() {
        check_error("    ", "whitespace");
    }

    /// Parses an order_by clause as `entity:key asc|desc`.
    fn order(clause: &str) -> String {
        match parse_order_by(clause) {
            Ok(order) => format!(
                "{}:{} {}",
                order.entity.name(),
                order.key,
                if order.ascending { "asc" } else { "desc" }
            ),
            Err(error) => panic!("{clause:?} was rejected: {}", error.message),
        }
    }

    #[test]
    fn order_by_clauses_parse() {
        for (clause, expected) in [
            ("metrics.acc", "metric:acc asc"),
            ("metrics.acc DESC", "metric:acc desc"),
            ("metrics.acc desc", "metric:acc desc"),
            ("metrics.acc Asc", "metric:acc asc"),
            ("metrics.acc  DESC", "metric:acc desc"),
            ("metrics.`my key` DESC", "metric:my key desc"),
            ("metrics.\"my key\" DESC", "metric:my key desc"),
            ("metrics.'my key' DESC", "metric:my key desc"),
            ("tags.`a.b`", "tag:a.b asc"),
            ("param.lr", "parameter:lr asc"),
            ("start_time", "attribute:start_time asc"),
            ("attributes.start_time DESC", "attribute:start_time desc"),
            ("`metrics`.acc", "metric:acc asc"),
            ("metrics.", "metric: asc"),
            ("datasets.name", "dataset:name asc"),
            ("timestamp DESC", "attribute:timestamp desc"),
        ] {
            assert_eq!(order(clause), expected, "clause {clause:?}");
        }
        assert_eq!(parse_order_by("attr.name").unwrap().prefix.as_deref(), Some("attr"));
    }

    #[test]
    fn bad_order_by_clauses_are_rejected() {
        for (clause, part) in [
            ("metrics.acc ASC DESC", "'metrics.acc ASC DESC'"),
            ("metrics.acc up", "use ASC or DESC"),
            ("metrics.acc,metrics.b", "'metrics.acc,metrics.b'"),
            ("  metrics.acc DESC  ", "'  metrics.acc DESC  '"),
            ("metrics.acc DESC;", "'metrics.acc DESC;'"),
            ("", "''"),
            ("metrics.my-key", "'metrics.my-key'"),
            ("(metrics.acc)", "'(metrics.acc)'"),
            ("metrics.a b DESC", "'metrics.a b DESC'"),
            ("foo.bar", "'foo'"),
        ] {
            let error = parse_order_by(clause).unwrap_err();
            assert_eq!(error.code, crate::ErrorCode::InvalidParameterValue);
            assert!(error.message.contains(part), "{clause:?}: {}", error.message);
        }
    }
}
