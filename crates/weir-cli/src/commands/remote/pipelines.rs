//! `weir --server URL pipelines upload|upload-version|list|get|delete`: the pipelines of a
//! server and their versions. The server loads and checks an uploaded file and rejects an
//! invalid one with every problem it finds.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::{json, Value};

use crate::client::types::{Pipeline, PipelineVersion};
use crate::client::{Client, Fetched};
use crate::display::{timestamp_text, truncate};

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Compiled pipeline (YAML or JSON, as written by kfp.compiler).
    file: PathBuf,
    /// Pipeline name [default: the file name without its extension].
    #[arg(long)]
    name: Option<String>,
    /// Pipeline description.
    #[arg(long)]
    description: Option<String>,
    /// Print the created pipeline as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct UploadVersionArgs {
    /// Compiled pipeline (YAML or JSON, as written by kfp.compiler).
    file: PathBuf,
    /// Id of the pipeline that gets the version.
    #[arg(long, value_name = "ID")]
    pipeline: String,
    /// Version name [default: the file name without its extension].
    #[arg(long)]
    name: Option<String>,
    /// Version description.
    #[arg(long)]
    description: Option<String>,
    /// Print the created version as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Maximum pipelines to print; 0 prints all.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Pipeline id.
    pipeline: String,
    /// Print `{"pipeline": ..., "pipeline_versions": [...]}` as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Pipeline id.
    pipeline: String,
    /// Delete the pipeline's versions too. Without it, deleting a pipeline that has versions
    /// fails.
    #[arg(long)]
    cascade: bool,
}

pub async fn upload(client: &Client, args: UploadArgs) -> anyhow::Result<ExitCode> {
    let (file_name, bytes) = read_file(&args.file)?;
    let pipeline = client
        .upload_pipeline(file_name, bytes, args.name.as_deref(), args.description.as_deref())
        .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&pipeline.json)?);
    } else {
        let Pipeline { name, pipeline_id, .. } = &pipeline.item;
        println!("Pipeline {name} ({pipeline_id}) uploaded.");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn upload_version(client: &Client, args: UploadVersionArgs) -> anyhow::Result<ExitCode> {
    let (file_name, bytes) = read_file(&args.file)?;
    let version = client
        .upload_pipeline_version(
            file_name,
            bytes,
            &args.pipeline,
            args.name.as_deref(),
            args.description.as_deref(),
        )
        .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&version.json)?);
    } else {
        let PipelineVersion { name, pipeline_version_id, pipeline_id, .. } = &version.item;
        println!("Version {name} ({pipeline_version_id}) of pipeline {pipeline_id} uploaded.");
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a pipeline file. Returns its file name, which the server takes as the default name,
/// and its bytes.
fn read_file(path: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read pipeline file {}", path.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok((name, bytes))
}

pub async fn list(client: &Client, args: ListArgs) -> anyhow::Result<ExitCode> {
    let limit = if args.limit == 0 { usize::MAX } else { args.limit };
    let pipelines = client.list_pipelines(limit).await?;
    if args.json {
        let rows: Vec<&Value> = pipelines.iter().map(|p| &p.json).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if pipelines.is_empty() {
        println!("No pipelines on {}.", client.server());
    } else {
        print!("{}", pipeline_table(&pipelines));
    }
    Ok(ExitCode::SUCCESS)
}

fn pipeline_table(pipelines: &[Fetched<Pipeline>]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<36}  {:<40}  {:<20}  DESCRIPTION", "PIPELINE ID", "NAME", "CREATED");
    for Fetched { item, .. } in pipelines {
        let _ = writeln!(
            out,
            "{:<36}  {:<40}  {:<20}  {}",
            item.pipeline_id,
            truncate(&item.display_name, 40),
            timestamp_text(&item.created_at),
            truncate(item.description.as_deref().unwrap_or_default(), 60),
        );
    }
    out
}

/// Prints a pipeline and its versions, newest first.
pub async fn get(client: &Client, args: GetArgs) -> anyhow::Result<ExitCode> {
    let pipeline = client.get_pipeline(&args.pipeline).await?;
    let versions = client.list_pipeline_versions(&args.pipeline, usize::MAX).await?;
    if args.json {
        let versions: Vec<&Value> = versions.iter().map(|v| &v.json).collect();
        let body = json!({"pipeline": pipeline.json, "pipeline_versions": versions});
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(ExitCode::SUCCESS);
    }

    let item = &pipeline.item;
    println!("Pipeline     {} ({})", item.display_name, item.pipeline_id);
    if item.name != item.display_name {
        println!("Name         {}", item.name);
    }
    if let Some(description) = item.description.as_deref().filter(|d| !d.is_empty()) {
        println!("Description  {description}");
    }
    println!("Created      {}", timestamp_text(&item.created_at));

    println!("\nVersions");
    if versions.is_empty() {
        println!("  none");
    }
    for Fetched { item, .. } in &versions {
        println!(
            "  {:<36}  {:<40}  {}",
            item.pipeline_version_id,
            truncate(&item.display_name, 40),
            timestamp_text(&item.created_at)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn delete(client: &Client, args: DeleteArgs) -> anyhow::Result<ExitCode> {
    client.delete_pipeline(&args.pipeline, args.cascade).await?;
    println!("Pipeline {} deleted.", args.pipeline);
    Ok(ExitCode::SUCCESS)
}
