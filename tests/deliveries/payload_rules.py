"""The channels' published rules, as readers of written payload files: each reader checks every rule it knows
(batch sizes, required keys, id formats, times in GMT+8) and returns what the files address, so a test can compare
it with the audience: {contact_id: address}.

Rules (vendor documentation, see /work/shared/NOTES.md "Channel facts"):
- Aliyun SendBatchSms: at most 100 numbers per call; PhoneNumberJson, SignNameJson, TemplateParamJson are JSON
  arrays of equal length; TemplateCode; OutId shorter than 256 characters.
- JPush v3: at most 1,000 aliases per push; an alias at most 40 bytes; platform "all" or a list.
- WeChat template message: touser, template_id, data {key: {value}}, client_msg_id (at most 32 characters).
- WeCom mark_tag: userid, external_userid, add_tag (non-empty list).
- Tencent Ads / Ocean Engine: one id per line, zipped, a file under the platform's size limit.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import datetime
from pathlib import Path

MOBILE_11 = re.compile(r"^1\d{10}$")
CHINA_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
MD5_HEX = re.compile(r"^[0-9a-f]{32}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
ALIYUN_BODY_KEYS = {"PhoneNumberJson", "SignNameJson", "TemplateCode", "TemplateParamJson", "OutId"}
JPUSH_PLATFORMS = {"android", "ios", "hmos"}


def _json_lines(paths: list[Path]) -> list[dict]:
    return [json.loads(line) for path in paths for line in path.read_text(encoding="utf-8").splitlines()]


def _china_time(text: str) -> datetime:
    assert CHINA_TIME.match(text), f"{text!r} is not a GMT+8 'YYYY-MM-DD HH:MM:SS' time"
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def aliyun_sms(directory: Path) -> dict[str, str]:
    addressed: dict[str, str] = {}
    for envelope in _json_lines(sorted(directory.glob("part-*.jsonl"))):
        body, contact_ids = envelope["body"], envelope["contact_ids"]
        assert set(body) == ALIYUN_BODY_KEYS, body.keys()
        numbers, signs, params = (json.loads(body[key]) for key in ("PhoneNumberJson", "SignNameJson",
                                                                    "TemplateParamJson"))  # fmt: skip
        assert 1 <= len(numbers) <= 100 and len(numbers) == len(signs) == len(params) == len(contact_ids)
        assert all(MOBILE_11.match(number) for number in numbers), numbers
        assert all(signs) and body["TemplateCode"] and len(body["OutId"]) < 256
        _china_time(envelope["send_at"])
        for contact_id, number in zip(contact_ids, numbers, strict=True):
            assert contact_id not in addressed, f"{contact_id} sent twice"
            addressed[contact_id] = number
    return addressed


def chuanglan_sms(directory: Path) -> dict[str, str]:
    addressed: dict[str, str] = {}
    for path in sorted(directory.glob("part-*.csv")):
        for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
            assert MOBILE_11.match(row["mobile"]) and row["uid"] not in addressed
            _china_time(row["send_time"])
            addressed[row["uid"]] = row["mobile"]
    return addressed


def jpush(directory: Path) -> dict[str, str]:
    addressed: dict[str, str] = {}
    for envelope in _json_lines(sorted(directory.glob("part-*.jsonl"))):
        body, contact_ids = envelope["body"], envelope["contact_ids"]
        aliases = body["audience"]["alias"]
        assert 1 <= len(aliases) <= 1_000 and len(aliases) == len(contact_ids)
        assert all(len(alias.encode()) <= 40 for alias in aliases)
        assert body["platform"] == "all" or (len(body["platform"]) == 1 and set(body["platform"]) <= JPUSH_PLATFORMS)
        assert "notification" in body or "message" in body
        _china_time(envelope["send_at"])
        for contact_id, alias in zip(contact_ids, aliases, strict=True):
            assert contact_id not in addressed, f"{contact_id} pushed twice"
            addressed[contact_id] = alias
    return addressed


def wechat_template(directory: Path) -> dict[str, str]:
    addressed: dict[str, str] = {}
    for envelope in _json_lines(sorted(directory.glob("part-*.jsonl"))):
        body = envelope["body"]
        assert {"touser", "template_id", "data", "client_msg_id"} <= set(body)
        assert set(body) <= {"touser", "template_id", "data", "client_msg_id", "url", "miniprogram"}
        assert all(set(value) == {"value"} for value in body["data"].values())
        assert len(body["client_msg_id"]) <= 32 and body["client_msg_id"] not in addressed
        _china_time(envelope["send_at"])
        addressed[body["client_msg_id"]] = body["touser"]
    return addressed


def wecom_mark_tag(directory: Path) -> dict[str, tuple[str, str]]:
    """{contact_id: (staff userid, external_userid)}; also checks that each staff member's bodies are one run."""
    addressed: dict[str, tuple[str, str]] = {}
    owners_seen: list[str] = []
    for envelope in _json_lines(sorted(directory.glob("part-*.jsonl"))):
        body = envelope["body"]
        assert body["userid"] and body["external_userid"] and body["add_tag"]
        if not owners_seen or owners_seen[-1] != body["userid"]:
            assert body["userid"] not in owners_seen, f"staff {body['userid']} split over two groups"
            owners_seen.append(body["userid"])
        addressed[envelope["contact_id"]] = (body["userid"], body["external_userid"])
    return addressed


def call_list(directory: Path) -> dict[str, str]:
    addressed: dict[str, str] = {}
    for path in sorted(directory.glob("part-*.csv")):
        for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
            assert MOBILE_11.match(row["phone"]) and row["script_id"] and row["priority"].isdigit()
            assert _china_time(row["call_from"]) < _china_time(row["call_until"])
            assert row["list_row_id"] not in addressed
            addressed[row["list_row_id"]] = row["phone"]
    return addressed


def ad_audience_ids(directory: Path, max_file_bytes: int) -> dict[str, set[str]]:
    """{id type: ids} over every zip part; each zip holds one `<ID_TYPE>.txt`, one id per line."""
    ids: dict[str, set[str]] = {}
    for path in sorted(directory.glob("part-*.zip")):
        assert path.stat().st_size <= max_file_bytes, f"{path} is over the platform's size limit"
        with zipfile.ZipFile(path) as archive:
            (member,) = archive.namelist()
            lines = archive.read(member).decode("utf-8").splitlines()
        id_type = member.removesuffix(".txt")
        assert lines and all(lines), f"{path}: empty lines"
        if id_type != "WX_UNIONID":
            pattern = SHA256_HEX if "SHA256" in id_type else MD5_HEX
            assert all(pattern.match(line) for line in lines), f"{path}: {id_type} lines are not hashes"
        ids.setdefault(id_type, set()).update(lines)
    return ids
