//! One module per subcommand.

pub mod logs;
pub mod run;
pub mod runs;
pub mod server;
pub mod validate;
