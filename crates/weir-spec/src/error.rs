//! Errors of the loader and the validator: [`SpecError`] for a file that cannot become a
//! [`Pipeline`](crate::Pipeline), and [`Problem`], one finding of the validator with the path to
//! the offending field.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong with a pipeline spec, located by a dotted path such as
/// `root.dag.tasks.train.inputs.parameters.lr.componentInputParameter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path of the field, starting at a top-level key of the spec (`root`, `components`,
    /// `deploymentSpec`, `pipelineInfo`).
    pub path: String,
    /// Description of the fault, naming the offending value.
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Error of loading a file or text as a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("cannot read pipeline file {}: {source}", path.display())]
    Unreadable { path: PathBuf, source: std::io::Error },

    /// The text is not well-formed YAML or JSON.
    #[error(
        "{origin}: malformed {format}{}: {message}",
        location_text(*line, *column)
    )]
    Malformed {
        /// File name or other label of the text.
        origin: String,
        /// `"YAML"` or `"JSON"`.
        format: &'static str,
        /// 1-based line of the error, when the parser reports one.
        line: Option<usize>,
        /// 1-based column of the error, when the parser reports one.
        column: Option<usize>,
        message: String,
    },

    /// The text parses but does not hold a compiled pipeline spec.
    #[error("{origin}: not a KFP pipeline spec: {reason}")]
    NotAPipeline { origin: String, reason: String },

    /// The spec is structurally a pipeline but has broken references or values.
    #[error("{}", invalid_text(.0))]
    Invalid(Vec<Problem>),
}

fn location_text(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" at line {line}, column {column}"),
        (Some(line), None) => format!(" at line {line}"),
        _ => String::new(),
    }
}

fn invalid_text(problems: &[Problem]) -> String {
    let count = problems.len();
    let noun = if count == 1 { "problem" } else { "problems" };
    let mut text = format!("invalid pipeline spec ({count} {noun}):");
    for problem in problems {
        text.push_str("\n  ");
        text.push_str(&problem.to_string());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_lists_every_problem() {
        let error = SpecError::Invalid(vec![
            Problem::new("root.dag.tasks.a.componentRef.name", "component 'comp-x' not found"),
            Problem::new("deploymentSpec.executors.exec-y", "no container"),
        ]);
        assert_eq!(
            error.to_string(),
            "invalid pipeline spec (2 problems):\n  \
             root.dag.tasks.a.componentRef.name: component 'comp-x' not found\n  \
             deploymentSpec.executors.exec-y: no container"
        );
    }

    #[test]
    fn malformed_shows_location() {
        let error = SpecError::Malformed {
            origin: "p.yaml".into(),
            format: "YAML",
            line: Some(3),
            column: Some(7),
            message: "did not find expected key".into(),
        };
        assert_eq!(
            error.to_string(),
            "p.yaml: malformed YAML at line 3, column 7: did not find expected key"
        );
    }
}
