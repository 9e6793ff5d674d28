//! `weir --server URL logs RUN [TASK]`: prints a task's stdout and stderr, or without a task
//! the run log, from the server's log endpoints, and follows it while it grows.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use crate::client::types::Run;
use crate::client::{records, Client};
use crate::commands::logs::LogsArgs;

/// Time between two reads of a followed log.
const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);

pub async fn logs(client: &Client, args: LogsArgs) -> anyhow::Result<ExitCode> {
    let run = client.find_run(&args.run).await?.item;
    let mut stdout = std::io::stdout();
    let mut printed = 0usize;
    loop {
        // The state is read before the log, so the read after the end has the whole log.
        let ended = args.follow && log_complete(&client.get_run(&run.run_id).await?.item, &args);
        let log = match &args.task {
            Some(task) => client.task_log(&run.run_id, task).await?,
            None => client.run_log(&run.run_id).await?,
        };
        // Each read returns the whole log, so only what was added since the last one is printed.
        if let Some(new) = log.get(printed..) {
            stdout.write_all(new)?;
            stdout.flush()?;
        }
        printed = printed.max(log.len());
        if !args.follow || ended {
            break;
        }
        tokio::time::sleep(FOLLOW_INTERVAL).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Returns whether the log can grow no more: the task, found by id, path or name, has ended,
/// or else the whole run has.
fn log_complete(run: &Run, args: &LogsArgs) -> bool {
    let found = args.task.as_deref().and_then(|wanted| {
        run.tasks()
            .iter()
            .find(|t| t.task_id == wanted || t.path == wanted || t.display_name == wanted)
    });
    match found {
        Some(task) => records::state(&task.state).is_final(),
        None => records::state(&run.state).is_final(),
    }
}
