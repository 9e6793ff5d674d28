//! `weir validate FILE`: loads and checks a compiled pipeline and describes it.

use std::path::Path;
use std::process::ExitCode;

pub fn validate(file: &Path) -> anyhow::Result<ExitCode> {
    match weir_spec::load_file(file) {
        Ok(pipeline) => {
            print!("{}", weir_spec::describe::describe(&pipeline));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {} is not a valid pipeline:\n{e}", file.display());
            Ok(ExitCode::from(2))
        }
    }
}
