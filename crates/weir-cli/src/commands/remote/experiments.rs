//! `weir --server URL experiments create|list|archive|unarchive|delete`.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;
use serde_json::Value;

use crate::client::types::Experiment;
use crate::client::{Client, Fetched};
use crate::display::{timestamp_text, truncate};

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Experiment name, unique on the server.
    name: String,
    /// Experiment description.
    #[arg(long)]
    description: Option<String>,
    /// Print the created experiment as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Maximum experiments to print; 0 prints all.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn create(client: &Client, args: CreateArgs) -> anyhow::Result<ExitCode> {
    let experiment = client.create_experiment(&args.name, args.description.as_deref()).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&experiment.json)?);
    } else {
        let Experiment { display_name, experiment_id, .. } = &experiment.item;
        println!("Experiment {display_name} ({experiment_id}) created.");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn list(client: &Client, args: ListArgs) -> anyhow::Result<ExitCode> {
    let limit = if args.limit == 0 { usize::MAX } else { args.limit };
    let experiments = client.list_experiments(limit).await?;
    if args.json {
        let rows: Vec<&Value> = experiments.iter().map(|e| &e.json).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if experiments.is_empty() {
        println!("No experiments on {}.", client.server());
    } else {
        print!("{}", experiment_table(&experiments));
    }
    Ok(ExitCode::SUCCESS)
}

fn experiment_table(experiments: &[Fetched<Experiment>]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<36}  {:<40}  {:<9}  {:<20}  DESCRIPTION",
        "EXPERIMENT ID", "NAME", "STATE", "CREATED"
    );
    for Fetched { item, .. } in experiments {
        let _ = writeln!(
            out,
            "{:<36}  {:<40}  {:<9}  {:<20}  {}",
            item.experiment_id,
            truncate(&item.display_name, 40),
            item.storage_state,
            timestamp_text(&item.created_at),
            truncate(item.description.as_deref().unwrap_or_default(), 60),
        );
    }
    out
}

pub async fn set_archived(
    client: &Client,
    experiment_id: &str,
    archived: bool,
) -> anyhow::Result<ExitCode> {
    let verb = if archived { "archive" } else { "unarchive" };
    client.experiment_action(experiment_id, verb).await?;
    println!("Experiment {experiment_id} {verb}d.");
    Ok(ExitCode::SUCCESS)
}

pub async fn delete(client: &Client, experiment_id: &str) -> anyhow::Result<ExitCode> {
    client.delete_experiment(experiment_id).await?;
    println!("Experiment {experiment_id} deleted.");
    Ok(ExitCode::SUCCESS)
}
