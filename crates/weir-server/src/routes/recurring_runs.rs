//! `/apis/v2beta1/recurringruns`: create, get, list, enable, disable and delete recurring runs.
//! The scheduler in [`crate::scheduler`] starts their runs.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use weir_store::{RecurringMode, RecurringRunRecord};

use crate::convert::recurring::{ApiRecurringRun, RecurringRunBody};
use crate::convert::spec;
use crate::error::{ApiError, ApiResult};
use crate::extract::{split_verb, ApiJson, ApiPath, ApiQuery};
use crate::filter::ListParams;
use crate::launch::{self, PipelineSource};
use crate::scheduler::trigger::Trigger;
use crate::state::AppState;

pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RecurringRunBody>,
) -> ApiResult<Json<ApiRecurringRun>> {
    let display_name = body.display_name.trim();
    if display_name.is_empty() {
        return Err(ApiError::invalid("recurring run display_name is required"));
    }
    let trigger = match &body.trigger {
        Some(value) => Trigger::from_json(value).map_err(ApiError::InvalidArgument)?,
        None => return Err(ApiError::invalid(
            "trigger is required: set cron_schedule {cron} or periodic_schedule {interval_second}",
        )),
    };
    let max_concurrency = match body.max_concurrency {
        None | Some(0) => 1,
        Some(n) if n > 0 => n,
        Some(n) => {
            return Err(ApiError::invalid(format!("max_concurrency must be 1 or more, got {n}")))
        }
    };
    let mode = match body.mode.as_str() {
        "" | "MODE_UNSPECIFIED" | "ENABLE" => RecurringMode::Enable,
        "DISABLE" => RecurringMode::Disable,
        other => {
            return Err(ApiError::invalid(format!("invalid mode {other:?}: use ENABLE or DISABLE")))
        }
    };

    let source = pipeline_source(&body)?;
    let resolved = launch::resolve_pipeline(state.store.as_ref(), source).await?;
    let pipeline_id = resolved.version.as_ref().map(|v| v.pipeline_id.clone());
    let (pipeline_version_id, pipeline_spec) = match &resolved.version {
        Some(version) => (Some(version.pipeline_version_id.clone()), None),
        None => (None, Some(spec::to_stored(&resolved.pipeline))),
    };
    let experiment_id =
        launch::experiment_for_run(state.store.as_ref(), &body.experiment_id).await?;

    // NOTE: the arguments are checked against the pipeline's inputs only when the first run is
    // created, and a bad argument shows up as a scheduler error in the server log.
    let config = body.runtime_config.as_ref();
    let parameters = config.and_then(|c| c.parameters.clone()).unwrap_or_default();
    let pipeline_root = config.and_then(|c| c.pipeline_root.clone()).unwrap_or_default();
    let now = weir_store::timestamp_now();
    let record = RecurringRunRecord {
        recurring_run_id: uuid::Uuid::new_v4().to_string(),
        namespace: body.namespace.clone(),
        display_name: display_name.to_string(),
        description: body.description.clone(),
        experiment_id: Some(experiment_id),
        pipeline_version_id,
        pipeline_spec,
        trigger: trigger.to_json(),
        runtime_config: json!({"parameters": parameters, "pipeline_root": pipeline_root}),
        mode,
        max_concurrency,
        no_catchup: body.no_catchup.unwrap_or(false),
        created_at: now,
        updated_at: now,
        last_scheduled_at: None,
    };
    let created = state.store.create_recurring_run(&record).await?;
    state.scheduler_wake.notify_one();
    tracing::info!(recurring_run.id = %created.recurring_run_id, name = %created.display_name,
        trigger = %created.trigger, mode = created.mode.as_str(), "Recurring run created.");
    Ok(Json(ApiRecurringRun::new(&created, pipeline_id.as_deref())))
}

fn pipeline_source(body: &RecurringRunBody) -> ApiResult<PipelineSource<'_>> {
    let spec = body.pipeline_spec.as_ref().filter(|spec| !spec.is_null());
    let reference = body.pipeline_version_reference.as_ref();
    let version_id = reference
        .map(|r| r.pipeline_version_id.as_str())
        .filter(|id| !id.is_empty())
        .unwrap_or(body.pipeline_version_id.as_str());
    let pipeline_id = reference.map(|r| r.pipeline_id.as_str()).unwrap_or_default();
    match spec {
        Some(spec) => Ok(PipelineSource::Inline(spec)),
        None if version_id.is_empty() && pipeline_id.is_empty() => Err(ApiError::invalid(
            "the recurring run needs a pipeline: set pipeline_spec, or \
             pipeline_version_reference with pipeline_id and pipeline_version_id",
        )),
        None => Ok(PipelineSource::Version { pipeline_id, version_id }),
    }
}

pub async fn get(
    State(state): State<AppState>,
    ApiPath(recurring_run_id): ApiPath<String>,
) -> ApiResult<Json<ApiRecurringRun>> {
    let record = state.store.get_recurring_run(&recurring_run_id).await?;
    let pipeline_id = pipeline_of(&state, &record).await;
    Ok(Json(ApiRecurringRun::new(&record, pipeline_id.as_deref())))
}

async fn pipeline_of(state: &AppState, record: &RecurringRunRecord) -> Option<String> {
    let version_id = record.pipeline_version_id.as_ref()?;
    state.store.get_pipeline_version(version_id).await.ok().map(|v| v.pipeline_id)
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let query = params.to_query()?;
    let experiment_id = params.experiment_id.as_deref().filter(|id| !id.is_empty());
    let page = state.store.list_recurring_runs(experiment_id, &query).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for record in &page.items {
        let pipeline_id = pipeline_of(&state, record).await;
        items.push(ApiRecurringRun::new(record, pipeline_id.as_deref()));
    }
    // The KFP API names this list `recurringRuns`, unlike every other field.
    Ok(Json(super::page_json("recurringRuns", items, page.total_size, page.next_page_token)))
}

pub async fn delete(
    State(state): State<AppState>,
    ApiPath(recurring_run_id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    state.store.delete_recurring_run(&recurring_run_id).await?;
    state.scheduler_wake.notify_one();
    tracing::info!(recurring_run.id = %recurring_run_id, "Recurring run deleted.");
    Ok(Json(json!({})))
}

/// `POST /recurringruns/{id}:enable` and `:disable`.
pub async fn action(
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let (recurring_run_id, verb) = split_verb(&segment)?;
    let mode = match verb {
        "enable" => RecurringMode::Enable,
        "disable" => RecurringMode::Disable,
        other => return Err(super::unknown_action("recurring run", other, &["enable", "disable"])),
    };
    state.store.set_recurring_run_mode(recurring_run_id, mode).await?;
    state.scheduler_wake.notify_one();
    tracing::info!(recurring_run.id = %recurring_run_id, mode = mode.as_str(),
        "Recurring run mode changed.");
    Ok(Json(json!({})))
}
