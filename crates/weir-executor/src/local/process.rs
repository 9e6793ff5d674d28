//! One local process run: spawning it in its own process group, streaming its stdout and
//! stderr line by line into the task log, and stopping the whole group on timeout or cancel.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// Time between SIGTERM and SIGKILL when a run is canceled.
const CANCEL_GRACE: Duration = Duration::from_secs(2);
/// Time to wait for the output pipes to close after the process group is gone.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// Number of stderr lines kept for failure messages.
const STDERR_TAIL_LINES: usize = 10;
/// A line longer than this is written to the log in pieces.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// Command line, working directory, environment and log of one process run.
pub(super) struct ProcessSpec<'a> {
    pub argv: &'a [String],
    pub cwd: &'a Path,
    /// Variables set on top of the inherited environment, in order.
    pub env: &'a [(String, String)],
    /// Task log, opened for appending.
    pub log: &'a Arc<File>,
    pub deadline: Option<Instant>,
}

/// End state of a process run.
pub(super) enum ProcessEnd {
    Exited { status: ExitStatus, stderr_tail: Vec<String> },
    TimedOut,
    Canceled,
}

enum Trigger {
    Exited(io::Result<ExitStatus>),
    Deadline,
    Cancel,
}

/// Runs `spec.argv` to completion, timeout or cancellation.
///
/// Returns an error only when the process cannot be started or waited for. Every path that
/// returns, and dropping the returned future, kills what is left of the process group.
pub(super) async fn run(
    spec: ProcessSpec<'_>,
    cancel: &CancellationToken,
) -> io::Result<ProcessEnd> {
    let Some((program, arguments)) = spec.argv.split_first() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command line"));
    };
    let mut command = Command::new(program);
    command
        .args(arguments)
        .current_dir(spec.cwd)
        .envs(spec.env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    let mut child = command.spawn()?;
    let mut group = ProcessGroup { leader: child.id().and_then(|id| i32::try_from(id).ok()) };

    let stdout = child.stdout.take().map(|out| spawn_copy(out, spec.log, 0));
    let stderr = child.stderr.take().map(|err| spawn_copy(err, spec.log, STDERR_TAIL_LINES));

    let trigger = tokio::select! {
        biased;
        status = child.wait() => Trigger::Exited(status),
        () = cancel.cancelled() => Trigger::Cancel,
        () = sleep_until(spec.deadline) => Trigger::Deadline,
    };
    let end = match trigger {
        Trigger::Exited(status) => Ok(status?),
        Trigger::Deadline => {
            group.signal(libc::SIGKILL);
            child.wait().await?;
            Err(ProcessEnd::TimedOut)
        }
        Trigger::Cancel => {
            group.signal(libc::SIGTERM);
            let exited = tokio::select! {
                result = tokio::time::timeout(CANCEL_GRACE, child.wait()) => result.is_ok(),
                () = kill_now_token().cancelled() => false,
            };
            if !exited {
                group.signal(libc::SIGKILL);
                child.wait().await?;
            }
            Err(ProcessEnd::Canceled)
        }
    };
    // Like a container runtime when the main process exits, stop background processes the
    // task left behind, so that they release the output pipes.
    group.signal(libc::SIGKILL);
    group.leader = None;

    drain(stdout).await;
    let stderr_tail = drain(stderr).await;
    Ok(match end {
        Ok(status) => ProcessEnd::Exited { status, stderr_tail: stderr_tail.into() },
        Err(end) => end,
    })
}

/// Process-wide switch that ends the grace period of every canceled task at once (a second
/// Ctrl-C in the command line).
pub(super) fn kill_now_token() -> &'static CancellationToken {
    static KILL_NOW: std::sync::OnceLock<CancellationToken> = std::sync::OnceLock::new();
    KILL_NOW.get_or_init(CancellationToken::new)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The process group a child leads; signalled as a whole.
struct ProcessGroup {
    leader: Option<i32>,
}

impl ProcessGroup {
    fn signal(&self, signal: libc::c_int) {
        if let Some(leader) = self.leader {
            // SAFETY: killpg only sends a signal and touches no memory. The group id is the pid
            // of a child spawned here with process_group(0). The last signal goes out right
            // after the leader is reaped. An unrelated group could only get the same id in
            // between if the kernel's pid counter wrapped around in that moment.
            unsafe {
                libc::killpg(leader, signal);
            }
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // Runs when the run future is dropped before the child was reaped.
        self.signal(libc::SIGKILL);
    }
}

fn spawn_copy<R>(reader: R, log: &Arc<File>, tail_lines: usize) -> JoinHandle<VecDeque<String>>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(copy_lines(reader, Arc::clone(log), tail_lines))
}

/// Waits for a copy task to finish, giving up when a process outside the group keeps the pipe
/// open.
async fn drain(task: Option<JoinHandle<VecDeque<String>>>) -> VecDeque<String> {
    let Some(mut task) = task else { return VecDeque::new() };
    match tokio::time::timeout(DRAIN_TIMEOUT, &mut task).await {
        Ok(Ok(tail)) => tail,
        Ok(Err(error)) => {
            warn!(%error, "Task output copier failed.");
            VecDeque::new()
        }
        Err(_) => {
            warn!(
                "Task output pipe still open after the process group was killed; a process \
                   that left the group holds it. The rest of its output is not logged."
            );
            task.abort();
            VecDeque::new()
        }
    }
}

/// Appends each line from `reader` to `log` as it arrives and returns the last `tail_lines`
/// lines.
async fn copy_lines<R: AsyncRead + Unpin>(
    reader: R,
    log: Arc<File>,
    tail_lines: usize,
) -> VecDeque<String> {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::with_capacity(256);
    let mut tail = VecDeque::with_capacity(tail_lines);
    let mut log_failed = false;
    loop {
        let chunk = match reader.fill_buf().await {
            Ok(chunk) if !chunk.is_empty() => chunk,
            _ => break,
        };
        let newline = chunk.iter().position(|byte| *byte == b'\n');
        let taken = newline.map_or(chunk.len(), |index| index + 1);
        line.extend_from_slice(&chunk[..taken]);
        reader.consume(taken);
        if newline.is_some() || line.len() >= MAX_LINE_BYTES {
            emit_line(&mut line, &log, &mut tail, tail_lines, &mut log_failed);
        }
    }
    if !line.is_empty() {
        line.push(b'\n');
        emit_line(&mut line, &log, &mut tail, tail_lines, &mut log_failed);
    }
    tail
}

fn emit_line(
    line: &mut Vec<u8>,
    log: &File,
    tail: &mut VecDeque<String>,
    tail_lines: usize,
    log_failed: &mut bool,
) {
    // This is a blocking write of one line to a local file. The log is opened with O_APPEND,
    // so lines from stdout and stderr never overwrite each other.
    if let Err(error) = (&*log).write_all(line) {
        if !*log_failed {
            warn!(%error, "Failed to write task output to the log file; later lines are lost.");
            *log_failed = true;
        }
    }
    if tail_lines > 0 {
        if tail.len() == tail_lines {
            tail.pop_front();
        }
        let text = String::from_utf8_lossy(line);
        tail.push_back(text.trim_end_matches(['\n', '\r']).to_string());
    }
    line.clear();
}
