//! MLflow's search filter grammar: `metrics.acc > 0.5 and params.lr = '0.01'`, a conjunction
//! of comparisons between an entity's key and a literal, and the `order_by` clauses.
//!
//! The same parser serves runs, experiments, registered models, model versions and logged
//! models; each endpoint then checks which entities and keys it allows.

use crate::error::{Result, TrackingError};

/// The kind of value a comparison reads.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
    List(Vec<String>),
    None,
}

/// One `entity.key op value` comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub entity: Entity,
    pub key: String,
    pub op: Op,
    pub value: Literal,
}

/// One `order_by` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub entity: Entity,
    pub key: String,
    pub ascending: bool,
}

/// Parses a filter string into its comparisons; an empty or blank filter has none.
pub fn parse(filter: &str) -> Result<Vec<Comparison>> {
    if filter.trim().is_empty() {
        return Ok(Vec::new());
    }
    Err(TrackingError::invalid(format!("Invalid filter '{filter}': not parsed yet")))
}

/// Parses one `order_by` clause such as `metrics.acc DESC` or `name ASC`.
pub fn parse_order_by(clause: &str) -> Result<OrderBy> {
    Err(TrackingError::invalid(format!("Invalid order_by clause '{clause}': not parsed yet")))
}
