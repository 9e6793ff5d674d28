//! One module per subcommand; [`remote`] has the same commands against a server.

pub mod logs;
pub mod remote;
pub mod run;
pub mod runs;
pub mod server;
pub mod validate;
