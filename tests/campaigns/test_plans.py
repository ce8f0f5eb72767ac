"""Campaign plan and policy validation: clear messages naming file and field; bad plans never stop good ones."""

from __future__ import annotations

import shutil
from datetime import date, time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nightshift.campaigns.models import QuietHours, SendWindow, first_send_time
from nightshift.campaigns.plans import CAMPAIGNS_DIR, POLICY_PATH, known_segment_names, load_plans, load_policy
from nightshift.cli.campaign import campaign_app
from nightshift.errors import NightshiftError

SEGMENTS = {"s1", "s2", "ios_users"}
VALID = {
    "id": "good",
    "name": "Good plan",
    "include_segments": ["s1"],
    "exclude_segments": ["s2"],
    "start_date": "2026-11-01",
    "end_date": "2026-11-30",
    "days_of_week": ["mon", "fri"],
    "channels": ["app_push", "sms", "outbound_call"],
    "template": {"id": "t", "params": {"who": "phone"}, "sign_name": "夜班商城"},
    "benefit": {"id": "coupon", "unit_cost_fen": 500, "per_user_cap": 1},
    "budget_fen": 100_000,
    "priority": 3,
    "experiment": {"salt": "x", "holdout_share": 0.1, "variants": [{"name": "a", "weight": 1}]},
    "send_window": {"start": "10:00", "end": "20:00"},
    "frequency_cap": {"max_contacts": 1, "days": 7},
}


def write_plan(directory: Path, plan_id: str, **changes) -> Path:
    data = {**VALID, "id": plan_id, **changes}
    path = directory / f"{plan_id}.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def errors_of(directory: Path, plan_id: str) -> list[str]:
    plans = load_plans(directory, SEGMENTS, policy=load_policy())
    return [str(error) for error in plans.errors if error.path.stem == plan_id]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        (
            {"experiment": {"salt": "x", "variants": [{"name": "a", "weight": 0.5}, {"name": "b", "weight": 0.4}]}},
            "experiment.variants",
            "sum to 1",
        ),
        ({"include_segments": ["s1", "ios_user"]}, "include_segments.1", "did you mean 'ios_users'"),
        ({"channels": ["sms", "carrier_pigeon"]}, "channels", "unknown channel 'carrier_pigeon'"),
        (
            {"template": {"id": "t", "params": {"who": "phone_numbr"}, "sign_name": "s"}},
            "template.params.who",
            "'phone'",
        ),
        ({"channels": ["wechat_oa_template", "sms"]}, "(top level)", "service notices only"),
        ({"template": {"id": "t", "params": {"who": "phone"}}}, "(top level)", "template.sign_name is empty"),
        ({"end_date": "2026-10-01"}, "(top level)", "before start_date"),
        ({"budjet_fen": 5}, "budjet_fen", "unknown field"),
        ({"days_of_week": ["monday"]}, "days_of_week.0", "'mon'"),
        ({"send_window": {"start": "22:00", "end": "23:00"}}, "send_window", "quiet hours"),
        ({"send_window": {"start": "12:00", "end": "10:00"}}, "send_window", "before its end"),
        (
            {"experiment": {"salt": "x", "holdout_share": 1.2, "variants": [{"name": "a", "weight": 1}]}},
            "experiment.holdout_share",
            "less than 1",
        ),
        ({"priority": None}, "priority", "integer"),
        ({"id": "other"}, "id", "must match the file name"),
        ({"measurement": {"conversion_window_days": 0}}, "measurement.conversion_window_days", "greater than"),
    ],
)
def test_bad_plan_is_rejected_with_file_and_field(tmp_path, changes, field, words):
    write_plan(tmp_path, "good")
    (tmp_path / "bad.yml").write_text(yaml.safe_dump({**VALID, "id": "bad", **changes}), encoding="utf-8")

    plans = load_plans(tmp_path, SEGMENTS, policy=load_policy())
    assert [plan.id for plan in plans.plans] == ["good"], "the valid plan still loads"
    messages = [str(error) for error in plans.errors]
    assert messages, "the bad plan was accepted"
    assert any(f"bad.yml: {field}:" in message and words in message for message in messages), messages


def test_broken_yaml_names_the_line(tmp_path):
    (tmp_path / "broken.yml").write_text("id: broken\nname: [unclosed\n", encoding="utf-8")
    write_plan(tmp_path, "good")
    plans = load_plans(tmp_path, SEGMENTS)
    assert [plan.id for plan in plans.plans] == ["good"]
    assert "broken.yml: line 3" in str(plans.errors[0]) or "broken.yml: line 2" in str(plans.errors[0])


def test_plan_activity_follows_dates_and_weekdays(tmp_path):
    write_plan(tmp_path, "good")
    plans = load_plans(tmp_path, SEGMENTS)
    assert [p.id for p in plans.active(date(2026, 11, 20))] == ["good"]  # a Friday
    assert plans.active(date(2026, 11, 19)) == []  # Thursday
    assert plans.active(date(2026, 12, 4)) == []  # Friday after end_date


def test_the_repository_plans_and_policy_are_valid():
    policy = load_policy()
    plans = load_plans(known_segments=known_segment_names(), policy=policy)
    assert plans.errors == []
    assert len(plans.plans) >= 2
    assert set(policy.frequency_caps) <= {"sms", "wechat_oa_template", "app_push", "wecom", "outbound_call"}


def test_the_repository_plans_use_shipped_segments_and_show_every_policy_feature():
    policy = load_policy()
    plans = load_plans(known_segments=known_segment_names(), policy=policy).plans
    assert any(plan.exclude_segments for plan in plans), "include/exclude"
    assert all(len(plan.channels) >= 2 for plan in plans), "channel fallback"
    assert any(plan.experiment.holdout_share > 0 and len(plan.experiment.variants) >= 2 for plan in plans), "A/B"
    assert any(plan.budget_fen and plan.benefit.unit_cost_fen for plan in plans), "budget"
    assert any(plan.frequency_cap for plan in plans) and policy.frequency_caps, "frequency caps"
    assert policy.quiet_hours and policy.suppression.person
    assert len({plan.priority for plan in plans}) == len(plans), "priorities decide arbitration"


def test_template_parameters_may_name_catalogue_tag_columns(tmp_path):
    write_plan(
        tmp_path,
        "good",
        template={"id": "t", "params": {"stage": "lifecycle_stage", "rfm": "rfm_segment"}, "sign_name": "s"},
    )
    write_plan(tmp_path, "typo", template={"id": "t", "params": {"stage": "lifecycle_stag"}, "sign_name": "s"})
    plans = load_plans(tmp_path, SEGMENTS)
    assert [plan.id for plan in plans.plans] == ["good"]
    assert "did you mean 'lifecycle_stage'" in str(plans.errors[0]) and "tag_catalogue.csv" in str(plans.errors[0])


def test_bad_policy_stops_with_every_problem_listed(tmp_path):
    policy = yaml.safe_load(POLICY_PATH.read_text())
    policy["frequency_caps"]["fax"] = {"max_contacts": 1, "days": 1}
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(policy))
    with pytest.raises(NightshiftError, match=r"policy.yml: frequency_caps: .*unknown channel 'fax'"):
        load_policy(path)
    policy["frequency_caps"].pop("fax")
    policy["suppression"]["person"].append({"reason": "vip", "column": "is_vipp"})
    path.write_text(yaml.safe_dump(policy))
    with pytest.raises(NightshiftError, match=r"suppression.person.2.column: unknown profile column 'is_vipp'"):
        load_policy(path)


def test_first_send_time_skips_quiet_hours():
    quiet = QuietHours(start=time(21), end=time(9))
    assert first_send_time(SendWindow(start=time(8), end=time(12)), quiet) == time(9)
    assert first_send_time(SendWindow(start=time(10, 30), end=time(12)), quiet) == time(10, 30)
    assert first_send_time(SendWindow(start=time(21, 30), end=time(23)), quiet) is None
    assert first_send_time(SendWindow(start=time(6), end=time(7)), None) == time(6)


def test_cli_validate_reports_bad_plans_and_exits_1(tmp_path):
    runner = CliRunner()
    result = runner.invoke(campaign_app, ["validate"])
    assert result.exit_code == 0, result.output
    assert "winback_lapsed.yml" in result.output

    campaigns = tmp_path / "campaigns"
    shutil.copytree(CAMPAIGNS_DIR, campaigns)
    write_plan(campaigns, "typo", channels=["smss"])
    write_plan(campaigns, "coupon_on_oa", channels=["wechat_oa_template", "sms"], purpose="marketing")
    result = runner.invoke(campaign_app, ["validate", "--plans-dir", str(campaigns)], terminal_width=200)
    assert result.exit_code == 1
    assert "typo.yml: channels: unknown channel 'smss'" in result.output
    output = " ".join(result.output.split())  # the message may wrap
    assert "coupon_on_oa.yml: (top level): channels ['wechat_oa_template'] carry service notices only" in output
    assert "for marketing use sms, app_push, wecom, outbound_call" in output
    assert "ok" in result.output and "winback_lapsed.yml" in result.output


def test_conversion_windows_for_the_measurement_mart_come_from_the_plans():
    from nightshift.stages.build import conversion_windows

    # only plans that differ from the default 7 days are passed to dbt
    assert conversion_windows() == {"trade_in_push": 14}
