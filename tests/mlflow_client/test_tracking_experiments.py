"""Experiments through the `mlflow` client: create, get, get by name, rename, delete and
restore, tags, and search with filters, ordering, view types and page tokens."""

import time

import mlflow
from mlflow.entities import ViewType

from tracking_helpers import follow_pages, now_ms, unique_name


def names(experiments) -> list:
    return [experiment.name for experiment in experiments]


def test_create_and_get(client):
    name = unique_name("create-get")
    before = now_ms()
    experiment_id = client.create_experiment(name, tags={"team": "vision", "owner": "ana"})
    after = now_ms()

    assert isinstance(experiment_id, str)
    experiment = client.get_experiment(experiment_id)
    assert experiment.experiment_id == experiment_id
    assert experiment.name == name
    assert experiment.lifecycle_stage == "active"
    assert experiment.artifact_location == f"mlflow-artifacts:/{experiment_id}"
    assert experiment.tags == {"team": "vision", "owner": "ana"}
    assert before <= experiment.creation_time <= after
    assert experiment.last_update_time == experiment.creation_time

    by_name = client.get_experiment_by_name(name)
    assert by_name.experiment_id == experiment_id
    assert by_name.tags == {"team": "vision", "owner": "ana"}
    fluent = mlflow.get_experiment_by_name(name)
    assert fluent.experiment_id == experiment_id


def test_get_by_unknown_name(client):
    assert client.get_experiment_by_name(unique_name("never-created")) is None


def test_default_experiment(client):
    default = client.get_experiment("0")
    assert default.name == "Default"
    assert default.lifecycle_stage == "active"
    assert client.get_experiment_by_name("Default").experiment_id == "0"


def test_rename(client):
    old_name = unique_name("before-rename")
    new_name = unique_name("after-rename")
    experiment_id = client.create_experiment(old_name)
    created = client.get_experiment(experiment_id)

    client.rename_experiment(experiment_id, new_name)

    renamed = client.get_experiment(experiment_id)
    assert renamed.name == new_name
    assert renamed.creation_time == created.creation_time
    assert renamed.last_update_time >= created.last_update_time
    assert client.get_experiment_by_name(new_name).experiment_id == experiment_id
    assert client.get_experiment_by_name(old_name) is None


def test_delete_and_restore(client):
    name = unique_name("delete-restore")
    experiment_id = client.create_experiment(name)
    run_id = client.create_run(experiment_id).info.run_id
    name_filter = f"name = '{name}'"

    client.delete_experiment(experiment_id)

    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert client.get_experiment_by_name(name).lifecycle_stage == "deleted"
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    active = client.search_experiments(ViewType.ACTIVE_ONLY, filter_string=name_filter)
    deleted = client.search_experiments(ViewType.DELETED_ONLY, filter_string=name_filter)
    every = client.search_experiments(ViewType.ALL, filter_string=name_filter)
    assert names(active) == []
    assert names(deleted) == [name]
    assert names(every) == [name]

    client.restore_experiment(experiment_id)

    assert client.get_experiment(experiment_id).lifecycle_stage == "active"
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    active = client.search_experiments(ViewType.ACTIVE_ONLY, filter_string=name_filter)
    deleted = client.search_experiments(ViewType.DELETED_ONLY, filter_string=name_filter)
    assert names(active) == [name]
    assert names(deleted) == []


def test_tags(client):
    experiment_id = client.create_experiment(unique_name("tags"), tags={"stage": "draft"})

    client.set_experiment_tag(experiment_id, "stage", "final")
    client.set_experiment_tag(experiment_id, "dataset", "digits")
    assert client.get_experiment(experiment_id).tags == {"stage": "final", "dataset": "digits"}

    client.delete_experiment_tag(experiment_id, "stage")
    assert client.get_experiment(experiment_id).tags == {"dataset": "digits"}


def create_search_set(client, prefix: str) -> list:
    """Create five experiments `<prefix>-a` .. `<prefix>-e`, oldest first, tagged with
    `parity` even (a, c, e) or odd (b, d), and return their names."""
    created = []
    for index, letter in enumerate("abcde"):
        name = f"{prefix}-{letter}"
        parity = "even" if index % 2 == 0 else "odd"
        client.create_experiment(name, tags={"parity": parity})
        created.append(name)
        # Distinct creation times, so the default order (newest first) has no ties.
        time.sleep(0.005)
    return created


def test_search_filter_and_order(client):
    prefix = unique_name("search")
    created = create_search_set(client, prefix)
    in_set = f"name LIKE '{prefix}-%'"

    by_name = client.search_experiments(filter_string=in_set, order_by=["name ASC"])
    assert names(by_name) == created

    newest_first = client.search_experiments(filter_string=in_set)
    assert names(newest_first) == list(reversed(created))

    even_desc = client.search_experiments(
        filter_string=f"{in_set} AND tags.parity = 'even'", order_by=["name DESC"]
    )
    assert names(even_desc) == [f"{prefix}-e", f"{prefix}-c", f"{prefix}-a"]

    case_blind = client.search_experiments(
        filter_string=f"name ILIKE '{prefix.upper()}-%' AND tags.parity != 'even'",
        order_by=["creation_time ASC"],
    )
    assert names(case_blind) == [f"{prefix}-b", f"{prefix}-d"]

    exact = client.search_experiments(filter_string=f"name = '{prefix}-c'")
    assert names(exact) == [f"{prefix}-c"]
    assert names(client.search_experiments(filter_string=f"name = '{prefix}-z'")) == []


def test_search_created_after(client):
    prefix = unique_name("created-after")
    created = create_search_set(client, prefix)
    third = client.get_experiment_by_name(created[2])

    later = client.search_experiments(
        filter_string=f"name LIKE '{prefix}-%' AND creation_time >= {third.creation_time}",
        order_by=["name ASC"],
    )
    assert names(later) == created[2:]


def test_search_pages(client):
    prefix = unique_name("pages")
    created = create_search_set(client, prefix)
    in_set = f"name LIKE '{prefix}-%'"

    pages = follow_pages(
        lambda token: client.search_experiments(
            filter_string=in_set, order_by=["name ASC"], max_results=2, page_token=token
        )
    )
    assert [names(page) for page in pages] == [created[0:2], created[2:4], created[4:5]]

    # The fluent API follows the page tokens itself.
    fluent = mlflow.search_experiments(filter_string=in_set, order_by=["name DESC"])
    assert names(fluent) == list(reversed(created))
    limited = mlflow.search_experiments(
        filter_string=in_set, order_by=["name DESC"], max_results=3
    )
    assert names(limited) == list(reversed(created))[:3]
