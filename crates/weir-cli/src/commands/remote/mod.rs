//! The commands of `weir --server URL`: runs, logs, pipelines and experiments of a Weir server,
//! through its KFP v2beta1 REST API.
//!
//! They print what the local commands print where both exist, from the same renderings in
//! [`crate::display`]. `--json` prints the server's JSON as it came.

pub mod experiments;
pub mod logs;
pub mod pipelines;
pub mod run;
pub mod runs;
mod wait;

use std::process::ExitCode;

use crate::cli::{Command, ExperimentsCommand, PipelinesCommand, RunsCommand};
use crate::client::Client;

/// Runs a command against the server. `validate` and `server` never get here.
pub async fn dispatch(client: &Client, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => run::run(client, args).await,
        Command::Runs(command) => match command {
            RunsCommand::List(args) => runs::list(client, args).await,
            RunsCommand::Get(r) => runs::get(client, &r.run, r.json).await,
            RunsCommand::Cancel(r) => runs::cancel(client, &r.run, r.json).await,
            RunsCommand::Retry(r) => runs::retry(client, &r.run, r.json).await,
            RunsCommand::Archive(r) => runs::archive(client, &r.run, true, r.json).await,
            RunsCommand::Unarchive(r) => runs::archive(client, &r.run, false, r.json).await,
            RunsCommand::Delete(r) => runs::delete(client, &r.run, r.json).await,
        },
        Command::Logs(args) => logs::logs(client, args).await,
        Command::Pipelines(command) => match command {
            PipelinesCommand::Upload(args) => pipelines::upload(client, args).await,
            PipelinesCommand::UploadVersion(args) => pipelines::upload_version(client, args).await,
            PipelinesCommand::List(args) => pipelines::list(client, args).await,
            PipelinesCommand::Get(args) => pipelines::get(client, args).await,
            PipelinesCommand::Delete(args) => pipelines::delete(client, args).await,
        },
        Command::Experiments(command) => match command {
            ExperimentsCommand::Create(args) => experiments::create(client, args).await,
            ExperimentsCommand::List(args) => experiments::list(client, args).await,
            ExperimentsCommand::Archive(e) => {
                experiments::set_archived(client, &e.experiment, true).await
            }
            ExperimentsCommand::Unarchive(e) => {
                experiments::set_archived(client, &e.experiment, false).await
            }
            ExperimentsCommand::Delete(e) => experiments::delete(client, &e.experiment).await,
        },
        Command::Validate { .. } | Command::Server(_) => {
            anyhow::bail!("this command does not use --server. Run it without")
        }
    }
}
