"""The nightly segments, audiences and export stages end to end, with the embedded warehouse and local Spark.

Synthetic marts with the real profile columns (`bench.synthetic.segment_marts`) are built in the warehouse's `marts`
database; the stages run the repository's own segments, campaign plans and policy over them (plus one invalid
segment file and one invalid plan, which must be skipped and reported), on a Friday, on the Saturday after, and on
the three nights after that. Each night's export records its contacts, which the next nights' caps and budgets read.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections import Counter
from datetime import date, timedelta

import pytest
import yaml

from bench.synthetic.segment_marts import create_synthetic_marts
from nightshift.audiences.history import HISTORY_SQL, SPENT_SQL
from nightshift.campaigns.contact_id import contact_id
from nightshift.campaigns.plans import CAMPAIGNS_DIR, load_plans
from nightshift.contracts import CHANNELS
from nightshift.segments.bitmaps import CLICKHOUSE_SEGMENT_SETTINGS, clickhouse_sql
from nightshift.segments.files import SEGMENTS_DIR
from nightshift.stages.context import StageContext

FRIDAY = date(2026, 11, 20)
SATURDAY = FRIDAY + timedelta(days=1)
# Big enough that the win-back campaign's audience costs more than its budget (100 coupons).
PEOPLE = 1_200
# What the audiences stage read before audience.contact_history existed: the plan itself.
PLAN_HISTORY_SQL = HISTORY_SQL.replace("audience.contact_history", "audience.campaign_audience")
PLAN_SPENT_SQL = SPENT_SQL.replace("audience.contact_history", "audience.campaign_audience")
AUDIENCE_TABLES = ("audience.segment_membership", "audience.segment_changes", "audience.campaign_audience")


def _query(client, sql: str, **parameters) -> list[tuple]:
    return client.query(sql, parameters=parameters, settings=CLICKHOUSE_SEGMENT_SETTINGS).result_rows


def _decided(client, run_date: date) -> dict[tuple[str, int], str]:
    rows = _query(
        client,
        "SELECT campaign_id, one_id, variant FROM audience.campaign_audience WHERE run_date = {d:Date} "
        "UNION ALL SELECT campaign_id, one_id, concat('excluded:', reason) FROM audience.exclusions "
        "WHERE run_date = {d:Date}",
        d=run_date,
    )
    decided = {(campaign, one_id): outcome for campaign, one_id, outcome in rows}
    assert len(decided) == len(rows), "a (campaign, person) pair is both in the audience and excluded"
    return decided


def _membership(client, run_date: date) -> dict[str, set[int]]:
    members: dict[str, set[int]] = {}
    rows = _query(
        client, "SELECT segment, one_id FROM audience.segment_membership WHERE run_date = {d:Date}", d=run_date
    )
    for segment, one_id in rows:
        members.setdefault(segment, set()).add(one_id)
    return members


@pytest.fixture(scope="module")
def stage_dirs(tmp_path_factory):
    """Copies of the shipped segments and plans, plus one invalid segment and one invalid plan."""
    root = tmp_path_factory.mktemp("definitions")
    segments, plans = root / "segments", root / "campaigns"
    shutil.copytree(SEGMENTS_DIR, segments, ignore=shutil.ignore_patterns("campaigns", "*.yml"))
    shutil.copytree(CAMPAIGNS_DIR, plans)
    (segments / "typo.sql").write_text(
        "-- name: typo\n-- owner: t\n-- description: d\nSELECT one_id FROM marts.user_profile WHERE devise_os = 'ios'\n"
    )
    bad = yaml.safe_load((CAMPAIGNS_DIR / "winback_lapsed.yml").read_text())
    bad.update(id="bad_weights", include_segments=["typo"])
    bad["experiment"]["variants"][0]["weight"] = 0.9
    (plans / "bad_weights.yml").write_text(yaml.safe_dump(bad))
    return segments, plans


class Night:
    """The segments, audiences and export stages for one date, on the test's copies of segments and plans."""

    def __init__(self, stage_dirs):
        self.segments_dir, self.plans_dir = stage_dirs

    def segments(self, ctx: StageContext):
        from nightshift.stages import segments

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(segments, "SEGMENTS_DIR", self.segments_dir)
            return segments.run(ctx)

    def audiences(self, ctx: StageContext):
        from nightshift.stages import audiences

        return audiences.run(ctx, plans_dir=self.plans_dir)

    def export(self, ctx: StageContext):
        from nightshift.stages import export

        return export.run(ctx, plans_dir=self.plans_dir)

    def run(self, ctx: StageContext):
        """A normal night: everything planned and not held out is exported (and so recorded as contacted)."""
        membership, audiences = self.segments(ctx), self.audiences(ctx)
        self.export(ctx)
        return membership, audiences


@pytest.fixture(scope="module")
def friday(client, settings, stage_dirs):
    """The segments and audiences stages for Friday on fresh synthetic marts; yields both results."""
    create_synthetic_marts(client, "marts", PEOPLE)
    for table in (*AUDIENCE_TABLES, "audience.exclusions", "audience.contact_history"):
        client.command(f"DROP TABLE IF EXISTS {table}")
    night = Night(stage_dirs)
    ctx = StageContext(run_date=FRIDAY, settings=settings, _client=client)
    yield night, ctx, night.run(ctx)
    for table in ("marts.user_profile", "marts.user_tags", "marts.tag_bitmaps"):
        client.command(f"DROP TABLE IF EXISTS {table}")


def test_membership_equals_clickhouse_and_invalid_files_are_skipped(client, friday):
    from nightshift.segments import validate_all

    _, _, (result, audiences) = friday
    assert "1 invalid segment(s) skipped: typo" in result.summary
    assert "plan problem(s)" in audiences.summary  # bad_weights: weights and the unknown segment
    assert result.rows["lake.user_tags"] > 0  # a shipped segment joins marts.user_tags: Spark needed it
    membership = _membership(client, FRIDAY)
    for definition in validate_all(SEGMENTS_DIR, client).valid:
        expected = {row[0] for row in _query(client, f"SELECT DISTINCT one_id FROM ({clickhouse_sql(definition)})")}
        assert expected and membership.get(definition.name, set()) == expected, definition.name
    changes = _query(client, "SELECT segment, previous_date, members, entered, exited FROM audience.segment_changes")
    assert {row[0]: row[1:] for row in changes} == {
        name: (None, len(ids), len(ids), 0) for name, ids in membership.items()
    }


def test_every_candidate_is_decided_once_by_the_documented_rules(client, friday):
    decided = _decided(client, FRIDAY)
    membership = _membership(client, FRIDAY)
    plans = load_plans(CAMPAIGNS_DIR, known_segments=membership).active(FRIDAY)
    assert {plan.id for plan in plans} == {
        "winback_lapsed",
        "phone_bind_nudge",
        "vip_care_call",
        "trade_in_push",
        "ios_reactivation",
    }
    expected = set()
    for plan in plans:
        people = set().union(*(membership.get(s, set()) for s in plan.include_segments))
        people -= set().union(*(membership.get(s, set()) for s in plan.exclude_segments))
        expected |= {(plan.id, one_id) for one_id in people}
    assert set(decided) == expected
    treated = [key for key, outcome in decided.items() if outcome != "holdout" and ":" not in outcome]
    assert all(count == 1 for count in Counter(one_id for _, one_id in treated).values()), "one campaign a day"
    for plan in plans:  # every shipped campaign has an audience on the demo date
        assert any(campaign == plan.id for campaign, _ in treated), plan.id

    # nobody is assigned to a channel they cannot receive (opt-outs, SMS unsubscribes), holdout to none
    checks = " OR ".join(f"(a.channel = '{c}' AND p.can_receive_{c} = 0)" for c in CHANNELS)
    wrong = _query(
        client,
        "SELECT count() FROM audience.campaign_audience AS a INNER JOIN marts.user_profile AS p ON p.one_id = a.one_id "
        f"WHERE {checks} OR (a.channel = 'sms' AND p.is_sms_unsubscribed = 1) "
        "OR (a.variant = 'holdout') != (a.channel = '') OR (a.channel != '' AND a.contact_ref = '')",
    )
    assert wrong == [(0,)]
    reasons = Counter(outcome for outcome in decided.values() if outcome.startswith("excluded:"))
    assert reasons["excluded:arbitration"] > 0 and reasons["excluded:complaint"] > 0


def test_budget_trims_the_win_back_campaign(client, friday):
    rows = _query(
        client,
        "SELECT countIf(variant != 'holdout'), sum(cost_fen) FROM audience.campaign_audience "
        "WHERE run_date = {d:Date} AND campaign_id = 'winback_lapsed'",
        d=FRIDAY,
    )
    budget = yaml.safe_load((CAMPAIGNS_DIR / "winback_lapsed.yml").read_text())["budget_fen"]
    treated, cost = rows[0]
    assert cost == treated * 500 and budget - 500 < cost <= budget  # as many coupons as the budget pays for
    trimmed = _query(
        client,
        "SELECT count() FROM audience.exclusions WHERE campaign_id = 'winback_lapsed' AND reason = 'budget'",
    )
    assert trimmed[0][0] > 0


def test_export_stage_writes_campaign_files_without_holdout_with_manifests(client, settings, friday, tmp_path):
    from nightshift.stages import export

    night, ctx, _ = friday
    result = export.run(ctx, plans_dir=night.plans_dir)
    out_dir = settings.exports_dir / FRIDAY.isoformat()
    files = sorted(path.name for path in out_dir.glob("campaign__*.csv"))
    assert {name.split("__")[1] for name in files} == {
        "winback_lapsed",
        "phone_bind_nudge",
        "vip_care_call",
        "trade_in_push",
        "ios_reactivation",
    }
    assert "campaign files" in result.summary and "ios_users.csv" in result.rows
    refs = {
        one_id: dict(zip(CHANNELS, rest, strict=True))
        for one_id, *rest in _query(
            client, "SELECT one_id, " + ", ".join(f"contact_ref_{c}" for c in CHANNELS) + " FROM marts.user_profile"
        )
    }
    profile = {
        one_id: (phone, lifecycle)
        for one_id, phone, lifecycle in _query(client, "SELECT one_id, phone, lifecycle_stage FROM marts.user_profile")
    }
    exported = 0
    for path in out_dir.glob("campaign__*.csv"):
        rows = list(csv.DictReader(io.StringIO(path.read_text())))
        manifest = json.loads(path.with_name(path.name + ".manifest.json").read_text())
        assert manifest["rows"] == len(rows) == result.rows[path.name]
        assert manifest["columns"] == list(rows[0].keys())
        assert manifest["columns"][:2] == ["one_id", "contact_id"]
        campaign, channel = manifest["campaign_id"], manifest["channel"]
        assert all(row["contact_id"] == contact_id(campaign, FRIDAY, int(row["one_id"]), channel) for row in rows)
        assert all(
            row["variant"] != "holdout" and row["contact_ref"] == refs[int(row["one_id"])][channel] for row in rows
        )
        assert [int(row["one_id"]) for row in rows] == sorted(int(row["one_id"]) for row in rows)
        if manifest["campaign_id"] == "winback_lapsed":
            assert all(
                (row["param_phone"], row["param_lifecycle"]) == profile[int(row["one_id"])] for row in rows
            )  # template parameters filled from the profile
            assert manifest["cost_fen"] == 500 * len(rows)
        exported += len(rows)
    treated = _query(
        client,
        "SELECT count() FROM audience.campaign_audience WHERE run_date = {d:Date} AND variant != 'holdout'",
        d=FRIDAY,
    )
    assert exported == treated[0][0]

    # the contact history of the date is exactly the files' rows, once each, as planned contacts
    in_files = sorted(
        (manifest["campaign_id"], manifest["channel"], int(row["one_id"]), row["contact_id"], int(row["cost_fen"]))
        for path in out_dir.glob("campaign__*.csv")
        for manifest in [json.loads(path.with_name(path.name + ".manifest.json").read_text())]
        for row in csv.DictReader(io.StringIO(path.read_text()))
    )
    history_sql = (
        "SELECT campaign_id, channel, one_id, contact_id, cost_fen FROM audience.contact_history "
        "WHERE run_date = {d:Date} AND source = 'plan'"
    )
    assert sorted(_query(client, history_sql, d=FRIDAY)) == in_files
    assert result.rows["audience.contact_history"] == len(in_files) == exported

    written = _files_under(out_dir)
    assert any(name.endswith(".jsonl") for name in written)  # channel payloads are among the files compared
    export.run(ctx, plans_dir=night.plans_dir)  # a re-run writes identical bytes and records nobody twice
    assert _files_under(out_dir) == written
    assert sorted(_query(client, history_sql, d=FRIDAY)) == in_files


def _files_under(directory) -> dict[str, bytes]:
    """Every file under `directory` (campaign payloads live in subfolders) by relative path."""
    return {
        path.relative_to(directory).as_posix(): path.read_bytes() for path in directory.rglob("*") if path.is_file()
    }


def test_channel_payloads_address_exactly_each_campaign_files_contacts(client, settings, friday):
    """Beside every campaign file, its channel's payloads read back with the channel's published rules: each
    contact of the file is addressed once (with the address the channel wants), or counted as left out; nobody is
    added. The trade-in campaign's ad audiences are hashed ids of its treated people, with no raw identifier."""
    from nightshift.deliveries.ad_audiences import OCEAN_ENGINE_MAX_FILE_BYTES, TENCENT_MAX_FILE_BYTES
    from nightshift.deliveries.common import mainland_mobile, md5_hex
    from nightshift.stages import export
    from tests.deliveries import payload_rules
    from tests.deliveries.test_writers import scan_for_raw_identifiers

    night, ctx, _ = friday
    result = export.run(ctx, plans_dir=night.plans_dir)
    out_dir = settings.exports_dir / FRIDAY.isoformat()
    owners = dict(_query(client, "SELECT one_id, wecom_owner_userid FROM marts.user_profile"))
    readers = {
        "sms": lambda d: payload_rules.aliyun_sms(d) | {"chuanglan": payload_rules.chuanglan_sms(d)},
        "app_push": payload_rules.jpush,
        "wechat_oa_template": payload_rules.wechat_template,
        "wecom": payload_rules.wecom_mark_tag,
        "outbound_call": payload_rules.call_list,
    }
    checked = set()
    for path in out_dir.glob("campaign__*.csv"):
        _, campaign, channel = path.stem.split("__")
        rows = list(csv.DictReader(io.StringIO(path.read_text())))
        addressed = readers[channel](out_dir / campaign / channel)
        if channel == "sms":
            assert addressed.pop("chuanglan") == addressed  # the second vendor's file: the same contacts
        expected = {}
        for row in rows:
            if channel in ("sms", "outbound_call"):
                expected[row["contact_id"]] = mainland_mobile(row["contact_ref"])
            elif channel == "wecom":
                expected[row["contact_id"]] = (owners[int(row["one_id"])], row["contact_ref"])
            else:
                expected[row["contact_id"]] = row["contact_ref"]
        assert {key: expected[key] for key in addressed} == addressed  # nobody added, each at their address
        left_out = result.rows.get(f"{campaign}/{channel} left out", 0)
        assert len(addressed) + left_out == len(rows) == result.rows[f"{campaign}/{channel}"] + left_out
        checked.add(channel)
    assert checked == set(CHANNELS), checked  # every channel's writer ran on real audiences

    treated = _query(
        client,
        "SELECT a.contact_id, p.phone, p.unionid, p.wechat_oa_openid FROM audience.campaign_audience AS a "
        "LEFT JOIN marts.user_profile AS p ON p.one_id = a.one_id WHERE a.run_date = {d:Date} "
        "AND a.campaign_id = 'trade_in_push' AND a.variant != 'holdout'",
        d=FRIDAY,
    )
    people = [{"contact_id": c, "phone": ph, "unionid": u, "wechat_oa_openid": o, "oaid": ""}
              for c, ph, u, o in treated]  # fmt: skip
    phones = {mainland_mobile(person["phone"]) for person in people} - {None}
    assert phones, "the trade-in audience has people with a phone"
    unionids = {person["unionid"] for person in people} - {""}
    for platform, limit in (("tencent_ads", TENCENT_MAX_FILE_BYTES), ("ocean_engine", OCEAN_ENGINE_MAX_FILE_BYTES)):
        directory = out_dir / "trade_in_push" / platform
        ids = payload_rules.ad_audience_ids(directory, limit)
        phone_type = "HASH_MOBILE_PHONE" if platform == "tencent_ads" else "MOBILE_HASH_MD5"
        assert ids[phone_type] == {md5_hex(phone) for phone in phones}
        if platform == "tencent_ads":
            assert ids["WX_UNIONID"] == unionids
        scan_for_raw_identifiers(sorted(directory.glob("part-*.zip")), people)


def test_preview_shows_the_funnel_without_writing_anything(client, settings, friday):
    from rich.console import Console

    from nightshift.audiences.preview import preview_campaign
    from nightshift.cli.campaign import print_preview

    tables = "SELECT name, total_rows FROM system.tables WHERE database = 'audience' ORDER BY name"
    before = client.query(tables).result_rows
    preview = preview_campaign("winback_lapsed", FRIDAY, settings)
    assert client.query(tables).result_rows == before

    membership = _membership(client, FRIDAY)
    assert preview.is_active
    assert sorted(preview.competing) == ["ios_reactivation", "phone_bind_nudge", "trade_in_push", "vip_care_call"]
    assert preview.segment_sizes == {
        "lapsed_users_reachable": len(membership["lapsed_users_reachable"]),
        "high_value_customers": len(membership["high_value_customers"]),
    }
    assert preview.candidates - sum(step.lost for step in preview.steps) == preview.audience
    assert sum(people for _, _, people, _ in preview.breakdown) == preview.audience
    # the preview's funnel is exactly what the stage recorded for the same date
    recorded = dict(
        _query(
            client,
            "SELECT reason, count() FROM audience.exclusions WHERE run_date = {d:Date} "
            "AND campaign_id = 'winback_lapsed' GROUP BY reason",
            d=FRIDAY,
        )
    )
    assert {step.reason: step.lost for step in preview.steps if step.lost} == recorded
    assert "budget" in recorded and "arbitration" in recorded

    out = Console(record=True, width=160)
    print_preview(preview, out)
    text = out.export_text()
    assert "Funnel" in text and "budget" in text and "(holdout: not contacted)" in text and "coupon_copy_a" in text


def test_saturday_rerun_caps_and_segment_changes(client, settings, friday):
    """Last: re-runs Friday (idempotent), then Saturday after a third of the people aged by 30 days."""
    night, ctx, _ = friday
    decided = _decided(client, FRIDAY)
    night.run(ctx)
    assert _decided(client, FRIDAY) == decided

    client.command(
        "ALTER TABLE marts.user_profile UPDATE days_since_last_active = days_since_last_active + 30 "
        "WHERE one_id % 3 = 0 SETTINGS mutations_sync = 1"
    )
    _, saturday = night.run(StageContext(run_date=SATURDAY, settings=settings, _client=client))
    assert "winback_lapsed" in saturday.summary
    next_day = _decided(client, SATURDAY)
    assert not {campaign for campaign, _ in next_day} & {"phone_bind_nudge", "vip_care_call", "ios_reactivation"}
    contacted = {
        one_id
        for (campaign, one_id), outcome in decided.items()
        if campaign == "winback_lapsed" and outcome != "holdout" and not outcome.startswith("excluded:")
    }
    again = {one_id for campaign, one_id in next_day if campaign == "winback_lapsed"} & contacted
    assert again and all(next_day[("winback_lapsed", i)] == "excluded:campaign_frequency_cap" for i in again)

    friday_members, saturday_members = _membership(client, FRIDAY), _membership(client, SATURDAY)
    changes = _query(
        client,
        "SELECT segment, previous_date, members, entered, exited FROM audience.segment_changes "
        "WHERE run_date = {d:Date}",
        d=SATURDAY,
    )
    expected = {
        name: (
            FRIDAY,
            len(saturday_members.get(name, set())),
            len(saturday_members.get(name, set()) - ids),
            len(ids - saturday_members.get(name, set())),
        )
        for name, ids in friday_members.items()
    }
    assert {row[0]: row[1:] for row in changes} == expected
    assert expected["lapsed_users_reachable"][2] > 0 and expected["lapsed_users_reachable"][3] > 0


def test_decisions_from_the_contact_history_are_the_plans_night_after_night(client, settings, friday):
    """Last, after the Saturday test: Sunday to Tuesday, three more normal nights (segments, audiences, export).
    Each night the audiences stage decides once from the plan, which is what it read before the contact history
    existed, and once from the contact history: every decision is the same, and the history holds exactly the
    plan's handed-over rows of every night so far."""
    from nightshift.audiences import history
    from nightshift.stages import audiences

    assert PLAN_HISTORY_SQL != HISTORY_SQL and PLAN_SPENT_SQL != SPENT_SQL
    night, _, _ = friday
    contacts = "SELECT run_date, campaign_id, one_id, channel, contact_id, cost_fen FROM audience."
    reasons: Counter[str] = Counter()
    for offset in (1, 2, 3):
        day = SATURDAY + timedelta(days=offset)
        ctx = StageContext(run_date=day, settings=settings, _client=client)
        night.segments(ctx)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(audiences, "HISTORY_SQL", PLAN_HISTORY_SQL)
            patch.setattr(history, "SPENT_SQL", PLAN_SPENT_SQL)
            night.audiences(ctx)
        from_plan = _decided(client, day)
        night.audiences(ctx)
        assert _decided(client, day) == from_plan, day
        night.export(ctx)

        reasons.update(outcome for outcome in from_plan.values() if outcome.startswith("excluded:"))
        handed_over = _query(client, contacts + "campaign_audience WHERE variant != 'holdout' AND channel != ''")
        assert sorted(_query(client, contacts + "contact_history")) == sorted(handed_over), day
    # earlier nights' contacts decided something: the history was read, not merely empty on both sides
    assert reasons["excluded:campaign_frequency_cap"] and reasons["excluded:benefit_cap"], reasons
    assert reasons["excluded:budget"], reasons


def test_each_delivery_is_sealed_with_its_diff_and_published_whole_to_an_sftp_server(
    client, settings, friday, tmp_path
):
    """Last, after the nights above: every channel folder of Friday to Tuesday is sealed (`_SUCCESS`, every part
    as its manifest says) with the diff of its people against the previous night the campaign used that channel, from
    contact_history; the same export with NIGHTSHIFT_EXPORT_TARGET set publishes the night to an SFTP server on
    127.0.0.1, and a rerun sends nothing twice."""
    from nightshift.deliveries.manifest import SUCCESS, verify
    from nightshift.stages import export
    from tests.deliveries.servers import sftp_server

    night, _, _ = friday
    last = SATURDAY + timedelta(days=3)
    out_dir = settings.exports_dir / last.isoformat()
    people = "SELECT one_id FROM audience.contact_history WHERE campaign_id = {c:String} AND channel = {ch:String} "
    people += "AND source = 'plan' "
    latest = "SELECT max(run_date) FROM audience.contact_history WHERE campaign_id = {c:String} "
    latest += "AND channel = {ch:String} AND source = 'plan' AND run_date < {d:Date}"
    seen, diffs = set(), []
    for day in (FRIDAY + timedelta(days=offset) for offset in range(5)):
        for folder in sorted(path.parent for path in (settings.exports_dir / day.isoformat()).rglob(SUCCESS)):
            assert verify(folder) == [], folder
            manifest = json.loads((folder / "manifest.json").read_text())
            campaign, channel = manifest["campaign_id"], folder.name
            if channel not in CHANNELS:
                continue  # an ad audience: its people are the campaign's on every channel
            seen.add(channel)
            earlier = _query(client, latest, c=campaign, ch=channel, d=day)[0][0]
            tonight = {i for (i,) in _query(client, people + "AND run_date = {d:Date}", c=campaign, ch=channel, d=day)}
            before = {
                i for (i,) in _query(client, people + "AND run_date = {d:Date}", c=campaign, ch=channel, d=earlier)
            }
            expected = {"previous_run_date": earlier.isoformat() if before else None, "added": len(tonight - before),
                        "removed": len(before - tonight), "unchanged": len(tonight & before)}  # fmt: skip
            assert manifest["diff"] == expected, (day, campaign, channel)
            assert manifest["contacts"] + manifest["left_out"] == len(tonight)
            diffs.append(manifest["diff"])
    assert len(seen) >= 3, seen
    assert any(d["previous_run_date"] for d in diffs) and any(d["unchanged"] or d["removed"] for d in diffs), diffs

    with sftp_server(tmp_path / "sftp") as server:
        target = settings.model_copy(
            update={"export_target": server.url, "export_target_options": '{"known_hosts": null}'}
        )
        ctx = StageContext(run_date=last, settings=target, _client=client)
        result = export.run(ctx, plans_dir=night.plans_dir)
        assert "published to sftp://vendor:***@" in result.summary and result.rows["files published"] > 0
        remote = server.root / "inbox" / last.isoformat()
        assert _files_under(remote) == _files_under(out_dir)
        assert all(verify(folder) == [] for folder in (path.parent for path in remote.rglob(SUCCESS)))
        again = export.run(ctx, plans_dir=night.plans_dir)
        assert again.rows["files published"] == 0 and _files_under(remote) == _files_under(out_dir)


def test_a_campaign_failing_the_quality_gate_is_withheld_and_the_others_still_go_out(client, settings, friday):
    """A person planted twice into one campaign of the busiest night fails that campaign's gate: its files are
    withheld (and its contacts not recorded), the other campaigns are exported as before."""
    from nightshift.stages import export

    night, _, _ = friday
    days = [SATURDAY + timedelta(days=offset) for offset in range(4)]
    busiest = max(days, key=lambda day: len(list((settings.exports_dir / day.isoformat()).glob("campaign__*.csv"))))
    out_dir = settings.exports_dir / busiest.isoformat()
    before = {path.name for path in out_dir.glob("campaign__*.csv")}
    assert len({name.split("__")[1] for name in before}) >= 2, before
    victim = sorted(before)[0].split("__")[1]
    ctx = StageContext(run_date=busiest, settings=settings, _client=client)
    planted = "audience.campaign_audience WHERE run_date = {d:Date} AND campaign_id = {c:String}"
    original = client.query(f"SELECT * FROM {planted}", parameters={"d": busiest, "c": victim})
    client.command(
        f"INSERT INTO audience.campaign_audience SELECT * FROM {planted} AND variant != 'holdout' LIMIT 1",
        parameters={"d": busiest, "c": victim},
    )
    try:
        result = export.run(ctx, plans_dir=night.plans_dir)
        assert f"withheld by the quality gate (see the report's data quality section): {victim}: " in result.summary
        assert "expect_compound_columns_to_be_unique" in result.summary
        now = {path.name for path in out_dir.glob("campaign__*.csv")}
        assert now == {name for name in before if name.split("__")[1] != victim}
        assert not (out_dir / victim).exists()
        recorded = _query(client, "SELECT DISTINCT campaign_id FROM audience.contact_history WHERE run_date = {d:Date}",
                          d=busiest)  # fmt: skip
        assert victim not in {campaign for (campaign,) in recorded}
        gate = _query(client, "SELECT campaign_id, countIf(success = 0) FROM audience.quality_gate "
                      "WHERE run_date = {d:Date} GROUP BY campaign_id", d=busiest)  # fmt: skip
        assert {campaign for campaign, failed in gate if failed} == {victim}
    finally:
        client.command(
            "ALTER TABLE audience.campaign_audience DELETE WHERE run_date = {d:Date} AND campaign_id = {c:String} "
            "SETTINGS mutations_sync = 1",
            parameters={"d": busiest, "c": victim},
        )
        client.insert("audience.campaign_audience", original.result_rows, column_names=list(original.column_names))
