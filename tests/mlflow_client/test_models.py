"""Models through the `mlflow` client: log a trained scikit-learn model with
`mlflow.sklearn.log_model`, register it, load it back by alias, version, run and model id and
get the trained model's predictions, and read MLflow 3's logged-model entities."""

import dataclasses

import mlflow
import numpy as np
import pytest
from mlflow.exceptions import MlflowException
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from tracking_helpers import assert_mlflow_error, now_ms, unique_name

# Files `mlflow.sklearn.log_model` writes in mlflow 3.17.2, which saves the model in the skops
# format by default.
SKLEARN_MODEL_FILES = [
    "MLmodel",
    "conda.yaml",
    "model.skops",
    "python_env.yaml",
    "requirements.txt",
]


@dataclasses.dataclass
class LoggedSklearnModel:
    experiment_id: str
    run_id: str
    model_id: str
    registered_name: str
    model: LogisticRegression
    features: np.ndarray
    logged_after_ms: int


@pytest.fixture(scope="module")
def logged(client):
    """A logistic regression trained on iris, logged in a run as `model` with the param
    `C`, registered as version 1 of a new model with the alias `champion`."""
    features, labels = load_iris(return_X_y=True)
    model = LogisticRegression(C=0.5, max_iter=500).fit(features, labels)
    experiment_id = client.create_experiment(unique_name("models"))
    registered_name = unique_name("iris-classifier")
    before = now_ms()
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_param("C", 0.5)
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name=registered_name
        )
    client.set_registered_model_alias(registered_name, "champion", "1")
    return LoggedSklearnModel(
        experiment_id=experiment_id,
        run_id=run.info.run_id,
        model_id=info.model_id,
        registered_name=registered_name,
        model=model,
        features=features,
        logged_after_ms=before,
    )


def test_log_model_info(logged):
    model_id = logged.model_id
    assert model_id.startswith("m-")
    logged_model = mlflow.get_logged_model(model_id)
    assert logged_model.model_id == model_id
    assert logged_model.name == "model"
    assert logged_model.experiment_id == logged.experiment_id
    assert logged_model.source_run_id == logged.run_id
    assert logged_model.status.to_proto() == mlflow.entities.LoggedModelStatus.READY.to_proto()
    assert logged_model.model_uri == f"models:/{model_id}"
    expected_location = f"mlflow-artifacts:/{logged.experiment_id}/models/{model_id}/artifacts"
    assert logged_model.artifact_location == expected_location
    assert logged_model.creation_timestamp >= logged.logged_after_ms
    assert logged_model.last_updated_timestamp >= logged_model.creation_timestamp


def test_run_records_model_output(client, logged):
    outputs = client.get_run(logged.run_id).outputs.model_outputs
    assert [(output.model_id, output.step) for output in outputs] == [(logged.model_id, 0)]


def test_model_artifacts(logged):
    files = mlflow.artifacts.list_artifacts(artifact_uri=f"models:/{logged.model_id}")
    assert sorted(f.path for f in files) == SKLEARN_MODEL_FILES


def test_registered_version(client, logged):
    version = client.get_model_version(logged.registered_name, "1")
    assert version.name == logged.registered_name
    assert version.version == "1"
    assert version.source == f"models:/{logged.model_id}"
    assert version.run_id == logged.run_id
    assert version.status == "READY"
    assert version.current_stage == "None"
    assert version.aliases == ["champion"]
    location = mlflow.get_logged_model(logged.model_id).artifact_location
    assert client.get_model_version_download_uri(logged.registered_name, "1") == location


@pytest.mark.parametrize(
    "uri",
    [
        "models:/{registered_name}@champion",
        "models:/{registered_name}/1",
        "models:/{model_id}",
        "runs:/{run_id}/model",
    ],
    ids=["alias", "version", "model-id", "run"],
)
def test_pyfunc_predictions_match(logged, uri):
    model_uri = uri.format(**dataclasses.asdict(logged))

    loaded = mlflow.pyfunc.load_model(model_uri)

    expected = logged.model.predict(logged.features)
    np.testing.assert_array_equal(loaded.predict(logged.features), expected)


def test_sklearn_flavor_probabilities_match(logged):
    loaded = mlflow.sklearn.load_model(f"models:/{logged.registered_name}@champion")

    expected = logged.model.predict_proba(logged.features)
    np.testing.assert_array_equal(loaded.predict_proba(logged.features), expected)


def test_search_logged_models(client, logged):
    experiment_id = logged.experiment_id
    # A second model that is never finalized, so it stays PENDING.
    draft = mlflow.initialize_logged_model(
        name="draft",
        experiment_id=experiment_id,
        model_type="classifier",
        tags={"owner": "ana"},
        params={"alpha": "0.5"},
    )

    every = mlflow.search_logged_models(
        experiment_ids=[experiment_id],
        order_by=[{"field_name": "creation_timestamp", "ascending": True}],
        output_format="list",
    )
    assert [m.model_id for m in every] == [logged.model_id, draft.model_id]
    newest_first = mlflow.search_logged_models(
        experiment_ids=[experiment_id], output_format="list"
    )
    assert [m.model_id for m in newest_first] == [draft.model_id, logged.model_id]
    by_name = mlflow.search_logged_models(
        experiment_ids=[experiment_id], filter_string="name = 'draft'", output_format="list"
    )
    assert [m.model_id for m in by_name] == [draft.model_id]
    by_param = mlflow.search_logged_models(
        experiment_ids=[experiment_id],
        filter_string="params.alpha = '0.5'",
        output_format="list",
    )
    assert [m.model_id for m in by_param] == [draft.model_id]

    fetched = mlflow.get_logged_model(draft.model_id)
    assert fetched.name == "draft"
    assert fetched.model_type == "classifier"
    assert fetched.status.to_proto() == mlflow.entities.LoggedModelStatus.PENDING.to_proto()
    # The client adds its own `mlflow.user` and `mlflow.source.*` tags.
    own_tags = {key: value for key, value in fetched.tags.items() if not key.startswith("mlflow.")}
    assert own_tags == {"owner": "ana"}
    assert fetched.tags["mlflow.source.type"] == "LOCAL"
    assert fetched.params == {"alpha": "0.5"}
    assert fetched.source_run_id == ""


def test_finalize_logged_model(client, experiment_id):
    draft = mlflow.initialize_logged_model(name="finalize-me", experiment_id=experiment_id)

    client.finalize_logged_model(draft.model_id, "READY")

    fetched = mlflow.get_logged_model(draft.model_id)
    assert fetched.status.to_proto() == mlflow.entities.LoggedModelStatus.READY.to_proto()


def test_unknown_logged_model():
    with pytest.raises(MlflowException) as excinfo:
        mlflow.get_logged_model("m-" + "0" * 32)
    assert_mlflow_error(excinfo, "RESOURCE_DOES_NOT_EXIST", "m-" + "0" * 32)


def test_bad_logged_model_filter(experiment_id):
    with pytest.raises(MlflowException) as excinfo:
        mlflow.search_logged_models(
            experiment_ids=[experiment_id], filter_string="name >> 'x'", output_format="list"
        )
    assert_mlflow_error(excinfo, "INVALID_PARAMETER_VALUE")
