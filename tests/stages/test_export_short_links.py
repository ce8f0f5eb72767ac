"""Short links in the export (plans with `template.link`), in a fresh warehouse of its own: tonight's contacts of
the shipped win-back plan each get one code in audience.short_links (and its lake copy), the campaign file's and
the SMS payload's link parameter is `<NIGHTSHIFT_SHORTLINK_BASE_URL>/<code>`, holdout gets none, and a rerun of
the date writes the same codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nightshift.campaigns.models import CampaignPlan
from tests.conftest import run_python

BASE_URL = "https://s.nightshift.example"
EXPORT = """
import csv, json, os, sys
from datetime import date, datetime
from pathlib import Path
import pyarrow as pa
import pyarrow.parquet as pq
from nightshift.contracts import CHANNELS
from nightshift.lake import dataset_path
from nightshift.settings import get_settings
from nightshift.stages import export
from nightshift.stages.context import StageContext
from nightshift.warehouse import ensure_databases, get_client
from nightshift.warehouse.schema import ensure_tables

night = date(2026, 11, 20)
plans_dir = Path(sys.argv[1])
os.environ["NIGHTSHIFT_SHORTLINK_BASE_URL"] = sys.argv[2]
settings = get_settings()
client = get_client()
ensure_databases(client)
ensure_tables(client, "audience.campaign_audience", "audience.segment_membership")
client.insert("audience.segment_membership", [(night, "lapsed_users_reachable", 1)],
              column_names=["run_date", "segment", "one_id"])
people = range(1, 16)
client.command("CREATE TABLE marts.user_profile (one_id UInt64, phone String, lifecycle_stage String, "
               "device_os String) ENGINE = MergeTree ORDER BY one_id")
client.insert("marts.user_profile", [(i, f"138{i:08d}", "lapsed", "ios") for i in people],
              column_names=["one_id", "phone", "lifecycle_stage", "device_os"])
profile = {"one_id": list(people), **{f"can_receive_{c}": [1] * 15 for c in CHANNELS},
           "has_complaint": [0] * 15, "is_blacklisted": [0] * 15, "is_sms_unsubscribed": [0] * 15,
           "is_internal_test_account": [0] * 15}
profile_path = dataset_path(settings.lake_root, "user_profile", night)
Path(profile_path).mkdir(parents=True)
pq.write_table(pa.table(profile), f"{profile_path}/part-0.parquet")

def row(i, channel, variant):
    ref = {"sms": f"138{i:08d}", "app_push": f"app-{i}", "": ""}[channel]
    return (night, "winback_lapsed", i, f"k{i}", variant, channel, ref, datetime(2026, 11, 20, 2, 0),
            "coupon_5_yuan", 0 if variant == "holdout" else 500)

audience = [row(i, "sms", "coupon_copy_a" if i % 2 else "coupon_copy_b") for i in range(1, 11)]
audience += [row(i, "app_push", "coupon_copy_a") for i in range(11, 15)] + [row(15, "", "holdout")]
client.insert("audience.campaign_audience", audience, column_names=["run_date", "campaign_id", "one_id",
              "contact_id", "variant", "channel", "contact_ref", "send_at", "benefit_id", "cost_fen"])

def night_outputs():
    result = export.run(StageContext(night, settings, client), plans_dir=plans_dir)
    links = client.query("SELECT code, campaign_id, one_id, channel, variant, landing_url FROM audience.short_links "
                         "WHERE run_date = {d:Date} ORDER BY one_id", parameters={"d": night}).result_rows
    out = settings.exports_dir / night.isoformat()
    with open(out / "campaign__winback_lapsed__sms.csv", encoding="utf-8") as handle:
        file_rows = list(csv.DictReader(handle))
    sms = "".join(p.read_text(encoding="utf-8") for p in sorted((out / "winback_lapsed" / "sms").glob("part-*")))
    lake = pq.read_table(dataset_path(settings.lake_root, "short_links", night)).num_rows
    return {"summary": result.summary, "links": links, "file": file_rows, "sms": sms, "lake": lake}

first = night_outputs()
second = night_outputs()
print("RESULT " + json.dumps({"first": first, "second": second}, default=str))
"""


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("short_links_export")
    plans_dir = home / "plans"
    plans_dir.mkdir()
    shipped = Path(__file__).resolve().parents[2] / "segments" / "campaigns" / "winback_lapsed.yml"
    (plans_dir / "winback_lapsed.yml").write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    output = run_python(home, EXPORT, str(plans_dir), BASE_URL + "/")
    return json.loads(next(line for line in output.splitlines() if line.startswith("RESULT ")).removeprefix("RESULT "))


def test_every_treated_contact_gets_one_code_and_holdout_none(nights):
    from nightshift.shortcodes import encode

    links = nights["first"]["links"]
    assert [link[2] for link in links] == list(range(1, 15)), "people 1-14 treated, 15 held out"
    assert all(link[0] == encode("winback_lapsed", link[2]) for link in links)
    assert len({link[0] for link in links}) == len(links)
    assert {link[3] for link in links} == {"sms", "app_push"}
    assert {link[5] for link in links} == {"https://m.nightshift-shop.example/coupons/winback"}
    assert links[0][4] == "coupon_copy_a" and links[1][4] == "coupon_copy_b"
    assert nights["first"]["lake"] == len(links)


def test_the_link_parameter_is_the_base_url_and_code_in_file_and_payload(nights):
    codes = {link[2]: link[0] for link in nights["first"]["links"]}
    file_rows = nights["first"]["file"]
    assert len(file_rows) == 10
    for row in file_rows:
        assert row["param_link"] == f"{BASE_URL}/{codes[int(row['one_id'])]}"  # trailing slash of the base dropped
        assert row["param_phone"].startswith("138")
    for one_id in range(1, 11):
        assert f"{BASE_URL}/{codes[one_id]}" in nights["first"]["sms"]


def test_a_rerun_writes_the_same_codes_and_files(nights):
    assert nights["second"]["links"] == nights["first"]["links"]
    assert nights["second"]["file"] == nights["first"]["file"]
    assert nights["second"]["sms"] == nights["first"]["sms"]


def test_plan_link_must_be_https_and_joins_the_parameters():
    from bench.synthetic.campaign_world import plan

    linked = plan(template={"id": "t1", "params": {"phone": "phone"}, "sign_name": "夜班商城",
                            "link": {"param": "go", "landing_url": "https://shop.example/x?a=1"}})  # fmt: skip
    assert isinstance(linked, CampaignPlan) and linked.template.param_names() == ["go", "phone"]
    for bad in ("http://shop.example/x", "javascript:alert(1)", "https:///nohost", "https://shop.example/a b",
                "https://shop.example/x#top"):  # fmt: skip
        with pytest.raises(ValueError, match="landing_url"):
            plan(template={"id": "t1", "sign_name": "夜班商城", "link": {"param": "go", "landing_url": bad}})
