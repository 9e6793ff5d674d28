//! Baseline for Weir's per-task overhead: spawns one command and waits for it, COUNT times in a
//! row, and prints one JSON line with the time per spawn.
//!
//! Usage: `spawn_loop COUNT PROGRAM [ARG]...`. Build: `rustc -O spawn_loop.rs -o spawn_loop`
//! (std only, so `bench/run.sh` builds it without Cargo). Stdin, stdout and stderr are
//! `/dev/null`, so the figure is the cost of the process itself with no output handling.

use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(count), Some((program, program_args))) = (
        args.first().and_then(|c| c.parse::<usize>().ok()),
        args.get(1..).and_then(|a| a.split_first()),
    ) else {
        eprintln!("usage: spawn_loop COUNT PROGRAM [ARG]... (COUNT is a positive integer)");
        return ExitCode::from(2);
    };
    if count == 0 {
        eprintln!("spawn_loop: COUNT must be at least 1");
        return ExitCode::from(2);
    }

    let mut times: Vec<Duration> = Vec::with_capacity(count);
    let started = Instant::now();
    for _ in 0..count {
        let before = Instant::now();
        let status = Command::new(program)
            .args(program_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match status {
            Ok(status) if status.success() => times.push(before.elapsed()),
            Ok(status) => {
                eprintln!(
                    "spawn_loop: {program} exited with {status}; use a command that succeeds"
                );
                return ExitCode::FAILURE;
            }
            Err(error) => {
                eprintln!(
                    "spawn_loop: failed to start {program}: {error}; check that it is on PATH"
                );
                return ExitCode::FAILURE;
            }
        }
    }
    let total = started.elapsed();

    times.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |q: f64| ms(times[((times.len() - 1) as f64 * q).round() as usize]);
    println!(
        "{{\"count\": {count}, \"total_s\": {:.6}, \"mean_ms\": {:.4}, \"median_ms\": {:.4}, \
         \"p10_ms\": {:.4}, \"p90_ms\": {:.4}, \"min_ms\": {:.4}}}",
        total.as_secs_f64(),
        ms(total) / count as f64,
        at(0.5),
        at(0.1),
        at(0.9),
        ms(times[0]),
    );
    ExitCode::SUCCESS
}
