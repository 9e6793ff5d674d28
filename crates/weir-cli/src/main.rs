//! The `weir` command line: runs compiled KFP pipelines and inspects runs in the state store.

mod commands;
mod display;
mod progress;
mod setup;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "weir", version, about = "Runs compiled Kubeflow Pipelines (KFP v2) locally.")]
struct Cli {
    /// Folder for the state database, artifacts and logs.
    /// [default: $XDG_DATA_HOME/weir or ~/.local/share/weir]
    #[arg(long, global = true, env = "WEIR_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// Log filter for diagnostics on stderr (`warn`, `info`, `debug`, or a tracing filter).
    #[arg(long, global = true, env = "WEIR_LOG", default_value = "warn", value_name = "FILTER")]
    log: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a compiled pipeline in the foreground and print its outcome.
    Run(commands::run::RunArgs),
    /// Check a compiled pipeline and print its inputs, outputs and task graph.
    Validate {
        /// Compiled pipeline (YAML or JSON).
        file: PathBuf,
    },
    /// List and inspect runs.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Print a task's stdout and stderr.
    Logs(commands::logs::LogsArgs),
    /// Serve the Kubeflow Pipelines v2beta1 REST API and run the pipelines submitted to it.
    Server(commands::server::ServerArgs),
}

#[derive(Debug, Subcommand)]
enum RunsCommand {
    /// List runs, newest first.
    List(commands::runs::ListArgs),
    /// Show a run: state, parameters, outputs and every task.
    Get(RunRef),
    /// Ask a running run to stop.
    Cancel(RunRef),
}

#[derive(Debug, Args)]
struct RunRef {
    /// Run id, unique id prefix, or run name.
    run: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    // Die quietly when stdout is a closed pipe (`weir runs list | head`), as Unix tools do,
    // instead of panicking in println!.
    // SAFETY: setting a signal's disposition to the default has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    setup::init_logging(&cli.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(dispatch(cli));
    // Do not wait for blocking readers (such as a follow on a log file) to notice.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let data_dir = setup::data_dir(cli.data_dir);
    match cli.command {
        Command::Run(args) => commands::run::run(&data_dir, args).await,
        Command::Validate { file } => commands::validate::validate(&file),
        Command::Runs(RunsCommand::List(args)) => commands::runs::list(&data_dir, args).await,
        Command::Runs(RunsCommand::Get(r)) => commands::runs::get(&data_dir, &r.run, r.json).await,
        Command::Runs(RunsCommand::Cancel(r)) => {
            commands::runs::cancel(&data_dir, &r.run, r.json).await
        }
        Command::Logs(args) => commands::logs::logs(&data_dir, args).await,
        Command::Server(args) => commands::server::server(&data_dir, args).await,
    }
}
