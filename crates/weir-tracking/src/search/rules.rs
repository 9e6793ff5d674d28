//! [`Rules`]: which entities, keys, comparators and values one search endpoint accepts, and
//! the checks ([`validate`], [`validate_order_by`]) that apply them to parsed filters.
//!
//! [`crate::search::filter`] parses every endpoint's filters with one grammar. MLflow 3.17.2
//! accepts a different part of it per endpoint (`SearchUtils` for runs,
//! `SearchExperimentsUtils`, `SearchModelUtils`, `SearchModelVersionUtils`), so the constants
//! [`RUNS`], [`EXPERIMENTS`], [`REGISTERED_MODELS`] and [`MODEL_VERSIONS`] record those
//! differences. The checks run in MLflow's order (entity, key, value, comparator), so the
//! first problem reported is the one MLflow reports.

use crate::error::{Result, TrackingError};
use crate::search::filter::{self, Comparison, Entity, Literal, Op, OrderBy};

/// The filter and order-by rules of one search endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Entity prefixes accepted in filters, as written (`metrics`, `attr`). Each names the
    /// entity [`filter::PREFIXES`] gives it.
    pub prefixes: &'static [&'static str],
    /// Attribute keys accepted in filters, aliases included.
    pub attributes: &'static [&'static str],
    /// The attributes that hold numbers; the rest hold strings.
    pub numeric_attributes: &'static [&'static str],
    /// Whether a numeric attribute may be compared with a quoted string (model versions allow
    /// `version_number = '3'`).
    pub numeric_attributes_take_strings: bool,
    /// Attributes that may be compared with a list (`IN`, `NOT IN`).
    pub list_attributes: &'static [&'static str],
    /// Keys accepted after `datasets.`.
    pub dataset_keys: &'static [&'static str],
    pub metric_ops: &'static [Op],
    pub param_ops: &'static [Op],
    pub tag_ops: &'static [Op],
    pub string_attribute_ops: &'static [Op],
    pub numeric_attribute_ops: &'static [Op],
    pub dataset_ops: &'static [Op],
    /// Entity prefixes accepted in `order_by`.
    pub order_by_prefixes: &'static [&'static str],
    /// Attribute keys accepted in `order_by`, aliases included.
    pub order_by_attributes: &'static [&'static str],
    /// Entities that can be ordered by.
    pub order_by_entities: &'static [Entity],
    /// Attribute aliases and the attribute each stands for.
    pub aliases: &'static [(&'static str, &'static str)],
}

const NUMERIC_OPS: &[Op] = &[Op::Gt, Op::Ge, Op::Ne, Op::Eq, Op::Lt, Op::Le];
const STRING_OPS: &[Op] = &[Op::Ne, Op::Eq, Op::Like, Op::ILike, Op::In, Op::NotIn];
const NULLABLE_OPS: &[Op] = &[Op::Ne, Op::Eq, Op::Like, Op::ILike, Op::IsNull, Op::IsNotNull];
const TEXT_OPS: &[Op] = &[Op::Ne, Op::Eq, Op::Like, Op::ILike];
const ALL_PREFIXES: &[&str] = &[
    "metric",
    "metrics",
    "parameter",
    "parameters",
    "param",
    "params",
    "tag",
    "tags",
    "attribute",
    "attributes",
    "attr",
    "run",
    "dataset",
    "datasets",
];
const ATTRIBUTE_OR_TAG: &[&str] = &["attribute", "tag", "tags"];

/// `runs/search` (MLflow's `SearchUtils`).
pub const RUNS: Rules = Rules {
    prefixes: ALL_PREFIXES,
    attributes: &[
        "artifact_uri",
        "end_time",
        "run_id",
        "run_name",
        "start_time",
        "status",
        "user_id",
        "created",
        "Created",
        "run name",
        "Run name",
        "Run Name",
    ],
    numeric_attributes: &["start_time", "end_time", "created", "Created"],
    numeric_attributes_take_strings: false,
    list_attributes: &["run_id"],
    dataset_keys: &["name", "digest", "context"],
    metric_ops: NUMERIC_OPS,
    param_ops: NULLABLE_OPS,
    tag_ops: NULLABLE_OPS,
    string_attribute_ops: STRING_OPS,
    numeric_attribute_ops: NUMERIC_OPS,
    dataset_ops: STRING_OPS,
    order_by_prefixes: ALL_PREFIXES,
    order_by_attributes: &[
        "artifact_uri",
        "end_time",
        "run_id",
        "run_name",
        "start_time",
        "status",
        "user_id",
        "created",
        "Created",
    ],
    order_by_entities: &[Entity::Metric, Entity::Param, Entity::Tag, Entity::Attribute],
    aliases: &[
        ("created", "start_time"),
        ("Created", "start_time"),
        ("run name", "run_name"),
        ("Run name", "run_name"),
        ("Run Name", "run_name"),
    ],
};

/// `experiments/search` (MLflow's `SearchExperimentsUtils`). The store also limits
/// `experiment_id` to `=`, `!=`, `IN`, `NOT IN` and the numeric attributes to integers; the
/// endpoint checks those.
pub const EXPERIMENTS: Rules = Rules {
    prefixes: ATTRIBUTE_OR_TAG,
    attributes: &["name", "experiment_id", "creation_time", "last_update_time"],
    numeric_attributes: &["creation_time", "last_update_time"],
    numeric_attributes_take_strings: false,
    list_attributes: &["experiment_id"],
    dataset_keys: &[],
    metric_ops: &[],
    param_ops: &[],
    tag_ops: NULLABLE_OPS,
    string_attribute_ops: STRING_OPS,
    numeric_attribute_ops: NUMERIC_OPS,
    dataset_ops: &[],
    order_by_prefixes: ATTRIBUTE_OR_TAG,
    order_by_attributes: &["name", "experiment_id", "creation_time", "last_update_time"],
    order_by_entities: &[Entity::Attribute],
    aliases: &[],
};

/// `registered-models/search` (MLflow's `SearchModelUtils`). Its `order_by` names a bare key,
/// where `timestamp` stands for the last update time.
pub const REGISTERED_MODELS: Rules = Rules {
    prefixes: ATTRIBUTE_OR_TAG,
    attributes: &["name"],
    numeric_attributes: &["creation_timestamp", "last_updated_timestamp"],
    numeric_attributes_take_strings: false,
    list_attributes: &["name"],
    dataset_keys: &[],
    metric_ops: &[],
    param_ops: &[],
    tag_ops: TEXT_OPS,
    string_attribute_ops: STRING_OPS,
    numeric_attribute_ops: NUMERIC_OPS,
    dataset_ops: &[],
    order_by_prefixes: &[],
    order_by_attributes: &["name", "timestamp", "last_updated_timestamp"],
    order_by_entities: &[Entity::Attribute],
    aliases: &[],
};

/// `model-versions/search` (MLflow's `SearchModelVersionUtils`).
pub const MODEL_VERSIONS: Rules = Rules {
    prefixes: ATTRIBUTE_OR_TAG,
    attributes: &["name", "version_number", "run_id", "source_path"],
    numeric_attributes: &["version_number", "creation_timestamp", "last_updated_timestamp"],
    numeric_attributes_take_strings: true,
    list_attributes: &["name", "run_id"],
    dataset_keys: &[],
    metric_ops: &[],
    param_ops: &[],
    tag_ops: TEXT_OPS,
    string_attribute_ops: STRING_OPS,
    numeric_attribute_ops: NUMERIC_OPS,
    dataset_ops: &[],
    order_by_prefixes: ATTRIBUTE_OR_TAG,
    order_by_attributes: &[
        "name",
        "version_number",
        "creation_timestamp",
        "last_updated_timestamp",
    ],
    order_by_entities: &[Entity::Attribute],
    aliases: &[],
};

impl Rules {
    /// Tells whether `key` is one of the numeric attributes.
    pub fn is_numeric_attribute(&self, key: &str) -> bool {
        self.numeric_attributes.contains(&key)
    }

    /// Returns the attribute an alias names, or `key` itself.
    pub fn canonical_attribute<'a>(&self, key: &'a str) -> &'a str {
        self.aliases.iter().find(|(alias, _)| *alias == key).map_or(key, |(_, name)| name)
    }

    /// Returns the comparators accepted for a key of `entity`.
    pub fn ops_for(&self, entity: Entity, key: &str) -> &'static [Op] {
        match entity {
            Entity::Metric => self.metric_ops,
            Entity::Param => self.param_ops,
            Entity::Tag => self.tag_ops,
            Entity::Dataset => self.dataset_ops,
            Entity::Attribute if self.is_numeric_attribute(key) => self.numeric_attribute_ops,
            Entity::Attribute => self.string_attribute_ops,
        }
    }
}

/// Parses a filter and checks it against `rules`.
pub fn parse_filter(text: &str, rules: &Rules) -> Result<Vec<Comparison>> {
    let comparisons = filter::parse(text)?;
    validate(&comparisons, rules)?;
    Ok(comparisons)
}

/// Parses `order_by` clauses and checks each against `rules`.
pub fn parse_order_by_list(clauses: &[String], rules: &Rules) -> Result<Vec<OrderBy>> {
    clauses
        .iter()
        .map(|clause| {
            let order = filter::parse_order_by(clause)?;
            validate_order_by(&order, rules)?;
            Ok(order)
        })
        .collect()
}

/// Checks parsed comparisons against `rules`, stopping at the first problem.
pub fn validate(comparisons: &[Comparison], rules: &Rules) -> Result<()> {
    comparisons.iter().try_for_each(|comparison| validate_comparison(comparison, rules))
}

fn validate_comparison(comparison: &Comparison, rules: &Rules) -> Result<()> {
    let Comparison { entity, key, op, value, prefix } = comparison;
    check_prefix(prefix.as_deref(), rules.prefixes)?;
    match entity {
        Entity::Attribute if !rules.attributes.contains(&key.as_str()) => {
            return Err(TrackingError::invalid(format!(
                "Invalid attribute key '{key}' in the filter. Valid keys are {}.",
                rules.attributes.join(", ")
            )));
        }
        Entity::Dataset if !rules.dataset_keys.contains(&key.as_str()) => {
            return Err(TrackingError::invalid(format!(
                "Invalid dataset key '{key}' in the filter. Valid keys are {}.",
                rules.dataset_keys.join(", ")
            )));
        }
        _ => {}
    }
    if !matches!(op, Op::IsNull | Op::IsNotNull) {
        check_value(*entity, key, value, rules)?;
    }
    let ops = rules.ops_for(*entity, key);
    if !ops.contains(op) {
        let names: Vec<&str> = ops.iter().map(|op| op.as_str()).collect();
        return Err(TrackingError::invalid(format!(
            "Invalid comparator '{}' for {} '{key}'. Use one of {}.",
            op.as_str(),
            entity.name(),
            names.join(", ")
        )));
    }
    Ok(())
}

fn check_prefix(prefix: Option<&str>, accepted: &[&str]) -> Result<()> {
    match prefix {
        Some(prefix) if !accepted.contains(&prefix) => {
            let hint = if accepted.is_empty() {
                "Give the bare key, without an entity type.".to_owned()
            } else {
                format!("Valid entity types are {}.", accepted.join(", "))
            };
            Err(TrackingError::invalid(format!("Invalid entity type '{prefix}'. {hint}")))
        }
        _ => Ok(()),
    }
}

/// Checks the kind of value: numbers for metrics and numeric attributes, quoted strings for
/// the rest, and lists only where the rules allow them.
fn check_value(entity: Entity, key: &str, value: &Literal, rules: &Rules) -> Result<()> {
    let numeric = match entity {
        Entity::Metric => true,
        Entity::Attribute => rules.is_numeric_attribute(key),
        Entity::Param | Entity::Tag | Entity::Dataset => false,
    };
    let accepted = match value {
        Literal::Int(_) | Literal::Num(_) => numeric,
        Literal::Str(_) => {
            !numeric || (entity == Entity::Attribute && rules.numeric_attributes_take_strings)
        }
        Literal::List(_) if entity == Entity::Attribute && !numeric => {
            if !rules.list_attributes.contains(&key) {
                return Err(TrackingError::invalid(format!(
                    "Invalid list for attribute '{key}': only {} can be compared with a list of \
                     quoted strings.",
                    rules.list_attributes.join(", ")
                )));
            }
            true
        }
        Literal::List(_) => entity == Entity::Dataset,
        Literal::None => false,
    };
    if accepted {
        return Ok(());
    }
    let expected = if numeric { "a number" } else { "a quoted string" };
    Err(TrackingError::invalid(format!(
        "Invalid value {} for {} '{key}' in the filter: expected {expected}.",
        value.describe(),
        entity.name()
    )))
}

/// Checks one parsed `order_by` clause against `rules`.
pub fn validate_order_by(order: &OrderBy, rules: &Rules) -> Result<()> {
    check_prefix(order.prefix.as_deref(), rules.order_by_prefixes)?;
    let key = order.key.as_str();
    if order.entity == Entity::Attribute && !rules.order_by_attributes.contains(&key) {
        return Err(TrackingError::invalid(format!(
            "Invalid order_by key '{key}'. Valid attribute keys are {}.",
            rules.order_by_attributes.join(", ")
        )));
    }
    if order.entity == Entity::Dataset && !rules.dataset_keys.contains(&key) {
        return Err(TrackingError::invalid(format!(
            "Invalid dataset key '{key}' in order_by. Valid keys are {}.",
            rules.dataset_keys.join(", ")
        )));
    }
    if !rules.order_by_entities.contains(&order.entity) {
        return Err(TrackingError::invalid(format!(
            "Invalid order_by entity '{}' in '{}.{key}': this search orders only by {}.",
            order.entity.name(),
            order.prefix.as_deref().unwrap_or(""),
            entity_names(rules.order_by_entities)
        )));
    }
    Ok(())
}

fn entity_names(entities: &[Entity]) -> String {
    let names: Vec<&str> = entities.iter().map(|entity| entity.name()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that each filter is accepted by `rules`.
    fn accepts(rules: &Rules, filters: &[&str]) {
        for filter in filters {
            if let Err(error) = parse_filter(filter, rules) {
                panic!("{filter:?} was rejected: {}", error.message);
            }
        }
    }

    /// Asserts that each filter is rejected by `rules` with a message naming the given part.
    fn rejects(rules: &Rules, cases: &[(&str, &str)]) {
        for (filter, part) in cases {
            match parse_filter(filter, rules) {
                Ok(parsed) => panic!("{filter:?} was accepted as {parsed:?}"),
                Err(error) => {
                    assert_eq!(error.code, crate::ErrorCode::InvalidParameterValue);
                    assert!(error.message.contains(part), "{filter:?}: {}", error.message);
                }
            }
        }
    }

    fn orders(rules: &Rules, clauses: &[&str]) {
        for clause in clauses {
            if let Err(error) = parse_order_by_list(&[clause.to_string()], rules) {
                panic!("{clause:?} was rejected: {}", error.message);
            }
        }
    }

    fn rejects_order(rules: &Rules, cases: &[(&str, &str)]) {
        for (clause, part) in cases {
            match parse_order_by_list(&[clause.to_string()], rules) {
                Ok(parsed) => panic!("{clause:?} was accepted as {parsed:?}"),
                Err(error) => {
                    assert_eq!(error.code, crate::ErrorCode::InvalidParameterValue);
                    assert!(error.message.contains(part), "{clause:?}: {}", error.message);
                }
            }
        }
    }

    #[test]
    fn runs_accept_mlflow_filters() {
        accepts(
            &RUNS,
            &[
                "metrics.acc > 0.5 and params.lr = '0.01'",
                "status = 'FINISHED'",
                "status = \"FINISHED\"",
                "run_id IN ('a')",
                "run_id NOT IN ('a', 'b')",
                "created > 5",
                "start_time >= 1.5",
                "end_time < 5",
                "`Run Name` = 'abc'",
                "attributes.run_name LIKE 'a%'",
                "user_id = 'bob'",
                "artifact_uri LIKE '%x%'",
                "tags.x IS NULL",
                "params.y IS NOT NULL",
                "datasets.context IN ('a')",
                "datasets.name LIKE 'a%'",
                "datasets.digest != 'd'",
            ],
        );
    }

    #[test]
    fn runs_reject_what_mlflow_rejects() {
        rejects(
            &RUNS,
            &[
                ("metrics.acc > '1'", "expected a number"),
                ("metrics.acc IS NULL", "'IS NULL' for metric 'acc'"),
                ("metrics.acc LIKE 1", "'LIKE' for metric"),
                ("params.lr = 0.01", "expected a quoted string"),
                ("params.p IN ('a')", "expected a quoted string"),
                ("tags.x IN ('a')", "expected a quoted string"),
                ("tags.x > 'a'", "Invalid comparator '>' for tag 'x'"),
                ("status IN ('A', 'B')", "only run_id"),
                ("start_time > '5'", "expected a number"),
                ("end_time LIKE 5", "'LIKE' for attribute 'end_time'"),
                ("lifecycle_stage = 'active'", "Invalid attribute key 'lifecycle_stage'"),
                ("experiment_id = '0'", "Invalid attribute key 'experiment_id'"),
                ("datasets.foo = 'x'", "Invalid dataset key 'foo'"),
                ("datasets.name > 'x'", "'>' for dataset 'name'"),
                ("datasets.name IS NULL", "'IS NULL' for dataset"),
            ],
        );
    }

    #[test]
    fn experiments_follow_mlflow() {
        accepts(
            &EXPERIMENTS,
            &[
                "name = 'a'",
                "attribute.name = 'a'",
                "`name` = 'a'",
                "name LIKE 'a%'",
                "name ILIKE 'a%'",
                "tags.x IS NULL",
                "tag.x = 'a'",
                "experiment_id IN ('1', '2')",
                "creation_time > 5",
                "last_update_time <= 5",
            ],
        );
        rejects(
            &EXPERIMENTS,
            &[
                ("attributes.name = 'a'", "Invalid entity type 'attributes'"),
                ("attr.name = 'a'", "Invalid entity type 'attr'"),
                ("metrics.a > 1", "Invalid entity type 'metrics'"),
                ("datasets.name = 'x'", "Invalid entity type 'datasets'"),
                ("name IN ('a')", "only experiment_id"),
                ("name > 'a'", "Invalid comparator '>'"),
                ("name IS NULL", "'IS NULL' for attribute"),
                ("experiment_id = 1", "expected a quoted string"),
                ("creation_time > '5'", "expected a number"),
                ("lifecycle_stage = 'active'", "Invalid attribute key 'lifecycle_stage'"),
            ],
        );
    }

    #[test]
    fn registered_models_follow_mlflow() {
        accepts(
            &REGISTERED_MODELS,
            &["name = 'x'", "name IN ('a')", "tags.x = 'a'", "attribute.name LIKE 'x%'"],
        );
        rejects(
            &REGISTERED_MODELS,
            &[
                ("status = 'x'", "Invalid attribute key 'status'"),
                ("name = 3", "expected a quoted string"),
                ("tags.x IN ('a')", "expected a quoted string"),
                ("attributes.name = 'x'", "Invalid entity type 'attributes'"),
                ("tags.x IS NULL", "'IS NULL' for tag"),
                ("metrics.a > 1", "Invalid entity type 'metrics'"),
            ],
        );
    }

    #[test]
    fn model_versions_follow_mlflow() {
        accepts(
            &MODEL_VERSIONS,
            &[
                "version_number = '3'",
                "version_number = 3",
                "version_number > 2.5",
                "run_id NOT IN ('a')",
                "name LIKE 'a%'",
                "source_path = 'x'",
            ],
        );
        rejects(
            &MODEL_VERSIONS,
            &[
                ("name = 3", "expected a quoted string"),
                ("source_path IN ('a')", "only name, run_id"),
                ("tags.x = 3", "expected a quoted string"),
                ("model_id = 'x'", "Invalid attribute key 'model_id'"),
            ],
        );
    }

    #[test]
    fn order_by_follows_each_endpoint() {
        orders(&RUNS, &["metrics.acc DESC", "created DESC", "run_name", "tags.x", "params.lr"]);
        rejects_order(
            &RUNS,
            &[
                ("`Run Name`", "Invalid order_by key 'Run Name'"),
                ("datasets.name", "Invalid order_by entity 'dataset'"),
                ("name", "Invalid order_by key 'name'"),
            ],
        );
        orders(&EXPERIMENTS, &["name DESC", "attribute.name", "experiment_id", "creation_time"]);
        rejects_order(
            &EXPERIMENTS,
            &[
                ("attributes.name", "Invalid entity type 'attributes'"),
                ("tags.x", "Invalid order_by entity 'tag'"),
                ("start_time", "Invalid order_by key 'start_time'"),
                ("metrics.acc", "Invalid entity type 'metrics'"),
            ],
        );
        orders(&REGISTERED_MODELS, &["timestamp DESC", "name", "last_updated_timestamp ASC"]);
        rejects_order(
            &REGISTERED_MODELS,
            &[
                ("attribute.name", "Invalid entity type 'attribute'"),
                ("creation_timestamp", "Invalid order_by key 'creation_timestamp'"),
            ],
        );
        orders(&MODEL_VERSIONS, &["version_number DESC", "attribute.name"]);
        rejects_order(
            &MODEL_VERSIONS,
            &[("tags.x", "Invalid order_by entity 'tag'"), ("run_id", "'run_id'")],
        );
    }

    #[test]
    fn aliases_map_to_attributes() {
        assert_eq!(RUNS.canonical_attribute("created"), "start_time");
        assert_eq!(RUNS.canonical_attribute("Run Name"), "run_name");
        assert_eq!(RUNS.canonical_attribute("status"), "status");
    }
}
