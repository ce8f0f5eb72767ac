"""Guard for speed work on ingestion: a small mixed day must load to exactly the same rows as before.

The checksum covers every column of the raw tables and of the quarantine (batch id and ingestion time aside, they
change every run) and the per-file figures of the summary. It was computed on the ingestion code before the
single-pass rewrite (commit 0bdbe28) and pinned: a change that alters a value, a line number, a reason, a count or
the choice between loaded, duplicate and quarantined fails here.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

from nightshift.ingest.engine import ingest_source_day
from tests.ingest.test_engine import event, make_source, write

DAY = date(2026, 11, 21)
PINNED_CHECKSUM = "5a2868371d46a8c8728e70f5ff2f8e441f06a96272501f6e06ed11139401a45e"

EVENTS_1 = [
    event("g1", phone="13800138000", amount=1250, tags=["a", "b"], count=3, ok=True, day="2026-11-20"),
    event("g2", phone="+86 138-0013-8001", amount="990", event_time="1763690400", payload={"k": [1, "/"]}),
    event("g3", phone="010 6552 9988", event_time="2026-11-21 09:30:00", ok="0", day="20261119"),
    event("g4", event_time="2026-11-20T23:59:59.500Z", surprise="drift!", other=1),
    event("g1", phone="13800138000", amount=1250, tags=["a", "b"], count=3, ok=True, day="2026-11-20"),  # dup
    "",
    "   \t",
    '{"event_id": "b1", "event_time": ',  # malformed_json
    "[1, 2]",  # JSON, but not an object
    "{}",
    event("", amount=1),  # missing_required
    event("b2", amount="12.5"),  # wrong_type (fen are integers)
    event("b3", phone="12345"),  # invalid_phone
    event("b4", tags='["x", 1]', count="seven", day="2026-02-30", ok="maybe"),
    event("b5", event_time="yesterday", payload="{not json"),
    event("g5", user_id="王五", amount=None, phone=""),
]
EVENTS_2 = [event("g2", phone="+86 138-0013-8001", amount="990", event_time="1763690400", payload={"k": [1, "/"]})]
CONTACTS_PLAIN = (
    "contact_id,mobile,name,created_at\nc1,13800138000,张三,2026-11-21 08:00:00\n\nc2,x\nc3,,李四,\n"
    "c1,13800138000,张三,2026-11-21 08:00:00\n"  # duplicate
)
CONTACTS_QUOTED = 'contact_id,mobile,name,created_at\nq1,13800138000,"Li, Si",\nq2,"1380013800",Wang,\n'


def land_mixed_day(landing) -> None:
    source = "tingest_checksum"
    events_1 = ("\r\n".join(EVENTS_1) + "\n").encode("utf-8") + b'{"event_id": "u1", "user_id": "\xff\xfe"}\n'
    write(landing, source, DAY, "events_1.jsonl", events_1)
    write(landing, source, DAY, "events_2.jsonl", "\ufeff" + "\n".join(EVENTS_2))
    write(landing, source, DAY, "contacts_plain.csv", CONTACTS_PLAIN.encode("gbk"))
    write(landing, source, DAY, "contacts_quoted.csv", CONTACTS_QUOTED)


def day_checksum(client, source_name: str, results) -> str:
    digest = hashlib.sha256()
    for entity in ("events", "contacts"):
        rows = client.query(
            f"SELECT * EXCEPT (_batch_id, _ingested_at) FROM raw.{source_name}__{entity} "
            "ORDER BY _source_file, _line_number"
        ).result_rows
        digest.update(json.dumps(rows, default=str, ensure_ascii=False).encode())
    quarantined = client.query(
        "SELECT * EXCEPT (_batch_id, _ingested_at) FROM raw.quarantine WHERE source = {s:String} "
        "ORDER BY entity, source_file, line_number",
        parameters={"s": source_name},
    ).result_rows
    digest.update(json.dumps(quarantined, default=str, ensure_ascii=False).encode())
    figures = sorted(
        (r.source_file, r.status, r.encoding, r.lines, r.blank_lines, r.loaded, r.duplicates, r.quarantined,
         sorted(r.quarantined_by_reason.items()), r.late_rows, r.drift_rows, r.drift_fields, r.message)
        for r in results
    )  # fmt: skip
    digest.update(json.dumps(figures, ensure_ascii=False).encode())
    return digest.hexdigest()


def test_a_mixed_day_loads_to_the_pinned_rows_quarantine_and_figures(client, tmp_path):
    landing = tmp_path / "landing"
    land_mixed_day(landing)
    source = make_source("tingest_checksum")

    results = ingest_source_day(client, source, DAY, landing)

    by_name = {r.source_file.rsplit("/", 1)[-1]: r for r in results}
    assert by_name["events_1.jsonl"].duplicates == 1 and by_name["events_2.jsonl"].duplicates == 1
    assert by_name["events_1.jsonl"].quarantined_by_reason["undecodable_bytes"] == 1
    assert day_checksum(client, source.name, results) == PINNED_CHECKSUM


BENCH_SHAPES_CHECKSUM = "557e2268757651590dcf40c80585a3d9956837bb1998c55194f5c5a0c4cc16dd"
BAD_EVENTS = [
    '{"event_id": "X1", "event": "pay", ',  # malformed_json
    '{"event": "pay", "event_time": "2026-11-21T10:00:00+08:00", "device_id": "D1"}',  # missing_required
    '{"event_id": "X2", "event": "pay", "event_time": "soon", "device_id": "D1", "amount": 1.5}',  # wrong_type
    "",
    "  ",
    '{"event_id": "X3", "event": "pay", "event_time": "2026-11-20T23:00:00+08:00", "device_id": "D1", "new": 1}',
]
BAD_RECEIPTS = [
    "261121X1,12345,DELIVRD,成功,2026-11-21 10:00:00,u1",  # invalid_phone
    "261121X2,13800138000,DELIVRD,成功,yesterday,u2",  # wrong_type
    "261121X3,13800138000,DELIVRD",  # malformed_csv
    "",
    ",13800138000,UNDELIV,空号,2026-11-20 23:59:59,",  # missing_required
]


def land_bench_shapes(landing, source: str, lines: int) -> None:
    """The benchmark's two files (app events as UTF-8 JSON lines, Chuanglan receipts as GBK CSV) at a small
    scale, with bad lines and exact duplicates spread through them."""
    from bench.ingest import write_chuanglan_receipts, write_events

    day_dir = landing / source / DAY.isoformat()
    day_dir.mkdir(parents=True)
    write_events(day_dir / "events.jsonl", lines)
    write_chuanglan_receipts(day_dir / "chuanglan_sms.csv", lines)
    events = (day_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
    receipts = (day_dir / "chuanglan_sms.csv").read_text(encoding="gbk").splitlines()
    for step, bad in enumerate(BAD_EVENTS):
        events.insert(1 + step * lines // len(BAD_EVENTS), bad)
    for step, bad in enumerate(BAD_RECEIPTS):
        receipts.insert(2 + step * lines // len(BAD_RECEIPTS), bad)
    events += events[10:20]  # duplicates
    receipts += receipts[5:15]
    (day_dir / "events.jsonl").write_text("\n".join(events) + "\n", encoding="utf-8")
    (day_dir / "chuanglan_sms.csv").write_bytes(("\r\n".join(receipts)).encode("gbk"))


def test_the_benchmark_files_load_to_the_pinned_rows_across_chunk_boundaries(client, tmp_path, monkeypatch):
    """The benchmark's entities (app.events, receipts.chuanglan_sms), read in many small pieces so that line
    numbering, blank lines and duplicates are checked across the pieces' boundaries."""
    import dataclasses

    from nightshift.ingest import load
    from nightshift.sources import app, receipts
    from nightshift.sources.model import Source

    monkeypatch.setattr(load, "CHUNK_BYTES", 20_000)
    name = "tingest_bench_shapes"
    source = Source(
        name=name,
        description="the benchmark's entities",
        entities=(
            dataclasses.replace(app.EVENTS, source=name, name="events"),
            dataclasses.replace(receipts.CHUANGLAN_SMS, source=name, name="contacts"),
        ),
    )
    landing = tmp_path / "landing"
    land_bench_shapes(landing, name, 3000)

    results = ingest_source_day(client, source, DAY, landing)

    by_name = {r.source_file.rsplit("/", 1)[-1]: r for r in results}
    assert by_name["events.jsonl"].duplicates == 10 and by_name["chuanglan_sms.csv"].duplicates == 10
    assert by_name["events.jsonl"].blank_lines == 2 and by_name["chuanglan_sms.csv"].blank_lines == 1
    assert set(by_name["chuanglan_sms.csv"].quarantined_by_reason) == {
        "invalid_phone", "wrong_type", "malformed_csv", "missing_required"
    }  # fmt: skip
    assert day_checksum(client, name, results) == BENCH_SHAPES_CHECKSUM
