//! `weir logs RUN [TASK]`: prints a task's stdout and stderr, or without a task the run log,
//! and follows it while it runs.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use weir_store::{TaskKind, TaskRecord};

use crate::setup;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Run id, unique id prefix, or run name.
    pub run: String,
    /// Task path (`for-loop-2/iteration-0/square`), task name, or task id. Without it, the
    /// run log (task starts and ends, retries, notes) is printed.
    pub task: Option<String>,
    /// Keep printing new output until the task finishes.
    #[arg(long, short)]
    pub follow: bool,
}

pub async fn logs(data_dir: &Path, args: LogsArgs) -> anyhow::Result<ExitCode> {
    let store = setup::open_store(data_dir)?;
    let run = store.find_run(&args.run).await?;
    let Some(wanted) = args.task.as_deref() else {
        let path = weir_engine::run_log_path(&setup::artifact_store(data_dir), &run.run_id);
        let path = path.display().to_string();
        let mut offset = copy_from(&path, 0, &mut std::io::stdout())?;
        while args.follow && !store.get_run(&run.run_id).await?.state.is_final() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            offset = copy_from(&path, offset, &mut std::io::stdout())?;
        }
        copy_from(&path, offset, &mut std::io::stdout())?;
        return Ok(ExitCode::SUCCESS);
    };
    let tasks = store.list_tasks(&run.run_id).await?;
    let task = pick_task(&tasks, wanted)?;
    if task.cached {
        let key = task.cache_key.as_deref().unwrap_or("-");
        bail!(
            "task {:?} ran no process: its outputs were reused from the cache (key {key}); \
             see the log of the run that produced them",
            task.path
        );
    }
    let Some(log_path) = task.log_path.clone() else {
        bail!(
            "task {:?} has no log: it is a {} task or has not started (state {})",
            task.path,
            task.kind.as_str(),
            task.state
        );
    };

    let mut offset = 0u64;
    let mut stdout = std::io::stdout();
    loop {
        offset = copy_from(&log_path, offset, &mut stdout)?;
        if !args.follow {
            break;
        }
        let current = store.get_task(&task.task_id).await?;
        if current.state.is_final() {
            copy_from(&log_path, offset, &mut stdout)?;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Finds a task by id, path, or name; a name shared by several tasks lists their paths.
fn pick_task<'a>(tasks: &'a [TaskRecord], wanted: &str) -> anyhow::Result<&'a TaskRecord> {
    if let Some(task) = tasks.iter().find(|t| t.task_id == wanted || t.path == wanted) {
        return Ok(task);
    }
    let matches: Vec<&TaskRecord> = tasks
        .iter()
        .filter(|t| t.name == wanted || t.display_name == wanted)
        .filter(|t| matches!(t.kind, TaskKind::Container | TaskKind::Importer))
        .collect();
    match matches.as_slice() {
        [task] => Ok(task),
        [] => {
            let known: Vec<&str> = tasks
                .iter()
                .filter(|t| t.kind == TaskKind::Container)
                .map(|t| t.path.as_str())
                .take(20)
                .collect();
            bail!("no task {wanted:?} in this run; container tasks: {}", known.join(", "))
        }
        many => {
            let paths: Vec<&str> = many.iter().map(|t| t.path.as_str()).take(20).collect();
            bail!("{} tasks are named {wanted:?}; pass one path: {}", many.len(), paths.join(", "))
        }
    }
}

fn copy_from(path: &str, offset: u64, out: &mut impl Write) -> anyhow::Result<u64> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(offset),
        Err(e) => return Err(e).with_context(|| format!("cannot read log {path}")),
    };
    file.seek(SeekFrom::Start(offset))?;
    let mut buffer = Vec::new();
    file.read_to_end(&mut buffer)?;
    out.write_all(&buffer)?;
    out.flush()?;
    Ok(offset + buffer.len() as u64)
}
