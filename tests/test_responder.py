"""The simulated world answers an export day: grants and receipts per contact_id, faults exactly as the truth says.

Export days are written here by hand in the export stage's shape (ClickHouse CSVWithNames, with contact_id), so
these tests do not depend on the pipeline producing them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from nightshift.generate.ids import BEIJING
from nightshift.generate.responder import ResponderRates, respond
from nightshift.generate.responder.api_sends import API_CHANNELS, LedgerError
from nightshift.generate.responder.exports import ExportFileError
from nightshift.sources.catalog import all_sources
from tests.conftest import run_cli, run_python

D = date(2026, 11, 20)
D1 = D + timedelta(days=1)
HEADER = ("one_id", "contact_id", "variant", "contact_ref", "send_at", "template_id", "benefit_id", "cost_fen")
NO_FAULTS = ResponderRates(
    grant_dropped=0, grant_duplicated=0, amount_wrong=0, grant_unplanned=0, grant_burst=0, delivery_failed=0,
    receipt_late=0, chuanglan_uid_share=1.0,
)  # fmt: skip
MANY_FAULTS = ResponderRates(
    grant_dropped=0.1, grant_duplicated=0.1, amount_wrong=0.1, grant_unplanned=0.05, grant_burst=1.0,
    delivery_failed=0.15, receipt_late=0.15, chuanglan_share=0.3, chuanglan_uid_share=1.0,
)  # fmt: skip
# Receipt entity -> (field echoing the contact_id, recipient field)
RECEIPT_FIELDS = {
    "aliyun_sms": ("out_id", "phone_number"),
    "chuanglan_sms": ("uid", "mobile"),
    "jpush": ("cid", "alias"),
    "wechat_template": ("client_msg_id", "touser"),
    "outbound_call": ("list_row_id", "callee"),
}
CHANNEL_ENTITIES = {"sms": {"aliyun_sms", "chuanglan_sms"}, "app_push": {"jpush"}}
CHANNEL_ENTITIES |= {"wechat_oa_template": {"wechat_template"}, "outbound_call": {"outbound_call"}}


def contact_key(campaign_id: str, one_id: int, channel: str) -> str:
    """Shaped like the export stage's contact_id (32 lowercase hex characters)."""
    return hashlib.sha256(f"{campaign_id}|{D}|{one_id}|{channel}".encode()).hexdigest()[:32]


def address(channel: str, one_id: int) -> str:
    if channel in ("sms", "outbound_call"):
        return f"+86138{one_id:08d}"
    if channel == "app_push":
        return f"U{10_000_000 + one_id}"
    if channel == "wechat_oa_template":
        return f"o{one_id:027d}"
    return f"wm{one_id:030d}"


# (file name, channel, benefit_id, cost_fen, contacts, send_at)
EXPORTS = (
    ("campaign__winback_lapsed__sms.csv", "sms", "coupon_5_yuan", 500, 160, "2026-11-20T02:00:00Z"),
    ("campaign__winback_lapsed__app_push.csv", "app_push", "coupon_5_yuan", 500, 80, "2026-11-20T02:00:00Z"),
    ("campaign__winback_lapsed__wechat_oa_template.csv", "wechat_oa_template", "coupon_5_yuan", 500, 80,
     "2026-11-20T02:00:00Z"),
    ("campaign__trade_in_push__app_push.csv", "app_push", "trade_in_bonus_20_yuan", 2000, 80, "2026-11-20T11:00:00Z"),
    ("campaign__vip_care_call__outbound_call.csv", "outbound_call", "vip_days_30", 0, 60, "2026-11-20T02:00:00Z"),
    ("campaign__vip_care_call__wecom.csv", "wecom", "vip_days_30", 0, 20, "2026-11-20T02:00:00Z"),
    ("campaign__phone_bind_nudge__wechat_oa_template.csv", "wechat_oa_template", "", 0, 30, "2026-11-20T00:30:00Z"),
    ("replenishment__winback_lapsed__coupon_5_yuan.csv", "", "coupon_5_yuan", 500, 20, "2026-11-20T02:00:00Z"),
)  # fmt: skip


def write_exports(exports_day: Path) -> dict[str, dict]:
    """The hand-written export day; returns every exported row by contact_id."""
    exports_day.mkdir(parents=True, exist_ok=True)
    planned = {}
    for name, channel, benefit_id, cost_fen, count, send_at in EXPORTS:
        campaign_id = name.split("__")[1]
        lines = [",".join(f'"{column}"' for column in (*HEADER, "param_app_user"))]
        for k in range(count):
            one_id = 1000 + k * 7 + len(campaign_id)  # overlapping people across files, distinct within one
            ref = address(channel or "app_push", one_id)
            key = contact_key(campaign_id, one_id, channel or "replenishment")
            row = {"one_id": str(one_id), "contact_id": key, "contact_ref": ref, "campaign_id": campaign_id,
                   "channel": channel, "benefit_id": benefit_id, "cost_fen": cost_fen}  # fmt: skip
            planned[key] = row
            lines.append(
                f'{one_id},"{key}","v1","{ref}","{send_at}","tpl_{campaign_id}","{benefit_id}",{cost_fen},"U1"'
            )
        (exports_day / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (exports_day / "high_value_customers.csv").write_text('"one_id"\n1\n', encoding="utf-8")  # a segment file
    return planned


def records(landing: Path, source: str, entity_name: str) -> list[tuple[date, dict]]:
    """(landing day, record) of every file of the entity, read the way the vendor wrote it."""
    entity = next(e for e in all_sources()[source].entities if e.name == entity_name)
    out = []
    for path in sorted((landing / source).glob(f"*/{entity.file_glob}")):
        day = date.fromisoformat(path.parent.name)
        text = path.read_bytes().decode(entity.encoding or "utf-8")
        if entity.format == "jsonl":
            out += [(day, json.loads(line)) for line in text.splitlines()]
        else:
            out += [(day, row) for row in csv.DictReader(io.StringIO(text))]
    return out


def truth(landing: Path) -> list[dict]:
    with (landing / "_truth" / "reconciliation_faults.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def receipts_by_contact(landing: Path) -> dict[str, list[tuple[str, date, dict]]]:
    found = defaultdict(list)
    for entity, (echo, _) in RECEIPT_FIELDS.items():
        for day, record in records(landing, "receipts", entity):
            found[record[echo]].append((entity, day, record))
    return found


def delivered(entity: str, record: dict) -> bool:
    return {
        "aliyun_sms": lambda r: r["success"] is True and r["err_code"] == "DELIVERED",
        "chuanglan_sms": lambda r: r["status"] == "DELIVRD",
        "jpush": lambda r: r["status"] == "delivered" and "error_code" not in r,
        "wechat_template": lambda r: r["errcode"] == 0 and "msgid" in r,
        "outbound_call": lambda r: r["call_result"] == "已接通",
    }[entity](record)


def recipient(entity: str, ref: str) -> str:
    return ref.removeprefix("+86") if entity in ("aliyun_sms", "chuanglan_sms", "outbound_call") else ref


@pytest.fixture
def day(tmp_path: Path) -> tuple[Path, Path, dict[str, dict]]:
    exports_day = tmp_path / "exports" / D.isoformat()
    return exports_day, tmp_path / "landing", write_exports(exports_day)


def landing_bytes(landing: Path) -> dict[str, bytes]:
    return {p.relative_to(landing).as_posix(): p.read_bytes() for p in sorted(landing.rglob("*")) if p.is_file()}


def test_unfaulted_contacts_are_answered_once_with_their_contact_id_and_amount(day) -> None:
    exports_day, landing, planned = day
    summary = respond(exports_day, landing, D, seed=3, rates=NO_FAULTS)

    assert summary.contacts == len(planned) and summary.faults == {}
    assert truth(landing) == []
    grants = records(landing, "benefits", "grants")
    asked = {key: row for key, row in planned.items() if row["benefit_id"] and row["cost_fen"] > 0}
    assert Counter(record["out_request_no"] for _, record in grants) == Counter(set(asked))  # once each, only
    for grant_day, record in grants:
        row = asked[record["out_request_no"]]
        assert grant_day == D1 and datetime.fromisoformat(record["grant_time"]).astimezone(BEIJING).date() == D1
        assert (record["campaign_id"], record["benefit_id"], int(record["amount"])) == (
            row["campaign_id"], row["benefit_id"], row["cost_fen"],
        )  # fmt: skip
    assert len({record["grant_id"] for _, record in grants}) == len(grants)

    found = receipts_by_contact(landing)
    for key, row in planned.items():
        answers = found.get(key, [])
        if row["channel"] in ("wecom", ""):  # WeCom reports nothing back; make-up rows are grants only
            assert answers == [], row
            continue
        assert len(answers) == 1, (row, answers)
        entity, receipt_day, record = answers[0]
        assert entity in CHANNEL_ENTITIES[row["channel"]] and receipt_day == D1
        assert record[RECEIPT_FIELDS[entity][1]] == recipient(entity, row["contact_ref"])
        assert delivered(entity, record), record
    assert set(found) <= set(planned)
    assert {entity for answers in found.values() for entity, _, _ in answers} == set(RECEIPT_FIELDS)


def test_chuanglan_receipts_without_uid_carry_the_phone_and_the_send_day_instead(day) -> None:
    exports_day, landing, planned = day
    respond(exports_day, landing, D, seed=3, rates=replace(NO_FAULTS, chuanglan_share=1.0, chuanglan_uid_share=0.0))
    chuanglan = [record for _, record in records(landing, "receipts", "chuanglan_sms")]
    sms = {recipient("chuanglan_sms", row["contact_ref"]) for row in planned.values() if row["channel"] == "sms"}
    assert chuanglan and all("uid" not in record or not record["uid"] for record in chuanglan)
    assert {record["mobile"] for record in chuanglan} == sms  # every sms contact answered, by phone only
    # sent the day after the business date, reported within minutes: the day the reconciliation matches on
    assert {datetime.fromisoformat(r["reportTime"]).astimezone(BEIJING).date() for r in chuanglan} == {D1}


def test_each_fault_is_in_the_truth_and_in_the_landing_files_as_described(day) -> None:
    exports_day, landing, planned = day
    summary = respond(exports_day, landing, D, seed=5, rates=MANY_FAULTS)
    rows = truth(landing)
    faults = defaultdict(set)
    for row in rows:
        assert row["business_date"] == D.isoformat()
        faults[row["fault"]].add(row["contact_id"])
    counts = Counter(row["fault"] for row in rows)
    assert summary.faults == dict(sorted(counts.items()))
    assert set(counts) == {"grant_dropped", "grant_duplicated", "amount_wrong", "grant_unplanned", "grant_burst",
                           "delivery_failed", "receipt_late"}, counts  # fmt: skip
    assert len(rows) == len({(row["contact_id"], row["fault"]) for row in rows})

    grants = defaultdict(list)
    for _, record in records(landing, "benefits", "grants"):
        grants[record["out_request_no"]].append(record)
    for key, row in planned.items():
        answered = grants.get(key, [])
        if not (row["benefit_id"] and row["cost_fen"] > 0) or key in faults["grant_dropped"]:
            assert answered == []
        elif key in faults["grant_duplicated"]:
            assert len(answered) == 2 and answered[0]["grant_id"] != answered[1]["grant_id"]
            assert {int(g["amount"]) for g in answered} == {row["cost_fen"]}
        elif key in faults["amount_wrong"]:
            assert len(answered) == 1 and int(answered[0]["amount"]) == row["cost_fen"] * 100
        else:
            assert len(answered) == 1 and int(answered[0]["amount"]) == row["cost_fen"]
    assert len(faults["grant_dropped"] | faults["grant_duplicated"] | faults["amount_wrong"]) == (
        counts["grant_dropped"] + counts["grant_duplicated"] + counts["amount_wrong"]
    )  # at most one grant fault per contact

    # Grants nobody planned: exactly the truth's unplanned and burst rows, to accounts no one else has.
    unplanned = {key: g for key, g in grants.items() if key not in planned}
    assert set(unplanned) == faults["grant_unplanned"] | faults["grant_burst"]
    assert all(len(g) == 1 and g[0]["user_id"].startswith("UX") for g in unplanned.values())
    assert all(row["one_id"] == "" for row in rows if row["fault"] in ("grant_unplanned", "grant_burst"))
    bursts = defaultdict(list)
    for key in faults["grant_burst"]:
        bursts[unplanned[key][0]["campaign_id"]].append(datetime.fromisoformat(unplanned[key][0]["grant_time"]))
    assert set(bursts) == {"winback_lapsed", "trade_in_push"}  # every campaign that grants (burst rate 1)
    for times in bursts.values():
        assert len(times) == MANY_FAULTS.burst_size
        assert max(times) - min(times) <= timedelta(seconds=MANY_FAULTS.burst_window_seconds)

    found = receipts_by_contact(landing)
    for key, row in planned.items():
        if row["channel"] in ("wecom", ""):
            assert key not in found and key not in faults["delivery_failed"] | faults["receipt_late"]
            continue
        [(entity, receipt_day, record)] = found[key]
        assert record[RECEIPT_FIELDS[entity][1]] == recipient(entity, row["contact_ref"])
        if key in faults["delivery_failed"]:
            assert receipt_day == D1 and not delivered(entity, record), record
        elif key in faults["receipt_late"]:
            assert D1 < receipt_day <= D1 + timedelta(days=3) and delivered(entity, record)
        else:
            assert receipt_day == D1 and delivered(entity, record)
    failed = [found[key][0] for key in faults["delivery_failed"]]
    codes = Counter(
        record.get("err_code") or record.get("status") or record.get("error_code") or record.get("errcode")
        or record.get("call_result")
        for _, _, record in failed
    )  # fmt: skip
    assert {"isv.MOBILE_NUMBER_ILLEGAL", 40003} & set(codes), codes  # each vendor's own codes


def test_late_receipts_land_two_to_four_days_after_the_export_only(day) -> None:
    exports_day, landing, planned = day
    respond(exports_day, landing, D, seed=9, rates=replace(NO_FAULTS, receipt_late=1.0))
    found = receipts_by_contact(landing)
    days = Counter(receipt_day for answers in found.values() for _, receipt_day, _ in answers)
    assert set(days) == {D + timedelta(days=k) for k in (2, 3, 4)}, days
    late = {row["contact_id"] for row in truth(landing) if row["fault"] == "receipt_late"}
    assert late == set(found) == {k for k, r in planned.items() if r["channel"] not in ("wecom", "")}
    for answers in found.values():  # the send and its report happened on D+1: the file is what is late
        [(entity, _, record)] = answers
        time = record.get("report_time") or record.get("reportTime") or record.get("call_time") or record["send_time"]
        sent = datetime.fromtimestamp(time, BEIJING) if isinstance(time, int) else datetime.fromisoformat(time)
        assert sent.astimezone(BEIJING).date() == D1
    assert {p.parent.name for p in (landing / "benefits").glob("*/*")} == {D1.isoformat()}


def test_same_inputs_and_seed_give_byte_identical_files(day, tmp_path: Path) -> None:
    exports_day, landing, _ = day
    respond(exports_day, landing, D, seed=21, rates=MANY_FAULTS)
    respond(exports_day, tmp_path / "again", D, seed=21, rates=MANY_FAULTS)
    first = landing_bytes(landing)
    assert len(first) > 10 and first == landing_bytes(tmp_path / "again")
    respond(exports_day, tmp_path / "other", D, seed=22, rates=MANY_FAULTS)
    assert landing_bytes(tmp_path / "other") != first


def test_rerun_replaces_the_days_files_and_truth_rows(day, tmp_path: Path) -> None:
    exports_day, landing, _ = day
    earlier_day = D - timedelta(days=1)
    earlier = tmp_path / "exports" / earlier_day.isoformat()
    earlier.mkdir(parents=True)
    for path in exports_day.glob("campaign__winback_lapsed__*.csv"):
        (earlier / path.name).write_bytes(path.read_bytes())
    respond(earlier, landing, earlier_day, seed=1, rates=MANY_FAULTS)  # its late receipts land on D+1 .. D+2
    respond(exports_day, landing, D, seed=1, rates=replace(MANY_FAULTS, receipt_late=0.5))
    before_rerun = landing_bytes(landing)
    earlier_truth = [row for row in truth(landing) if row["business_date"] == earlier_day.isoformat()]

    respond(exports_day, landing, D, seed=2, rates=MANY_FAULTS)  # other answers for D
    respond(exports_day, landing, D, seed=1, rates=replace(MANY_FAULTS, receipt_late=0.5))  # the first ones again
    assert landing_bytes(landing) == before_rerun  # nothing left over from the seed-2 run, nothing doubled
    rows = truth(landing)
    assert [row for row in rows if row["business_date"] == earlier_day.isoformat()] == earlier_truth
    assert len(rows) == len({tuple(row.values()) for row in rows})
    names = {p.name for p in landing.rglob("*_responses_*")}
    assert {n for n in names if earlier_day.isoformat() in n} and {n for n in names if D.isoformat() in n}


def test_export_files_without_contact_id_are_refused(tmp_path: Path) -> None:
    exports_day = tmp_path / "exports" / D.isoformat()
    exports_day.mkdir(parents=True)
    (exports_day / "campaign__winback_lapsed__sms.csv").write_text(
        '"one_id","variant","contact_ref","send_at","template_id","benefit_id","cost_fen"\n'
        '1,"v1","+8613800000001","2026-11-20T02:00:00Z","t","coupon_5_yuan",500\n',
        encoding="utf-8",
    )
    with pytest.raises(ExportFileError, match="contact_id"):
        respond(exports_day, tmp_path / "landing", D)
    assert not (tmp_path / "landing").exists()


def test_grants_name_the_world_account_of_the_person_contacted(tmp_path: Path) -> None:
    from nightshift.generate import generate_world
    from nightshift.generate.population import build_population

    landing = tmp_path / "landing"
    generate_world(landing, users=300, start_date=D, days=1, seed=13, dirt_rate=0.0, progress=False)
    pop = build_population(300, D, 1, 13)
    people = [p for p in range(pop.n) if pop.oa[p]][:20]
    exports_day = tmp_path / "exports" / D.isoformat()
    exports_day.mkdir(parents=True)
    lines = ",".join(f'"{column}"' for column in HEADER)
    expected = {}
    for person in people:
        openid = pop.oa_openid[person].decode()
        key = contact_key("winback_lapsed", person, "wechat_oa_template")
        expected[key] = f"U{pop.app_user_num[person]}"
        lines += f'\n{person},"{key}","v1","{openid}","2026-11-20T02:00:00Z","t","coupon_5_yuan",500'
    (exports_day / "campaign__winback_lapsed__wechat_oa_template.csv").write_text(lines + "\n", encoding="utf-8")
    respond(exports_day, landing, D, seed=1, rates=NO_FAULTS)
    granted = {
        r["out_request_no"]: r["user_id"] for _, r in records(landing, "benefits", "grants") if r["out_request_no"]
    }
    assert granted == expected


INGEST_RESPONSES = """
    import json, sys
    from datetime import date, timedelta
    from nightshift.ingest.engine import ingest
    from nightshift.settings import get_settings
    from nightshift.warehouse import ensure_databases, get_client

    settings = get_settings()
    client = get_client(settings)
    ensure_databases(client)
    first = date.fromisoformat(sys.argv[1])
    rows = []
    for offset in range(int(sys.argv[2])):
        rows += ingest(client, first + timedelta(days=offset), settings.landing_dir, ["benefits", "receipts"])
    keys, world_keys = {}, {}
    for table, column in [("benefits__grants", "out_request_no"), ("receipts__aliyun_sms", "out_id"),
                          ("receipts__chuanglan_sms", "uid"), ("receipts__jpush", "cid"),
                          ("receipts__wechat_template", "client_msg_id"), ("receipts__outbound_call", "list_row_id")]:
        for found, condition in ((keys, "> 0"), (world_keys, "= 0")):
            query = f"SELECT {column} FROM raw.{table} WHERE position(_source_file, '_responses_') {condition}"
            found[table] = [row[0] for row in client.query(query).result_rows]
    print(json.dumps({"files": rows, "keys": keys, "world_keys": world_keys}, default=str))
"""


def test_responder_files_ingest_with_zero_quarantine_next_to_the_worlds_own(day, tmp_path: Path) -> None:
    from nightshift.generate import generate_world

    exports_day, _, planned = day
    home = tmp_path / "home"
    landing = home / "landing"
    generate_world(landing, users=200, start_date=D1, days=1, seed=3, dirt_rate=0.0, progress=False)
    summary = respond(exports_day, landing, D, seed=4, rates=MANY_FAULTS)
    out = json.loads(run_python(home, INGEST_RESPONSES, D1.isoformat(), "4").strip().splitlines()[-1])

    ours = [row for row in out["files"] if "_responses_" in row["source_file"]]
    assert sorted(row["source_file"] for row in ours) == sorted(summary.files)
    for row in out["files"]:
        assert row["status"] == "loaded" and row["quarantined"] == 0 and row["loaded"] == row["lines"], row
    assert sum(row["late_rows"] for row in ours if D1.isoformat() not in row["source_file"].split("/")[1]) > 0
    assert sum(row["loaded"] for row in ours) == sum(summary.records.values())
    for table, keys in out["keys"].items():  # every loaded response names a contact (or a console request)
        assert keys and all(key in planned or key.startswith("ops-") for key in keys), table
    contact_id_shape = re.compile(r"^[0-9a-f]{32}$")
    for table, keys in out["world_keys"].items():  # the world's own records never look like an answer to us
        assert keys and not any(key and contact_id_shape.match(key) for key in keys), (table, keys[:5])


def test_cli_answers_the_dates_exports_from_the_settings_folders(tmp_path: Path) -> None:
    home = tmp_path / "home"
    missing = run_cli(home, "respond", "--date", D.isoformat(), check=False)
    assert missing.returncode == 1 and "run the pipeline (export stage)" in missing.stderr.replace("\n", " ")
    planned = write_exports(home / "exports" / D.isoformat())
    completed = run_cli(home, "respond", "--date", D.isoformat())
    assert f"answered {len(planned)} contacts exported on {D}" in completed.stdout
    assert (home / "landing" / "benefits" / D1.isoformat() / f"grants_responses_{D}.csv").exists()
    assert (home / "landing" / "_truth" / "reconciliation_faults.csv").exists()


def _answered(landing: Path, source: str, entity_name: str, id_field: str, prefix: str) -> list[tuple[date, dict]]:
    """The responder's records of an entity, told from the world's own by their id prefix."""
    return [(day, row) for day, row in records(landing, source, entity_name) if row[id_field].startswith(prefix)]


def _world_app_push_day(tmp_path: Path, users: int = 300) -> tuple[Path, Path, dict[str, str]]:
    """A world's landing and an export day pushing a coupon to every app user; contact_id -> their account."""
    from nightshift.generate import generate_world
    from nightshift.generate.population import build_population

    landing = tmp_path / "landing"
    generate_world(landing, users=users, start_date=D, days=1, seed=13, dirt_rate=0.0, progress=False)
    pop = build_population(users, D, 1, 13)
    exports_day = tmp_path / "exports" / D.isoformat()
    exports_day.mkdir(parents=True)
    lines = ",".join(f'"{column}"' for column in HEADER)
    accounts = {}
    for person in range(pop.n):
        if pop.app[person]:
            key = contact_key("winback_lapsed", person, "app_push")
            accounts[key] = f"U{pop.app_user_num[person]}"
            variant = "a" if person % 2 else "b"
            lines += f'\n{person},"{key}","{variant}","U{pop.app_user_num[person]}","2026-11-20T02:00:00Z","t",'
            lines += '"coupon_5_yuan",500'
    (exports_day / "campaign__winback_lapsed__app_push.csv").write_text(lines + "\n", encoding="utf-8")
    return exports_day, landing, accounts


def test_contacts_who_can_buy_place_extra_orders_with_their_coupon_and_the_truth_counts_them(tmp_path: Path) -> None:
    exports_day, landing, accounts = _world_app_push_day(tmp_path)
    rates = replace(NO_FAULTS, conversion_rate=1.0, conversion_rates=(("winback_lapsed", "b", 0.0),))
    summary = respond(exports_day, landing, D, seed=1, rates=rates)
    orders = _answered(landing, "orders", "orders", "order_id", "OR")
    uplift = list(csv.DictReader((landing / "_truth" / "measurement_uplift.csv").open(encoding="utf-8")))
    by_variant = {row["variant"]: row for row in uplift}
    # variant a converts everyone who can buy (app accounts opened before the send), variant b nobody
    assert by_variant["b"]["incremental_rate"] == "0" and by_variant["b"]["converted_contacts"] == "0"
    assert by_variant["a"]["incremental_rate"] == "1"
    assert int(by_variant["a"]["converted_contacts"]) == int(by_variant["a"]["buyers"]) == len(orders) > 20
    assert summary.conversions == len(orders)
    assert {row["user_id"] for _, row in orders} <= set(accounts.values())
    for day, row in orders:  # placed on D+1 .. D+7, landing on the day it was placed, paid with the coupon
        assert D1 <= day <= D + timedelta(days=7) and row["created_at"].startswith(day.isoformat())
        assert row["status"] == "paid" and row["coupon_id"] == "coupon_5_yuan" and row["discount_amount"] == "500"
        assert int(row["pay_amount"]) == int(row["total_amount"]) - 500
    assert sum(int(row["pay_amount"]) for _, row in orders) == int(by_variant["a"]["gmv_fen"])
    grants = {row["grant_id"]: row for _, row in records(landing, "benefits", "grants")}
    redemptions = _answered(landing, "benefits", "redemptions", "redemption_id", "RDR")
    assert len(redemptions) == len(orders)
    for _, redemption in redemptions:  # each redeems the contact's own grant
        grant = grants[redemption["grant_id"]]
        assert accounts[grant["out_request_no"]] == redemption["user_id"] and redemption["amount"] == "500"
    assert len(_answered(landing, "orders", "order_items", "item_id", "IR")) == len(orders)


def test_an_aa_world_places_no_extra_orders_and_a_rerun_replaces_them(tmp_path: Path) -> None:
    exports_day, landing, _ = _world_app_push_day(tmp_path)
    respond(exports_day, landing, D, seed=1, rates=replace(NO_FAULTS, conversion_rate=1.0))
    assert _answered(landing, "orders", "orders", "order_id", "OR")
    summary = respond(exports_day, landing, D, seed=1, rates=replace(NO_FAULTS, conversion_rate=0.0))
    assert summary.conversions == 0 and not _answered(landing, "orders", "orders", "order_id", "OR")
    assert not _answered(landing, "benefits", "redemptions", "redemption_id", "RDR")
    assert not list(landing.glob("orders/*/*_responses_*"))
    uplift = list(csv.DictReader((landing / "_truth" / "measurement_uplift.csv").open(encoding="utf-8")))
    assert uplift and all(row["converted_contacts"] == "0" and row["gmv_fen"] == "0" for row in uplift)


def write_api_payloads(exports_day: Path, planned: dict[str, dict]) -> dict[str, str]:
    """Sealed payload folders of the API channels, in the export stage's line shapes (SMS batches of 50 numbers under
    one OutId, pushes of 50 aliases under one cid, one WeChat or WeCom body per contact); contact_id -> ledger key."""
    keys, lines = {}, defaultdict(list)
    for n, (key, row) in enumerate(sorted(planned.items())):
        channel, ref = row["channel"], row["contact_ref"]
        folder = (row["campaign_id"], channel)
        if channel == "wechat_oa_template":
            lines[folder].append({"send_at": "2026-11-21 10:00:00", "body": {"touser": ref, "client_msg_id": key}})
            keys[key] = key
        elif channel == "wecom":
            body = {"userid": "staff1", "external_userid": ref, "add_tag": ["tag_b", "tag_a"]}
            lines[folder].append({"send_at": "2026-11-21 10:00:00", "contact_id": key, "body": body})
            keys[key] = f"staff1/{ref}/tag_a+tag_b"
        elif channel in ("sms", "app_push"):
            batch = lines[folder]
            if not batch or len(batch[-1]["contact_ids"]) == 50:
                batch.append({"send_at": "2026-11-21 10:00:00", "contact_ids": [], "recipients": [], "n": n})
            batch[-1]["contact_ids"].append(key)
            batch[-1]["recipients"].append(ref.removeprefix("+86"))
    for (campaign_id, channel), folder_lines in lines.items():
        folder = exports_day / campaign_id / channel
        folder.mkdir(parents=True)
        for line in folder_lines:
            if channel == "sms":
                batch_id = f"batch{line.pop('n')}"
                line["body"] = {"OutId": batch_id, "PhoneNumberJson": json.dumps(line["recipients"])}
                keys |= {c: f"{batch_id}/{p}" for c, p in zip(line["contact_ids"], line.pop("recipients"), strict=True)}
            elif channel == "app_push":
                cid = f"push{line.pop('n')}"
                line["body"] = {"cid": cid, "audience": {"alias": line["recipients"]}}
                keys |= {c: f"{cid}/{a}" for c, a in zip(line["contact_ids"], line.pop("recipients"), strict=True)}
        text = "".join(json.dumps(line) + "\n" for line in folder_lines)
        (folder / "part-00000.jsonl").write_text(text, encoding="utf-8")
        (folder / "_SUCCESS").write_text("", encoding="utf-8")
    return keys


def test_api_delivered_channels_are_answered_from_the_channel_simulators_ledger(day, tmp_path: Path) -> None:
    """Only what the simulator accepted gets a receipt; undelivered and refused sends are delivery_failed. The
    ledger keys recipients as the vendors do (batch key and address for SMS and push); the payloads map them back."""
    exports_day, landing, planned = day
    # one SMS contact goes out in no API payload (as a resend file does): answered from the files, as before
    as_file = next(key for key, row in sorted(planned.items()) if row["channel"] == "sms")
    ledger_keys = write_api_payloads(exports_day, {k: row for k, row in planned.items() if k != as_file})
    by_api = [key for key, row in sorted(planned.items()) if row["channel"] in API_CHANNELS and key != as_file]
    assert set(by_api) == set(ledger_keys)
    status = {}  # every 4th key never sent; the rest accepted, undelivered or refused in turn
    for k, key in enumerate(by_api):
        if k % 4:
            status[key] = ("accepted", "undelivered", "failed")[k % 4 - 1]
    ledger = tmp_path / "channel-ledger"
    ledger.mkdir()
    lines = [
        json.dumps({"channel": planned[key]["channel"], "key": ledger_keys[key], "status": s})
        for key, s in status.items()
    ]
    accepted_again = next(key for key, s in status.items() if s == "accepted")
    lines.append(json.dumps({"channel": "sms", "key": ledger_keys[accepted_again], "status": "failed"}))  # a repeat
    (ledger / "sends.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    respond(exports_day, landing, D, seed=3, rates=replace(MANY_FAULTS, receipt_late=0.0), channel_ledger=ledger)

    found = receipts_by_contact(landing)
    faults = {(row["contact_id"], row["fault"]) for row in truth(landing)}
    for key in by_api:
        channel, answers = planned[key]["channel"], found.get(key, [])
        if status.get(key) in ("accepted", "undelivered") and channel != "wecom":
            assert len(answers) == 1, (key, status.get(key), answers)
            entity, receipt_day, record = answers[0]
            assert entity != "chuanglan_sms" and receipt_day == D1
            assert delivered(entity, record) == (status[key] == "accepted"), (status[key], record)
        else:  # never sent, refused by the API, or WeCom (no receipts at all)
            assert answers == [], (key, status.get(key), answers)
        failed = status.get(key) in ("undelivered", "failed")
        assert ((key, "delivery_failed") in faults) == failed, (key, status.get(key))
    # outbound calls still go out as call lists: answered from the files, with the drawn faults
    calls = [key for key, row in planned.items() if row["channel"] == "outbound_call"]
    assert all(len(found.get(key, [])) == 1 for key in calls)
    assert len(found.get(as_file, [])) == 1, "a contact handed over as a file is answered from the file"

    broken = tmp_path / "broken-ledger"
    broken.mkdir()
    (broken / "sends.jsonl").write_text('{"key": "k1", "status": "accepted"}\nnot json\n', encoding="utf-8")
    with pytest.raises(LedgerError, match=r"sends\.jsonl:2: not a ledger record"):
        respond(exports_day, landing, D, seed=3, channel_ledger=broken)
