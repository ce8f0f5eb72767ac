"""The contact key in every engine (nightshift/campaigns/contact_id.py) and bringing an installation older than the
contact tables up to date in place (nightshift/audiences/contacts.py), on the embedded warehouse and local Spark."""

from __future__ import annotations

import re
from datetime import date

import pytest

from nightshift.audiences.contacts import ensure_contact_history, ensure_contact_ids, ensure_contact_tables
from nightshift.campaigns.contact_id import CONTACT_ID_CLICKHOUSE, contact_id, contact_id_column
from nightshift.warehouse.schema import CAMPAIGN_AUDIENCE_DDL, EXCLUSIONS_DDL

# (campaign_id, run_date, one_id, channel): a holdout row (no channel), a one_id past 32 bits, a year boundary.
CONTACTS = [
    ("winback_lapsed", date(2026, 11, 20), 42, "sms"),
    ("winback_lapsed", date(2026, 11, 20), 42, ""),
    ("winback_lapsed", date(2026, 11, 21), 42, "sms"),
    ("trade_in_push", date(2026, 12, 31), 2**40 + 7, "app_push"),
    ("vip_care_call", date(2027, 1, 1), 1, "outbound_call"),
]
TABLES = ("audience.campaign_audience", "audience.contact_history")


def _clickhouse_keys(client) -> list[str]:
    values = ", ".join(f"('{c}', '{d.isoformat()}', {i}, '{ch}')" for c, d, i, ch in CONTACTS)
    rows = client.query(
        f"SELECT {CONTACT_ID_CLICKHOUSE} FROM values('campaign_id String, run_date Date, one_id UInt64, "
        f"channel String', {values})"
    ).result_rows
    return [key for (key,) in rows]


def test_contact_id_is_the_same_in_python_spark_and_clickhouse(spark, client):
    from pyspark.sql import functions as F

    expected = [contact_id(*contact) for contact in CONTACTS]
    assert all(re.fullmatch(r"[0-9a-f]{32}", key) for key in expected)
    assert len(set(expected)) == len(CONTACTS), "every part of the key changes the key"

    frame = spark.createDataFrame(CONTACTS, "campaign_id string, run_date date, one_id long, channel string")
    key = contact_id_column(F.col("campaign_id"), F.col("run_date"), F.col("one_id"), F.col("channel"))
    assert [row.contact_id for row in frame.select(key.alias("contact_id")).collect()] == expected
    assert _clickhouse_keys(client) == expected


@pytest.fixture
def old_installation(client):
    """An `audience.campaign_audience` as created before contact_id existed, with two dates of rows (treated and
    holdout), and no contact history. Both are dropped afterwards."""
    for table in TABLES:
        client.command(f"DROP TABLE IF EXISTS {table}")
    old_ddl = CAMPAIGN_AUDIENCE_DDL.replace("    contact_id   String,\n", "")
    assert old_ddl != CAMPAIGN_AUDIENCE_DDL
    client.command(old_ddl)
    client.command(
        "INSERT INTO audience.campaign_audience (run_date, campaign_id, one_id, variant, channel, contact_ref, "
        "send_at, benefit_id, cost_fen) VALUES "
        "('2026-11-20', 'winback_lapsed', 42, 'coupon_copy_a', 'sms', '+8613800000042', '2026-11-20 02:00:00', "
        "'coupon_5_yuan', 500), "
        "('2026-11-20', 'winback_lapsed', 43, 'holdout', '', '', '2026-11-20 02:00:00', 'coupon_5_yuan', 0), "
        "('2026-11-21', 'trade_in_push', 1099511627783, 'a', 'app_push', 'app-7', '2026-11-21 02:00:00', "
        "'trade_in_bonus_20_yuan', 2000)"
    )
    yield
    for table in (*TABLES, "audience.campaign_audience_declared"):
        client.command(f"DROP TABLE IF EXISTS {table}")


def _columns(client, table: str) -> list[tuple[str, str]]:
    database, name = table.split(".")
    return client.query(
        "SELECT name, type FROM system.columns WHERE database = {d:String} AND table = {t:String} ORDER BY position",
        parameters={"d": database, "t": name},
    ).result_rows


def test_an_installation_older_than_the_contact_id_is_brought_up_to_date_in_place(client, old_installation):
    assert ensure_contact_ids(client) is True

    # the upgraded table has exactly the declared columns, in the declared order
    client.command(CAMPAIGN_AUDIENCE_DDL.replace("audience.campaign_audience", "audience.campaign_audience_declared"))
    assert _columns(client, "audience.campaign_audience") == _columns(client, "audience.campaign_audience_declared")

    # older rows are keyed by ClickHouse exactly as Spark keys new rows (the Python reference is the judge)
    rows = client.query(
        "SELECT campaign_id, run_date, one_id, channel, contact_id FROM audience.campaign_audience ORDER BY one_id"
    ).result_rows
    assert [key for *_, key in rows] == [contact_id(c, d, i, ch) for c, d, i, ch, _ in rows]

    assert ensure_contact_ids(client) is False  # once up to date, nothing more happens


def test_an_installation_older_than_the_contact_history_gets_one_seeded_with_what_was_exported(
    client, old_installation
):
    ensure_contact_tables(client)
    history = client.query(
        "SELECT run_date, campaign_id, one_id, channel, contact_id, cost_fen, source FROM audience.contact_history "
        "ORDER BY run_date"
    ).result_rows
    # what the export stage handed over before the table existed: the treated rows (not 43, the holdout row)
    assert history == [
        (date(2026, 11, 20), "winback_lapsed", 42, "sms", contact_id("winback_lapsed", date(2026, 11, 20), 42, "sms"),
         500, "plan"),
        (date(2026, 11, 21), "trade_in_push", 2**40 + 7, "app_push",
         contact_id("trade_in_push", date(2026, 11, 21), 2**40 + 7, "app_push"), 2000, "plan"),
    ]  # fmt: skip
    assert ensure_contact_history(client) is None  # seeded once: the next call leaves the table alone
    assert client.query("SELECT count() FROM audience.contact_history").result_rows == [(2,)]


def test_a_fresh_installation_gets_an_empty_history_and_leaves_the_audience_table_to_its_stage(client):
    for table in TABLES:
        client.command(f"DROP TABLE IF EXISTS {table}")
    ensure_contact_tables(client)
    assert client.query("SELECT count() FROM audience.contact_history").result_rows == [(0,)]
    assert _columns(client, "audience.campaign_audience") == []  # the audiences stage creates it, as declared
    client.command("DROP TABLE audience.contact_history")


def test_exclusions_older_than_the_arm_and_channel_columns_gain_them_in_place(client):
    client.command("DROP TABLE IF EXISTS audience.exclusions")
    added = ",\n    variant      LowCardinality(String),\n    channel      LowCardinality(String)"
    old_ddl = EXCLUSIONS_DDL.replace(added, "")
    assert old_ddl != EXCLUSIONS_DDL
    client.command(old_ddl)
    client.command("INSERT INTO audience.exclusions VALUES ('2026-11-20', 'winback_lapsed', 42, 'budget')")
    try:
        ensure_contact_tables(client)
        client.command(EXCLUSIONS_DDL.replace("audience.exclusions", "audience.exclusions_declared"))
        assert _columns(client, "audience.exclusions") == _columns(client, "audience.exclusions_declared")
        rows = client.query("SELECT one_id, reason, variant, channel FROM audience.exclusions").result_rows
        assert rows == [(42, "budget", "", "")]  # an older row: arm and channel unknown, never guessed
    finally:
        for table in ("audience.exclusions", "audience.exclusions_declared", *TABLES):
            client.command(f"DROP TABLE IF EXISTS {table}")
