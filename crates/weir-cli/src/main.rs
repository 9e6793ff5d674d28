//! The `weir` command line: runs compiled KFP pipelines and inspects runs in the state store,
//! or, with `--server URL`, does the same through a Weir server's KFP REST API.

mod cli;
mod client;
mod commands;
mod display;
mod progress;
mod setup;
mod tracking;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, RunsCommand};
use crate::client::{Client, ClientError};

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
            // A request the server rejects exits 2 like any invalid input. A failure to reach
            // the server, or an error of the server, exits 1.
            let code = e.downcast_ref::<ClientError>().map_or(2, ClientError::exit_code);
            ExitCode::from(code)
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(server) = cli.server.as_deref() {
        if !matches!(cli.command, Command::Validate { .. } | Command::Server(_)) {
            let client = Client::new(server)?;
            return commands::remote::dispatch(&client, cli.command).await;
        }
        if matches!(cli.command, Command::Server(_)) {
            anyhow::bail!(
                "--server is the address of a server to send requests to, but `weir server` \
                 starts a server. Choose its address with --bind"
            );
        }
    }
    let data_dir = setup::data_dir(cli.data_dir);
    match cli.command {
        Command::Run(args) => commands::run::run(&data_dir, args).await,
        Command::Validate { file } => commands::validate::validate(&file),
        Command::Runs(RunsCommand::List(args)) => commands::runs::list(&data_dir, args).await,
        Command::Runs(RunsCommand::Get(r)) => commands::runs::get(&data_dir, &r.run, r.json).await,
        Command::Runs(RunsCommand::Cancel(r)) => {
            commands::runs::cancel(&data_dir, &r.run, r.json).await
        }
        Command::Runs(RunsCommand::Retry(_)) => needs_server("weir runs retry"),
        Command::Runs(RunsCommand::Archive(_)) => needs_server("weir runs archive"),
        Command::Runs(RunsCommand::Unarchive(_)) => needs_server("weir runs unarchive"),
        Command::Runs(RunsCommand::Delete(_)) => needs_server("weir runs delete"),
        Command::Logs(args) => commands::logs::logs(&data_dir, args).await,
        Command::Pipelines(_) => needs_server("weir pipelines"),
        Command::Experiments(_) => needs_server("weir experiments"),
        Command::Server(args) => commands::server::server(&data_dir, args).await,
    }
}

/// Rejects a command that exists only against a server.
fn needs_server(command: &str) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "`{command}` needs a server: pass --server URL (or set WEIR_SERVER), and start the \
         server with `weir server`"
    )
}
