"""Channel writers on small inline audiences: every payload, read back with the channel's published rules
(tests/deliveries/payload_rules.py), addresses exactly the audience (no one lost, no one added), the people a
channel cannot take are named with a reason, ad files hold no raw identifier, hashes follow the platforms'
published normalisation, and writing twice gives the same bytes."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from nightshift.campaigns.contact_id import contact_id
from nightshift.campaigns.models import CampaignPlan
from nightshift.deliveries import AD_WRITERS, WRITERS, write_parts
from nightshift.deliveries.ad_audiences import ocean_engine_payload, tencent_ads_payload
from nightshift.deliveries.common import INVALID_MOBILE, mainland_mobile, md5_hex, sha256_hex
from nightshift.deliveries.wecom import NO_OWNER
from tests.deliveries import payload_rules

RUN_DATE = date(2026, 11, 20)
SEND_TIMES = ("2026-11-20T02:00:00Z", "2026-11-20T11:00:00Z")  # 10:00 and 19:00 in Beijing


def plan(**changes) -> CampaignPlan:
    data = {
        "id": "demo",
        "name": "Demo",
        "include_segments": ["s"],
        "start_date": "2026-11-01",
        "end_date": "2026-11-30",
        "channels": ["app_push", "sms", "wecom", "outbound_call"],
        "template": {"id": "demo_v1", "params": {"city": "city"}, "sign_name": "夜班商城"},
        "priority": 7,
        "experiment": {"salt": "x", "variants": [{"name": "a", "weight": 0.5}, {"name": "b", "weight": 0.5}]},
        "send_window": {"start": "10:00", "end": "20:00"},
        **changes,
    }
    return CampaignPlan.model_validate(data)


def audience(channel: str, people: int, address) -> list[dict]:
    """Rows as the export stage reads them for one campaign and channel."""
    return [
        {
            "one_id": one_id,
            "contact_id": contact_id("demo", RUN_DATE, one_id, channel),
            "variant": "ab"[one_id % 2],
            "contact_ref": address(one_id),
            "send_at": SEND_TIMES[one_id % 2],
            "template_id": "demo_v1",
            "benefit_id": "",
            "cost_fen": 0,
            "param_city": "上海" if one_id % 3 else 'Hang"zhou, "west"',
            "device_os": ("ios", "android", "harmonyos", "unknown")[one_id % 4],
            "wecom_owner_userid": f"staff_{one_id % 5}" if one_id % 17 else "",
            "timezone": "Asia/Urumqi" if one_id % 7 == 0 else "Asia/Shanghai",
        }
        for one_id in range(1, people + 1)
    ]


def phone(one_id: int) -> str:
    # every 50th number is not a mainland mobile; the others come in the notations profiles hold
    if one_id % 50 == 0:
        return "+14155550100"
    return f"+86138{one_id:08d}" if one_id % 2 else f"86 138 {one_id:08d}"


def expected_addresses(rows: list[dict], normalise) -> tuple[dict[str, str], set[str]]:
    addressed, rejected = {}, set()
    for row in rows:
        value = normalise(row)
        if value is None:
            rejected.add(row["contact_id"])
        else:
            addressed[row["contact_id"]] = value
    return addressed, rejected


def write(payload, directory: Path) -> list[Path]:
    return write_parts(directory, payload.parts)


def test_mainland_numbers_become_11_digits_and_others_are_refused():
    for text in ("+8613800138000", "13800138000", "+86 138-0013-8000", "008613800138000", "86 13800138000"):
        assert mainland_mobile(text) == "13800138000", text
    for text in ("+14155550100", "+8610123", "", None, "not a number", "+862112345678"):
        assert mainland_mobile(text) is None, text


def test_hashes_match_the_platforms_worked_examples():
    # Tencent Ads "客户文件人群": the published examples (normalised text -> lowercase MD5 hex)
    assert md5_hex("FF1999CD-7177-4937-A474-74937A102630") == "2c010ed96aef2fc34983e1e7e9176b7e"  # HASH_IDFA
    assert md5_hex("a000002c9060f7") == "f2d5a650733ca8c27d502b1c08da14e5"  # HASH_IMEI
    assert md5_hex("02:00:00:00:00:00".replace(":", "").upper()) == "e3f5536a141811db40efd6400f1d0a4e"  # HASH_MAC
    # HASH_MOBILE_PHONE is the MD5 of the 11 digits ("加密前为11位的纯数字串"): every notation hashes alike
    for text in ("+8613800138000", "+86 138 0013 8000", "13800138000"):
        assert md5_hex(mainland_mobile(text)) == "7945bd83237335e5376ff44d62e4f0ae"
        assert sha256_hex(mainland_mobile(text)) == ("a6942f9771d67f34034d2f1926988ed3fad3bf1b4e7cedb9a31f31398dea43bc")
    # the X Ads API's published SHA-256 example (lowercase hex of the UTF-8 text, no salt)
    assert sha256_hex("adsapi") == "49e0be2aeccfb51a8dee4c945c8a70a9ac500cf6f5cb08112575f74db9b1470d"


def test_sms_batches_follow_aliyun_and_chuanglan_rules_and_address_exactly_the_audience(tmp_path):
    rows = audience("sms", 260, phone)
    payload = WRITERS["sms"](rows, plan())
    write(payload, tmp_path)
    expected, rejected = expected_addresses(rows, lambda row: mainland_mobile(row["contact_ref"]))
    assert payload_rules.aliyun_sms(tmp_path) == expected
    assert payload_rules.chuanglan_sms(tmp_path) == expected
    assert payload.rejected == dict.fromkeys(rejected, INVALID_MOBILE) and len(rejected) == 5
    assert payload.contacts == len(expected) == 255
    # 100 numbers per request, and a request never mixes send times: 128 + 127 contacts -> 2 + 2 requests
    lines = (tmp_path / "part-00000.jsonl").read_text().splitlines()
    assert len(lines) == 4
    assert "+86" not in (tmp_path / "part-00000.jsonl").read_text()


def test_jpush_pushes_hold_at_most_1000_aliases_of_one_platform(tmp_path):
    rows = audience("app_push", 4_500, lambda one_id: f"U{10_000_000 + one_id}")
    rows[10]["contact_ref"] = "x" * 41  # longer than an alias may be
    payload = WRITERS["app_push"](rows, plan())
    write(payload, tmp_path)
    expected = {row["contact_id"]: row["contact_ref"] for row in rows if len(row["contact_ref"]) <= 40}
    assert payload_rules.jpush(tmp_path) == expected
    assert list(payload.rejected) == [rows[10]["contact_id"]]
    bodies = payload_rules._json_lines(sorted(tmp_path.glob("part-*.jsonl")))
    assert max(len(envelope["body"]["audience"]["alias"]) for envelope in bodies) == 1_000
    platforms = {str(envelope["body"]["platform"]) for envelope in bodies}
    assert platforms == {"['ios']", "['android']", "['hmos']", "all"}


def test_wechat_template_messages_carry_the_contact_id_and_the_plan_link(tmp_path):
    service = plan(
        purpose="service",
        channels=["wechat_oa_template", "wecom"],
        template={"id": "notice_v1", "params": {"city": "city"}, "miniprogram": {"appid": "wx1", "pagepath": "p"}},
    )
    rows = audience("wechat_oa_template", 120, lambda one_id: f"o{one_id:027d}")
    rows[3]["contact_ref"] = "not an openid!"
    payload = WRITERS["wechat_oa_template"](rows, service)
    write(payload, tmp_path)
    expected = {row["contact_id"]: row["contact_ref"] for row in rows if row is not rows[3]}
    assert payload_rules.wechat_template(tmp_path) == expected
    assert list(payload.rejected) == [rows[3]["contact_id"]]
    first = payload_rules._json_lines([tmp_path / "part-00000.jsonl"])[0]["body"]
    assert first["miniprogram"] == {"appid": "wx1", "pagepath": "p"} and "url" not in first
    assert set(first["data"]) == {"city"}


def test_wecom_tags_go_through_the_owning_staff_member_grouped_per_staff(tmp_path):
    rows = audience("wecom", 200, lambda one_id: f"wm{one_id:030d}")
    payload = WRITERS["wecom"](rows, plan(template={"id": "t", "sign_name": "s", "wecom_tag_id": "etVIP"}))
    write(payload, tmp_path)
    expected = {r["contact_id"]: (r["wecom_owner_userid"], r["contact_ref"]) for r in rows if r["wecom_owner_userid"]}
    assert payload_rules.wecom_mark_tag(tmp_path) == expected
    assert set(payload.rejected.values()) == {NO_OWNER} and len(payload.rejected) == 200 // 17
    assert '"add_tag":["etVIP"]' in (tmp_path / "part-00000.jsonl").read_text()


def test_call_list_has_11_digit_numbers_and_the_call_window_in_beijing_time(tmp_path):
    rows = audience("outbound_call", 100, phone)
    payload = WRITERS["outbound_call"](rows, plan())
    write(payload, tmp_path)
    expected, rejected = expected_addresses(rows, lambda row: mainland_mobile(row["contact_ref"]))
    assert payload_rules.call_list(tmp_path) == expected and set(payload.rejected) == rejected
    text = (tmp_path / "part-00000.csv").read_text()
    # one_id 1 (Shanghai, sent 10:00 Beijing): called until 20:00 Beijing; one_id 7 (Urumqi, the window is local
    # time there: 20:00 in Urumqi is 22:00 in Beijing)
    assert f"13800000001,,demo_v1,7,2026-11-20 19:00:00,2026-11-20 20:00:00,{rows[0]['contact_id']}" in text
    assert f"13800000007,,demo_v1,7,2026-11-20 19:00:00,2026-11-20 22:00:00,{rows[6]['contact_id']}" in text


def ad_rows(people: int) -> list[dict]:
    rows = []
    for one_id in range(1, people + 1):
        rows.append(
            {
                "one_id": one_id,
                "contact_id": contact_id("demo", RUN_DATE, one_id, "sms"),
                "phone": phone(one_id) if one_id % 3 else "",
                "unionid": f"oUnion{one_id:022d}" if one_id % 4 == 0 else "",
                "wechat_oa_openid": f"o{one_id:027d}",  # never uploaded: the writers must not read it
                "oaid": f"{one_id:08x}-aaaa-bbbb-cccc-{one_id:012x}" if one_id % 5 == 0 else "",
            }
        )
    return rows


def test_ad_audiences_are_hashed_sets_split_under_the_size_limit_with_no_raw_identifier(tmp_path):
    rows = ad_rows(3_000)
    mobiles = {mainland_mobile(row["phone"]) for row in rows} - {None}
    oaids = {row["oaid"] for row in rows if row["oaid"]}
    unionids = {row["unionid"] for row in rows if row["unionid"]}
    limit = 40_000  # small, to force splitting
    for platform, writer in (("tencent_ads", tencent_ads_payload), ("ocean_engine", ocean_engine_payload)):
        payload = writer(rows, plan(), max_file_bytes=limit)
        paths = write(payload, tmp_path / platform)
        ids = payload_rules.ad_audience_ids(tmp_path / platform, limit)
        if platform == "tencent_ads":
            assert ids["HASH_MOBILE_PHONE"] == {md5_hex(m) for m in mobiles}
            assert ids["SHA256_MOBILE_PHONE"] == {sha256_hex(m) for m in mobiles}
            assert ids["HASH_OAID"] == {md5_hex(o) for o in oaids}
            assert ids["WX_UNIONID"] == unionids
        else:
            assert ids == {
                "MOBILE_HASH_SHA256": {sha256_hex(m) for m in mobiles},
                "MOBILE_HASH_MD5": {md5_hex(m) for m in mobiles},
                "OAID_HASH_MD5": {md5_hex(o) for o in oaids},
            }
        assert len(paths) > len(ids), "the size limit split at least one id type over several files"
        # no one lost, no one added: a person is uploaded iff they have an id the platform takes
        takes_unionid = platform == "tencent_ads"  # Ocean Engine has no unionid id type
        with_ids = {
            r["contact_id"]
            for r in rows
            if mainland_mobile(r["phone"]) or r["oaid"] or (takes_unionid and r["unionid"])
        }
        assert payload.contacts == len(with_ids) and set(payload.rejected) == {r["contact_id"] for r in rows} - with_ids
        scan_for_raw_identifiers(paths, rows)


def scan_for_raw_identifiers(paths: list[Path], rows: list[dict]) -> None:
    """No phone in any notation, no openid or OAID in clear, and unionids only where the id type is WX_UNIONID."""
    raw_phones = {mainland_mobile(r["phone"]) for r in rows} | {r["phone"] for r in rows}
    forbidden_everywhere = (raw_phones | {r["wechat_oa_openid"] for r in rows} | {r["oaid"] for r in rows}) - {""}
    unionids = {r["unionid"] for r in rows} - {""}
    for path in paths:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                lines = set(archive.read(member).decode().splitlines())
                assert not lines & forbidden_everywhere, f"{path}:{member} holds a raw identifier"
                assert not any("+86" in line or len(line) == 11 for line in lines), f"{path}:{member}"
                if member != "WX_UNIONID.txt":
                    assert not lines & unionids, f"{path}:{member} holds a unionid in clear"


def test_every_channel_and_platform_writes_identical_bytes_twice_and_leaves_no_stale_or_temporary_file(tmp_path):
    addresses = {
        "sms": phone,
        "outbound_call": phone,
        "app_push": lambda one_id: f"U{one_id}",
        "wechat_oa_template": lambda one_id: f"o{one_id:027d}",
        "wecom": lambda one_id: f"wm{one_id}",
    }
    targets = [(name, writer, audience(name, 300, addresses[name])) for name, writer in WRITERS.items()]
    targets += [(name, writer, ad_rows(300)) for name, writer in AD_WRITERS.items()]
    for name, writer, data in targets:
        directory = tmp_path / name
        first = {p.name: p.read_bytes() for p in write(writer(data, plan()), directory)}
        (directory / "part-00042.jsonl").write_text("left by an older run")
        second = {p.name: p.read_bytes() for p in write(writer(list(reversed(data)), plan()), directory)}
        assert first == second and first
        assert sorted(p.name for p in directory.iterdir()) == sorted(first), "stale or temporary files left"


@pytest.mark.parametrize("purpose", ["marketing", None])
def test_a_marketing_plan_may_not_use_wechat_template_messages(purpose):
    changes = {"channels": ["wechat_oa_template", "sms"]} | ({"purpose": purpose} if purpose else {})
    with pytest.raises(ValueError) as raised:
        plan(**changes)
    message = str(raised.value)
    assert "['wechat_oa_template']" in message and "service notices only" in message
    assert "sms, app_push, wecom, outbound_call" in message and "purpose: service" in message
    assert plan(purpose="service", **{"channels": ["wechat_oa_template", "sms"]}).purpose == "service"


# Values the columnar writers must escape or quote exactly as json.dumps / csv.writer do, in every position.
AWKWARD_TEXTS = ('say "hi"', "back\\slash", "bell\x07", "tab\tand\nnewline", "a,b", "上海", "", "\u2028")


def canonical_json(text: str) -> str:
    return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def test_awkward_values_come_out_as_json_dumps_and_csv_writer_write_them_from_rows_or_an_arrow_table(tmp_path):
    """Every JSON line (and the JSON texts inside Aliyun's body) is the canonical dump of what it parses to, and
    every CSV is what csv.writer writes for what it parses to: the escaping the per-row writers had. Rows as dicts
    and the warehouse's Arrow table (uint64 one_id, dictionary-encoded strings, several record batches) give the
    same bytes."""
    addresses = {"sms": phone, "outbound_call": phone, "app_push": lambda i: f'U"{i}', "wecom": lambda i: f"w\\{i}",
                 "wechat_oa_template": lambda i: f"o{i:027d}"}  # fmt: skip
    service = plan(purpose="service", channels=list(WRITERS), template={"id": "t", "sign_name": '夜"班'})
    for channel, writer in WRITERS.items():
        rows = audience(channel, 240, addresses[channel])
        for row in rows:
            row["param_city"] = AWKWARD_TEXTS[row["one_id"] % len(AWKWARD_TEXTS)]
            row["contact_id"] += AWKWARD_TEXTS[row["one_id"] % 3]
        table = pa.Table.from_pylist(rows)
        table = table.set_column(0, "one_id", table.column("one_id").cast(pa.uint64()))
        table = table.set_column(4, "send_at", table.column("send_at").dictionary_encode())
        payload = writer(rows, service)
        assert payload.parts and payload.contacts > 200, channel
        assert writer(table, service).parts == payload.parts, channel
        in_batches = pa.Table.from_batches(table.to_batches(max_chunksize=50))  # as a warehouse streams them
        assert writer(in_batches, service).parts == payload.parts, channel
        for extension, data in payload.parts:
            text = data.decode("utf-8")
            if extension == "jsonl":
                for line in text.removesuffix("\n").split("\n"):  # not splitlines(): U+2028 stays raw in JSON
                    assert line == canonical_json(line), line
                    body = json.loads(line)["body"]
                    for key in ("PhoneNumberJson", "SignNameJson", "TemplateParamJson"):
                        assert key not in body or body[key] == canonical_json(body[key]), body
            else:
                parsed = list(csv.reader(io.StringIO(text, newline="")))
                rewritten = io.StringIO()
                csv.writer(rewritten, lineterminator="\n").writerows(parsed)
                assert rewritten.getvalue() == text, channel


@pytest.mark.parametrize(("people", "requests"), [(100, [100]), (101, [100, 1])])
def test_aliyun_takes_exactly_100_numbers_a_request(people, requests):
    rows = audience("sms", people, lambda one_id: f"+86138{one_id:08d}")
    for row in rows:
        row["send_at"] = SEND_TIMES[0]  # one send time: only the batch size splits
    lines = WRITERS["sms"](rows, plan()).parts[0][1].decode().splitlines()
    assert [len(json.loads(json.loads(line)["body"]["PhoneNumberJson"])) for line in lines] == requests


@pytest.mark.parametrize(("people", "pushes"), [(1_000, [1_000]), (1_001, [1_000, 1])])
def test_jpush_takes_exactly_1000_aliases_a_push(people, pushes):
    rows = audience("app_push", people, lambda one_id: f"U{one_id}")
    for row in rows:
        row.update(send_at=SEND_TIMES[0], variant="a", device_os="ios")  # one group: only the push size splits
    lines = WRITERS["app_push"](rows, plan()).parts[0][1].decode().splitlines()
    assert [len(json.loads(line)["body"]["audience"]["alias"]) for line in lines] == pushes


def test_an_empty_audience_or_one_nobody_can_be_sent_to_writes_no_file_and_names_who_was_left_out():
    columns = {"one_id": pa.uint64(), "contact_id": pa.string(), "contact_ref": pa.string(), "send_at": pa.string()}
    for channel, writer in WRITERS.items():
        for empty in ([], pa.schema(columns).empty_table()):
            payload = writer(empty, plan())
            assert (payload.parts, payload.rejected, payload.contacts) == ([], {}, 0), channel
    for channel in ("sms", "outbound_call"):
        rows = audience(channel, 30, lambda one_id: "+14155550100" if one_id % 2 else "not a number")
        payload = WRITERS[channel](rows, plan())
        assert payload.parts == [] and payload.contacts == 0
        assert payload.rejected == dict.fromkeys((row["contact_id"] for row in rows), INVALID_MOBILE)
