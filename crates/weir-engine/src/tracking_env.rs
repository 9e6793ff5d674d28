//! The environment that links a task to MLflow tracking: `MLFLOW_TRACKING_URI`, pointing at
//! the tracking server of the Weir process that runs the task, and `MLFLOW_RUN_CONTEXT`, whose
//! JSON object the `mlflow` client adds as tags to every run it starts. The tags name the Weir
//! run and task, so a tracking run leads back to the task that made it.
//!
//! A pipeline that sets `MLFLOW_TRACKING_URI` in a container's `env` keeps its own server. A
//! pipeline's own `MLFLOW_RUN_CONTEXT` object keeps its keys; Weir's keys are added to it.

use serde_json::{Map, Value};
use weir_spec::ContainerSpec;

/// Environment variable the `mlflow` client reads its tracking server from.
pub const TRACKING_URI_VAR: &str = "MLFLOW_TRACKING_URI";
/// Environment variable whose JSON object the `mlflow` client adds to each new run's tags.
pub const RUN_CONTEXT_VAR: &str = "MLFLOW_RUN_CONTEXT";

/// Tag keys Weir puts in `MLFLOW_RUN_CONTEXT`.
pub const TAG_RUN_ID: &str = "weir.run_id";
pub const TAG_TASK_ID: &str = "weir.task_id";
pub const TAG_TASK_NAME: &str = "weir.task_name";
pub const TAG_TASK_PATH: &str = "weir.task_path";

/// Identifies the task an environment is for.
pub(crate) struct TaskIdentity<'a> {
    pub run_id: &'a str,
    pub task_id: &'a str,
    /// The task's name in its DAG, such as `train-model`.
    pub task_name: &'a str,
    /// The task's path in the run, such as `for-loop-2/3/train-model`.
    pub task_path: &'a str,
}

/// Returns the variables to add to a task's environment; empty when no tracking server is set.
pub(crate) fn tracking_env(
    tracking_uri: Option<&str>,
    container: &ContainerSpec,
    task: &TaskIdentity<'_>,
) -> Vec<(String, String)> {
    let Some(uri) = tracking_uri else {
        return Vec::new();
    };
    let own = |name: &str| container.env.iter().find(|var| var.name == name);
    let mut env = Vec::with_capacity(2);
    if own(TRACKING_URI_VAR).is_none() {
        env.push((TRACKING_URI_VAR.to_owned(), uri.to_owned()));
    }
    let mut context = match own(RUN_CONTEXT_VAR).map(|var| serde_json::from_str(&var.value)) {
        None => Map::new(),
        Some(Ok(Value::Object(map))) => map,
        // Not a JSON object: the client would fail on it the same way with or without Weir's
        // tags, so the pipeline's value stays as it is.
        Some(_) => return env,
    };
    for (key, value) in [
        (TAG_RUN_ID, task.run_id),
        (TAG_TASK_ID, task.task_id),
        (TAG_TASK_NAME, task.task_name),
        (TAG_TASK_PATH, task.task_path),
    ] {
        context.insert(key.to_owned(), Value::String(value.to_owned()));
    }
    env.push((RUN_CONTEXT_VAR.to_owned(), Value::Object(context).to_string()));
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_spec::EnvVar;

    fn task() -> TaskIdentity<'static> {
        TaskIdentity { run_id: "r1", task_id: "t1", task_name: "train", task_path: "loop/0/train" }
    }

    fn container(env: &[(&str, &str)]) -> ContainerSpec {
        ContainerSpec {
            env: env
                .iter()
                .map(|(name, value)| EnvVar { name: (*name).into(), value: (*value).into() })
                .collect(),
            ..ContainerSpec::default()
        }
    }

    #[test]
    fn a_task_gets_the_server_and_its_identity_tags() {
        let env = tracking_env(Some("http://127.0.0.1:8888"), &container(&[]), &task());
        assert_eq!(env[0], (TRACKING_URI_VAR.to_owned(), "http://127.0.0.1:8888".to_owned()));
        assert_eq!(env[1].0, RUN_CONTEXT_VAR);
        let context: Value = serde_json::from_str(&env[1].1).unwrap();
        assert_eq!(
            context,
            serde_json::json!({"weir.run_id": "r1", "weir.task_id": "t1",
                "weir.task_name": "train", "weir.task_path": "loop/0/train"})
        );
    }

    #[test]
    fn the_pipeline_keeps_its_own_server_and_context_keys() {
        let spec = container(&[
            (TRACKING_URI_VAR, "http://mlflow.example:5000"),
            (RUN_CONTEXT_VAR, r#"{"team": "vision"}"#),
        ]);
        let env = tracking_env(Some("http://127.0.0.1:8888"), &spec, &task());
        assert_eq!(env.len(), 1);
        let context: Value = serde_json::from_str(&env[0].1).unwrap();
        assert_eq!(context["team"], "vision");
        assert_eq!(context["weir.task_id"], "t1");
    }

    #[test]
    fn no_server_means_no_variables() {
        assert!(tracking_env(None, &container(&[]), &task()).is_empty());
    }
}
