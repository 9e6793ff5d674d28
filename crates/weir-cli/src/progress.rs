//! Live progress of a foreground run: tasks done out of tasks known, running tasks, elapsed
//! time. On a terminal it is one redrawn line; otherwise one line per finished task.

use std::collections::{BTreeSet, HashMap};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc::UnboundedReceiver;
use weir_engine::TaskEvent;
use weir_store::{State, TaskKind};

/// Consumes task events until the engine drops the sender.
pub async fn show(mut events: UnboundedReceiver<TaskEvent>, enabled: bool) {
    let terminal = enabled && std::io::stderr().is_terminal();
    let bar = if terminal {
        let bar = ProgressBar::new_spinner();
        let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        Some(bar)
    } else {
        None
    };

    let started = Instant::now();
    let mut states: HashMap<String, State> = HashMap::new();
    let mut running: BTreeSet<String> = BTreeSet::new();
    let mut done = 0usize;
    while let Some(event) = events.recv().await {
        // Only tasks that do work count; DAGs, loops and iterations are containers of tasks.
        if !matches!(event.kind, TaskKind::Container | TaskKind::Importer) {
            continue;
        }
        let previous = states.insert(event.task_id.clone(), event.state);
        if event.state == State::Running {
            running.insert(event.path.clone());
        } else if event.state.is_final() {
            running.remove(&event.path);
            if previous.is_none_or(|p| !p.is_final()) {
                done += 1;
            }
            if enabled && !terminal {
                let cached = if event.cached { " (cached)" } else { "" };
                let _ = writeln!(
                    std::io::stderr(),
                    "[{:>7.1}s] {:<9} {}{cached}",
                    started.elapsed().as_secs_f64(),
                    event.state.as_str(),
                    event.path
                );
            }
        }
        if let Some(bar) = &bar {
            let names: Vec<&str> = running.iter().take(3).map(String::as_str).collect();
            let more = running.len().saturating_sub(names.len());
            let extra = if more > 0 { format!(" +{more}") } else { String::new() };
            bar.set_message(format!(
                "{done}/{} tasks done, {} running: {}{extra}",
                states.len(),
                running.len(),
                names.join(", ")
            ));
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}
