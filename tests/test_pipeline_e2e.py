"""The whole nightly pipeline on a generated world, run twice for the same date in a separate installation.

Acceptance: re-running `nightshift run` for a date leaves identical table contents and byte-identical exports.
`ops.*` is excluded on purpose: it is the operational log (every execution adds a row to ops.stage_runs).
So is `audience.segment_bitmaps.fingerprint`: it is the key previews look the night's bitmaps up by and names the
physical marts data (table uuid, parts), which a rerun rebuilds; the members and bitmaps themselves must match.
"""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.conftest import NIGHTLY_WORLD_RUN_DATE, run_cli, run_python

RUN_DATE = NIGHTLY_WORLD_RUN_DATE

FINGERPRINT_SCRIPT = textwrap.dedent(
    """
    import json
    from nightshift.warehouse import get_client
    client = get_client()
    tables = client.query(
        "SELECT database, name FROM system.tables WHERE database IN ('raw', 'identity', 'staging', 'intermediate', "
        "'marts', 'audience', 'snapshots') AND engine NOT IN ('View', 'MaterializedView') ORDER BY database, name"
    ).result_rows
    prints = {}
    for database, name in tables:
        columns = [c for (c,) in client.query(
            "SELECT name FROM system.columns WHERE database = {d:String} AND table = {t:String} "
            "AND name NOT IN ('_ingested_at', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to', 'dbt_scd_id') "
            "AND NOT (database = 'audience' AND table = 'segment_bitmaps' AND name = 'fingerprint') "
            "ORDER BY position", parameters={"d": database, "t": name}).result_rows]
        hashed = ", ".join(f"`{c}`" for c in columns)
        count, digest = client.query(
            f"SELECT count(), sum(cityHash64(tuple({hashed}))) FROM `{database}`.`{name}`").result_rows[0]
        prints[f"{database}.{name}"] = [count, str(digest)]
    print(json.dumps(prints))
    """
)


def _fingerprint_tables(home: Path) -> dict:
    return json.loads(run_python(home, FINGERPRINT_SCRIPT).strip().splitlines()[-1])


def _fingerprint_exports(home: Path) -> dict:
    """Every exported file, channel payloads in their campaign folders included, by path under the date's folder."""
    export_dir = home / "exports" / RUN_DATE
    files = sorted(p for p in export_dir.rglob("*") if p.is_file())
    return {p.relative_to(export_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def pipeline_home(nightly_world) -> Path:
    return nightly_world


@pytest.mark.slow
def test_rerunning_a_date_leaves_identical_tables_and_exports(pipeline_home):
    tables_first = _fingerprint_tables(pipeline_home)
    exports_first = _fingerprint_exports(pipeline_home)
    assert tables_first["marts.user_profile"][0] > 0
    assert tables_first["audience.segment_membership"][0] > 0
    assert any(name.endswith(".csv") for name in exports_first)
    assert any(name.endswith(".manifest.json") for name in exports_first)
    assert any(name.endswith("/part-00000.jsonl") for name in exports_first)  # channel payloads are compared too

    run_cli(pipeline_home, "run", "--date", RUN_DATE)

    assert _fingerprint_tables(pipeline_home) == tables_first
    assert _fingerprint_exports(pipeline_home) == exports_first


@pytest.mark.slow
def test_export_manifest_describes_its_file(pipeline_home):
    export_dir = pipeline_home / "exports" / RUN_DATE
    manifests = sorted(export_dir.glob("*.manifest.json"))
    assert manifests
    for manifest_path in manifests:
        manifest = json.loads(manifest_path.read_text())
        data = (export_dir / manifest["file"]).read_bytes()
        assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
        assert manifest["rows"] == data.count(b"\n") - 1  # header line excluded
        assert manifest["run_date"] == RUN_DATE
    report = (pipeline_home / "reports" / RUN_DATE / "nightly_report.txt").read_text()
    assert "Exports in" in report
    ingestion = report.split("Ingestion (latest load", 1)[1].split("\n\n", 1)[0]
    sources = {line.split()[0] for line in ingestion.splitlines()[2:]}
    assert {"app", "orders", "wechat_oa", "consent"} <= sources  # every simulated source was ingested
    assert "quarantined" in ingestion


def _report_section(report: str, title: str) -> list[str]:
    """Body lines of the report section whose title starts with `title` (after its rule line)."""
    section = report.split("\n" + title, 1)[1].split("\n\n", 1)[0]
    return section.splitlines()[2:]


@pytest.mark.slow
def test_report_counts_agree_with_the_exported_files(pipeline_home):
    """Operations read the report next to the files: its segment sizes and per-channel campaign contacts must be
    the row counts of the exported files, and its campaign lines must add up."""
    export_dir = pipeline_home / "exports" / RUN_DATE
    rows = {
        manifest["file"]: manifest["rows"]
        for manifest in (json.loads(path.read_text()) for path in export_dir.glob("*.manifest.json"))
    }
    report = (pipeline_home / "reports" / RUN_DATE / "nightly_report.txt").read_text()

    segments = _report_section(report, "Segments")
    assert segments and segments != ["(none)"]
    for line in segments:
        name, members = re.match(r"(\S+)\s+([\d,]+) people  \+[\d,]+ / -[\d,]+ \(", line).groups()
        assert int(members.replace(",", "")) == rows[f"{name}.csv"], line

    campaigns = _report_section(report, "Campaigns")
    contact_lines = [line for line in campaigns if " contacts " in line]
    assert contact_lines
    for line in contact_lines:
        campaign, total, channels = re.match(r"(\S+)\s+contacts\s+([\d,]+) \((.*)\);", line).groups()
        by_channel = {c.rsplit(" ", 1)[0]: int(c.rsplit(" ", 1)[1].replace(",", "")) for c in channels.split(", ")}
        assert sum(by_channel.values()) == int(total.replace(",", "")), line
        for channel, count in by_channel.items():
            assert rows[f"campaign__{campaign}__{channel}.csv"] == count, line
    exported_campaigns = {name.split("__")[1] for name in rows if name.startswith("campaign__")}
    assert exported_campaigns <= {line.split()[0] for line in contact_lines}


# Everything that reaches a person, for people nobody may contact (blacklisted, complaint, internal test account,
# holdout of a campaign) and, per channel, for people who may not be contacted on it (opted out, unsubscribed).
PROTECTED_CONTACTS_SCRIPT = textwrap.dedent(
    """
    import json
    from nightshift.contracts import CHANNELS
    from nightshift.warehouse import get_client
    client = get_client()
    identities = "phone, unionid, wechat_oa_openid, miniprogram_openid, wecom_external_userid, douyin_open_id"
    refs = ", ".join(f"contact_ref_{c}" for c in CHANNELS)
    never = client.query(
        f"SELECT {identities}, {refs} FROM marts.user_profile WHERE is_blacklisted OR has_complaint "
        "OR is_internal_test_account OR one_id IN (SELECT one_id FROM audience.campaign_audience "
        "WHERE run_date = {d:Date} AND variant = 'holdout')", parameters={"d": RUN_DATE}).result_rows
    per_channel = {
        c: [r for (r,) in client.query(
            f"SELECT contact_ref_{c} FROM marts.user_profile WHERE can_receive_{c} = 0 "
            + ("OR is_sms_unsubscribed" if c == "sms" else "")).result_rows]
        for c in CHANNELS
    }
    holdout = client.query("SELECT countIf(variant = 'holdout') FROM audience.campaign_audience "
                           "WHERE run_date = {d:Date}", parameters={"d": RUN_DATE}).result_rows[0][0]
    print(json.dumps({"never": sorted({v for row in never for v in row if v}), "per_channel": per_channel,
                      "holdout": holdout}))
    """
).replace("RUN_DATE", repr(RUN_DATE))


def _contact_forms(value: str) -> set[str]:
    """A contact value as it could appear in a file: as stored, and a phone also without its country code."""
    forms = {value}
    if value.startswith("+86"):
        forms.add(value[3:])
    return forms


def test_no_exported_file_carries_contact_data_of_protected_people(pipeline_home):
    protected = json.loads(run_python(pipeline_home, PROTECTED_CONTACTS_SCRIPT).strip().splitlines()[-1])
    assert protected["never"] and protected["holdout"], "the world must have protected people to check against"
    export_dir = pipeline_home / "exports" / RUN_DATE
    files = sorted(export_dir.glob("*.csv"))
    assert files
    never = set().union(*(_contact_forms(value) for value in protected["never"]))
    for path in files:
        header, *rows = path.read_text().splitlines()
        cells = {cell.strip('"') for row in rows for cell in row.split(",")}
        assert not cells & never, f"{path.name} carries contact data of a suppressed or holdout person"
        if not path.name.startswith("campaign__"):  # segment files: ids only, never contact data
            assert header == '"one_id"' or header == "one_id", f"{path.name} has columns {header}"
            continue
        channel = path.stem.split("__")[2]
        barred = set().union(*(_contact_forms(v) for v in protected["per_channel"][channel] if v))
        assert not cells & barred, f"{path.name} carries people who cannot be contacted on {channel}"


def _payload_tokens(path: Path) -> set[str]:
    """Every id-like token of one channel payload file (a zip's members read as text)."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            text = "\n".join(archive.read(member).decode("utf-8") for member in archive.namelist())
    else:
        text = path.read_text(encoding="utf-8")
    return set(re.findall(r"[A-Za-z0-9_+-]+", text))


def test_no_channel_payload_carries_a_protected_person_even_hashed(pipeline_home):
    """The channel-native files (`<campaign>/<channel>/part-*`) reach vendors and ad platforms: no suppressed or
    holdout person in them, in clear, as 11 digits, or as the MD5 / SHA-256 an ad platform matches on."""
    protected = json.loads(run_python(pipeline_home, PROTECTED_CONTACTS_SCRIPT).strip().splitlines()[-1])
    never = set().union(*(_contact_forms(value) for value in protected["never"]))
    digits = {form for form in never if form.isdigit()}
    never |= {hashlib.md5(d.encode()).hexdigest() for d in digits} | {
        hashlib.sha256(d.encode()).hexdigest() for d in digits
    }
    parts = sorted((pipeline_home / "exports" / RUN_DATE).glob("*/*/part-*"))
    assert {path.parent.name for path in parts} >= {"sms", "app_push", "tencent_ads"}, parts
    for path in parts:
        assert not _payload_tokens(path) & never, f"{path} carries a suppressed or holdout person"
