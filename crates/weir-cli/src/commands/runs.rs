//! `weir runs list|get|cancel`: inspect and stop runs recorded in the state store.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use weir_engine::{Engine, EngineConfig};
use weir_executor::local::{LocalExecutor, LocalExecutorOptions};
use weir_store::{RunQuery, State};

use crate::{display, setup};

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only runs in this state (PENDING, RUNNING, SUCCEEDED, FAILED, CANCELED, ...).
    #[arg(long)]
    state: Option<String>,
    /// Maximum runs to print.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn list(data_dir: &Path, args: ListArgs) -> anyhow::Result<ExitCode> {
    let state = match args.state.as_deref() {
        Some(text) => match text.to_ascii_uppercase().parse::<State>() {
            Ok(state) => Some(state),
            Err(_) => bail!(
                "invalid --state {text:?}; use PENDING, RUNNING, SUCCEEDED, SKIPPED, FAILED, \
                 CANCELING or CANCELED"
            ),
        },
        None => None,
    };
    let store = setup::open_store(data_dir)?;
    let runs =
        store.list_runs(&RunQuery { state, limit: args.limit, ..Default::default() }).await?;
    if args.json {
        let rows: Vec<serde_json::Value> = runs
            .iter()
            .map(|r| {
                serde_json::json!({
                    "run_id": r.run_id, "name": r.name, "pipeline_name": r.pipeline_name,
                    "state": r.state.as_str(), "created_at": r.created_at.to_rfc3339(),
                    "started_at": r.started_at.map(|t| t.to_rfc3339()),
                    "finished_at": r.finished_at.map(|t| t.to_rfc3339()),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        println!("No runs in {}.", data_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<36}  {:<40}  {:<9}  {:<20}  DURATION", "RUN ID", "NAME", "STATE", "CREATED");
    for run in runs {
        println!(
            "{:<36}  {:<40}  {:<9}  {:<20}  {}",
            run.run_id,
            truncate(&run.name, 40),
            run.state.as_str(),
            run.created_at.format("%Y-%m-%d %H:%M:%S"),
            display::duration(run.started_at, run.finished_at)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn get(data_dir: &Path, run: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = setup::open_store(data_dir)?;
    let run = store.find_run(run).await?;
    let tasks = store.list_tasks(&run.run_id).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&display::run_json(&run, &tasks))?);
    } else {
        print!("{}", display::run_summary(&run, &tasks));
        if let Some(parameters) = run.parameters.get("parameters").and_then(|p| p.as_object()) {
            if !parameters.is_empty() {
                println!("\nParameters");
                for (name, value) in parameters {
                    println!("  {name} = {}", weir_spec::values::render_text(value));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn cancel(data_dir: &Path, run: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = setup::open_store(data_dir)?;
    let found = store.find_run(run).await?;
    // Canceling only changes the stored state; the process running the run stops its tasks.
    let engine = Engine::new(
        store,
        std::sync::Arc::new(LocalExecutor::new(LocalExecutorOptions::default())),
        setup::artifact_store(data_dir),
        EngineConfig::default(),
    );
    let run = engine.request_cancel(&found.run_id).await?;
    if json {
        println!("{}", serde_json::json!({"run_id": run.run_id, "state": run.state.as_str()}));
    } else {
        match run.state {
            State::Canceling => println!("Run {} is being canceled.", run.run_id),
            State::Canceled => println!("Run {} is canceled.", run.run_id),
            other => println!("Run {} already ended: {other}.", run.run_id),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let kept: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}
