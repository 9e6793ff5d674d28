//! SQL for the `pipelines` and `pipeline_versions` tables.
//!
//! A pipeline name is unique in its namespace and a version name is unique in its pipeline.
//! Deleting a pipeline deletes its versions only when the caller asks for the cascade.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, Row};

use super::convert::{backend, to_json, to_micros, violation, RowReader, Violation};
use super::listing::{fetch_page, text_value, Condition, Entity, Field};
use crate::{
    ListQuery, NewPipeline, NewPipelineVersion, Page, PipelineRecord, PipelineVersionRecord,
    Result, StoreError,
};

const PIPELINE_COLUMNS: &str =
    "pipeline_id, namespace, name, display_name, description, created_at";

const VERSION_COLUMNS: &str = "pipeline_version_id, pipeline_id, name, display_name, description, \
    package_url, code_source_url, created_at, pipeline_spec";

pub(super) static PIPELINES: Entity = Entity {
    noun: "pipelines",
    table: "pipelines",
    key: "pipeline_id",
    default_sort: "created_at",
    fields: &[
        Field::text(&["pipeline_id", "id"], "pipeline_id", false),
        Field::text(&["name"], "name", false),
        Field::text(&["display_name"], "display_name", false),
        Field::text(&["description"], "description", false),
        Field::text(&["namespace"], "namespace", false),
        Field::timestamp(&["created_at"], "created_at", false),
    ],
};

pub(super) static PIPELINE_VERSIONS: Entity = Entity {
    noun: "pipeline versions",
    table: "pipeline_versions",
    key: "pipeline_version_id",
    default_sort: "created_at",
    fields: &[
        Field::text(&["pipeline_version_id", "id"], "pipeline_version_id", false),
        Field::text(&["name"], "name", false),
        Field::text(&["display_name"], "display_name", false),
        Field::text(&["description"], "description", false),
        Field::text(&["pipeline_id"], "pipeline_id", false),
        Field::timestamp(&["created_at"], "created_at", false),
    ],
};

/// Inserts a pipeline, and its first version when given.
///
/// Run it in a transaction, so that a failed version insert also removes the pipeline. The
/// version's `pipeline_id` must be empty or the new pipeline's id.
pub(super) fn create_pipeline(
    conn: &Connection,
    pipeline: &NewPipeline,
    version: Option<&NewPipelineVersion>,
    now: DateTime<Utc>,
) -> Result<(PipelineRecord, Option<PipelineVersionRecord>)> {
    insert_pipeline(conn, pipeline, now)?;
    let Some(version) = version else {
        return Ok((get_pipeline(conn, &pipeline.pipeline_id)?, None));
    };

    if !version.pipeline_id.is_empty() && version.pipeline_id != pipeline.pipeline_id {
        return Err(StoreError::InvalidArgument(format!(
            "pipeline version {:?} names pipeline {:?}, but belongs to the new pipeline {:?}; \
             leave its pipeline_id empty or set it to {:?}",
            version.pipeline_version_id,
            version.pipeline_id,
            pipeline.pipeline_id,
            pipeline.pipeline_id
        )));
    }
    let version =
        NewPipelineVersion { pipeline_id: pipeline.pipeline_id.clone(), ..version.clone() };
    let version = create_pipeline_version(conn, &version, now)?;
    Ok((get_pipeline(conn, &pipeline.pipeline_id)?, Some(version)))
}

fn insert_pipeline(conn: &Connection, pipeline: &NewPipeline, now: DateTime<Utc>) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO pipelines (pipeline_id, namespace, name, display_name, description, \
             created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(backend("preparing the pipeline insert"))?;
    let inserted = stmt.execute(params![
        pipeline.pipeline_id,
        pipeline.namespace,
        pipeline.name,
        pipeline.display_name,
        pipeline.description,
        to_micros(now),
    ]);

    match inserted {
        Ok(_) => Ok(()),
        Err(err) if violation(&err) == Some(Violation::Unique) => {
            if find_pipeline(conn, "pipeline_id = ?1", &[&pipeline.pipeline_id])?.is_some() {
                Err(StoreError::AlreadyExists {
                    kind: "pipeline",
                    id: pipeline.pipeline_id.clone(),
                })
            } else {
                Err(StoreError::AlreadyExists { kind: "pipeline name", id: pipeline.name.clone() })
            }
        }
        Err(err) => {
            Err(backend(format_args!("inserting pipeline {:?}", pipeline.pipeline_id))(err))
        }
    }
}

pub(super) fn get_pipeline(conn: &Connection, pipeline_id: &str) -> Result<PipelineRecord> {
    find_pipeline(conn, "pipeline_id = ?1", &[&pipeline_id])?
        .ok_or_else(|| StoreError::NotFound { kind: "pipeline", id: pipeline_id.to_owned() })
}

pub(super) fn get_pipeline_by_name(
    conn: &Connection,
    namespace: &str,
    name: &str,
) -> Result<PipelineRecord> {
    find_pipeline(conn, "namespace = ?1 AND name = ?2", &[&namespace, &name])?
        .ok_or_else(|| StoreError::NotFound { kind: "pipeline name", id: name.to_owned() })
}

fn find_pipeline(
    conn: &Connection,
    condition: &str,
    values: &[&dyn rusqlite::ToSql],
) -> Result<Option<PipelineRecord>> {
    let action = || format!("reading a pipeline where {condition}");
    let sql = format!("SELECT {PIPELINE_COLUMNS} FROM pipelines WHERE {condition}");
    let mut stmt = conn.prepare_cached(&sql).map_err(backend(action()))?;
    let mut rows = stmt.query(values).map_err(backend(action()))?;
    match rows.next().map_err(backend(action()))? {
        Some(row) => read_pipeline(row).map(Some),
        None => Ok(None),
    }
}

pub(super) fn list_pipelines(conn: &Connection, query: &ListQuery) -> Result<Page<PipelineRecord>> {
    let mut scope = Vec::new();
    if let Some(namespace) = &query.namespace {
        scope.push(Condition::new("namespace = ?", vec![text_value(namespace)]));
    }
    fetch_page(conn, &PIPELINES, PIPELINE_COLUMNS, scope, query, read_pipeline)
}

/// Replaces the display name and description that are given and keeps the others.
pub(super) fn update_pipeline(
    conn: &Connection,
    pipeline_id: &str,
    display_name: Option<&str>,
    description: Option<&str>,
) -> Result<PipelineRecord> {
    let changed = conn
        .execute(
            "UPDATE pipelines SET display_name = coalesce(?2, display_name), \
             description = coalesce(?3, description) WHERE pipeline_id = ?1",
            params![pipeline_id, display_name, description],
        )
        .map_err(backend(format_args!("updating pipeline {pipeline_id:?}")))?;
    if changed == 0 {
        return Err(StoreError::NotFound { kind: "pipeline", id: pipeline_id.to_owned() });
    }
    get_pipeline(conn, pipeline_id)
}

/// Deletes a pipeline, and its versions with `cascade`.
///
/// Run it in a transaction, so that no version is added between the count and the delete.
pub(super) fn delete_pipeline(conn: &Connection, pipeline_id: &str, cascade: bool) -> Result<()> {
    get_pipeline(conn, pipeline_id)?;
    let versions: i64 = conn
        .query_row(
            "SELECT count(*) FROM pipeline_versions WHERE pipeline_id = ?1",
            [pipeline_id],
            |row| row.get(0),
        )
        .map_err(backend(format_args!("counting the versions of pipeline {pipeline_id:?}")))?;
    if versions > 0 && !cascade {
        let noun = if versions == 1 { "version" } else { "versions" };
        return Err(StoreError::FailedPrecondition(format!(
            "pipeline {pipeline_id:?} has {versions} {noun}; delete them first, or delete the \
             pipeline with cascade"
        )));
    }

    // The foreign key would delete the versions too. Deleting them here does not depend on
    // foreign keys being on.
    conn.execute("DELETE FROM pipeline_versions WHERE pipeline_id = ?1", [pipeline_id])
        .map_err(backend(format_args!("deleting the versions of pipeline {pipeline_id:?}")))?;
    conn.execute("DELETE FROM pipelines WHERE pipeline_id = ?1", [pipeline_id])
        .map_err(backend(format_args!("deleting pipeline {pipeline_id:?}")))?;
    Ok(())
}

pub(super) fn create_pipeline_version(
    conn: &Connection,
    version: &NewPipelineVersion,
    now: DateTime<Utc>,
) -> Result<PipelineVersionRecord> {
    let record = PipelineVersionRecord {
        pipeline_version_id: version.pipeline_version_id.clone(),
        pipeline_id: version.pipeline_id.clone(),
        name: version.name.clone(),
        display_name: version.display_name.clone(),
        description: version.description.clone(),
        pipeline_spec: version.pipeline_spec.clone(),
        package_url: version.package_url.clone(),
        code_source_url: version.code_source_url.clone(),
        created_at: now,
    };
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO pipeline_versions (pipeline_version_id, pipeline_id, name, display_name, \
             description, package_url, code_source_url, created_at, pipeline_spec) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .map_err(backend("preparing the pipeline version insert"))?;
    let inserted = stmt.execute(params![
        record.pipeline_version_id,
        record.pipeline_id,
        record.name,
        record.display_name,
        record.description,
        record.package_url,
        record.code_source_url,
        to_micros(record.created_at),
        to_json(&record.pipeline_spec, "the pipeline spec")?,
    ]);

    let Err(err) = inserted else {
        return Ok(record);
    };
    match violation(&err) {
        Some(Violation::ForeignKey) => {
            Err(StoreError::NotFound { kind: "pipeline", id: record.pipeline_id })
        }
        Some(Violation::Unique) => {
            if find_version(conn, &record.pipeline_version_id)?.is_some() {
                Err(StoreError::AlreadyExists {
                    kind: "pipeline version",
                    id: record.pipeline_version_id,
                })
            } else {
                Err(StoreError::AlreadyExists { kind: "pipeline version name", id: record.name })
            }
        }
        None => Err(backend(format_args!(
            "inserting pipeline version {:?}",
            record.pipeline_version_id
        ))(err)),
    }
}

pub(super) fn get_pipeline_version(
    conn: &Connection,
    version_id: &str,
) -> Result<PipelineVersionRecord> {
    find_version(conn, version_id)?
        .ok_or_else(|| StoreError::NotFound { kind: "pipeline version", id: version_id.to_owned() })
}

fn find_version(conn: &Connection, version_id: &str) -> Result<Option<PipelineVersionRecord>> {
    let action = || format!("reading pipeline version {version_id:?}");
    let sql =
        format!("SELECT {VERSION_COLUMNS} FROM pipeline_versions WHERE pipeline_version_id = ?1");
    let mut stmt = conn.prepare_cached(&sql).map_err(backend(action()))?;
    let mut rows = stmt.query([version_id]).map_err(backend(action()))?;
    match rows.next().map_err(backend(action()))? {
        Some(row) => read_version(row).map(Some),
        None => Ok(None),
    }
}

/// Lists a page of the versions of a pipeline, which must exist. The query's namespace is not
/// used, because a version belongs to the namespace of its pipeline.
pub(super) fn list_pipeline_versions(
    conn: &Connection,
    pipeline_id: &str,
    query: &ListQuery,
) -> Result<Page<PipelineVersionRecord>> {
    get_pipeline(conn, pipeline_id)?;
    let scope = vec![Condition::new("pipeline_id = ?", vec![text_value(pipeline_id)])];
    fetch_page(conn, &PIPELINE_VERSIONS, VERSION_COLUMNS, scope, query, read_version)
}

/// Replaces the display name and description that are given and keeps the others.
pub(super) fn update_pipeline_version(
    conn: &Connection,
    version_id: &str,
    display_name: Option<&str>,
    description: Option<&str>,
) -> Result<PipelineVersionRecord> {
    let changed = conn
        .execute(
            "UPDATE pipeline_versions SET display_name = coalesce(?2, display_name), \
             description = coalesce(?3, description) WHERE pipeline_version_id = ?1",
            params![version_id, display_name, description],
        )
        .map_err(backend(format_args!("updating pipeline version {version_id:?}")))?;
    if changed == 0 {
        return Err(StoreError::NotFound { kind: "pipeline version", id: version_id.to_owned() });
    }
    get_pipeline_version(conn, version_id)
}

pub(super) fn delete_pipeline_version(conn: &Connection, version_id: &str) -> Result<()> {
    let changed = conn
        .execute("DELETE FROM pipeline_versions WHERE pipeline_version_id = ?1", [version_id])
        .map_err(backend(format_args!("deleting pipeline version {version_id:?}")))?;
    if changed == 0 {
        return Err(StoreError::NotFound { kind: "pipeline version", id: version_id.to_owned() });
    }
    Ok(())
}

fn read_pipeline(row: &Row<'_>) -> Result<PipelineRecord> {
    let row = RowReader::new(row, "pipelines");
    Ok(PipelineRecord {
        pipeline_id: row.get("pipeline_id")?,
        namespace: row.get("namespace")?,
        name: row.get("name")?,
        display_name: row.get("display_name")?,
        description: row.get("description")?,
        created_at: row.timestamp("created_at")?,
    })
}

fn read_version(row: &Row<'_>) -> Result<PipelineVersionRecord> {
    let row = RowReader::new(row, "pipeline_versions");
    Ok(PipelineVersionRecord {
        pipeline_version_id: row.get("pipeline_version_id")?,
        pipeline_id: row.get("pipeline_id")?,
        name: row.get("name")?,
        display_name: row.get("display_name")?,
        description: row.get("description")?,
        pipeline_spec: row.json("pipeline_spec")?,
        package_url: row.get("package_url")?,
        code_source_url: row.get("code_source_url")?,
        created_at: row.timestamp("created_at")?,
    })
}
