//! The run log: one timestamped line per run event (start, task starts and ends, retries,
//! executor notes, finish) in `<run folder>/.logs/run.log`, which `weir logs RUN` prints.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{SecondsFormat, Utc};

/// File name of the run log inside a run's `.logs` folder.
pub const RUN_LOG_FILE: &str = "run.log";

pub(crate) struct RunLog {
    path: PathBuf,
    file: Mutex<Option<File>>,
    notes: Mutex<HashSet<String>>,
}

impl RunLog {
    /// Opens (appending) the run log. A log that cannot be opened is reported once and the
    /// run goes on without it: losing the log must not fail the run.
    pub fn open(path: &Path) -> Self {
        let file = path
            .parent()
            .map(std::fs::create_dir_all)
            .unwrap_or(Ok(()))
            .and_then(|_| OpenOptions::new().create(true).append(true).open(path));
        let file = match file {
            Ok(file) => Some(file),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e,
                    "Failed to open the run log; run events are not written to it.");
                None
            }
        };
        RunLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            notes: Mutex::new(HashSet::new()),
        }
    }

    pub fn write(&self, message: &str) {
        let line =
            format!("{} {message}\n", Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true));
        let mut guard = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = guard.as_mut() {
            if let Err(e) = file.write_all(line.as_bytes()) {
                tracing::warn!(path = %self.path.display(), error = %e,
                    "Failed to write the run log; later events are not written to it.");
                *guard = None;
            }
        }
    }

    /// Writes `message` only the first time it is given for this run.
    pub fn write_once(&self, message: &str) {
        let first =
            self.notes.lock().unwrap_or_else(|e| e.into_inner()).insert(message.to_string());
        if first {
            self.write(message);
        }
    }
}
