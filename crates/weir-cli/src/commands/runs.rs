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
    pub state: Option<String>,
    /// Only runs of this experiment (its id).
    #[arg(long, value_name = "ID")]
    pub experiment: Option<String>,
    /// Maximum runs to print.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub async fn list(data_dir: &Path, args: ListArgs) -> anyhow::Result<ExitCode> {
    let state = args.state.as_deref().map(parse_state).transpose()?;
    let store = setup::open_store(data_dir)?;
    let query = RunQuery { state, experiment_id: args.experiment.clone(), limit: args.limit };
    let runs = store.list_runs(&query).await?;
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
    print!("{}", display::run_table(&runs));
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
        print!("{}", display::parameters_section(&run));
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
    let mut run = engine.request_cancel(&found.run_id).await?;

    // The process running the run notices the request within a second. If it never does, it
    // has died, and the run is marked canceled here so it does not stay CANCELING.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while run.state == State::Canceling && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        run = engine.store().get_run(&run.run_id).await?;
    }

    if run.state == State::Canceling {
        let reason = "run was canceled; the process running it did not respond, so tasks it \
                      started may still be running";
        engine.store().set_run_state(&run.run_id, State::Canceled, Some(reason)).await?;
        run = engine.store().get_run(&run.run_id).await?;
    }
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

/// Parses a `--state` value, in any letter case.
pub fn parse_state(text: &str) -> anyhow::Result<State> {
    match text.to_ascii_uppercase().parse::<State>() {
        Ok(state) => Ok(state),
        Err(_) => bail!(
            "invalid --state {text:?}; use PENDING, RUNNING, SUCCEEDED, SKIPPED, FAILED, \
             CANCELING or CANCELED"
        ),
    }
}
