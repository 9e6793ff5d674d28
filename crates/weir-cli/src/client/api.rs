//! Typed calls of the KFP v2beta1 API: runs, logs, pipelines and experiments.
//!
//! Listings read as many pages as the limit needs, newest first. Runs and experiments given by
//! name are found with a `display_name` filter, as the kfp client does.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::types::{Experiment, Page, Pipeline, PipelineVersion, Run, TrackingLinks};
use super::{Call, Client, ClientError, Fetched};

/// Largest page the server sends, because it caps `page_size` at this.
const MAX_PAGE_SIZE: usize = 200;

/// Maximum pages one listing reads, so a server that keeps sending page tokens cannot loop the
/// client forever.
const MAX_PAGES: usize = 10_000;

/// Items a name lookup reads to report that a name is ambiguous.
const NAME_LOOKUP_LIMIT: usize = 20;

/// Filter of a run listing.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunFilter<'a> {
    /// A KFP `RuntimeState` name.
    pub state: Option<&'a str>,
    pub experiment_id: Option<&'a str>,
    pub display_name: Option<&'a str>,
}

impl Client {
    pub async fn get_run(&self, run_id: &str) -> Result<Fetched<Run>, ClientError> {
        self.fetch(Call::get(&["runs", run_id])).await
    }

    /// Reads the MLflow tracking runs and model versions that a run's tasks made.
    pub async fn run_tracking_links(
        &self,
        run_id: &str,
    ) -> Result<Fetched<TrackingLinks>, ClientError> {
        self.fetch(Call::get(&["runs", run_id, "mlflow-runs"])).await
    }

    /// Reads a run by id, or else by its name when exactly one run has it.
    pub async fn find_run(&self, reference: &str) -> Result<Fetched<Run>, ClientError> {
        let not_found = match self.get_run(reference).await {
            Err(error @ ClientError::Api { status: 404, .. }) => error,
            other => return other,
        };
        let filter = RunFilter { display_name: Some(reference), ..RunFilter::default() };
        let runs = self.list_runs(filter, NAME_LOOKUP_LIMIT).await?;
        match runs.as_slice() {
            [] => Err(not_found),
            [run] => self.get_run(&run.item.run_id).await,
            many => Err(ClientError::Ambiguous {
                kind: "run",
                name: reference.to_string(),
                count: many.len(),
                ids: many.iter().map(|run| run.item.run_id.as_str()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Lists up to `limit` runs, newest first.
    pub async fn list_runs(
        &self,
        filter: RunFilter<'_>,
        limit: usize,
    ) -> Result<Vec<Fetched<Run>>, ClientError> {
        let mut predicates = Vec::new();
        if let Some(state) = filter.state {
            predicates.push(equals("state", state));
        }
        if let Some(name) = filter.display_name {
            predicates.push(equals("display_name", name));
        }
        let mut query = vec![("filter", json!({ "predicates": predicates }).to_string())];
        if let Some(experiment_id) = filter.experiment_id {
            query.push(("experiment_id", experiment_id.to_string()));
        }
        self.list(&["runs"], "runs", &query, limit).await
    }

    /// Creates a run from a `v2beta1Run` request body.
    pub async fn create_run(&self, body: &Value) -> Result<Fetched<Run>, ClientError> {
        self.fetch(Call::post(&["runs"]).json(body)).await
    }

    /// Sends `POST /runs/{id}:{verb}`: `terminate`, `retry`, `archive` or `unarchive`.
    pub async fn run_action(&self, run_id: &str, verb: &str) -> Result<(), ClientError> {
        let segment = format!("{run_id}:{verb}");
        self.fetch::<Value>(Call::post(&["runs", &segment])).await.map(drop)
    }

    pub async fn delete_run(&self, run_id: &str) -> Result<(), ClientError> {
        self.fetch::<Value>(Call::delete(&["runs", run_id])).await.map(drop)
    }

    /// Returns the run log: task starts and ends, retries, skipped tasks and executor notes.
    pub async fn run_log(&self, run_id: &str) -> Result<Vec<u8>, ClientError> {
        self.bytes(Call::get(&["runs", run_id, "logs"])).await
    }

    /// Returns a task's stdout and stderr. `task` is a task id, a task path, or a name that one
    /// task has.
    pub async fn task_log(&self, run_id: &str, task: &str) -> Result<Vec<u8>, ClientError> {
        self.bytes(Call::get(&["runs", run_id, "tasks", task, "logs"])).await
    }

    /// Uploads a pipeline file as a new pipeline with its first version.
    pub async fn upload_pipeline(
        &self,
        file_name: String,
        bytes: Vec<u8>,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<Fetched<Pipeline>, ClientError> {
        let mut call = Call::post(&["pipelines", "upload"]).file(file_name, bytes);
        if let Some(name) = name {
            call = call.query("name", name);
        }
        if let Some(description) = description {
            call = call.query("description", description);
        }
        self.fetch(call).await
    }

    /// Uploads a pipeline file as a new version of pipeline `pipeline_id`.
    pub async fn upload_pipeline_version(
        &self,
        file_name: String,
        bytes: Vec<u8>,
        pipeline_id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<Fetched<PipelineVersion>, ClientError> {
        let mut call = Call::post(&["pipelines", "upload_version"])
            .file(file_name, bytes)
            .query("pipelineid", pipeline_id);
        if let Some(name) = name {
            call = call.query("name", name);
        }
        if let Some(description) = description {
            call = call.query("description", description);
        }
        self.fetch(call).await
    }

    pub async fn list_pipelines(
        &self,
        limit: usize,
    ) -> Result<Vec<Fetched<Pipeline>>, ClientError> {
        self.list(&["pipelines"], "pipelines", &[], limit).await
    }

    pub async fn get_pipeline(&self, pipeline_id: &str) -> Result<Fetched<Pipeline>, ClientError> {
        self.fetch(Call::get(&["pipelines", pipeline_id])).await
    }

    pub async fn list_pipeline_versions(
        &self,
        pipeline_id: &str,
        limit: usize,
    ) -> Result<Vec<Fetched<PipelineVersion>>, ClientError> {
        let segments = ["pipelines", pipeline_id, "versions"];
        self.list(&segments, "pipeline_versions", &[], limit).await
    }

    /// Reads a pipeline version with its spec.
    pub async fn get_pipeline_version(
        &self,
        pipeline_id: &str,
        version_id: &str,
    ) -> Result<Fetched<PipelineVersion>, ClientError> {
        self.fetch(Call::get(&["pipelines", pipeline_id, "versions", version_id])).await
    }

    /// Deletes a pipeline, and with `cascade` its versions too. Without it, the pipeline must
    /// have no versions.
    pub async fn delete_pipeline(
        &self,
        pipeline_id: &str,
        cascade: bool,
    ) -> Result<(), ClientError> {
        let mut call = Call::delete(&["pipelines", pipeline_id]);
        if cascade {
            call = call.query("cascade", "true");
        }
        self.fetch::<Value>(call).await.map(drop)
    }

    pub async fn create_experiment(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> Result<Fetched<Experiment>, ClientError> {
        let body = json!({"display_name": name, "description": description.unwrap_or_default()});
        self.fetch(Call::post(&["experiments"]).json(&body)).await
    }

    pub async fn list_experiments(
        &self,
        limit: usize,
    ) -> Result<Vec<Fetched<Experiment>>, ClientError> {
        self.list(&["experiments"], "experiments", &[], limit).await
    }

    /// Returns the experiment named `name`, or `None` when there is none.
    pub async fn find_experiment_by_name(
        &self,
        name: &str,
    ) -> Result<Option<Fetched<Experiment>>, ClientError> {
        let filter = json!({ "predicates": [equals("display_name", name)] }).to_string();
        let found = self.list(&["experiments"], "experiments", &[("filter", filter)], 2).await?;
        Ok(found.into_iter().next())
    }

    /// Sends `POST /experiments/{id}:{verb}`: `archive` or `unarchive`.
    pub async fn experiment_action(
        &self,
        experiment_id: &str,
        verb: &str,
    ) -> Result<(), ClientError> {
        let segment = format!("{experiment_id}:{verb}");
        self.fetch::<Value>(Call::post(&["experiments", &segment])).await.map(drop)
    }

    pub async fn delete_experiment(&self, experiment_id: &str) -> Result<(), ClientError> {
        self.fetch::<Value>(Call::delete(&["experiments", experiment_id])).await.map(drop)
    }

    /// Reads up to `limit` items of a listing, newest first, following page tokens.
    async fn list<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        key: &str,
        query: &[(&'static str, String)],
        limit: usize,
    ) -> Result<Vec<Fetched<T>>, ClientError> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let remaining = limit.saturating_sub(items.len());
            if remaining == 0 {
                break;
            }
            let mut call = Call::get(segments)
                .query("page_size", remaining.min(MAX_PAGE_SIZE).to_string())
                .query("sort_by", "created_at desc");
            for (name, value) in query {
                call = call.query(name, value.clone());
            }
            if let Some(token) = &token {
                call = call.query("page_token", token.clone());
            }
            let page: Fetched<Page> = self.fetch(call).await?;
            let listed = page.json.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
            for json in listed.into_iter().take(remaining) {
                let item = serde_json::from_value(json.clone()).map_err(|e| {
                    ClientError::InvalidResponse {
                        method: "GET".to_string(),
                        url: segments.join("/"),
                        server: self.server().to_string(),
                        cause: format!("unexpected JSON shape of an item of `{key}` ({e})"),
                    }
                })?;
                items.push(Fetched { item, json });
            }
            token = page.item.next_page_token.filter(|token| !token.is_empty());
            if token.is_none() {
                break;
            }
        }
        Ok(items)
    }
}

/// Returns a filter predicate `key EQUALS value`.
fn equals(key: &str, value: &str) -> Value {
    json!({"key": key, "operation": "EQUALS", "string_value": value})
}
