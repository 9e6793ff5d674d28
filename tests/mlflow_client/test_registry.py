"""The model registry through the `mlflow` client: registered models and their versions,
version numbers, aliases, stage transitions, search with filters, order and page tokens,
rename, delete, tags, descriptions and download URIs.

Each test registers models under a unique prefix and searches only inside it.
"""

import dataclasses

import pytest
from mlflow.exceptions import MlflowException

from tracking_helpers import assert_mlflow_error, follow_pages, now_ms, unique_name

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(transition_model_version_stage|get_latest_versions).*:FutureWarning"
)


@dataclasses.dataclass
class SourceRun:
    run_id: str
    source: str


@pytest.fixture(scope="module")
def source_run(client):
    """A run whose `model` artifact folder is the source of the versions these tests create."""
    experiment_id = client.create_experiment(unique_name("registry"))
    run = client.create_run(experiment_id)
    return SourceRun(run_id=run.info.run_id, source=f"{run.info.artifact_uri}/model")


def register(client, source_run, name: str, count: int, **version_fields) -> list:
    """Create the registered model `name` with `count` versions and return the versions."""
    client.create_registered_model(name)
    return [
        client.create_model_version(name, source_run.source, source_run.run_id, **version_fields)
        for _ in range(count)
    ]


def versions_of(client, name: str) -> list:
    """Return (version, stage) of each version of `name`, newest first."""
    found = client.search_model_versions(f"name = '{name}'", order_by=["version_number DESC"])
    return [(version.version, version.current_stage) for version in found]


def test_create_registered_model(client):
    name = unique_name("create")
    before = now_ms()

    created = client.create_registered_model(
        name, tags={"team": "vision"}, description="digit classifier"
    )

    assert created.name == name
    assert created.description == "digit classifier"
    assert created.tags == {"team": "vision"}
    fetched = client.get_registered_model(name)
    assert fetched.name == name
    assert fetched.description == "digit classifier"
    assert fetched.tags == {"team": "vision"}
    assert fetched.aliases == {}
    assert fetched.latest_versions == []
    assert fetched.creation_timestamp >= before
    assert fetched.last_updated_timestamp == fetched.creation_timestamp


def test_duplicate_registered_model(client):
    name = unique_name("duplicate")
    client.create_registered_model(name)

    with pytest.raises(MlflowException) as excinfo:
        client.create_registered_model(name)
    assert_mlflow_error(excinfo, "RESOURCE_ALREADY_EXISTS", name)


def test_version_numbers(client, source_run):
    name = unique_name("numbers")
    created = register(client, source_run, name, 3, description="candidate")

    assert [version.version for version in created] == ["1", "2", "3"]
    first = client.get_model_version(name, "1")
    assert first.name == name
    assert first.source == source_run.source
    assert first.run_id == source_run.run_id
    assert first.status == "READY"
    assert first.current_stage == "None"
    assert first.description == "candidate"
    assert first.aliases == []

    # A deleted version's number is not given out again.
    client.delete_model_version(name, "3")
    fourth = client.create_model_version(name, source_run.source, source_run.run_id)
    assert fourth.version == "4"
    assert versions_of(client, name) == [("4", "None"), ("2", "None"), ("1", "None")]
    with pytest.raises(MlflowException) as excinfo:
        client.get_model_version(name, "3")
    assert_mlflow_error(excinfo, "RESOURCE_DOES_NOT_EXIST", name)


def test_download_uri(client, source_run):
    name = unique_name("download")
    register(client, source_run, name, 1)

    assert client.get_model_version_download_uri(name, "1") == source_run.source


def test_aliases(client, source_run):
    name = unique_name("aliases")
    register(client, source_run, name, 3)

    client.set_registered_model_alias(name, "champion", "2")
    client.set_registered_model_alias(name, "challenger", "3")
    champion = client.get_model_version_by_alias(name, "champion")
    assert champion.version == "2"
    assert champion.aliases == ["champion"]
    assert client.get_registered_model(name).aliases == {"champion": "2", "challenger": "3"}
    assert client.get_model_version(name, "3").aliases == ["challenger"]

    # Setting an alias again moves it to the new version.
    client.set_registered_model_alias(name, "champion", "3")
    assert client.get_model_version_by_alias(name, "champion").version == "3"
    assert sorted(client.get_model_version(name, "3").aliases) == ["challenger", "champion"]
    assert client.get_model_version(name, "2").aliases == []

    client.delete_registered_model_alias(name, "champion")
    assert client.get_registered_model(name).aliases == {"challenger": "3"}
    with pytest.raises(MlflowException) as excinfo:
        client.get_model_version_by_alias(name, "champion")
    assert_mlflow_error(excinfo, "INVALID_PARAMETER_VALUE", "champion")


@pytest.mark.parametrize(
    ("alias", "version", "error_code"),
    [
        ("latest", "1", "INVALID_PARAMETER_VALUE"),
        ("v1", "1", "INVALID_PARAMETER_VALUE"),
        ("champion", "99", "RESOURCE_DOES_NOT_EXIST"),
    ],
)
def test_bad_alias(client, source_run, alias, version, error_code):
    name = unique_name("bad-alias")
    register(client, source_run, name, 1)

    with pytest.raises(MlflowException) as excinfo:
        client.set_registered_model_alias(name, alias, version)
    assert_mlflow_error(excinfo, error_code)
    assert client.get_registered_model(name).aliases == {}


def test_stage_transitions(client, source_run):
    name = unique_name("stages")
    register(client, source_run, name, 4)

    staged = client.transition_model_version_stage(name, "1", "Staging")
    assert staged.current_stage == "Staging"
    client.transition_model_version_stage(name, "2", "Production")
    # Stage names are matched without regard to case.
    promoted = client.transition_model_version_stage(
        name, "3", "production", archive_existing_versions=True
    )
    assert promoted.current_stage == "Production"

    assert versions_of(client, name) == [
        ("4", "None"),
        ("3", "Production"),
        ("2", "Archived"),
        ("1", "Staging"),
    ]
    latest = client.get_latest_versions(name)
    assert {v.current_stage: v.version for v in latest} == {
        "Staging": "1",
        "Archived": "2",
        "Production": "3",
        "None": "4",
    }
    production = client.get_latest_versions(name, stages=["Production"])
    assert [version.version for version in production] == ["3"]
    latest_in_model = client.get_registered_model(name).latest_versions
    assert sorted(version.version for version in latest_in_model) == ["1", "2", "3", "4"]

    # Without archive_existing_versions, other versions keep their stage.
    client.transition_model_version_stage(name, "4", "Staging")
    assert versions_of(client, name) == [
        ("4", "Staging"),
        ("3", "Production"),
        ("2", "Archived"),
        ("1", "Staging"),
    ]


def test_bad_stage(client, source_run):
    name = unique_name("bad-stage")
    register(client, source_run, name, 1)

    with pytest.raises(MlflowException) as excinfo:
        client.transition_model_version_stage(name, "1", "Prod")
    assert_mlflow_error(excinfo, "INVALID_PARAMETER_VALUE", "Prod")
    assert client.get_model_version(name, "1").current_stage == "None"


def test_search_registered_models(client, source_run):
    prefix = unique_name("search")
    names = [f"{prefix}-{letter}" for letter in "abcde"]
    for index, name in enumerate(names):
        tags = {"parity": "even" if index % 2 == 0 else "odd"}
        client.create_registered_model(name, tags=tags)
    in_set = f"name LIKE '{prefix}-%'"

    ascending = client.search_registered_models(filter_string=in_set, order_by=["name ASC"])
    assert [model.name for model in ascending] == names
    odd = client.search_registered_models(
        filter_string=f"{in_set} AND tags.parity = 'odd'", order_by=["name DESC"]
    )
    assert [model.name for model in odd] == [names[3], names[1]]
    exact = client.search_registered_models(filter_string=f"name = '{names[2]}'")
    assert [model.name for model in exact] == [names[2]]
    case_blind = client.search_registered_models(
        filter_string=f"name ILIKE '{prefix.upper()}-A'"
    )
    assert [model.name for model in case_blind] == [names[0]]

    pages = follow_pages(
        lambda token: client.search_registered_models(
            filter_string=in_set, order_by=["name ASC"], max_results=2, page_token=token
        )
    )
    assert [[model.name for model in page] for page in pages] == [
        names[0:2],
        names[2:4],
        names[4:5],
    ]


def test_search_model_versions(client, source_run):
    name = unique_name("versions")
    register(client, source_run, name, 5)
    client.set_model_version_tag(name, "2", "validated", "yes")
    client.set_model_version_tag(name, "4", "validated", "yes")
    in_model = f"name = '{name}'"

    ascending = client.search_model_versions(in_model, order_by=["version_number ASC"])
    assert [version.version for version in ascending] == ["1", "2", "3", "4", "5"]
    recent = client.search_model_versions(f"{in_model} AND version_number >= 3")
    assert sorted(version.version for version in recent) == ["3", "4", "5"]
    validated = client.search_model_versions(
        f"{in_model} AND tags.validated = 'yes'", order_by=["version_number DESC"]
    )
    assert [version.version for version in validated] == ["4", "2"]
    by_run = client.search_model_versions(
        f"{in_model} AND run_id = '{source_run.run_id}'", order_by=["version_number DESC"]
    )
    assert [version.version for version in by_run] == ["5", "4", "3", "2", "1"]

    pages = follow_pages(
        lambda token: client.search_model_versions(
            in_model, order_by=["version_number DESC"], max_results=2, page_token=token
        )
    )
    assert [[version.version for version in page] for page in pages] == [
        ["5", "4"],
        ["3", "2"],
        ["1"],
    ]


def test_rename(client, source_run):
    old_name = unique_name("rename-old")
    new_name = unique_name("rename-new")
    register(client, source_run, old_name, 2)
    client.set_registered_model_alias(old_name, "champion", "2")

    client.rename_registered_model(old_name, new_name)

    fetched = client.get_registered_model(new_name)
    assert fetched.name == new_name
    assert fetched.aliases == {"champion": "2"}
    assert client.get_model_version(new_name, "1").name == new_name
    assert client.get_model_version_by_alias(new_name, "champion").version == "2"
    assert versions_of(client, new_name) == [("2", "None"), ("1", "None")]
    with pytest.raises(MlflowException) as excinfo:
        client.get_registered_model(old_name)
    assert_mlflow_error(excinfo, "RESOURCE_DOES_NOT_EXIST", old_name)


def test_delete_registered_model(client, source_run):
    name = unique_name("delete")
    register(client, source_run, name, 2)

    client.delete_registered_model(name)

    with pytest.raises(MlflowException) as excinfo:
        client.get_registered_model(name)
    assert_mlflow_error(excinfo, "RESOURCE_DOES_NOT_EXIST", name)
    with pytest.raises(MlflowException) as excinfo:
        client.get_model_version(name, "1")
    assert_mlflow_error(excinfo, "RESOURCE_DOES_NOT_EXIST")
    assert client.search_model_versions(f"name = '{name}'") == []


def test_tags_and_descriptions(client, source_run):
    name = unique_name("tags")
    register(client, source_run, name, 1)

    client.set_registered_model_tag(name, "team", "vision")
    client.set_registered_model_tag(name, "temporary", "yes")
    client.delete_registered_model_tag(name, "temporary")
    client.set_model_version_tag(name, "1", "validated", "no")
    client.set_model_version_tag(name, "1", "validated", "yes")
    client.set_model_version_tag(name, "1", "temporary", "yes")
    client.delete_model_version_tag(name, "1", "temporary")
    client.update_registered_model(name, description="new description")
    client.update_model_version(name, "1", description="first candidate")

    model = client.get_registered_model(name)
    assert model.tags == {"team": "vision"}
    assert model.description == "new description"
    version = client.get_model_version(name, "1")
    assert version.tags == {"validated": "yes"}
    assert version.description == "first candidate"


def test_unknown_registered_model(client):
    name = unique_name("never-registered")
    with pytest.raises(MlflowException) as excinfo:
        client.get_registered_model(name)
    assert_mlflow_error(excinfo, "RESOURCE_DOES_NOT_EXIST", name)
    with pytest.raises(MlflowException) as excinfo:
        client.get_model_version(name, "1")
    assert_mlflow_error(excinfo, "RESOURCE_DOES_NOT_EXIST", name)


@pytest.mark.parametrize("filter_string", ["nm = 'x'", "name = x", "name >> 'x'"])
def test_bad_registered_model_filter(client, filter_string):
    with pytest.raises(MlflowException) as excinfo:
        client.search_registered_models(filter_string=filter_string)
    assert_mlflow_error(excinfo, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize("filter_string", ["nm = 'x'", "name = x"])
def test_bad_model_version_filter(client, filter_string):
    with pytest.raises(MlflowException) as excinfo:
        client.search_model_versions(filter_string=filter_string)
    assert_mlflow_error(excinfo, "INVALID_PARAMETER_VALUE")
