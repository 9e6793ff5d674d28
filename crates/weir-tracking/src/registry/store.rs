//! Reading the registry tables: finding a model or a version by name, and building the proto
//! JSON of `RegisteredModel` and `ModelVersion`, many at a time with one query per table.
//!
//! Lists of keys go to SQLite as one JSON array parameter (`IN (SELECT value FROM
//! json_each(?1))`), so each statement is prepared once whatever the number of keys.
//!
//! Fields come in proto field order and empty lists are left out, as MLflow's JSON does.
//! Unlike MLflow 3.17.2, every `ModelVersion` lists its `aliases`, also inside
//! `latest_versions` and in search results, where MLflow sends none.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction};
use serde_json::{json, Map, Value};

use crate::error::{Result, TrackingError};

/// The order of `latest_versions`: the one MLflow's get calls use, or its search order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatestOrder {
    /// Stages in the order their first version was made, as `registered-models/get` and
    /// `get-latest-versions` list them.
    FirstVersion,
    /// Stages by name, as `registered-models/search` lists them.
    StageName,
}

/// Returns the key of the model named `name`, or fails with `RESOURCE_DOES_NOT_EXIST`.
pub fn model_key(tx: &Transaction<'_>, name: &str) -> Result<i64> {
    tx.prepare_cached("SELECT model_key FROM registry_models WHERE name = ?1")?
        .query_row([name], |row| row.get(0))
        .optional()?
        .ok_or_else(|| no_model(name))
}

/// Builds the `RESOURCE_DOES_NOT_EXIST` error of an unknown model name.
pub fn no_model(name: &str) -> TrackingError {
    TrackingError::not_found(format!(
        "Registered model '{name}' not found. Check the name, or create the model first."
    ))
}

/// True when the model is a prompt of MLflow's prompt registry.
pub fn is_prompt(tx: &Transaction<'_>, model_key: i64) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM registry_model_tags
                            WHERE model_key = ?1 AND key = ?2 AND lower(value) = 'true')",
        )?
        .query_row((model_key, super::checks::IS_PROMPT_TAG), |row| row.get(0))?)
}

/// Returns the keys of the model and of version `version` of the model named `name`, or fails
/// with `RESOURCE_DOES_NOT_EXIST`.
pub fn version_key(tx: &Transaction<'_>, name: &str, version: i64) -> Result<(i64, i64)> {
    tx.prepare_cached(
        "SELECT v.model_key, v.version_key FROM registry_model_versions v
         JOIN registry_models m ON m.model_key = v.model_key
         WHERE m.name = ?1 AND v.version = ?2",
    )?
    .query_row((name, version), |row| Ok((row.get(0)?, row.get(1)?)))
    .optional()?
    .ok_or_else(|| no_version(name, version))
}

/// Builds the `RESOURCE_DOES_NOT_EXIST` error of an unknown version.
pub fn no_version(name: &str, version: i64) -> TrackingError {
    TrackingError::not_found(format!(
        "Model version {version} of registered model '{name}' not found. List the versions \
         with model-versions/search."
    ))
}

/// Builds the JSON of one registered model.
pub fn model_json(tx: &Transaction<'_>, key: i64) -> Result<Value> {
    let mut models = models_json(tx, &[key], LatestOrder::FirstVersion)?;
    models.pop().ok_or_else(|| {
        TrackingError::internal(format!("registered model {key} vanished while it was read"))
    })
}

/// Builds the JSON `RegisteredModel` of each key, in the order given. Unknown keys are left out.
pub fn models_json(tx: &Transaction<'_>, keys: &[i64], order: LatestOrder) -> Result<Vec<Value>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let list = key_list(keys);
    let mut models: HashMap<i64, ModelParts> = HashMap::with_capacity(keys.len());

    let mut statement = tx.prepare_cached(
        "SELECT model_key, name, creation_time, last_updated_time, description
         FROM registry_models WHERE model_key IN (SELECT value FROM json_each(?1))",
    )?;
    let mut rows = statement.query([&list])?;
    while let Some(row) = rows.next()? {
        let mut head = Map::new();
        head.insert("name".into(), Value::String(row.get(1)?));
        head.insert("creation_timestamp".into(), json!(row.get::<_, i64>(2)?));
        head.insert("last_updated_timestamp".into(), json!(row.get::<_, i64>(3)?));
        let description: String = row.get(4)?;
        if !description.is_empty() {
            head.insert("description".into(), Value::String(description));
        }
        models.insert(row.get(0)?, ModelParts { head, ..ModelParts::default() });
    }

    let latest = latest_versions(tx, keys, order)?;
    let version_keys: Vec<i64> = latest.iter().map(|(_, version_key)| *version_key).collect();
    let mut versions = versions_by_key(tx, &version_keys)?;
    for (model_key, version_key) in latest {
        if let (Some(model), Some(version)) =
            (models.get_mut(&model_key), versions.remove(&version_key))
        {
            model.latest_versions.push(version);
        }
    }

    let tags = tag_rows(
        tx,
        "SELECT model_key, key, value FROM registry_model_tags
         WHERE model_key IN (SELECT value FROM json_each(?1)) ORDER BY model_key, key",
        &list,
    )?;
    for (model_key, tag) in tags {
        if let Some(model) = models.get_mut(&model_key) {
            model.tags.push(tag);
        }
    }

    let mut statement = tx.prepare_cached(
        "SELECT model_key, alias, version FROM registry_aliases
         WHERE model_key IN (SELECT value FROM json_each(?1)) ORDER BY model_key, alias",
    )?;
    let mut rows = statement.query([&list])?;
    while let Some(row) = rows.next()? {
        if let Some(model) = models.get_mut(&row.get(0)?) {
            let alias = json!({
                "alias": row.get::<_, String>(1)?,
                "version": row.get::<_, i64>(2)?.to_string(),
            });
            model.aliases.push(alias);
        }
    }

    Ok(keys.iter().filter_map(|key| models.remove(key).map(ModelParts::into_json)).collect())
}

/// Returns `(model key, version key)` of the newest version in each stage of each model, per
/// model in the given order of `keys`, and within a model in the order `order` names.
pub fn latest_versions(
    tx: &Transaction<'_>,
    keys: &[i64],
    order: LatestOrder,
) -> Result<Vec<(i64, i64)>> {
    let order_clause = match order {
        LatestOrder::FirstVersion => "first_version",
        LatestOrder::StageName => "current_stage",
    };
    let mut statement = tx.prepare_cached(&format!(
        "SELECT model_key, version_key FROM (
             SELECT model_key, version_key, current_stage,
                    ROW_NUMBER() OVER (PARTITION BY model_key, current_stage
                                       ORDER BY version DESC) AS newest,
                    MIN(version) OVER (PARTITION BY model_key, current_stage) AS first_version
             FROM registry_model_versions
             WHERE model_key IN (SELECT value FROM json_each(?1)))
         WHERE newest = 1 ORDER BY model_key, {order_clause}"
    ))?;
    let mut found: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
    let mut rows = statement.query([key_list(keys)])?;
    while let Some(row) = rows.next()? {
        let model_key: i64 = row.get(0)?;
        found.entry(model_key).or_default().push((model_key, row.get(1)?));
    }
    Ok(keys.iter().filter_map(|key| found.remove(key)).flatten().collect())
}

/// Builds the JSON of one model version.
pub fn version_json(tx: &Transaction<'_>, key: i64) -> Result<Value> {
    let mut versions = versions_json(tx, &[key])?;
    versions.pop().ok_or_else(|| {
        TrackingError::internal(format!("model version {key} vanished while it was read"))
    })
}

/// Builds the JSON `ModelVersion` of each version key, in the order given. Unknown keys are
/// left out.
pub fn versions_json(tx: &Transaction<'_>, keys: &[i64]) -> Result<Vec<Value>> {
    let mut versions = versions_by_key(tx, keys)?;
    Ok(keys.iter().filter_map(|key| versions.remove(key)).collect())
}

/// Builds the JSON `ModelVersion` of each version key that exists, by key.
fn versions_by_key(tx: &Transaction<'_>, keys: &[i64]) -> Result<HashMap<i64, Value>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let list = key_list(keys);
    let mut versions: HashMap<i64, VersionParts> = HashMap::with_capacity(keys.len());

    let mut statement = tx.prepare_cached(
        "SELECT v.version_key, m.name, v.version, v.creation_time, v.last_updated_time,
                v.current_stage, v.description, v.source, v.run_id, v.status, v.run_link,
                v.model_id
         FROM registry_model_versions v JOIN registry_models m ON m.model_key = v.model_key
         WHERE v.version_key IN (SELECT value FROM json_each(?1))",
    )?;
    let mut rows = statement.query([&list])?;
    while let Some(row) = rows.next()? {
        let mut head = Map::new();
        head.insert("name".into(), Value::String(row.get(1)?));
        head.insert("version".into(), Value::String(row.get::<_, i64>(2)?.to_string()));
        head.insert("creation_timestamp".into(), json!(row.get::<_, i64>(3)?));
        head.insert("last_updated_timestamp".into(), json!(row.get::<_, i64>(4)?));
        head.insert("current_stage".into(), Value::String(row.get(5)?));
        if let Some(description) = row.get::<_, Option<String>>(6)? {
            head.insert("description".into(), Value::String(description));
        }
        head.insert("source".into(), Value::String(row.get(7)?));
        if let Some(run_id) = row.get::<_, Option<String>>(8)? {
            head.insert("run_id".into(), Value::String(run_id));
        }
        head.insert("status".into(), Value::String(row.get(9)?));
        let parts = VersionParts {
            head,
            run_link: row.get(10)?,
            model_id: row.get::<_, Option<String>>(11)?.filter(|id| !id.is_empty()),
            ..VersionParts::default()
        };
        versions.insert(row.get(0)?, parts);
    }

    let tags = tag_rows(
        tx,
        "SELECT version_key, key, value FROM registry_version_tags
         WHERE version_key IN (SELECT value FROM json_each(?1)) ORDER BY version_key, key",
        &list,
    )?;
    for (version_key, tag) in tags {
        if let Some(version) = versions.get_mut(&version_key) {
            version.tags.push(tag);
        }
    }

    let mut statement = tx.prepare_cached(
        "SELECT v.version_key, a.alias FROM registry_aliases a
         JOIN registry_model_versions v ON v.model_key = a.model_key AND v.version = a.version
         WHERE v.version_key IN (SELECT value FROM json_each(?1)) ORDER BY v.version_key, a.alias",
    )?;
    let mut rows = statement.query([&list])?;
    while let Some(row) = rows.next()? {
        if let Some(version) = versions.get_mut(&row.get(0)?) {
            version.aliases.push(Value::String(row.get(1)?));
        }
    }

    Ok(versions.into_iter().map(|(key, parts)| (key, parts.into_json())).collect())
}

/// Runs `sql`, which selects `(owner key, key, value)` tag rows of the owners in the JSON key
/// `list`, and returns each tag's JSON with its owner key, in row order.
fn tag_rows(tx: &Transaction<'_>, sql: &str, list: &str) -> Result<Vec<(i64, Value)>> {
    let mut statement = tx.prepare_cached(sql)?;
    let mut rows = statement.query([list])?;
    let mut tags = Vec::new();
    while let Some(row) = rows.next()? {
        let tag = json!({ "key": row.get::<_, String>(1)?, "value": row.get::<_, String>(2)? });
        tags.push((row.get(0)?, tag));
    }
    Ok(tags)
}

/// Writes keys as the JSON array that `json_each` reads.
pub fn key_list(keys: &[i64]) -> String {
    let mut list = String::with_capacity(keys.len() * 8 + 2);
    list.push('[');
    for (index, key) in keys.iter().enumerate() {
        if index > 0 {
            list.push(',');
        }
        list.push_str(&key.to_string());
    }
    list.push(']');
    list
}

#[derive(Default)]
struct ModelParts {
    head: Map<String, Value>,
    latest_versions: Vec<Value>,
    tags: Vec<Value>,
    aliases: Vec<Value>,
}

impl ModelParts {
    fn into_json(self) -> Value {
        let mut model = self.head;
        put_list(&mut model, "latest_versions", self.latest_versions);
        put_list(&mut model, "tags", self.tags);
        put_list(&mut model, "aliases", self.aliases);
        Value::Object(model)
    }
}

#[derive(Default)]
struct VersionParts {
    head: Map<String, Value>,
    tags: Vec<Value>,
    run_link: String,
    aliases: Vec<Value>,
    model_id: Option<String>,
}

impl VersionParts {
    fn into_json(self) -> Value {
        let mut version = self.head;
        put_list(&mut version, "tags", self.tags);
        version.insert("run_link".into(), Value::String(self.run_link));
        put_list(&mut version, "aliases", self.aliases);
        if let Some(model_id) = self.model_id {
            version.insert("model_id".into(), Value::String(model_id));
        }
        Value::Object(version)
    }
}

/// Adds a list field unless it is empty, as proto JSON leaves out empty lists.
fn put_list(object: &mut Map<String, Value>, field: &str, items: Vec<Value>) {
    if !items.is_empty() {
        object.insert(field.into(), Value::Array(items));
    }
}
