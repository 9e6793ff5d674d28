"""Train, evaluate and conditionally register a handwritten-digit classifier.

The example pipeline an ML team would hand to Weir. It uses the digits
dataset that ships with scikit-learn (`sklearn.datasets.load_digits`, 1797
8x8 images, 10 classes), so no task downloads anything:

1. `prepare-data` splits the images into train and test CSV `Dataset`s.
2. `train-model` fits an `MLPClassifier` for `epochs` passes over the
   training set and writes the fitted model as a joblib `Model`.
3. `evaluate-model` computes the test accuracy, writes a `Metrics` and a
   `ClassificationMetrics` artifact, and returns the accuracy.
4. `register-model` runs only when the accuracy is at least
   `accuracy_threshold`, and writes a JSON `registration` artifact.

The components import scikit-learn, numpy and joblib without installing
them (`packages_to_install` is empty), so the Python that runs a task must
already have them. On a cluster that means an image with scikit-learn in
place of `python:3.11`.

MLflow: Weir gives every task MLFLOW_TRACKING_URI, the address of its own
MLflow-compatible tracking server, and tags that name the Weir run and task.
Training logs its parameters and per-epoch metrics to an MLflow run and logs
the fitted pipeline as an MLflow scikit-learn model. Evaluation logs the test
accuracy to the same run. Registration registers that model as a new version
of `model_name` in the model registry and points the `champion` alias at it,
so `mlflow.pyfunc.load_model("models:/digits-mlp@champion")` loads it. The
run goes to the experiment named by MLFLOW_EXPERIMENT_NAME, or to MLflow's
default experiment. Where MLFLOW_TRACKING_URI is unset (another runner), no
task imports mlflow.

Caching is left on (the SDK default) except for `register-model`, so each
run that reaches the threshold registers a new version. A cached
`train-model` logs nothing to MLflow.

Compile with `python pipelines/train_pipeline.py`, which writes
`pipelines/train_pipeline.yaml` next to this file.
"""

import os
from typing import NamedTuple

from kfp import compiler, dsl
from kfp.dsl import Artifact, ClassificationMetrics, Dataset, Input, Metrics, Model, Output

# The SDK default, written out because the default moves to python:3.12 in
# October 2027 (kfp 2.17.3 warns about it).
BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def prepare_data(
    test_fraction: float,
    seed: int,
    train: Output[Dataset],
    test: Output[Dataset],
):
    """Split the scikit-learn digits dataset into train and test CSV files.

    Each CSV has a header row (`pixel_0` .. `pixel_63`, `label`) and one row
    per image, with pixel intensities from 0 to 16.
    """
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data,
        digits.target,
        test_size=test_fraction,
        random_state=seed,
        stratify=digits.target,
    )
    n_features = digits.data.shape[1]
    header = ",".join([f"pixel_{i}" for i in range(n_features)] + ["label"])

    for artifact, x, y in [(train, x_train, y_train), (test, x_test, y_test)]:
        table = np.column_stack([x, y]).astype(int)
        np.savetxt(artifact.path, table, fmt="%d", delimiter=",", header=header, comments="")
        artifact.metadata["rows"] = int(len(y))
        artifact.metadata["features"] = int(n_features)
        artifact.metadata["classes"] = int(len(np.unique(y)))
        artifact.metadata["source"] = "sklearn.datasets.load_digits"
        artifact.metadata["format"] = "csv"
    print(f"train rows: {len(y_train)}, test rows: {len(y_test)}")


@dsl.component(base_image=BASE_IMAGE)
def train_model(
    train: Input[Dataset],
    epochs: int,
    lr: float,
    hidden_units: int,
    seed: int,
    model: Output[Model],
):
    """Fit a one-hidden-layer MLPClassifier, one `partial_fit` call per epoch.

    Pixel values are scaled to [0, 1] by a MinMaxScaler that is saved with
    the classifier as one scikit-learn Pipeline, so the model takes raw CSV
    rows. The training loss and accuracy of every epoch are printed and, when
    MLFLOW_TRACKING_URI is set, logged to MLflow with the epoch as step, and
    the fitted pipeline is logged as an MLflow scikit-learn model.
    """
    import contextlib
    import os

    import joblib
    import numpy as np
    import sklearn
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler

    table = np.loadtxt(train.path, delimiter=",", skiprows=1)
    x, y = table[:, :-1], table[:, -1].astype(int)
    scaler = MinMaxScaler().fit(x)
    x_scaled = scaler.transform(x)
    classes = np.unique(y)
    classifier = MLPClassifier(
        hidden_layer_sizes=(hidden_units,),
        learning_rate_init=lr,
        random_state=seed,
    )

    mlflow = None
    run_context = contextlib.nullcontext()
    if os.environ.get("MLFLOW_TRACKING_URI"):
        import mlflow
        import mlflow.sklearn

        # Leaving the block ends the run, as FAILED if an exception escapes.
        run_context = mlflow.start_run()

    with run_context:
        if mlflow is not None:
            mlflow.log_params(
                {"epochs": epochs, "lr": lr, "hidden_units": hidden_units, "seed": seed}
            )
            mlflow.set_tag("train_rows", str(len(y)))

        loss = float("nan")
        accuracy = float("nan")
        for epoch in range(1, epochs + 1):
            classifier.partial_fit(x_scaled, y, classes=classes)
            loss = float(classifier.loss_)
            accuracy = float(classifier.score(x_scaled, y))
            print(f"epoch {epoch}/{epochs}: loss={loss:.4f} train_accuracy={accuracy:.4f}")
            if mlflow is not None:
                mlflow.log_metrics({"train_loss": loss, "train_accuracy": accuracy}, step=epoch)

        joblib.dump(Pipeline([("scale", scaler), ("mlp", classifier)]), model.path)
        model.metadata["framework"] = "scikit-learn"
        model.metadata["framework_version"] = sklearn.__version__
        model.metadata["format"] = "joblib"
        model.metadata["epochs"] = epochs
        model.metadata["lr"] = lr
        model.metadata["hidden_units"] = hidden_units
        model.metadata["final_loss"] = loss
        model.metadata["train_accuracy"] = accuracy

        if mlflow is not None:
            # Listing the requirements skips MLflow's slower inference of them. MLflow
            # saves with skops, which loads only the types listed as trusted.
            logged = mlflow.sklearn.log_model(
                Pipeline([("scale", scaler), ("mlp", classifier)]),
                name="model",
                pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
                skops_trusted_types=[
                    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer"
                ],
            )
            model.metadata["mlflow_run_id"] = mlflow.active_run().info.run_id
            model.metadata["mlflow_model_uri"] = logged.model_uri


@dsl.component(base_image=BASE_IMAGE)
def evaluate_model(
    model: Input[Model],
    test: Input[Dataset],
    metrics: Output[Metrics],
    confusion: Output[ClassificationMetrics],
) -> float:
    """Return the model's accuracy on the test set and log it as metrics.

    When MLFLOW_TRACKING_URI is set and training logged to MLflow, the test
    accuracy is also logged to the training run.
    """
    import os

    import joblib
    import numpy as np
    from sklearn.metrics import confusion_matrix

    table = np.loadtxt(test.path, delimiter=",", skiprows=1)
    x, y = table[:, :-1], table[:, -1].astype(int)
    predicted = joblib.load(model.path).predict(x)
    accuracy = float(np.mean(predicted == y))

    metrics.log_metric("accuracy", accuracy)
    metrics.log_metric("test_rows", int(len(y)))
    labels = sorted(int(label) for label in np.unique(y))
    matrix = confusion_matrix(y, predicted, labels=labels)
    confusion.log_confusion_matrix([str(label) for label in labels], matrix.tolist())
    print(f"test accuracy: {accuracy:.4f} on {len(y)} rows")

    run_id = model.metadata.get("mlflow_run_id")
    if os.environ.get("MLFLOW_TRACKING_URI") and run_id:
        import mlflow

        with mlflow.start_run(run_id=run_id):
            mlflow.log_metric("test_accuracy", accuracy)
    return accuracy


@dsl.component(base_image=BASE_IMAGE)
def register_model(
    model: Input[Model],
    accuracy: float,
    model_name: str,
    registry_dir: str,
    registration: Output[Artifact],
):
    """Register the model and describe the registration in a JSON artifact.

    The model version comes from, in order of preference:
    * the MLflow model registry, when MLFLOW_TRACKING_URI is set and training
      logged an MLflow model: a new version of `model_name` made from that
      model, which the `champion` alias then points at;
    * `registry_dir`, when it is not empty: the model file is copied to
      `<registry_dir>/<model_name>/<version>/model.joblib`, with the version
      one above the highest existing one;
    * otherwise the version is 1 and nothing is copied.
    """
    import json
    import os
    import shutil

    record = {
        "model_name": model_name,
        "model_uri": model.uri,
        "accuracy": accuracy,
    }
    model_uri = model.metadata.get("mlflow_model_uri")
    if os.environ.get("MLFLOW_TRACKING_URI") and model_uri:
        import mlflow

        version = mlflow.register_model(
            model_uri,
            model_name,
            tags={"accuracy": str(accuracy), "kfp_model_uri": model.uri},
        )
        mlflow.MlflowClient().set_registered_model_alias(model_name, "champion", version.version)
        record.update(registry="mlflow", version=int(version.version))
        record["registered_uri"] = f"models:/{model_name}/{version.version}"
    elif registry_dir:
        model_dir = os.path.join(registry_dir, model_name)
        os.makedirs(model_dir, exist_ok=True)
        versions = [int(name) for name in os.listdir(model_dir) if name.isdigit()]
        version = max(versions, default=0) + 1
        target = os.path.join(model_dir, str(version), "model.joblib")
        os.makedirs(os.path.dirname(target))
        shutil.copyfile(model.path, target)
        record.update(registry="directory", version=version, registered_uri=target)
    else:
        record.update(registry="none", version=1, registered_uri=model.uri)

    with open(registration.path, "w") as f:
        json.dump(record, f, indent=2, sort_keys=True)
    registration.metadata.update(
        {"model_name": model_name, "version": record["version"], "registry": record["registry"]}
    )
    print(f"registered {model_name} version {record['version']} in {record['registry']}")


@dsl.pipeline(
    name="digits-train",
    description="Train an MLP on the scikit-learn digits dataset and register it "
    "when its test accuracy reaches a threshold.",
)
def train_pipeline(
    epochs: int = 20,
    lr: float = 0.01,
    hidden_units: int = 64,
    test_fraction: float = 0.25,
    seed: int = 0,
    accuracy_threshold: float = 0.9,
    model_name: str = "digits-mlp",
    registry_dir: str = "",
) -> NamedTuple("Outputs", accuracy=float, model=Model):
    data = prepare_data(test_fraction=test_fraction, seed=seed)
    trained = train_model(
        train=data.outputs["train"],
        epochs=epochs,
        lr=lr,
        hidden_units=hidden_units,
        seed=seed,
    )
    evaluated = evaluate_model(model=trained.outputs["model"], test=data.outputs["test"])
    with dsl.If(evaluated.outputs["Output"] >= accuracy_threshold, name="accuracy-reached"):
        register_model(
            model=trained.outputs["model"],
            accuracy=evaluated.outputs["Output"],
            model_name=model_name,
            registry_dir=registry_dir,
        ).set_caching_options(False)
    outputs = NamedTuple("Outputs", accuracy=float, model=Model)
    return outputs(accuracy=evaluated.outputs["Output"], model=trained.outputs["model"])


if __name__ == "__main__":
    compiler.Compiler().compile(
        train_pipeline, os.path.splitext(os.path.abspath(__file__))[0] + ".yaml"
    )
