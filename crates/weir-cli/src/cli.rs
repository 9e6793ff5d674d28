//! The command line grammar: global options, subcommands and their arguments (clap derive).
//!
//! Every subcommand works on the local data folder, except that with `--server URL` the
//! `run`, `runs`, `logs`, `pipelines` and `experiments` commands call that Weir server's KFP
//! REST API instead. `pipelines`, `experiments` and `runs retry|archive|unarchive|delete` exist
//! only against a server.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands;

#[derive(Debug, Parser)]
#[command(name = "weir", version, about = "Runs compiled Kubeflow Pipelines (KFP v2) locally.")]
pub struct Cli {
    /// Folder for the state database, artifacts and logs.
    /// [default: $XDG_DATA_HOME/weir or ~/.local/share/weir]
    #[arg(long, global = true, env = "WEIR_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// URL of a Weir server (`weir server`), such as http://127.0.0.1:8888. With it, `run`,
    /// `runs`, `logs`, `pipelines` and `experiments` work on that server instead of the data
    /// folder.
    #[arg(long, global = true, env = "WEIR_SERVER", value_name = "URL")]
    pub server: Option<String>,

    /// Log filter for diagnostics on stderr (`warn`, `info`, `debug`, or a tracing filter).
    #[arg(long, global = true, env = "WEIR_LOG", default_value = "warn", value_name = "FILTER")]
    pub log: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a compiled pipeline in the foreground and print its outcome. With --server, create
    /// the run on the server.
    Run(commands::run::RunArgs),
    /// Check a compiled pipeline and print its inputs, outputs and task graph.
    Validate {
        /// Compiled pipeline (YAML or JSON).
        file: PathBuf,
    },
    /// List, inspect and stop runs.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Print a task's stdout and stderr.
    Logs(commands::logs::LogsArgs),
    /// Upload, list and delete the pipelines of a server (needs --server).
    #[command(subcommand)]
    Pipelines(PipelinesCommand),
    /// Create, list, archive and delete the experiments of a server (needs --server).
    #[command(subcommand)]
    Experiments(ExperimentsCommand),
    /// Serve the Kubeflow Pipelines v2beta1 REST API and run the pipelines submitted to it.
    Server(commands::server::ServerArgs),
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List runs, newest first.
    List(commands::runs::ListArgs),
    /// Show a run: state, parameters, outputs and every task.
    Get(RunRef),
    /// Ask a running run to stop.
    Cancel(RunRef),
    /// Run a failed or canceled run again, skipping the tasks that succeeded (needs --server).
    Retry(RunRef),
    /// Archive a run, hiding it from the KFP UI's default run list (needs --server).
    Archive(RunRef),
    /// Unarchive an archived run (needs --server).
    Unarchive(RunRef),
    /// Delete a run and its tasks, stopping it first if it runs (needs --server).
    Delete(RunRef),
}

#[derive(Debug, Args)]
pub struct RunRef {
    /// Run id, or run name. Locally also a unique run id prefix.
    pub run: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum PipelinesCommand {
    /// Upload a compiled pipeline as a new pipeline with its first version.
    Upload(commands::remote::pipelines::UploadArgs),
    /// Upload a compiled pipeline as a new version of an existing pipeline.
    UploadVersion(commands::remote::pipelines::UploadVersionArgs),
    /// List pipelines, newest first.
    List(commands::remote::pipelines::ListArgs),
    /// Show a pipeline and its versions.
    Get(commands::remote::pipelines::GetArgs),
    /// Delete a pipeline.
    Delete(commands::remote::pipelines::DeleteArgs),
}

#[derive(Debug, Subcommand)]
pub enum ExperimentsCommand {
    /// Create an experiment.
    Create(commands::remote::experiments::CreateArgs),
    /// List experiments, newest first.
    List(commands::remote::experiments::ListArgs),
    /// Archive an experiment: its runs are archived and its recurring runs disabled.
    Archive(ExperimentRef),
    /// Unarchive an archived experiment.
    Unarchive(ExperimentRef),
    /// Delete an experiment.
    Delete(ExperimentRef),
}

#[derive(Debug, Args)]
pub struct ExperimentRef {
    /// Experiment id.
    pub experiment: String,
}
