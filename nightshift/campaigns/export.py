"""Campaign exports: per campaign and channel, the run date's audience without holdout, as CSV with a manifest.

`campaign__<campaign_id>__<channel>.csv` holds one row per person, sorted by one_id, with the message template's
parameters filled from `marts.user_profile` (`param_<name>` columns). No wall-clock time goes into a file or its
manifest, so re-running a date writes identical bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from nightshift.campaigns.models import HOLDOUT, CampaignPlan
from nightshift.campaigns.plans import CAMPAIGNS_DIR, load_plans
from nightshift.files import write_with_manifest
from nightshift.tables import table_exists

BASE_COLUMNS = ["one_id", "variant", "contact_ref", "send_at", "template_id", "benefit_id", "cost_fen"]
GROUPS_SQL = """
SELECT campaign_id, channel FROM audience.campaign_audience
WHERE run_date = {d:Date} AND variant != {holdout:String} AND channel != ''
GROUP BY campaign_id, channel ORDER BY campaign_id, channel
"""


@dataclass
class CampaignExport:
    rows: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""


def _quoted(identifier: str) -> str:
    return "`" + identifier.replace("`", "") + "`"


def export_sql(plan: CampaignPlan | None) -> tuple[str, list[str]]:
    """The SELECT of one campaign-channel file, and its column names."""
    params = sorted(plan.template.params.items()) if plan else []
    param_columns = [f"param_{name}" for name, _ in params]
    param_select = "".join(
        f",\n    toString(p.{_quoted(column)}) AS {name}"
        for (_, column), name in zip(params, param_columns, strict=True)
    )
    sql = f"""
SELECT
    a.one_id AS one_id,
    a.variant AS variant,
    a.contact_ref AS contact_ref,
    formatDateTime(a.send_at, '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS send_at,
    {{template_id:String}} AS template_id,
    a.benefit_id AS benefit_id,
    a.cost_fen AS cost_fen{param_select}
FROM audience.campaign_audience AS a
LEFT JOIN marts.user_profile AS p ON p.one_id = a.one_id
WHERE a.run_date = {{d:Date}} AND a.campaign_id = {{campaign:String}} AND a.channel = {{channel:String}}
    AND a.variant != {{holdout:String}}
ORDER BY one_id
"""
    return sql, BASE_COLUMNS + param_columns


def export_campaigns(client, run_date: date, out_dir: Path, plans_dir: Path = CAMPAIGNS_DIR) -> CampaignExport:
    """Write every campaign-channel file of `run_date` into `out_dir` (which the caller has emptied)."""
    result = CampaignExport()
    if not table_exists(client, "audience.campaign_audience"):
        result.summary = "no campaign audiences yet"
        return result
    plans = {plan.id: plan for plan in load_plans(plans_dir, None, warehouse_profile_columns(client)).plans}
    groups = client.query(GROUPS_SQL, parameters={"d": run_date, "holdout": HOLDOUT}).result_rows
    missing_plans = set()
    for campaign_id, channel in groups:
        plan = plans.get(campaign_id)
        if plan is None:  # the plan changed since the segments stage: export without template parameters
            missing_plans.add(campaign_id)
        sql, columns = export_sql(plan)
        parameters = {
            "d": run_date,
            "campaign": campaign_id,
            "channel": channel,
            "holdout": HOLDOUT,
            "template_id": plan.template.id if plan else "",
        }
        data = client.raw_query(sql, parameters=parameters, fmt="CSVWithNames")
        count = max(data.count(b"\n") - 1, 0)
        path = out_dir / f"campaign__{campaign_id}__{channel}.csv"
        manifest = write_with_manifest(
            path,
            data,
            count,
            {
                "campaign_id": campaign_id,
                "channel": channel,
                "run_date": run_date.isoformat(),
                "columns": columns,
                "format": "csv",
                "template_id": plan.template.id if plan else "",
                "cost_fen": _cost(client, run_date, campaign_id, channel),
            },
        )
        result.rows[path.name] = count
        result.outputs[f"{campaign_id} {channel} csv"] = str(path)
        result.outputs[f"{campaign_id} {channel} manifest"] = str(manifest)
    result.summary = f"{len(groups)} campaign files" if groups else "no campaign audience on this date"
    if missing_plans:
        result.summary += f" (no valid plan for {', '.join(sorted(missing_plans))}: template parameters left out)"
    return result


def _cost(client, run_date: date, campaign_id: str, channel: str) -> int:
    return int(
        client.query(
            "SELECT sum(cost_fen) FROM audience.campaign_audience WHERE run_date = {d:Date} "
            "AND campaign_id = {c:String} AND channel = {ch:String}",
            parameters={"d": run_date, "c": campaign_id, "ch": channel},
        ).result_rows[0][0]
    )


def warehouse_profile_columns(client) -> set[str]:
    rows = client.query(
        "SELECT name FROM system.columns WHERE database = 'marts' AND table = 'user_profile'"
    ).result_rows
    return {name for (name,) in rows}
