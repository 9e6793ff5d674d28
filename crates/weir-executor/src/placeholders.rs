//! Placeholder resolution: turns a container spec's `command` and `args` into the argv of the
//! task process.
//!
//! [`build_argv`] follows the order kfp.local uses. Parameter values that contain placeholders
//! (f-strings compile to them) are rendered first by [`render_parameter_values`]. Then each
//! element that is a structured `{"Concat": [...]}` or `{"IfPresent": {...}}` object is expanded,
//! and finally every `{{$...}}` placeholder inside the remaining elements is substituted. The
//! substitution makes one pass, so text that a placeholder inserts is never scanned again.
//!
//! Supported forms: `{{$}}` (the executor input as compact JSON), input parameters, input and
//! output artifacts (`.path`, `.uri`, `.metadata`, `.metadata['KEY']` and the whole list),
//! output parameter files, `{{$.outputs.output_file}}` and its legacy name
//! `{{$.outputMetadataUri}}`, and the `{{$.pipeline_*}}` and `{{$.workspace_path}}` constants.

use std::cell::OnceCell;

use serde_json::{Map, Value};
use weir_spec::values::render_text;
use weir_spec::ContainerSpec;

use crate::protocol::{ArtifactList, ExecutorInput, PlaceholderContext};
use crate::text::{executor_input_json, to_compact_json};

/// A placeholder that cannot be resolved for this task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    #[error(
        "placeholder {placeholder} names input parameter '{name}', which the task does not \
         have; check the task's inputs against the component's inputDefinitions"
    )]
    MissingInputParameter { placeholder: String, name: String },
    #[error(
        "placeholder {placeholder} names input artifact '{name}', which the task does not \
         have; check the task's inputs against the component's inputDefinitions"
    )]
    MissingInputArtifact { placeholder: String, name: String },
    #[error(
        "placeholder {placeholder} names output parameter '{name}', which the component does \
         not declare in outputDefinitions"
    )]
    MissingOutputParameter { placeholder: String, name: String },
    #[error(
        "placeholder {placeholder} names output artifact '{name}', which the component does \
         not declare in outputDefinitions"
    )]
    MissingOutputArtifact { placeholder: String, name: String },
    #[error("placeholder {placeholder} refers to artifact '{name}', whose artifact list is empty")]
    EmptyArtifactList { placeholder: String, name: String },
    #[error("placeholder {placeholder}: artifact '{name}' has no metadata key '{key}'")]
    MissingMetadataKey { placeholder: String, name: String, key: String },
    #[error(
        "placeholder {placeholder} needs a pipeline workspace, but the run has none; configure \
         a workspace for the pipeline"
    )]
    WorkspaceNotConfigured { placeholder: String },
    #[error("unknown placeholder {placeholder}; Weir supports the forms the KFP v2 SDK emits")]
    Unknown { placeholder: String },
    #[error("invalid structured placeholder {element}: {reason}")]
    InvalidStructured { element: String, reason: String },
}

/// Substitutes placeholders inside the task's string parameter values, in place.
///
/// Handles `{{$.inputs.parameters['x']}}` (using the task's own values as they were before this
/// call), the `{{$.pipeline_*}}` and `{{$.workspace_path}}` constants, and artifact
/// placeholders. `{{$}}` and any placeholder that cannot be resolved stay as written.
pub fn render_parameter_values(input: &mut ExecutorInput, ctx: &PlaceholderContext) {
    let mut rendered = Vec::new();
    {
        let resolver = Resolver::new(input, ctx, Mode::ParameterValue);
        for (name, value) in &input.inputs.parameter_values {
            let Value::String(text) = value else { continue };
            if !text.contains("{{$") {
                continue;
            }
            let mut out = String::with_capacity(text.len());
            // Parameter-value mode never returns an error: unresolved placeholders stay as text.
            if resolver.substitute(text, &mut out).is_ok() {
                rendered.push((name.clone(), out));
            }
        }
    }
    for (name, text) in rendered {
        input.inputs.parameter_values.insert(name, Value::String(text));
    }
}

/// Builds the process argv (`command` then `args`) with every placeholder resolved.
pub fn build_argv(
    container: &ContainerSpec,
    input: &ExecutorInput,
    ctx: &PlaceholderContext,
) -> Result<Vec<String>, PlaceholderError> {
    let resolver = Resolver::new(input, ctx, Mode::Argv);
    let mut argv = Vec::with_capacity(container.command.len() + container.args.len());
    let mut expanded = Vec::new();
    for element in container.command.iter().chain(&container.args) {
        if !is_structured(element) {
            argv.push(resolver.substitute_element(element)?);
            continue;
        }
        expanded.clear();
        expand_structured(element, input, &mut expanded)?;
        for item in &expanded {
            argv.push(resolver.substitute_element(item)?);
        }
    }
    Ok(argv)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Resolving a whole argv element: every failure is an error.
    Argv,
    /// Resolving inside a parameter value: `{{$}}` and failures stay as written.
    ParameterValue,
}

struct Resolver<'a> {
    input: &'a ExecutorInput,
    ctx: &'a PlaceholderContext,
    mode: Mode,
    /// `{{$}}` text, serialized on first use.
    executor_input_json: OnceCell<String>,
}

impl<'a> Resolver<'a> {
    fn new(input: &'a ExecutorInput, ctx: &'a PlaceholderContext, mode: Mode) -> Self {
        Resolver { input, ctx, mode, executor_input_json: OnceCell::new() }
    }

    fn substitute_element(&self, element: &str) -> Result<String, PlaceholderError> {
        if !element.contains("{{$") {
            return Ok(element.to_string());
        }
        let mut out = String::with_capacity(element.len());
        self.substitute(element, &mut out)?;
        Ok(out)
    }

    /// Appends `text` to `out` with each `{{$}}` and `{{$.…}}` placeholder replaced.
    fn substitute(&self, text: &str, out: &mut String) -> Result<(), PlaceholderError> {
        let mut rest = text;
        while let Some(start) = rest.find("{{$") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 3..];

            if let Some(tail) = after.strip_prefix("}}") {
                match self.mode {
                    Mode::Argv => out.push_str(self.executor_input_json()),
                    Mode::ParameterValue => out.push_str("{{$}}"),
                }
                rest = tail;
                continue;
            }

            let end = if after.starts_with('.') { after.find("}}") } else { None };
            let Some(end) = end else {
                out.push_str("{{$");
                rest = after;
                continue;
            };
            let whole = &rest[start..start + 3 + end + 2];
            match self.resolve(&after[1..end], whole, out) {
                Ok(()) => {}
                Err(_) if self.mode == Mode::ParameterValue => out.push_str(whole),
                Err(error) => return Err(error),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(())
    }

    fn executor_input_json(&self) -> &str {
        self.executor_input_json.get_or_init(|| executor_input_json(self.input))
    }

    /// Resolves the placeholder `whole` whose text after `{{$.` and before `}}` is `path`.
    fn resolve(&self, path: &str, whole: &str, out: &mut String) -> Result<(), PlaceholderError> {
        let placeholder = parse(path).ok_or_else(|| unknown(whole))?;
        let owned = |name: &str| (whole.to_string(), name.to_string());
        match placeholder {
            Placeholder::Constant(constant) => {
                let value = self.constant(constant);
                if constant == Constant::WorkspacePath && value.is_empty() {
                    return Err(PlaceholderError::WorkspaceNotConfigured {
                        placeholder: whole.to_string(),
                    });
                }
                out.push_str(value);
            }
            Placeholder::OutputFile => out.push_str(&self.input.outputs.output_file),
            Placeholder::InputParameter(name) => {
                let value = self.input.inputs.parameter_values.get(name).ok_or_else(|| {
                    let (placeholder, name) = owned(name);
                    PlaceholderError::MissingInputParameter { placeholder, name }
                })?;
                match value {
                    Value::String(text) => out.push_str(text),
                    other => out.push_str(&render_text(other)),
                }
            }
            Placeholder::OutputParameterFile(name) => {
                let parameter = self.input.outputs.parameters.get(name).ok_or_else(|| {
                    let (placeholder, name) = owned(name);
                    PlaceholderError::MissingOutputParameter { placeholder, name }
                })?;
                out.push_str(&parameter.output_file);
            }
            Placeholder::InputArtifact(name, field) => {
                let list = self.input.inputs.artifacts.get(name).ok_or_else(|| {
                    let (placeholder, name) = owned(name);
                    PlaceholderError::MissingInputArtifact { placeholder, name }
                })?;
                write_artifact_field(list, name, field, whole, out)?;
            }
            Placeholder::OutputArtifact(name, field) => {
                let list = self.input.outputs.artifacts.get(name).ok_or_else(|| {
                    let (placeholder, name) = owned(name);
                    PlaceholderError::MissingOutputArtifact { placeholder, name }
                })?;
                write_artifact_field(list, name, field, whole, out)?;
            }
        }
        Ok(())
    }

    fn constant(&self, constant: Constant) -> &str {
        let ctx = self.ctx;
        match constant {
            Constant::JobName => &ctx.pipeline_job_name,
            Constant::JobResourceName => &ctx.pipeline_job_resource_name,
            Constant::JobUuid => &ctx.pipeline_job_uuid,
            Constant::TaskName => &ctx.pipeline_task_name,
            Constant::TaskUuid => &ctx.pipeline_task_uuid,
            Constant::PipelineRoot => &ctx.pipeline_root,
            Constant::JobCreateTime => &ctx.pipeline_job_create_time_utc,
            Constant::JobScheduleTime => &ctx.pipeline_job_schedule_time_utc,
            Constant::WorkspacePath => &ctx.workspace_path,
        }
    }
}

fn unknown(whole: &str) -> PlaceholderError {
    PlaceholderError::Unknown { placeholder: whole.to_string() }
}

fn write_artifact_field(
    list: &ArtifactList,
    name: &str,
    field: ArtifactField<'_>,
    whole: &str,
    out: &mut String,
) -> Result<(), PlaceholderError> {
    if field == ArtifactField::List {
        // A JSON array of RuntimeArtifact objects, not the `{"artifacts": [...]}` message: the
        // SDK's own container-component sample for `Input[List[Dataset]]` parses the argument
        // with `json.loads` and reads `uri` from each element.
        out.push_str(&to_compact_json(&list.artifacts));
        return Ok(());
    }
    // `.path`, `.uri` and `.metadata` address the first artifact, as kfp.local does.
    let artifact = list.artifacts.first().ok_or_else(|| PlaceholderError::EmptyArtifactList {
        placeholder: whole.to_string(),
        name: name.to_string(),
    })?;
    match field {
        ArtifactField::List => {}
        ArtifactField::Path => {
            let path = weir_artifacts::local_path_for_uri(&artifact.uri);
            out.push_str(&path.to_string_lossy());
        }
        ArtifactField::Uri => out.push_str(&artifact.uri),
        ArtifactField::Metadata => out.push_str(&to_compact_json(&artifact.metadata)),
        ArtifactField::MetadataKey(key) => {
            let value =
                artifact.metadata.get(key).ok_or_else(|| PlaceholderError::MissingMetadataKey {
                    placeholder: whole.to_string(),
                    name: name.to_string(),
                    key: key.to_string(),
                })?;
            out.push_str(&render_text(value));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder<'a> {
    Constant(Constant),
    OutputFile,
    InputParameter(&'a str),
    OutputParameterFile(&'a str),
    InputArtifact(&'a str, ArtifactField<'a>),
    OutputArtifact(&'a str, ArtifactField<'a>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Constant {
    JobName,
    JobResourceName,
    JobUuid,
    TaskName,
    TaskUuid,
    PipelineRoot,
    JobCreateTime,
    JobScheduleTime,
    WorkspacePath,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArtifactField<'a> {
    /// Every artifact of the list, as a JSON array of `RuntimeArtifact` objects.
    List,
    Path,
    Uri,
    Metadata,
    MetadataKey(&'a str),
}

/// Parses the text between `{{$.` and `}}`.
fn parse(path: &str) -> Option<Placeholder<'_>> {
    let constant = match path {
        "pipeline_job_name" => Some(Constant::JobName),
        "pipeline_job_resource_name" => Some(Constant::JobResourceName),
        "pipeline_job_uuid" => Some(Constant::JobUuid),
        "pipeline_task_name" => Some(Constant::TaskName),
        "pipeline_task_uuid" => Some(Constant::TaskUuid),
        "pipeline_root" => Some(Constant::PipelineRoot),
        "pipeline_job_create_time_utc" => Some(Constant::JobCreateTime),
        "pipeline_job_schedule_time_utc" => Some(Constant::JobScheduleTime),
        "workspace_path" => Some(Constant::WorkspacePath),
        "outputs.output_file" | "outputMetadataUri" => return Some(Placeholder::OutputFile),
        _ => None,
    };
    if let Some(constant) = constant {
        return Some(Placeholder::Constant(constant));
    }

    if let Some(rest) = path.strip_prefix("inputs.parameters") {
        let (name, rest) = bracketed_name(rest)?;
        return rest.is_empty().then_some(Placeholder::InputParameter(name));
    }
    if let Some(rest) = path.strip_prefix("outputs.parameters") {
        let (name, rest) = bracketed_name(rest)?;
        return (rest == ".output_file").then_some(Placeholder::OutputParameterFile(name));
    }
    if let Some(rest) = path.strip_prefix("inputs.artifacts") {
        let (name, rest) = bracketed_name(rest)?;
        return Some(Placeholder::InputArtifact(name, artifact_field(rest)?));
    }
    if let Some(rest) = path.strip_prefix("outputs.artifacts") {
        let (name, rest) = bracketed_name(rest)?;
        return Some(Placeholder::OutputArtifact(name, artifact_field(rest)?));
    }
    None
}

/// Splits `['name']rest` (or `["name"]rest`) into the name and the rest.
fn bracketed_name(text: &str) -> Option<(&str, &str)> {
    let text = text.strip_prefix('[')?;
    let closing = match text.as_bytes().first()? {
        b'\'' => "']",
        b'"' => "\"]",
        _ => return None,
    };
    let text = &text[1..];
    let end = text.find(closing)?;
    Some((&text[..end], &text[end + 2..]))
}

fn artifact_field(rest: &str) -> Option<ArtifactField<'_>> {
    match rest {
        "" => Some(ArtifactField::List),
        ".path" => Some(ArtifactField::Path),
        ".uri" => Some(ArtifactField::Uri),
        ".metadata" => Some(ArtifactField::Metadata),
        _ => {
            let (key, rest) = bracketed_name(rest.strip_prefix(".metadata")?)?;
            rest.is_empty().then_some(ArtifactField::MetadataKey(key))
        }
    }
}

/// Returns whether an argv element is a `{"Concat": ...}` or `{"IfPresent": ...}` object.
fn is_structured(element: &str) -> bool {
    let trimmed = element.trim_start();
    trimmed.starts_with("{\"Concat\"") || trimmed.starts_with("{\"IfPresent\"")
}

/// Expands one structured element into zero or more argv elements (placeholders not yet
/// substituted).
fn expand_structured(
    element: &str,
    input: &ExecutorInput,
    out: &mut Vec<String>,
) -> Result<(), PlaceholderError> {
    let invalid = |reason: String| PlaceholderError::InvalidStructured {
        element: element.to_string(),
        reason,
    };
    let value: Value = serde_json::from_str(element).map_err(|error| invalid(error.to_string()))?;
    splice(&value, input, out).map_err(invalid)
}

/// Appends the argv elements `item` stands for: a string or a `Concat` is one element, an
/// `IfPresent` is its chosen branch, a list is each of its items, null is nothing.
fn splice(item: &Value, input: &ExecutorInput, out: &mut Vec<String>) -> Result<(), String> {
    match item {
        Value::String(text) => out.push(text.clone()),
        Value::Null => {}
        Value::Array(items) => {
            for item in items {
                splice(item, input, out)?;
            }
        }
        Value::Object(object) => match structured(object)? {
            Structured::Concat(items) => {
                let mut joined = String::new();
                for item in items {
                    concat_into(item, input, &mut joined)?;
                }
                out.push(joined);
            }
            Structured::IfPresent { input_name, then, otherwise } => {
                let branch = if is_present(input, input_name) { then } else { otherwise };
                if let Some(branch) = branch {
                    splice(branch, input, out)?;
                }
            }
        },
        other => return Err(format!("expected a string, list or object, found {other}")),
    }
    Ok(())
}

/// Appends the text `item` contributes to an enclosing `Concat`.
fn concat_into(item: &Value, input: &ExecutorInput, joined: &mut String) -> Result<(), String> {
    match item {
        Value::String(text) => joined.push_str(text),
        Value::Null => {}
        // The SDK allows only one element in a branch inside Concat; join longer lists too.
        Value::Array(items) => {
            for item in items {
                concat_into(item, input, joined)?;
            }
        }
        Value::Object(object) => match structured(object)? {
            Structured::Concat(items) => {
                for item in items {
                    concat_into(item, input, joined)?;
                }
            }
            Structured::IfPresent { input_name, then, otherwise } => {
                let branch = if is_present(input, input_name) { then } else { otherwise };
                if let Some(branch) = branch {
                    concat_into(branch, input, joined)?;
                }
            }
        },
        other => return Err(format!("expected a string or object inside Concat, found {other}")),
    }
    Ok(())
}

enum Structured<'v> {
    Concat(&'v [Value]),
    IfPresent { input_name: &'v str, then: Option<&'v Value>, otherwise: Option<&'v Value> },
}

fn structured(object: &Map<String, Value>) -> Result<Structured<'_>, String> {
    if object.len() != 1 {
        return Err("expected an object with the single key Concat or IfPresent".to_string());
    }
    if let Some(concat) = object.get("Concat") {
        let items = concat.as_array().ok_or("Concat must be a list")?;
        return Ok(Structured::Concat(items));
    }
    let Some(if_present) = object.get("IfPresent") else {
        return Err("expected an object with the single key Concat or IfPresent".to_string());
    };
    let if_present = if_present.as_object().ok_or("IfPresent must be an object")?;
    let input_name = if_present
        .get("InputName")
        .and_then(Value::as_str)
        .ok_or("IfPresent needs a string InputName")?;
    Ok(Structured::IfPresent {
        input_name,
        then: if_present.get("Then"),
        otherwise: if_present.get("Else"),
    })
}

/// Returns whether input `name` has a non-null parameter value or a non-empty artifact list.
fn is_present(input: &ExecutorInput, name: &str) -> bool {
    let parameter = input.inputs.parameter_values.get(name).is_some_and(|value| !value.is_null());
    let artifact = input.inputs.artifacts.get(name).is_some_and(|list| !list.artifacts.is_empty());
    parameter || artifact
}
