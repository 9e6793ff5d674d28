//! The environment that links a task to MLflow tracking: `MLFLOW_TRACKING_URI`, pointing at
//! the tracking server of the Weir process that runs the task, and `MLFLOW_RUN_CONTEXT`, whose
//! JSON object the `mlflow` client adds as tags to every run it starts. The tags name the Weir
//! run and task, so a tracking run leads back to the task that made it.
//!
//! When the server is Weir's own, a task also gets `MLFLOW_TRACKING_TOKEN=weir-task.<base64url
//! of the same JSON object>`. The client sends it as a bearer token with every request, and
//! Weir's tracking server adds the tags to the runs and model versions the task creates, also
//! those made with `MlflowClient`, which reads no run context (`weir_tracking::caller`).
//!
//! A pipeline that sets `MLFLOW_TRACKING_URI` in a container's `env` keeps its own server, and
//! gets no token. A pipeline's own `MLFLOW_RUN_CONTEXT` object keeps its keys; Weir's keys are
//! added to it. A pipeline's own `MLFLOW_TRACKING_TOKEN` is kept.

use base64::Engine as _;
use serde_json::{Map, Value};
use weir_spec::ContainerSpec;

/// Environment variable the `mlflow` client reads its tracking server from.
pub const TRACKING_URI_VAR: &str = "MLFLOW_TRACKING_URI";
/// Environment variable whose JSON object the `mlflow` client adds to each new run's tags.
pub const RUN_CONTEXT_VAR: &str = "MLFLOW_RUN_CONTEXT";
/// Environment variable whose value the `mlflow` client sends as a bearer token.
pub const TOKEN_VAR: &str = "MLFLOW_TRACKING_TOKEN";
/// The prefix of a task's token.
pub const TOKEN_PREFIX: &str = "weir-task.";

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
/// `weir_server` is true when the server at `tracking_uri` is Weir's own, which reads the
/// token.
pub(crate) fn tracking_env(
    tracking_uri: Option<&str>,
    weir_server: bool,
    container: &ContainerSpec,
    task: &TaskIdentity<'_>,
) -> Vec<(String, String)> {
    let Some(uri) = tracking_uri else {
        return Vec::new();
    };
    let own = |name: &str| container.env.iter().find(|var| var.name == name);
    let mut env = Vec::with_capacity(3);
    let weir_serves_task = own(TRACKING_URI_VAR).is_none();
    if weir_serves_task {
        env.push((TRACKING_URI_VAR.to_owned(), uri.to_owned()));
        if weir_server && own(TOKEN_VAR).is_none() {
            let tags = Value::Object(identity_tags(task)).to_string();
            let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tags);
            env.push((TOKEN_VAR.to_owned(), format!("{TOKEN_PREFIX}{encoded}")));
        }
    }
    let mut context = match own(RUN_CONTEXT_VAR).map(|var| serde_json::from_str(&var.value)) {
        None => Map::new(),
        Some(Ok(Value::Object(map))) => map,
        // Not a JSON object: the client would fail on it the same way with or without Weir's
        // tags, so the pipeline's value stays as it is.
        Some(_) => return env,
    };
    context.extend(identity_tags(task));
    env.push((RUN_CONTEXT_VAR.to_owned(), Value::Object(context).to_string()));
    env
}

/// Returns the `weir.*` tags that name a task.
fn identity_tags(task: &TaskIdentity<'_>) -> Map<String, Value> {
    [
        (TAG_RUN_ID, task.run_id),
        (TAG_TASK_ID, task.task_id),
        (TAG_TASK_NAME, task.task_name),
        (TAG_TASK_PATH, task.task_path),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), Value::String(value.to_owned())))
    .collect()
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
    fn env_has_server_and_task_tags() {
        let env = tracking_env(Some("http://127.0.0.1:8888"), false, &container(&[]), &task());
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
    fn env_keeps_pipeline_server_and_context() {
        let spec = container(&[
            (TRACKING_URI_VAR, "http://mlflow.example:5000"),
            (RUN_CONTEXT_VAR, r#"{"team": "vision"}"#),
        ]);
        let env = tracking_env(Some("http://127.0.0.1:8888"), true, &spec, &task());
        assert_eq!(env.len(), 1);
        let context: Value = serde_json::from_str(&env[0].1).unwrap();
        assert_eq!(context["team"], "vision");
        assert_eq!(context["weir.task_id"], "t1");
    }

    #[test]
    fn env_empty_without_server() {
        assert!(tracking_env(None, true, &container(&[]), &task()).is_empty());
    }

    #[test]
    fn env_token_only_for_weir_server() {
        let env = tracking_env(Some("http://127.0.0.1:8888"), true, &container(&[]), &task());
        let (name, token) = &env[1];
        assert_eq!(name, TOKEN_VAR);
        let encoded = token.strip_prefix(TOKEN_PREFIX).expect("token prefix");
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded).unwrap();
        let tags: Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(tags["weir.task_id"], "t1");
        assert_eq!(tags["weir.task_path"], "loop/0/train");
        // A pipeline's own token is kept.
        let spec = container(&[(TOKEN_VAR, "secret")]);
        let env = tracking_env(Some("http://127.0.0.1:8888"), true, &spec, &task());
        assert!(env.iter().all(|(name, _)| name != TOKEN_VAR));
    }
}
