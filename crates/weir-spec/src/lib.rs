//! Compiled KFP v2 pipeline specs: the typed model, the loader for YAML, JSON and
//! PipelineJob-wrapped files, and the validator that checks every reference.
//!
//! This crate uses no database, process or network. It turns text into a checked
//! [`Pipeline`] or into a list of [`Problem`]s that each name the offending field. It also holds
//! the value rules shared by the CLI and the engine: CEL evaluation ([`cel`]), parameter value
//! parsing and rendering ([`values`]) and the text summary of a pipeline ([`describe`]).

pub mod cel;
pub mod describe;
pub mod error;
pub mod load;
pub mod model;
pub mod validate;
pub mod values;

pub use describe::describe;
pub use error::{Problem, SpecError};
pub use load::{load_document_file, load_document_str, load_file, load_str, LoadedDocument};
pub use model::*;
pub use validate::validate;

/// Counts task entries over every DAG of the spec: the root DAG's tasks plus the tasks of every
/// component that has a `dag`, each component counted once however often it is referenced.
pub fn count_tasks(spec: &PipelineSpec) -> usize {
    let root = spec.root.dag.as_ref().map_or(0, |dag| dag.tasks.len());
    let components: usize =
        spec.components.values().filter_map(|c| c.dag.as_ref()).map(|dag| dag.tasks.len()).sum();
    root + components
}
