//! `weir --server URL run FILE`: creates a run of a compiled pipeline on the server, and with
//! `--wait` follows it to the end and prints the outcome as a local run does.
//!
//! The pipeline is loaded and checked here, and its arguments are typed by the pipeline's
//! declared inputs, so bad input fails before any request. The spec goes inline in the run
//! (`pipeline_spec`), as `kfp.Client().create_run_from_pipeline_package` sends it.

use std::process::ExitCode;

use anyhow::{bail, Context};
use serde_json::{json, Value};
use weir_spec::{CachingOptions, Pipeline, PipelineSpec};
use weir_store::State;

use super::runs::run_records;
use super::wait::{wait_for_run, Waited};
use crate::client::{records, Client, ClientError};
use crate::commands::run::{parse_params, RunArgs};
use crate::display;

pub async fn run(client: &Client, args: RunArgs) -> anyhow::Result<ExitCode> {
    reject_local_options(&args)?;
    let mut pipeline = weir_spec::load_file(&args.file)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot load pipeline {}", args.file.display()))?;
    let arguments = parse_params(&pipeline, &args.params)?;
    if args.no_cache {
        disable_caching(&mut pipeline.spec);
    }
    let announce = !args.quiet && !args.json;

    let mut body = json!({
        "display_name": args.name.clone().unwrap_or_default(),
        "pipeline_spec": api_spec(&pipeline),
        "runtime_config": {"parameters": arguments},
    });
    if let Some(name) = &args.experiment {
        body["experiment_id"] = json!(experiment_id(client, name, announce).await?);
    }
    let created = client.create_run(&body).await?;
    let run_id = created.item.run_id.clone();
    if !args.wait {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&created.json)?);
        } else {
            println!(
                "Run {} ({run_id}) created on {}.",
                created.item.display_name,
                client.server()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }

    if announce {
        eprintln!("Run {} ({run_id}) started on {}", created.item.display_name, client.server());
    }
    let finished = match wait_for_run(client, &run_id, announce).await? {
        Waited::Ended(run) => run,
        Waited::Interrupted => {
            eprintln!(
                "Stopped waiting; run {run_id} is being canceled on the server. See it with \
                 `weir --server {} runs get {run_id}`.",
                client.server()
            );
            return Ok(ExitCode::from(130));
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&finished.json)?);
    } else {
        let (record, tasks) = run_records(&finished.item, Some(&pipeline.spec));
        print!("{}", display::run_summary(&record, &tasks));
        match client.run_tracking_links(&run_id).await {
            Ok(links) => {
                let mut stdout = std::io::stdout().lock();
                let _ = crate::tracking::write_links(
                    &mut stdout,
                    &links.item.mlflow_runs,
                    &links.item.model_versions,
                );
            }
            // A server without tracking links still printed the run's outcome.
            Err(error) => tracing::debug!(run.id = %run_id, %error,
                "Could not read the run's tracking links."),
        }
    }
    Ok(match records::state(&finished.item.state) {
        State::Succeeded => ExitCode::SUCCESS,
        State::Canceled => ExitCode::from(130),
        _ => ExitCode::from(1),
    })
}

/// Rejects the options that set up a local engine, because a server has its own settings.
fn reject_local_options(args: &RunArgs) -> anyhow::Result<()> {
    if args.parallelism.is_some() {
        bail!(
            "--parallelism applies to local runs only. Start the server with \
             `weir server --parallelism N` instead"
        );
    }
    if args.task_timeout.is_some() {
        bail!(
            "--task-timeout applies to local runs only. For server runs, set the task's timeout \
             in the pipeline (activeDeadlineSeconds of its Kubernetes platform spec)"
        );
    }
    // NOTE: --python is not rejected, because it may come from WEIR_PYTHON set for local runs.
    // The server runs Python components with its own interpreter.
    Ok(())
}

/// Returns the `pipeline_spec` of a run request: the spec, or with a platform spec the pair
/// `{"pipeline_spec": ..., "platform_spec": ...}`, as the kfp client sends them.
fn api_spec(pipeline: &Pipeline) -> Value {
    let spec = json!(pipeline.spec);
    match &pipeline.platform_spec {
        Some(platform) if !platform.is_null() => {
            json!({"pipeline_spec": spec, "platform_spec": platform})
        }
        _ => spec,
    }
}

/// Turns caching off for every task, as the kfp client does for `enable_caching=False`: a run
/// request has no caching switch of its own.
fn disable_caching(spec: &mut PipelineSpec) {
    let dags = std::iter::once(&mut spec.root)
        .chain(spec.components.values_mut())
        .filter_map(|component| component.dag.as_mut());
    for dag in dags {
        for task in dag.tasks.values_mut() {
            let options = task.caching_options.get_or_insert_with(CachingOptions::default);
            options.enable_cache = false;
        }
    }
}

/// Returns the id of the experiment named `name`, creating it when missing.
async fn experiment_id(client: &Client, name: &str, announce: bool) -> anyhow::Result<String> {
    if let Some(experiment) = client.find_experiment_by_name(name).await? {
        return Ok(experiment.item.experiment_id);
    }
    match client.create_experiment(name, None).await {
        Ok(created) => {
            if announce {
                eprintln!("Created experiment {name} ({}).", created.item.experiment_id);
            }
            Ok(created.item.experiment_id)
        }
        // Another client created it since the lookup.
        Err(ClientError::Api { status: 409, .. }) => {
            match client.find_experiment_by_name(name).await? {
                Some(experiment) => Ok(experiment.item.experiment_id),
                None => bail!(
                    "experiment {name:?} was created by another client at the same time, but no \
                 experiment has that name now. Try again"
                ),
            }
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caching_off_for_every_task() {
        let yaml = r#"
pipelineInfo: {name: cached}
schemaVersion: 2.1.0
root:
  dag:
    tasks:
      a: {componentRef: {name: comp-inner}, taskInfo: {name: a}, cachingOptions: {enableCache: true}}
      b: {componentRef: {name: comp-leaf}, taskInfo: {name: b}}
components:
  comp-inner:
    dag:
      tasks:
        c: {componentRef: {name: comp-leaf}, taskInfo: {name: c}, cachingOptions: {enableCache: true}}
  comp-leaf:
    executorLabel: exec
deploymentSpec:
  executors:
    exec: {container: {image: alpine, command: [sh]}}
"#;
        let mut pipeline = match weir_spec::load_str(yaml, "test") {
            Ok(pipeline) => pipeline,
            Err(e) => panic!("{e}"),
        };
        disable_caching(&mut pipeline.spec);
        let spec = json!(pipeline.spec);
        for pointer in [
            "/root/dag/tasks/a/cachingOptions/enableCache",
            "/root/dag/tasks/b/cachingOptions/enableCache",
            "/components/comp-inner/dag/tasks/c/cachingOptions/enableCache",
        ] {
            assert_eq!(spec.pointer(pointer), Some(&json!(false)), "{pointer}");
        }
    }
}
