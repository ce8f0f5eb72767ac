"""Ingestion against the real embedded ClickHouse, with small hand-made landing files.

Test sources (`tingest_*`) are declared here, not in the catalog, and land in a per-test landing root, so
the raw tables they create never collide with the simulated sources.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from nightshift.ingest.engine import ingest_source_day
from nightshift.ingest.errors import InvariantViolation
from nightshift.ingest.load import FileResult
from nightshift.sources.model import QUARANTINE_REASONS, Entity, Field, Source
from tests.conftest import CDNOW_FILE

DAY = date(2026, 11, 21)
NEXT_DAY = date(2026, 11, 22)


def events_entity(source: str) -> Entity:
    return Entity(
        source=source,
        name="events",
        file_glob="events*.jsonl",
        format="jsonl",
        event_time_field="event_time",
        fields=(
            Field("event_id", "string", required=True),
            Field("user_id", "string"),
            Field("phone", "phone"),
            Field("amount", "amount_fen"),
            Field("event_time", "timestamp", required=True),
            Field("tags", "string_array"),
            Field("count", "int"),
            Field("ok", "bool"),
            Field("day", "date"),
            Field("payload", "json"),
        ),
    )


def contacts_entity(source: str) -> Entity:
    return Entity(
        source=source,
        name="contacts",
        file_glob="contacts*.csv",
        format="csv",
        fields=(
            Field("contact_id", "string", required=True),
            Field("mobile", "phone"),
            Field("name", "string"),
            Field("created_at", "timestamp"),
        ),
    )


def make_source(name: str) -> Source:
    return Source(name=name, description="test source", entities=(events_entity(name), contacts_entity(name)))


def event(event_id: str, **fields) -> str:
    record = {"event_id": event_id, "event_time": "2026-11-21T10:00:00+08:00", **fields}
    return json.dumps(record, ensure_ascii=False)


def write(landing: Path, source: str, day: date, name: str, content: str | bytes) -> Path:
    path = landing / source / day.isoformat() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def by_file(results: list[FileResult]) -> dict[str, FileResult]:
    return {Path(r.source_file).name: r for r in results}


def assert_equations(results: list[FileResult]) -> None:
    for result in results:
        if result.status in ("loaded", "replaced", "reloaded", "skipped"):
            assert result.lines == result.loaded + result.duplicates + result.quarantined, result


def quarantine(client, source: str) -> list[dict]:
    return list(
        client.query(
            "SELECT entity, source_file, line_number, raw_line, reason_code, reason FROM raw.quarantine "
            "WHERE source = {s:String} ORDER BY entity, source_file, line_number",
            parameters={"s": source},
        ).named_results()
    )


@pytest.fixture
def landing(tmp_path) -> Path:
    return tmp_path / "landing"


def test_every_quarantine_reason_is_produced_with_an_actionable_message(client, landing):
    source = make_source("tingest_reasons")
    lines = [
        event("e1", phone="13800138000", amount=1250),
        '{"event_id": "e2", "event_time": ',  # malformed_json
        event("", amount=1),  # missing_required (empty identifier)
        event("e4", amount="12.5"),  # wrong_type: fen are integers
        event("e5", phone="12345"),  # invalid_phone
    ]
    data = ("\n".join(lines) + "\n").encode() + b'{"event_id": "e6", "user_id": "\xff\xfe"}\n'  # undecodable
    write(landing, source.name, DAY, "events.jsonl", data)
    write(landing, source.name, DAY, "contacts.csv", "contact_id,mobile,name,created_at\nc1,13800138000,Li,\nc2,x\n")

    results = by_file(ingest_source_day(client, source, DAY, landing))

    assert_equations(list(results.values()))
    assert (results["events.jsonl"].lines, results["events.jsonl"].loaded) == (6, 1)
    assert results["events.jsonl"].quarantined_by_reason == {
        "malformed_json": 1,
        "missing_required": 1,
        "wrong_type": 1,
        "invalid_phone": 1,
        "undecodable_bytes": 1,
    }
    assert results["contacts.csv"].quarantined_by_reason == {"malformed_csv": 1}
    rows = {row["reason_code"]: row for row in quarantine(client, source.name)}
    assert set(rows) == set(QUARANTINE_REASONS)
    assert rows["invalid_phone"]["line_number"] == 5
    assert "field `phone` value '12345' is not a valid phone number" in rows["invalid_phone"]["reason"]
    assert "field `amount` value '12.5'" in rows["wrong_type"]["reason"]
    assert "required field `event_id`" in rows["missing_required"]["reason"]
    assert "2 columns but the header declares 4" in rows["malformed_csv"]["reason"]
    assert rows["malformed_csv"]["source_file"] == f"{source.name}/{DAY}/contacts.csv"
    assert rows["undecodable_bytes"]["line_number"] == 6
    for row in rows.values():
        assert "deliver the file again" in row["reason"] or "re-export" in row["reason"], row["reason"]


def test_values_are_normalised_and_originals_kept(client, landing):
    source = make_source("tingest_normalise")
    lines = [
        event(
            "n1",
            phone="+86 138-0013-8000",
            amount="990",
            event_time="1763690400",
            tags=["a", "b"],
            count="7",
            ok=True,
            day="2026-11-20",
            payload={"k": [1, 2]},
        ),
        event("n2", phone="010 6552 9988", event_time="2026-11-21 09:30:00", ok="0", day="20261119"),
        event("n3", event_time="2026-11-20T23:59:59.500Z", surprise="drift!", other=1),
    ]
    write(landing, source.name, DAY, "events.jsonl", "\n".join(lines) + "\n")

    result = ingest_source_day(client, source, DAY, landing)[0]

    assert (result.loaded, result.quarantined) == (3, 0)
    assert (result.drift_rows, result.drift_fields) == (1, ["other", "surprise"])
    rows = {row["event_id"]: row for row in client.query(f"SELECT * FROM raw.{source.name}__events").named_results()}
    n1, n2, n3 = rows["n1"], rows["n2"], rows["n3"]
    assert (n1["phone"], n1["phone_original"]) == ("+8613800138000", "+86 138-0013-8000")
    assert n2["phone"] == "+861065529988"  # a Beijing landline goes through phonenumbers in Python
    assert (n1["amount"], n1["amount_original"]) == (990, "990")
    assert n2["amount"] is None
    assert n1["event_time"] == datetime(2025, 11, 21, 2, 0, tzinfo=UTC).replace(tzinfo=None)
    assert n2["event_time"] == datetime(2026, 11, 21, 1, 30)  # naive ISO is Asia/Shanghai
    assert n3["event_time"] == datetime(2026, 11, 20, 23, 59, 59, 500000)
    assert (n1["tags"], n1["count"], n1["ok"], n1["day"]) == (["a", "b"], 7, 1, date(2026, 11, 20))
    assert (n2["ok"], n2["day"], n2["tags"]) == (0, date(2026, 11, 19), [])
    assert json.loads(n1["payload"]) == {"k": [1, 2]}
    assert json.loads(n3["_extra"]) == {"surprise": "drift!", "other": 1}
    assert n1["_extra"] == ""
    # Late: event day (Beijing) before the drop day. n3 is 2026-11-21 07:59 in Beijing: on time.
    assert (n1["_is_late"], n2["_is_late"], n3["_is_late"]) == (1, 0, 0)
    assert result.late_rows == 1
    assert n1["_source_file"] == f"{source.name}/{DAY}/events.jsonl"
    assert (n1["_line_number"], n3["_line_number"], n1["_drop_date"]) == (1, 3, DAY)


def test_duplicate_lines_are_loaded_once_and_counted_where_they_repeat(client, landing):
    source = make_source("tingest_dups")
    write(landing, source.name, DAY, "events_1.jsonl", "\n".join([event("d1"), event("d2"), event("d1")]) + "\n\n")
    write(landing, source.name, DAY, "events_2.jsonl", "\n".join([event("d2"), event("d3")]) + "\n")

    results = by_file(ingest_source_day(client, source, DAY, landing))

    assert_equations(list(results.values()))
    first, second = results["events_1.jsonl"], results["events_2.jsonl"]
    assert (first.lines, first.loaded, first.duplicates, first.blank_lines) == (3, 2, 1, 1)
    assert (second.lines, second.loaded, second.duplicates) == (2, 1, 1)
    ids = client.query(f"SELECT event_id FROM raw.{source.name}__events ORDER BY event_id").result_columns[0]
    assert ids == ["d1", "d2", "d3"]


def test_reingesting_a_day_is_exactly_once(client, landing):
    source = make_source("tingest_once")
    table = f"raw.{source.name}__events"
    write(landing, source.name, DAY, "events.jsonl", "\n".join([event("a"), event("b", phone="1"), event("a")]))
    write(landing, source.name, NEXT_DAY, "events.jsonl", event("z") + "\n")
    first = by_file(ingest_source_day(client, source, DAY, landing))
    ingest_source_day(client, source, NEXT_DAY, landing)

    def counts():
        raw = client.query(f"SELECT _drop_date, count(), any(_batch_id) FROM {table} GROUP BY 1 ORDER BY 1").result_rows
        quarantined = client.command(f"SELECT count() FROM raw.quarantine WHERE source = '{source.name}'")
        return raw, quarantined

    before = counts()
    again = by_file(ingest_source_day(client, source, DAY, landing))
    assert again["events.jsonl"].status == "skipped"
    assert (again["events.jsonl"].lines, again["events.jsonl"].loaded, again["events.jsonl"].duplicates) == (3, 1, 1)
    same_counts = ("lines", "loaded", "duplicates", "quarantined", "quarantined_by_reason", "late_rows", "drift_rows")
    assert [getattr(again["events.jsonl"], k) for k in same_counts] == [
        getattr(first["events.jsonl"], k) for k in same_counts
    ]
    assert counts() == before

    # The same content delivered a second time under another name is not loaded again.
    write(
        landing, source.name, DAY, "events_copy.jsonl", (landing / source.name / str(DAY) / "events.jsonl").read_bytes()
    )
    again = by_file(ingest_source_day(client, source, DAY, landing))
    assert again["events_copy.jsonl"].status == "duplicate_file"
    assert "events.jsonl" in again["events_copy.jsonl"].message
    assert again["events.jsonl"].status == "skipped"
    assert counts() == before

    # A changed file replaces that day's earlier load, and only that day.
    write(landing, source.name, DAY, "events.jsonl", "\n".join([event("c"), event("d")]) + "\n")
    changed = by_file(ingest_source_day(client, source, DAY, landing))
    assert changed["events.jsonl"].status == "replaced"
    assert changed["events_copy.jsonl"].status == "loaded"  # no longer a copy of anything
    rows = client.query(f"SELECT _drop_date, event_id FROM {table} ORDER BY 1, 2").result_rows
    assert rows == [(DAY, "a"), (DAY, "c"), (DAY, "d"), (NEXT_DAY, "z")]
    assert client.command(f"SELECT count() FROM raw.quarantine WHERE source = '{source.name}'") == 1
    registry = client.query(
        "SELECT source_file, status, loaded FROM ops.ingested_files WHERE source = {s:String} AND drop_date = {d:Date} "
        "AND batch_id = {b:String} ORDER BY source_file",
        parameters={"s": source.name, "d": DAY, "b": changed["events.jsonl"].batch_id},
    ).result_rows
    assert [(Path(f).name, s, n) for f, s, n in registry] == [
        ("events.jsonl", "replaced", 2),
        ("events_copy.jsonl", "loaded", 1),
    ]


def test_gbk_and_bom_files_are_read_correctly(client, landing):
    source = make_source("tingest_encodings")
    csv_text = "contact_id,mobile,name,created_at\nc1,13800138000,张三,2026-11-21 08:00:00\nc2,,李四·测试,\n"
    write(landing, source.name, DAY, "contacts_gbk.csv", csv_text.encode("gbk"))
    write(landing, source.name, DAY, "contacts_bom.csv", "\ufeff" + csv_text.replace("c1", "b1").replace("c2", "b2"))
    jsonl_gbk = (event("g1", user_id="王五") + "\n").encode("gbk") + b'{"event_id": "g2", "user_id": "\x81"}\n'
    write(landing, source.name, DAY, "events_gbk.jsonl", jsonl_gbk)
    write(landing, source.name, DAY, "events_bom.jsonl", "\ufeff" + event("u1", user_id="赵六") + "\r\n")

    results = by_file(ingest_source_day(client, source, DAY, landing))

    assert_equations(list(results.values()))
    assert (results["contacts_gbk.csv"].encoding, results["contacts_bom.csv"].encoding) == ("gbk", "utf-8-sig")
    assert results["events_gbk.jsonl"].quarantined_by_reason == {"undecodable_bytes": 1}
    names = dict(client.query(f"SELECT contact_id, name FROM raw.{source.name}__contacts").result_rows)
    assert names == {"c1": "张三", "c2": "李四·测试", "b1": "张三", "b2": "李四·测试"}
    users = dict(client.query(f"SELECT event_id, user_id FROM raw.{source.name}__events").result_rows)
    assert users == {"g1": "王五", "u1": "赵六"}


def test_broken_equation_fails_loudly():
    result = FileResult("s", "e", "s/2026-11-21/f.jsonl", "x", "loaded", lines=5, loaded=3, duplicates=1)
    with pytest.raises(InvariantViolation, match="5 data lines read but 3 loaded"):
        result.check_invariant()


def test_phone_fast_path_agrees_with_phonenumbers(client):
    import random

    from nightshift.ingest import phones

    rng = random.Random(3)
    values = [f"1{rng.randrange(10)}{rng.randrange(10**9):09d}" for _ in range(3000)]
    values += ["+86 138-0013-8000", "0086 13800138000", "+86(138)00138000", "17400000000", "19900000000"]
    query = (
        f"SELECT v, {phones.fast_shape_sql('v')}, {phones.fast_e164_sql('v')} "
        "FROM (SELECT arrayJoin({v:Array(String)}) AS v)"
    )
    rows = client.query(query, parameters={"v": values}).result_rows
    assert all(shape for _, shape, _ in rows)
    assert [e164 for _, _, e164 in rows] == [phones.to_e164(v) for v, _, _ in rows]
    assert any(e164 for _, _, e164 in rows) and not all(e164 for _, _, e164 in rows)


CDNOW_PATH = CDNOW_FILE


@pytest.mark.skipif(not CDNOW_PATH.exists(), reason="CDNOW data set not present")
def test_cdnow_loads_every_line_through_validation(client, settings):
    from nightshift.ingest.cdnow import CDNOW_DROP_DATE, load_cdnow

    rows = load_cdnow(CDNOW_PATH, settings, client=client)

    assert [(r["lines"], r["loaded"], r["duplicates"], r["quarantined"]) for r in rows] == [(69_659, 69_659, 0, 0)]
    stats = client.query(
        "SELECT count(), uniqExact(customer_id), sum(amount_cents), min(order_date), max(order_date), "
        "countIf(customer_id = '00001' AND amount_cents = 1177 AND amount_cents_original = '11.77') "
        "FROM raw.cdnow__transactions WHERE _drop_date = {d:Date}",
        parameters={"d": CDNOW_DROP_DATE},
    ).result_rows[0]
    assert stats == (69_659, 23_570, 250_031_563, date(1997, 1, 1), date(1998, 6, 30), 1)
    assert load_cdnow(CDNOW_PATH, settings, client=client)[0]["status"] == "skipped"


def test_stage_lists_sources_with_files_and_says_when_there_is_nothing(client, settings):
    from nightshift.ingest.day import sources_for
    from nightshift.stages import ingest
    from nightshift.stages.context import StageContext

    empty_day = date(2001, 1, 1)
    assert sources_for(empty_day, settings) == []
    result = ingest.run(StageContext(run_date=empty_day, settings=settings, _client=client))
    assert result.rows == {} and "no landing files" in result.summary

    day = date(2001, 1, 2)
    write(
        settings.landing_dir,
        "cdnow",
        day,
        "CDNOW_master.txt",
        " customer_id date n amount\r\n 00007 19970101 1 9.99\r\n",
    )
    assert sources_for(day, settings) == ["cdnow"]
    result = ingest.run_source(StageContext(run_date=day, settings=settings, _client=client), "cdnow")
    assert result.rows == {f"cdnow/{day}/CDNOW_master.txt": 1}
    assert "1 loaded" in result.summary and "0 quarantined" in result.summary
    stored = client.query(
        "SELECT source_file, status, loaded FROM ops.ingestion_summary WHERE run_date = {d:Date}", parameters={"d": day}
    ).result_rows
    assert stored == [(f"cdnow/{day}/CDNOW_master.txt", "loaded", 1)]


def test_removed_and_unmatched_files_are_reported(client, landing):
    source = make_source("tingest_removed")
    table = f"raw.{source.name}__events"
    write(landing, source.name, DAY, "events_1.jsonl", event("r1") + "\n")
    kept = write(landing, source.name, DAY, "events_2.jsonl", event("r2") + "\n")
    write(landing, source.name, DAY, "notes.txt", "not a declared file\n")
    first = by_file(ingest_source_day(client, source, DAY, landing))
    assert first["notes.txt"].status == "unmatched" and "events*.jsonl" in first["notes.txt"].message

    (landing / source.name / str(DAY) / "events_1.jsonl").unlink()
    second = by_file(ingest_source_day(client, source, DAY, landing))

    assert second["events_1.jsonl"].status == "removed"
    assert second["events_2.jsonl"].status == "reloaded"
    assert client.query(f"SELECT event_id FROM {table}").result_columns[0] == ["r2"]
    assert by_file(ingest_source_day(client, source, DAY, landing))["events_2.jsonl"].status == "skipped"
    forced = by_file(ingest_source_day(client, source, DAY, landing, force=True))
    assert forced["events_2.jsonl"].status == "reloaded" and kept.exists()
    assert client.command(f"SELECT count() FROM {table}") == 1


def test_a_newly_declared_field_is_added_to_an_existing_raw_table_and_other_changes_fail(client):
    """A new optional field (like app.users.wechat_unionid) must not cost a re-ingestion of history: the raw table
    gains the column in place and older rows read null. A retyped field still stops ingestion with what to do."""
    from nightshift.ingest import tables
    from nightshift.ingest.errors import SchemaMismatchError

    def accounts(*fields: Field) -> Entity:
        return Entity(source="evolve", name="accounts", file_glob="accounts*.jsonl", format="jsonl", fields=fields)

    user_id = Field("user_id", "string", required=True)
    city = Field("city", "string")
    before = accounts(user_id, city)
    after = accounts(user_id, Field("unionid", "string"), city, Field("score", "int"))
    client.command("CREATE DATABASE IF NOT EXISTS raw")
    client.command("DROP TABLE IF EXISTS raw.evolve__accounts")
    try:
        tables._verified_raw_tables.clear()
        tables.ensure_raw_table(client, before)
        client.command(
            "INSERT INTO raw.evolve__accounts (user_id, city, _drop_date, _source_file, _line_number) "
            "VALUES ('U1', 'Shanghai', '2001-01-01', 'accounts.jsonl', 1)"
        )
        tables._verified_raw_tables.clear()  # a new process, after the declaration changed
        tables.ensure_raw_table(client, after)
        columns = client.query(
            "SELECT name, type FROM system.columns WHERE database = 'raw' AND table = 'evolve__accounts' "
            "ORDER BY position"
        ).result_rows
        assert [(n, t.replace(" ", "")) for n, t in columns] == [
            (n, t.replace(" ", "")) for n, t in tables.raw_columns(after)
        ]
        assert client.query("SELECT user_id, unionid, city, score FROM raw.evolve__accounts").result_rows == [
            ("U1", None, "Shanghai", None)
        ]

        tables._verified_raw_tables.clear()
        retyped = accounts(user_id, Field("unionid", "int"), city, Field("score", "int"))
        with pytest.raises(SchemaMismatchError, match="DROP TABLE raw.evolve__accounts"):
            tables.ensure_raw_table(client, retyped)
    finally:
        tables._verified_raw_tables.clear()
        client.command("DROP TABLE IF EXISTS raw.evolve__accounts")


# Unquoted CSV the engine splits itself (Batch._add_plain_csv): CRLF and a stray CR, blank lines (one of them only
# an ideographic space, which Python's strip() empties), a line with too few columns, empty fields, a control
# character, an exact duplicate, an undeclared column carrying '/' and Chinese (kept in _extra), no final newline.
TRICKY_CSV = (
    "contact_id,mobile,name,created_at,landing_url\r\n"
    "c1,13800138000,张三,2026-11-21 08:00:00,https://m.example.cn/a?b=1\r\n"
    "\r\n"
    "   \t\n"
    "\u3000\n"
    "c2,x\n"
    "c3,,李四·测试,,\n"
    "c3,,李四·测试,,\n"
    "c4,13800138001,Wang,,页面/x\r\r\n"
    "c5,13800138002,Tab\tName,,\x01ctrl\n"
    "c6,12345,End,,"
)

# The same lines under a header naming only declared fields, in another order and without `created_at`: the
# engine hands the values over in `fields` (no record built); an absent field must read as absent.
TRICKY_CSV_DECLARED_ONLY = (
    "mobile,contact_id,name\r\n"
    "13800138000,c1,张三\r\n"
    "\r\n"
    "   \t\n"
    "\u3000\n"
    "c2\n"
    ",c3,李四·测试\n"
    ",c3,李四·测试\n"
    "13800138001,c4,Wang\r\r\n"
    "13800138002,c5,Tab\tName\x01\n"
    "12345,c6,End"
)


@pytest.mark.parametrize("tricky_csv", [TRICKY_CSV, TRICKY_CSV_DECLARED_ONLY], ids=["undeclared", "declared"])
@pytest.mark.parametrize("encoding", ["utf-8", "gbk", "utf-8-sig"])
def test_unquoted_csv_split_by_the_engine_loads_exactly_what_the_python_path_loads(
    client, landing, encoding, tricky_csv, monkeypatch
):
    from nightshift.ingest.load import Batch

    outcomes, engine_blank_counts = {}, []
    engine_path = Batch._add_plain_csv

    def spied(self, file_idx, data, encoding):
        engine_blank_counts.append(engine_path(self, file_idx, data, encoding))
        return engine_blank_counts[-1]

    for path in ("engine", "python"):
        variant = "d" if tricky_csv is TRICKY_CSV_DECLARED_ONLY else "u"
        source = make_source(f"tingest_csv_{path}_{variant}_{encoding.replace('-', '_')}")
        write(landing, source.name, DAY, "contacts.csv", tricky_csv.encode(encoding))
        monkeypatch.setattr(Batch, "_add_plain_csv", spied if path == "engine" else lambda *args: None)
        result = ingest_source_day(client, source, DAY, landing)[0]
        rows = client.query(
            f"SELECT * EXCEPT (_batch_id, _source_file, _ingested_at) FROM raw.{source.name}__contacts "
            "ORDER BY _line_number"
        ).result_rows
        quarantined = [
            (row["line_number"], row["raw_line"], row["reason_code"], row["reason"])
            for row in quarantine(client, source.name)
        ]
        figures = (result.encoding, result.lines, result.blank_lines, result.loaded, result.duplicates,
                   result.quarantined, result.quarantined_by_reason, result.drift_rows,
                   result.drift_fields)  # fmt: skip
        outcomes[path] = (rows, quarantined, figures)

    assert engine_blank_counts == [3]  # the engine path took the file
    assert outcomes["engine"] == outcomes["python"]
    rows, quarantined, figures = outcomes["engine"]
    assert [row[0] for row in rows] == ["c1", "c3", "c4", "c5"]
    assert {reason for _, _, reason, _ in quarantined} == {"malformed_csv", "invalid_phone"}
    assert figures[2] == 3  # blank lines: CRLF-only, spaces and tab, ideographic space
