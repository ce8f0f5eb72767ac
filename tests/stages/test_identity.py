"""Identity stage over three consecutive days in the embedded warehouse: stable one_ids, a merge, a split,
blocklist reporting, re-run idempotency.

The stage reads a test-only catalog (source `idtest`, raw tables `raw.idtest__*` created here), so other
tests' raw data cannot leak in; the identity tables are dropped before and after each test.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from nightshift.identity.config import IdentityConfig, load_identity_config
from nightshift.sources.model import Entity, Field, Source
from nightshift.stages import identity as identity_stage
from nightshift.stages.context import StageContext
from nightshift.warehouse.schema import IDENTITY_DATED_TABLES

DAY_1, DAY_2, DAY_3 = date(2001, 1, 1), date(2001, 1, 2), date(2001, 1, 3)

ACCOUNTS = Entity(
    source="idtest",
    name="accounts",
    file_glob="accounts*.jsonl",
    format="jsonl",
    fields=(
        Field("user_id", "string", required=True, id_type="app_user_id"),
        Field("phone", "phone", id_type="phone"),
        Field("device_ids", "string_array", id_type="device_id"),
        Field("inviter_id", "string", id_type="app_user_id"),
        Field("nickname", "string"),
    ),
)
FOLLOWERS = Entity(
    source="idtest",
    name="followers",
    file_glob="followers*.jsonl",
    format="jsonl",
    fields=(
        Field("openid", "string", required=True, id_type="wechat_oa_openid"),
        Field("unionid", "string", id_type="unionid"),
    ),
)
TEST_SOURCES = {"idtest": Source("idtest", "identity stage test source", (ACCOUNTS, FOLLOWERS))}
CONFIG = IdentityConfig(reference_fields=frozenset({"idtest.accounts.inviter_id"}), max_component_size=50)

RAW_DDL = {
    "raw.idtest__accounts": "user_id String, phone Nullable(String), device_ids Array(String), "
    "inviter_id Nullable(String), nickname Nullable(String), _drop_date Date",
    "raw.idtest__followers": "openid String, unionid Nullable(String), _drop_date Date",
}
P = {n: f"+861390000000{n}" for n in range(1, 8)}  # phones in E.164, as ingestion stores them

ACCOUNTS_BY_DAY = {
    DAY_1: [
        ("U1", P[1], [], "U2"),  # invited by U2: a reference, not the same person
        ("U2", P[2], [], None),
        ("U3", P[3], ["D3"], None),
        ("U4", P[4], ["DX"], None),  # a device shared by U4 and U5 makes them one person on days 1-2
        ("U5", P[5], ["DX"], None),
    ],
    DAY_2: [
        ("U6", P[1], [], None),  # a new account on person 1's phone
        ("U2", P[3], [], None),  # U2 rebinds to U3's phone: persons 2 and 3 merge
    ],
    DAY_3: [],
}
FOLLOWERS_BY_DAY = {DAY_1: [("o1", "un1"), ("o2", None)], DAY_2: [("o7", None)], DAY_3: []}


@pytest.fixture
def identity_warehouse(client):
    def drop_all():
        for table in [*IDENTITY_DATED_TABLES, "identity.identity_map", *RAW_DDL]:
            client.command(f"DROP TABLE IF EXISTS {table}")

    drop_all()
    for table, columns in RAW_DDL.items():
        client.command(f"CREATE TABLE {table} ({columns}) ENGINE = MergeTree PARTITION BY _drop_date ORDER BY tuple()")
    for day in (DAY_1, DAY_2, DAY_3):
        rows = [(*row, None, day) for row in ACCOUNTS_BY_DAY[day]]
        if rows:
            client.insert(
                "raw.idtest__accounts",
                rows,
                column_names=["user_id", "phone", "device_ids", "inviter_id", "nickname", "_drop_date"],
            )
        if FOLLOWERS_BY_DAY[day]:
            client.insert(
                "raw.idtest__followers",
                [(*row, day) for row in FOLLOWERS_BY_DAY[day]],
                column_names=["openid", "unionid", "_drop_date"],
            )
    yield client
    drop_all()


def run_identity(settings, client, run_date: date, config: IdentityConfig):
    ctx = StageContext(run_date=run_date, settings=settings, _client=client)
    return identity_stage.run(ctx, config=config, sources=TEST_SOURCES)


def daily_map(client, run_date: date) -> dict[str, int]:
    rows = client.query(
        "SELECT id_type, id_value, one_id FROM identity.identity_map_daily WHERE run_date = {d:Date}",
        parameters={"d": run_date},
    ).result_rows
    return {f"{id_type}:{value}": one_id for id_type, value, one_id in rows}


def dated_rows(client, table: str, run_date: date) -> list[tuple]:
    return sorted(
        client.query(f"SELECT * FROM {table} WHERE run_date = {{d:Date}}", parameters={"d": run_date}).result_rows
    )


def test_one_ids_are_stable_over_three_days_with_a_merge_a_split_and_reruns(settings, spark, identity_warehouse):
    client = identity_warehouse
    day_3_config = replace(CONFIG, blocked_values={"device_id": ("DX",)})  # DX turns out to be a placeholder

    run_identity(settings, client, DAY_1, CONFIG)
    # Numbered in the order of each person's smallest (id_type, id_value).
    assert daily_map(client, DAY_1) == {
        "app_user_id:U1": 1,
        f"phone:{P[1]}": 1,
        "app_user_id:U2": 2,
        f"phone:{P[2]}": 2,
        "app_user_id:U3": 3,
        f"phone:{P[3]}": 3,
        "device_id:D3": 3,
        "app_user_id:U4": 4,
        f"phone:{P[4]}": 4,
        "device_id:DX": 4,
        "app_user_id:U5": 4,
        f"phone:{P[5]}": 4,
        "unionid:un1": 5,
        "wechat_oa_openid:o1": 5,
        "wechat_oa_openid:o2": 6,
    }

    run_identity(settings, client, DAY_2, CONFIG)
    day_2 = daily_map(client, DAY_2)
    assert day_2["app_user_id:U6"] == 1  # joined a known person: keeps that person's id
    assert {day_2[k] for k in ("app_user_id:U2", "app_user_id:U3", "device_id:D3", f"phone:{P[3]}")} == {2}
    assert day_2["wechat_oa_openid:o7"] == 7  # new person: after the largest id issued
    assert dated_rows(client, "identity.identity_merges", DAY_2) == [(DAY_2, 2, 3, 3)]

    run_identity(settings, client, DAY_3, day_3_config)
    day_3 = daily_map(client, DAY_3)
    assert "device_id:DX" not in day_3
    assert day_3["app_user_id:U4"] == day_3[f"phone:{P[4]}"] == 4  # the tie goes to the part with the smaller id
    assert day_3["app_user_id:U5"] == day_3[f"phone:{P[5]}"] == 8
    assert dated_rows(client, "identity.identity_splits", DAY_3) == [(DAY_3, 4, 8, 2)]
    assert dated_rows(client, "identity.identity_blocked", DAY_3) == [
        (DAY_3, "device_id", "DX", "blocklist", None, None)
    ]
    summary = client.query(
        "SELECT people, ids, merges, splits, blocked_ids, largest_component FROM identity.identity_summary "
        "WHERE run_date = {d:Date}",
        parameters={"d": DAY_3},
    ).result_rows
    assert summary == [(7, 16, 0, 1, 1, 5)]

    first_seen = client.query(
        "SELECT first_seen_date, last_seen_date FROM identity.identity_map WHERE id_value = {p:String}",
        parameters={"p": P[1]},
    ).result_rows
    assert first_seen == [(DAY_1, DAY_2)]

    # Re-running an earlier date after later ones reproduces it exactly, then the latest date again.
    day_2_merges = dated_rows(client, "identity.identity_merges", DAY_2)
    run_identity(settings, client, DAY_2, CONFIG)
    assert daily_map(client, DAY_2) == day_2
    assert dated_rows(client, "identity.identity_merges", DAY_2) == day_2_merges
    run_identity(settings, client, DAY_3, day_3_config)
    assert daily_map(client, DAY_3) == day_3
    current = client.query("SELECT id_type, id_value, one_id FROM identity.identity_map").result_rows
    assert {f"{t}:{v}": one_id for t, v, one_id in current} == day_3


def test_the_shipped_configuration_loads_and_blocks_the_known_placeholders():
    config = load_identity_config()
    assert "+8613800138000" in config.blocked_values["phone"]
    assert "00000000-0000-0000-0000-000000000000" in config.blocked_values["device_id"]
    assert "app.users.inviter_id" in config.reference_fields
    assert config.max_component_size > 1


def test_a_second_same_type_id_field_must_be_declared_a_reference():
    from nightshift.errors import ConfigurationError
    from nightshift.identity.extract import identity_fields

    with pytest.raises(ConfigurationError, match="idtest.accounts.inviter_id"):
        identity_fields(replace(CONFIG, reference_fields=frozenset()), TEST_SOURCES)


def test_free_text_phone_arrays_link_as_e164_phones_and_junk_text_is_dropped(client):
    """WeCom-like `remark_mobiles`: staff type phones any way; identity keeps the valid mobiles, as E.164."""
    from nightshift.identity.extract import edges_sql, identity_fields, nodes_sql, records_sql

    contacts = Entity(
        source="idtest",
        name="contacts",
        file_glob="contacts*.jsonl",
        format="jsonl",
        fields=(
            Field("external_userid", "string", required=True, id_type="wecom_external_userid"),
            Field("remark_mobiles", "string_array", id_type="phone"),
        ),
    )
    client.command("DROP TABLE IF EXISTS raw.idtest__contacts")
    client.command(
        "CREATE TABLE raw.idtest__contacts (external_userid String, remark_mobiles Array(String), _drop_date Date) "
        "ENGINE = MergeTree ORDER BY tuple()"
    )
    try:
        client.insert(
            "raw.idtest__contacts",
            [("wm1", ["139 0000 0008", "+86 139-0000-0009", "call after 6pm", "12345"], DAY_1)],
            column_names=["external_userid", "remark_mobiles", "_drop_date"],
        )
        fields = identity_fields(CONFIG, {"idtest": Source("idtest", "phone arrays", (contacts,))})
        records = records_sql(fields, {"raw.idtest__contacts": {"external_userid", "remark_mobiles", "_drop_date"}})
        parameters = {"run_date": DAY_1}
        nodes = {tuple(r[:2]) for r in client.query(nodes_sql(records), parameters=parameters).result_rows}
        edges = {tuple(r) for r in client.query(edges_sql(records), parameters=parameters).result_rows}
    finally:
        client.command("DROP TABLE IF EXISTS raw.idtest__contacts")
    assert nodes == {
        ("wecom_external_userid", "wm1"),
        ("phone", "+8613900000008"),
        ("phone", "+8613900000009"),
    }
    assert edges == {
        ("wecom_external_userid", "wm1", "phone", "+8613900000008"),
        ("wecom_external_userid", "wm1", "phone", "+8613900000009"),
    }
