"""The replication behind bench/profile_build.py: which relations it copies, and that copies stay consistent.

Small tables in the session's embedded warehouse; nothing is timed here (the benchmark prints its figures).
"""

from __future__ import annotations

import pytest

from bench.profile_build import frontier_relations, replication_sql

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
