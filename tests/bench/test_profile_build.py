"""The replication behind bench/profile_build.py: which relations it copies, and that copies stay consistent.

Small tables in the session's embedded warehouse; nothing is timed here (the benchmark prints its figures).
"""

from __future__ import annotations

import pytest

from bench.profile_build import (
    frontier_relations,
    graph_edge_relations,
    identifier_columns,
    node_kinds,
    replication_sql,
)

COPIES = 4


def _manifest() -> dict:
    """A tiny dbt graph: mart <- table + view; view <- staging view <- source; a seed beside them."""

    def model(name: str, schema: str, materialized: str, parents: list[str]) -> dict:
        return {
            "name": name,
            "resource_type": "model",
            "schema": schema,
            "alias": name,
            "config": {"materialized": materialized},
            "depends_on": {"nodes": parents},
        }

    return {
        "metadata": {"project_name": "nightshift"},
        "nodes": {
            "model.nightshift.user_profile": model(
                "user_profile",
                "marts",
                "table",
                ["model.nightshift.int_people", "model.nightshift.int_app_users", "seed.nightshift.tag_catalogue"],
            ),
            "model.nightshift.user_tags": model("user_tags", "marts", "table", ["model.nightshift.user_profile"]),
            "model.nightshift.int_people": model("int_people", "intermediate", "table", []),
            "model.nightshift.int_app_users": model(
                "int_app_users", "intermediate", "view", ["model.nightshift.stg_app__users"]
            ),
            "model.nightshift.stg_app__users": model(
                "stg_app__users", "staging", "view", ["source.nightshift.app.users"]
            ),
            "seed.nightshift.tag_catalogue": {
                "name": "tag_catalogue",
                "resource_type": "seed",
                "schema": "marts",
                "alias": "tag_catalogue",
                "config": {"materialized": "seed"},
                "depends_on": {"nodes": []},
            },
        },
        "sources": {
            "source.nightshift.app.users": {
                "name": "users",
                "resource_type": "source",
                "schema": "raw",
                "identifier": "app__users",
            }
        },
    }


def test_frontier_looks_through_views_to_tables_and_sources_and_skips_seeds_and_the_marts():
    assert frontier_relations(_manifest(), ("user_profile", "user_tags")) == [
        "intermediate.int_people",
        "raw.app__users",
    ]


def test_graph_edge_is_every_source_and_snapshot_history():
    manifest = _manifest()
    manifest["nodes"]["snapshot.nightshift.user_tag_history"] = {
        "name": "user_tag_history",
        "resource_type": "snapshot",
        "schema": "snapshots",
        "alias": "user_tag_history",
        "depends_on": {"nodes": ["model.nightshift.user_tags"]},
    }
    assert graph_edge_relations(manifest) == ["raw.app__users", "snapshots.user_tag_history"]


def test_node_kinds_put_tests_under_the_layer_they_test():
    manifest = _manifest()
    manifest["nodes"]["test.nightshift.unique_user_profile_one_id"] = {
        "name": "unique_user_profile_one_id",
        "resource_type": "test",
        "schema": "marts",
        "depends_on": {"nodes": ["model.nightshift.user_profile"]},
    }
    manifest["unit_tests"] = {"unit_test.nightshift.user_profile.edge": {}}
    kinds = node_kinds(manifest)
    assert kinds["test.nightshift.unique_user_profile_one_id"] == "test on marts"
    assert kinds["model.nightshift.stg_app__users"] == "model: staging"
    assert kinds["unit_test.nightshift.user_profile.edge"] == "unit test"


def test_raw_identifiers_are_the_catalog_ids_and_string_record_keys():
    columns = {"order_id": "String", "user_id": "String", "receiver_phone": "Nullable(String)", "status": "String"}
    assert identifier_columns("raw.orders__orders", columns) == ("order_id", "user_id", "receiver_phone")
    # a numeric provider key is not suffixed (it cannot be), nor is a table the bench does not know
    assert identifier_columns("raw.receipts__chuanglan_sms", {"msgid": "Int64", "mobile": "String"}) == ("mobile",)
    assert identifier_columns("marts.anything", columns) == ()


def test_replication_suffixes_array_ids_and_recomputes_derived_columns(client):
    client.command("create database if not exists bench_test")
    client.command("drop table if exists bench_test.history")
    client.command("drop table if exists bench_test.history_base")
    client.command(
        "create table bench_test.history_base (person_tag_key String, one_id UInt64, tag_code String, "
        "device_ids Array(String), valid_from Date) engine = MergeTree order by one_id"
    )
    client.command("insert into bench_test.history_base values ('3:age', 3, 'age', ['d1', ''], '2026-11-20')")
    client.command("create table bench_test.history as bench_test.history_base")
    columns = [
        ("person_tag_key", "String"),
        ("one_id", "UInt64"),
        ("tag_code", "String"),
        ("device_ids", "Array(String)"),
        ("valid_from", "Date"),
    ]
    derived = {
        "person_tag_key": "concat(toString({one_id}), ':', tag_code)",
        "valid_from": "valid_from - 1",
    }
    sql = replication_sql("bench_test.history", columns, 3, 10, "bench_test.history_base", ("device_ids",), derived)
    client.command(sql)
    rows = client.query(
        "select person_tag_key, one_id, device_ids, toString(valid_from) from bench_test.history order by one_id"
    ).result_rows
    assert rows == [
        ("3:age", 3, ["d1", ""], "2026-11-19"),
        ("13:age", 13, ["d1~1", ""], "2026-11-19"),
        ("23:age", 23, ["d1~2", ""], "2026-11-19"),
    ]


def test_frontier_refuses_an_unknown_model():
    with pytest.raises(ValueError, match="one model per name"):
        frontier_relations(_manifest(), ("user_profile", "no_such_mart"))


def test_replication_keeps_rows_per_copy_unique_one_ids_and_joinable_identifiers(client):
    client.command("create database if not exists bench_test")
    client.command("drop table if exists bench_test.people")
    client.command("drop table if exists bench_test.people_base")
    client.command(
        "create table bench_test.people_base (one_id UInt64, app_user_id String, phone Nullable(String), "
        "score Int64) engine = MergeTree order by one_id"
    )
    client.command("insert into bench_test.people_base values (1, 'a1', '138', 5), (2, '', null, 6), (7, 'a7', '', 7)")
    client.command("create table bench_test.people as bench_test.people_base")
    columns = [("one_id", "UInt64"), ("app_user_id", "String"), ("phone", "Nullable(String)"), ("score", "Int64")]
    identifiers = ("app_user_id", "phone")
    client.command(replication_sql("bench_test.people", columns, COPIES, 8, "bench_test.people_base", identifiers))

    rows, people, scores, app_users, empty_ids, null_phones = client.query(
        "select count(), uniqExact(one_id), sum(score), uniqExact(app_user_id), countIf(app_user_id = ''), "
        "countIf(phone is null) from bench_test.people"
    ).result_rows[0]
    assert (rows, people, scores) == (3 * COPIES, 3 * COPIES, 18 * COPIES)
    assert (app_users, empty_ids, null_phones) == (2 * COPIES + 1, COPIES, COPIES)  # '' and null stay so
    copy_2 = client.query("select one_id, app_user_id, phone from bench_test.people where one_id = 7 + 2 * 8")
    assert copy_2.result_rows == [(23, "a7~2", "")]
    originals = client.query("select one_id, app_user_id from bench_test.people where one_id < 8 order by one_id")
    assert originals.result_rows == [(1, "a1"), (2, ""), (7, "a7")]


def test_replication_refuses_a_relation_whose_copies_would_be_duplicates():
    with pytest.raises(ValueError, match="neither one_id nor identifier"):
        replication_sql("raw.lookup", [("code", "String")], COPIES, 8, "bench_base.lookup")
