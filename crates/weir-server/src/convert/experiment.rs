//! Experiments: `v2beta1Experiment` JSON and the create request.

use serde::{Deserialize, Serialize};
use weir_store::ExperimentRecord;

use super::{de_string, non_empty, optional_timestamp, timestamp};

#[derive(Debug, Serialize)]
pub struct ApiExperiment {
    pub experiment_id: String,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub storage_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run_created_at: Option<String>,
}

impl From<&ExperimentRecord> for ApiExperiment {
    fn from(record: &ExperimentRecord) -> Self {
        ApiExperiment {
            experiment_id: record.experiment_id.clone(),
            display_name: record.display_name.clone(),
            description: non_empty(&record.description),
            created_at: timestamp(record.created_at),
            namespace: non_empty(&record.namespace),
            storage_state: record.storage_state.as_str(),
            last_run_created_at: optional_timestamp(record.last_run_created_at),
        }
    }
}

/// Body of `POST /experiments`: the fields a client may set.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ExperimentBody {
    #[serde(alias = "displayName", deserialize_with = "de_string")]
    pub display_name: String,
    #[serde(deserialize_with = "de_string")]
    pub description: String,
    #[serde(deserialize_with = "de_string")]
    pub namespace: String,
}
