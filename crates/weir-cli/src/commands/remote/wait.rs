//! Waiting for a server run to end: polls the run, feeds task state changes to the progress
//! display of local runs, and turns Ctrl-C into a terminate request.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use weir_engine::TaskEvent;
use weir_store::State;

use crate::client::types::Run;
use crate::client::{records, Client, ClientError, Fetched};
use crate::progress;

/// Time between two reads of the run.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Outcome of a wait.
pub enum Waited {
    /// The run reached a final state.
    Ended(Box<Fetched<Run>>),
    /// A second Ctrl-C stopped the wait before the run ended.
    Interrupted,
}

/// Polls the run until it ends. The first Ctrl-C sends the server a terminate request for the
/// run and waits on, and a second one stops waiting.
pub async fn wait_for_run(
    client: &Client,
    run_id: &str,
    show_progress: bool,
) -> Result<Waited, ClientError> {
    let (events_tx, events_rx) = unbounded_channel();
    let display = tokio::spawn(progress::show(events_rx, show_progress));
    let interrupts = spawn_interrupt_listener();
    let result = poll(client, run_id, events_tx, interrupts).await;
    // `poll` dropped the sender, so the display ends.
    let _ = display.await;
    result
}

async fn poll(
    client: &Client,
    run_id: &str,
    events: UnboundedSender<TaskEvent>,
    mut interrupts: UnboundedReceiver<()>,
) -> Result<Waited, ClientError> {
    let mut known: HashMap<String, State> = HashMap::new();
    let mut terminate_sent = false;
    loop {
        let run = client.get_run(run_id).await?;
        for task in run.item.tasks() {
            let state = records::state(&task.state);
            if known.insert(task.task_id.clone(), state) == Some(state) {
                continue;
            }
            let _ = events.send(TaskEvent {
                task_id: task.task_id.clone(),
                path: task.path.clone(),
                kind: task.kind.parse().unwrap_or(weir_store::TaskKind::Container),
                state,
                cached: task.cached,
            });
        }
        if records::state(&run.item.state).is_final() {
            return Ok(Waited::Ended(Box::new(run)));
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            Some(()) = interrupts.recv() => {
                if terminate_sent {
                    return Ok(Waited::Interrupted);
                }
                eprintln!(
                    "\nCanceling the run on the server; press Ctrl-C again to stop waiting."
                );
                client.run_action(run_id, "terminate").await?;
                terminate_sent = true;
            }
        }
    }
}

/// Sends one message per Ctrl-C. Listening from the start, instead of only while sleeping,
/// keeps a Ctrl-C during a request from being lost.
fn spawn_interrupt_listener() -> UnboundedReceiver<()> {
    let (tx, rx) = unbounded_channel();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if tx.send(()).is_err() {
                break;
            }
        }
    });
    rx
}
