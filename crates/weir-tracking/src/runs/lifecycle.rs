//! Creating, reading, updating, deleting and restoring runs.
//!
//! A run id is a random UUID as 32 hex digits, and its artifact URI is
//! `<experiment artifact_location>/<run_id>/artifacts`. A run created without a name gets a
//! random one ([`names`](super::names)), and every run has its name in the `mlflow.runName`
//! tag too. Deleting is soft: the run keeps its data, moves to the `deleted` lifecycle stage
//! with a `deleted_time`, and restore moves it back.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use rusqlite::Transaction;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::caller::TaskCaller;
use crate::error::{Result, TrackingError};
use crate::experiments::{active_artifact_location, parse_experiment_id};
use crate::fields::Fields;
use crate::runs::entries::{self, in_entry};
use crate::runs::names::random_run_name;
use crate::runs::{active_run, put_run_tag, read, rename_run, TAG_RUN_NAME};
use crate::{now_ms, TrackingState};

/// The run statuses of MLflow's `RunStatus` enum, by proto number.
const RUN_STATUSES: [&str; 5] = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];

pub(crate) async fn create(
    State(state): State<TrackingState>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Json<Value>> {
    // MLflow puts a run without an experiment id into the Default experiment.
    let experiment_id = match fields.opt_str("experiment_id")?.filter(|id| !id.is_empty()) {
        Some(text) => parse_experiment_id(&text)?,
        None => 0,
    };
    let user_id = fields.opt_str("user_id")?.unwrap_or_default();
    // NOTE: MLflow stores 0 when start_time is missing; Weir stores the current time, because
    // a start time in 1970 is never what the caller meant. The mlflow client always sends start_time.
    let start_time = fields.opt_i64("start_time")?.unwrap_or_else(now_ms);
    let mut tags = fields
        .objects("tags")?
        .iter()
        .enumerate()
        .map(|(index, tag)| {
            entries::tag_from_fields(tag).map_err(|err| in_entry(&format!("tags[{index}]"), err))
        })
        .collect::<Result<Vec<_>>>()?;
    if let Some(caller) = TaskCaller::from_headers(&headers) {
        caller.add_missing_tags(&mut tags);
    }
    let run_name = resolve_run_name(fields.opt_str("run_name")?, &mut tags)?;

    let run = state
        .db
        .write(move |tx| {
            let location = active_artifact_location(tx, experiment_id)?;
            let run_id = Uuid::new_v4().simple().to_string();
            let artifact_uri = run_artifact_uri(&location, &run_id);
            tx.prepare_cached(
                "INSERT INTO tracking_runs
                     (run_id, experiment_id, name, user_id, status, start_time, artifact_uri,
                      lifecycle_stage)
                 VALUES (?1, ?2, ?3, ?4, 'RUNNING', ?5, ?6, 'active')",
            )?
            .execute((
                &run_id,
                experiment_id,
                &run_name,
                &user_id,
                start_time,
                &artifact_uri,
            ))?;
            let run_key = tx.last_insert_rowid();
            for (key, value) in &tags {
                put_run_tag(tx, run_key, key, value)?;
            }
            tracing::info!(run_id = %run_id, experiment_id, "Created a tracking run.");
            first_run(tx, run_key, &run_id)
        })
        .await?;
    Ok(Json(json!({ "run": run })))
}

/// Chooses the name of a new run: `run_name`, else the `mlflow.runName` tag, else a random
/// name. The two may both be given only when they agree. Leaves exactly one `mlflow.runName`
/// tag, holding the chosen name, at the end of `tags`.
fn resolve_run_name(run_name: Option<String>, tags: &mut Vec<(String, String)>) -> Result<String> {
    let run_name = run_name.filter(|name| !name.is_empty());
    let tag_name = tags
        .iter()
        .find(|(key, value)| key == TAG_RUN_NAME && !value.is_empty())
        .map(|(_, value)| value.clone());
    if let (Some(name), Some(tag)) = (&run_name, &tag_name) {
        if name != tag {
            return Err(TrackingError::invalid(format!(
                "Both 'run_name' and the '{TAG_RUN_NAME}' tag are given, with different values \
                 (run_name='{name}', {TAG_RUN_NAME}='{tag}'). Give one of them, or the same \
                 value in both."
            )));
        }
    }
    let name = run_name.or(tag_name).unwrap_or_else(random_run_name);
    tags.retain(|(key, _)| key != TAG_RUN_NAME);
    tags.push((TAG_RUN_NAME.to_owned(), name.clone()));
    Ok(name)
}

/// Appends `<run_id>/artifacts` to the path of an experiment's artifact location, keeping a
/// query string at the end, as MLflow's `append_to_uri_path` does.
fn run_artifact_uri(location: &str, run_id: &str) -> String {
    let (path, query) = match location.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (location, None),
    };
    let separator = if path.is_empty() || path.ends_with('/') { "" } else { "/" };
    let mut uri = format!("{path}{separator}{run_id}/artifacts");
    if let Some(query) = query {
        uri.push('?');
        uri.push_str(query);
    }
    uri
}

pub(crate) async fn get(State(state): State<TrackingState>, fields: Fields) -> Result<Json<Value>> {
    let run_id = fields.run_id()?;
    let run = state.db.read(move |tx| read::run_json(tx, &run_id)).await?;
    Ok(Json(json!({ "run": run })))
}

pub(crate) async fn update(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    let run_id = fields.run_id()?;
    let status = fields
        .opt_enum("status")?
        .filter(|text| !text.is_empty())
        .map(|text| parse_status(&text))
        .transpose()?;
    let end_time = fields.opt_i64("end_time")?;
    let run_name = fields.opt_str("run_name")?.filter(|name| !name.is_empty());
    let info = state
        .db
        .write(move |tx| {
            let run = active_run(tx, &run_id)?;
            tx.prepare_cached(
                "UPDATE tracking_runs
                 SET status = COALESCE(?1, status), end_time = COALESCE(?2, end_time)
                 WHERE run_key = ?3",
            )?
            .execute((status, end_time, run.key))?;
            if let Some(name) = &run_name {
                rename_run(tx, run.key, name)?;
            }
            let mut run_json = first_run(tx, run.key, &run_id)?;
            Ok(run_json["info"].take())
        })
        .await?;
    Ok(Json(json!({ "run_info": info })))
}

/// Reads a run status given by name (`FINISHED`) or by proto number (`3`).
fn parse_status(text: &str) -> Result<&'static str> {
    let by_number = text
        .parse::<usize>()
        .ok()
        .and_then(|number| number.checked_sub(1))
        .and_then(|index| RUN_STATUSES.get(index));
    by_number.or_else(|| RUN_STATUSES.iter().find(|status| **status == text)).copied().ok_or_else(
        || {
            TrackingError::invalid(format!(
                "Invalid value '{text}' for parameter 'status' supplied: a run status is one of \
                 {}.",
                RUN_STATUSES.join(", ")
            ))
        },
    )
}

pub(crate) async fn delete(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    set_lifecycle_stage(&state, fields.run_id()?, true).await
}

pub(crate) async fn restore(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Json<Value>> {
    set_lifecycle_stage(&state, fields.run_id()?, false).await
}

/// Marks a run deleted, with the current time as its deletion time, or active again.
async fn set_lifecycle_stage(
    state: &TrackingState,
    run_id: String,
    deleted: bool,
) -> Result<Json<Value>> {
    state
        .db
        .write(move |tx| {
            let key = read::run_key(tx, &run_id)?;
            let (stage, deleted_time) =
                if deleted { ("deleted", Some(now_ms())) } else { ("active", None) };
            tx.prepare_cached(
                "UPDATE tracking_runs SET lifecycle_stage = ?1, deleted_time = ?2
                 WHERE run_key = ?3",
            )?
            .execute((stage, deleted_time, key))?;
            if deleted {
                tracing::info!(run_id = %run_id, "Deleted a tracking run.");
            } else {
                tracing::info!(run_id = %run_id, "Restored a tracking run.");
            }
            Ok(())
        })
        .await?;
    Ok(Json(json!({})))
}

/// Builds the `Run` JSON of a run that this transaction has just written.
fn first_run(tx: &Transaction<'_>, run_key: i64, run_id: &str) -> Result<Value> {
    read::runs_json(tx, &[run_key])?.pop().ok_or_else(|| {
        TrackingError::internal(format!("run {run_id} could not be read back after writing it"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_uri_appends_run_folder() {
        assert_eq!(
            run_artifact_uri("mlflow-artifacts:/3", "abc"),
            "mlflow-artifacts:/3/abc/artifacts"
        );
        assert_eq!(run_artifact_uri("s3://bucket/root/", "abc"), "s3://bucket/root/abc/artifacts");
        assert_eq!(
            run_artifact_uri("s3://bucket/root?region=x", "abc"),
            "s3://bucket/root/abc/artifacts?region=x"
        );
    }

    #[test]
    fn statuses_parse_by_name_and_number() {
        assert_eq!(parse_status("FINISHED").ok(), Some("FINISHED"));
        assert_eq!(parse_status("3").ok(), Some("FINISHED"));
        assert_eq!(parse_status("1").ok(), Some("RUNNING"));
        assert!(parse_status("0").is_err());
        assert!(parse_status("6").is_err());
        assert!(parse_status("DONE").is_err());
    }

    #[test]
    fn run_name_comes_from_argument_tag_or_generator() {
        let mut tags = vec![("team".to_owned(), "ml".to_owned())];
        assert_eq!(resolve_run_name(Some("a".into()), &mut tags).ok(), Some("a".into()));
        assert_eq!(tags.last(), Some(&(TAG_RUN_NAME.to_owned(), "a".to_owned())));

        let mut tags = vec![(TAG_RUN_NAME.to_owned(), "b".to_owned())];
        assert_eq!(resolve_run_name(None, &mut tags).ok(), Some("b".into()));
        assert_eq!(tags.len(), 1);

        let mut tags = vec![(TAG_RUN_NAME.to_owned(), "b".to_owned())];
        assert!(resolve_run_name(Some("c".into()), &mut tags).is_err());

        let mut tags = Vec::new();
        let generated = resolve_run_name(None, &mut tags).unwrap_or_default();
        assert_eq!(generated.split('-').count(), 3);
        assert_eq!(tags, vec![(TAG_RUN_NAME.to_owned(), generated)]);
    }
}
