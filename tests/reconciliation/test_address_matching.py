"""Receipts that come back without the contact's key (a Chuanglan console that drops `uid`) are matched on phone
and business date to the only contact handed over there; ambiguous and unmatched ones are counted, never guessed.

Runs in a fresh installation (its own embedded warehouse) with crafted rows in the tables the SQL reads.
"""

from __future__ import annotations

import json
import textwrap

from tests.conftest import run_python

CRAFTED = textwrap.dedent(
    """
    import json
    from datetime import date
    from nightshift.reconciliation.inputs import receipt_matching_sql, receipts_sql
    from nightshift.warehouse import ensure_databases, get_client
    from nightshift.warehouse.schema import ensure_tables

    client = get_client()
    ensure_databases(client)
    ensure_tables(client, "audience.campaign_audience", "audience.contact_history", "audience.resends")
    client.command("CREATE TABLE raw.receipts__chuanglan_sms (msgid String, mobile Nullable(String), "
                   "status String, reportTime DateTime64(3, 'UTC'), uid Nullable(String), _drop_date Date, "
                   "_line_number UInt64) ENGINE = MergeTree ORDER BY msgid")
    d, run = date(2026, 11, 20), date(2026, 11, 23)
    # alone: one contact at +8613800000001; shared: two contacts at +8613800000002 (two campaigns, same night);
    # held: planned but withheld (never handed over) at +8613800000003; keyed: its receipt echoes the uid
    audience = [("c1", 1, "alone", "+8613800000001"), ("c1", 2, "shared_a", "+8613800000002"),
                ("c2", 3, "shared_b", "+8613800000002"), ("c1", 4, "held", "+8613800000003"),
                ("c1", 5, "keyed", "+8613800000005")]
    client.insert("audience.campaign_audience",
                  [[d, c, one, key, "coupon_copy_a", "sms", ref] for c, one, key, ref in audience],
                  column_names=["run_date", "campaign_id", "one_id", "contact_id", "variant", "channel", "contact_ref"])
    client.insert("audience.contact_history",
                  [[d, c, one, "sms", key, "plan"] for c, one, key, _ in audience if key != "held"],
                  column_names=["run_date", "campaign_id", "one_id", "channel", "contact_id", "source"])
    sent = "2026-11-21 02:01:00"  # 10:01 in Beijing the day after the business date
    receipts = [("m1", "+8613800000001", "DELIVRD", None), ("m2", "+8613800000002", "DELIVRD", None),
                ("m3", "+8613800000003", "UNDELIV", None), ("m4", "+8613899999999", "DELIVRD", None),
                ("m5", "+8613800000005", "DELIVRD", "keyed")]
    from datetime import datetime
    client.insert("raw.receipts__chuanglan_sms",
                  [[m, phone, status, datetime.fromisoformat(sent), uid, date(2026, 11, 21), n]
                   for n, (m, phone, status, uid) in enumerate(receipts)],
                  column_names=["msgid", "mobile", "status", "reportTime", "uid", "_drop_date", "_line_number"])
    tables = {"raw.receipts__chuanglan_sms", "audience.campaign_audience", "audience.resends"}
    found = client.query(f"SELECT contact_id, delivered, vendor_code FROM ({receipts_sql(tables)}) ORDER BY contact_id",
                         parameters={"d": run}).result_rows
    counts = client.query(receipt_matching_sql(tables), parameters={"d": run}).result_rows
    print("RESULT " + json.dumps({"found": [list(r) for r in found], "counts": [list(r) for r in counts]}))
    """
)


def test_keyless_receipts_match_one_contact_by_phone_and_day_and_the_rest_are_counted(tmp_path):
    output = run_python(tmp_path, CRAFTED, timeout=300)
    result = json.loads(
        next(line for line in output.splitlines() if line.startswith("RESULT ")).removeprefix("RESULT ")
    )
    # the keyed receipt by its uid, the lone contact by phone; shared (ambiguous), withheld and unknown: nobody
    assert result["found"] == [["alone", True, "DELIVRD"], ["keyed", True, "DELIVRD"]]
    assert result["counts"] == [["raw.receipts__chuanglan_sms", 1, 1, 1, 2]]
