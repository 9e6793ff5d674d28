//! `weir --server URL runs list|get|cancel|retry|archive|unarchive|delete`.
//!
//! A run is named by its id or by its name (`display_name`) when one run has it. The text
//! output is the one of the local commands, from the records of [`crate::client::records`].

use std::process::ExitCode;

use serde_json::{json, Value};
use weir_spec::PipelineSpec;
use weir_store::{RunRecord, State, TaskRecord};

use crate::client::api::RunFilter;
use crate::client::types::Run;
use crate::client::{records, Client, ClientError};
use crate::commands::runs::{parse_state, ListArgs};
use crate::display;

pub async fn list(client: &Client, args: ListArgs) -> anyhow::Result<ExitCode> {
    let state = args.state.as_deref().map(parse_state).transpose()?;
    let filter = RunFilter {
        state: state.map(State::as_str),
        experiment_id: args.experiment.as_deref(),
        display_name: None,
    };
    // As for local runs, a limit of 0 lists every run.
    let limit = if args.limit == 0 { usize::MAX } else { args.limit };
    let runs = client.list_runs(filter, limit).await?;
    if args.json {
        let rows: Vec<&Value> = runs.iter().map(|run| &run.json).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        println!("No runs on {}.", client.server());
        return Ok(ExitCode::SUCCESS);
    }
    let records: Vec<RunRecord> =
        runs.iter().map(|run| records::run_record(&run.item, &[], None)).collect();
    print!("{}", display::run_table(&records));
    Ok(ExitCode::SUCCESS)
}

pub async fn get(client: &Client, reference: &str, json: bool) -> anyhow::Result<ExitCode> {
    let run = client.find_run(reference).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&run.json)?);
        return Ok(ExitCode::SUCCESS);
    }
    let spec = run_spec(client, &run.item).await;
    let (record, tasks) = run_records(&run.item, spec.as_ref());
    print!("{}", display::run_summary(&record, &tasks));
    print!("{}", display::parameters_section(&record));
    Ok(ExitCode::SUCCESS)
}

/// Asks the server to stop a run. A run that already ended is reported, as a local cancel does.
pub async fn cancel(client: &Client, reference: &str, json: bool) -> anyhow::Result<ExitCode> {
    let run = client.find_run(reference).await?.item;
    let run_id = run.run_id.as_str();
    if !records::state(&run.state).is_final() {
        client.run_action(run_id, "terminate").await?;
    }
    let state = records::state(&client.get_run(run_id).await?.item.state);
    if json {
        println!("{}", json!({"run_id": run_id, "state": state.as_str()}));
    } else {
        match state {
            State::Canceling => println!("Run {run_id} is being canceled."),
            State::Canceled => println!("Run {run_id} is canceled."),
            other => println!("Run {run_id} already ended: {other}."),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a failed or canceled run again on the server.
pub async fn retry(client: &Client, reference: &str, json: bool) -> anyhow::Result<ExitCode> {
    let run = client.find_run(reference).await?.item;
    client.run_action(&run.run_id, "retry").await?;
    if json {
        let state = client.get_run(&run.run_id).await?.item.state;
        println!("{}", json!({"run_id": run.run_id, "state": state}));
    } else {
        println!("Run {} is being retried; tasks that succeeded are not run again.", run.run_id);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn archive(
    client: &Client,
    reference: &str,
    archived: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let run = client.find_run(reference).await?.item;
    let (verb, storage_state) =
        if archived { ("archive", "ARCHIVED") } else { ("unarchive", "AVAILABLE") };
    client.run_action(&run.run_id, verb).await?;
    if json {
        println!("{}", json!({"run_id": run.run_id, "storage_state": storage_state}));
    } else {
        println!("Run {} {verb}d.", run.run_id);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn delete(client: &Client, reference: &str, json: bool) -> anyhow::Result<ExitCode> {
    let run = client.find_run(reference).await?.item;
    client.delete_run(&run.run_id).await?;
    if json {
        println!("{}", json!({"run_id": run.run_id, "deleted": true}));
    } else {
        println!("Run {} deleted.", run.run_id);
    }
    Ok(ExitCode::SUCCESS)
}

/// Returns the run and task records of a server run, for the local renderings.
pub fn run_records(run: &Run, spec: Option<&PipelineSpec>) -> (RunRecord, Vec<TaskRecord>) {
    let tasks = records::task_records(run);
    let record = records::run_record(run, &tasks, spec);
    (record, tasks)
}

/// Returns the pipeline spec of a run: the inline spec, or else the spec of its pipeline
/// version. `None` when neither can be read; the run is then shown without pipeline name and
/// outputs.
async fn run_spec(client: &Client, run: &Run) -> Option<PipelineSpec> {
    let (spec, origin) = match (&run.pipeline_spec, &run.pipeline_version_reference) {
        (Some(spec), _) => (spec.clone(), "the run's pipeline_spec".to_string()),
        (None, Some(reference)) => {
            let version = client
                .get_pipeline_version(&reference.pipeline_id, &reference.pipeline_version_id)
                .await;
            match version {
                Ok(version) => (
                    version.item.pipeline_spec?,
                    format!("pipeline version {}", reference.pipeline_version_id),
                ),
                Err(error) => {
                    warn_no_spec(&run.run_id, &error);
                    return None;
                }
            }
        }
        (None, None) => return None,
    };
    // The loader unwraps `{"pipeline_spec": ...}` whether it contains the spec itself or the pair
    // of pipeline spec and platform spec.
    let text = json!({ "pipeline_spec": spec }).to_string();
    match weir_spec::load_str(&text, &origin) {
        Ok(pipeline) => Some(pipeline.spec),
        Err(error) => {
            tracing::warn!(run.id = %run.run_id, %error,
                "The run's pipeline spec is invalid; its pipeline name and outputs are not shown.");
            None
        }
    }
}

fn warn_no_spec(run_id: &str, error: &ClientError) {
    tracing::warn!(run.id = %run_id, %error,
        "Cannot read the run's pipeline version; its pipeline name and outputs are not shown.");
}
