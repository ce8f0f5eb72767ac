"""The quality gate before anything leaves: a Great Expectations checkpoint per campaign over the rows its files
are about to carry (tonight's treated audience rows, with the profile flags they were planned under).

The suite is a file in the repo (`expectations/campaign_audience.json`): one person once per campaign, no holdout,
reachable and consenting on the channel (not opted out), not suppressed (complaint, blacklist: the policy's person
flags), a valid address per channel (11-digit mainland mobile for SMS and calls), tonight's cost within what is
left of the budget, and a row count within a band of the campaign's last nights. The per-campaign values are
suite parameters the gate fills in.

GX validates pandas DataFrames here (its ClickHouse route cannot open the embedded engine, ../shared/NOTES.md).
A campaign that fails is withheld by the export stage (its files never leave; other campaigns still go out);
every expectation's outcome is kept in `audience.quality_gate` for the report, and GX's Data Docs are written to
`<reports>/<date>/quality_gate/` (`index.html` inside, linked from the report).
"""

from __future__ import annotations

import json
import logging
import shutil
import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from nightshift.campaigns.models import HOLDOUT, CampaignPlan, Policy
from nightshift.contracts import CHANNELS
from nightshift.warehouse.partitions import reset_partitions

log = logging.getLogger(__name__)

SUITE_FILE = Path(__file__).parent / "expectations" / "campaign_audience.json"
GATE_TABLE = "audience.quality_gate"
DOCS_FOLDER = "quality_gate"
# Row-count band: tonight within [LOW x, HIGH x] the median of the campaign's last BAND_NIGHTS exporting nights,
# once it has at least MIN_BAND_NIGHTS of them (before that, any count passes). Wide on purpose: audiences shrink
# as budgets and caps bite, so only a 20-fold collapse or a 5-fold jump stops a campaign.
BAND_NIGHTS, MIN_BAND_NIGHTS, BAND_LOW, BAND_HIGH = 7, 3, 0.05, 5.0

EXPORTED_PER_NIGHT_SQL = """
SELECT run_date, count() FROM audience.contact_history
WHERE campaign_id = {campaign:String} AND source = 'plan' AND run_date < {d:Date} AND run_date >= {since:Date}
GROUP BY run_date
"""


def rows_sql(policy: Policy) -> str:
    """Tonight's rows of one campaign exactly as its files carry them, with the flags they must pass: whether the
    person may receive the row's channel (consent, reachability and the policy's channel flags), whether a person
    flag is set, and whether the person is also in the campaign's holdout tonight."""

    def is_set(column: str) -> str:
        return f"coalesce(toUInt8(p.`{column}`), 0) = 1"

    may_receive = []
    for channel in CHANNELS:
        closed = " OR ".join(is_set(flag) for flag in policy.suppression.channel.get(channel, [])) or "0"
        may_receive.append(f"a.channel = '{channel}' AND {is_set(f'can_receive_{channel}')} AND NOT ({closed})")
    suppressed = " OR ".join(is_set(rule.column) for rule in policy.suppression.person) or "0"
    return f"""
SELECT a.campaign_id AS campaign_id, a.one_id AS one_id, toString(a.channel) AS channel,
       toString(a.variant) AS variant, a.contact_ref AS contact_ref, a.cost_fen AS cost_fen,
       toUInt8(({") OR (".join(may_receive)})) AS can_receive, toUInt8({suppressed}) AS is_suppressed,
       toUInt8(a.one_id IN (
           SELECT one_id FROM audience.campaign_audience
           WHERE run_date = {{d:Date}} AND campaign_id = {{campaign:String}} AND variant = '{HOLDOUT}'
       )) AS in_holdout
FROM audience.campaign_audience AS a
LEFT JOIN marts.user_profile AS p ON p.one_id = a.one_id
WHERE a.run_date = {{d:Date}} AND a.campaign_id = {{campaign:String}} AND a.variant != '{HOLDOUT}'
    AND a.channel != ''
SETTINGS join_use_nulls = 1
"""


@dataclass
class GateResult:
    failed: dict[str, list[str]] = field(default_factory=dict)  # campaign -> failed expectations
    checked: list[str] = field(default_factory=list)
    docs: Path | None = None


def _parameters(client, plan: CampaignPlan, run_date: date, spent: dict[str, int]) -> dict:
    remaining = None if plan.budget_fen is None else max(plan.budget_fen - spent.get(plan.id, 0), 0)
    since = run_date - timedelta(days=BAND_NIGHTS)
    nights = client.query(EXPORTED_PER_NIGHT_SQL, parameters={"campaign": plan.id, "d": run_date, "since": since})
    counts = [int(rows) for _, rows in nights.result_rows]
    if len(counts) >= MIN_BAND_NIGHTS:
        median = statistics.median(counts)
        band = (int(median * BAND_LOW), int(median * BAND_HIGH) + 1)
    else:
        band = (0, None)
    return {"remaining_budget_fen": remaining, "min_rows": band[0], "max_rows": band[1]}


def _outcomes(run_date: date, campaign_id: str, validation) -> list[tuple]:
    rows = []
    for result in validation.results:
        config = result.expectation_config
        kwargs = config.kwargs
        where = kwargs.get("column") or ",".join(kwargs.get("column_list", [])) or "table"
        condition = kwargs.get("row_condition")
        if condition:  # GX keeps a pandas condition as {"type": "pass_through", "pass_through_filter": "..."}
            if isinstance(condition, dict):
                condition = condition.get("pass_through_filter", condition)
            where += f" where {condition}"
        details = result.result or {}
        observed = details.get("observed_value")
        observed = observed.item() if hasattr(observed, "item") else observed  # a numpy scalar -> a plain number
        unexpected = int(details.get("unexpected_count") or 0)
        sample = details.get("partial_unexpected_list") or []
        text = json.dumps(observed if observed is not None else sample[:5], default=str, ensure_ascii=False)
        why = (config.meta or {}).get("why", "")
        rows.append((run_date, campaign_id, config.type, where, int(bool(result.success)), text, unexpected, why))
    return rows


def run_gate(
    client, run_date: date, plans: list[CampaignPlan], policy: Policy, docs_root: Path, spent_fen: dict[str, int]
) -> GateResult:
    """Validate every plan's rows of the night (`spent_fen`: each campaign's cost on earlier nights); returns which
    campaigns failed (and why)."""
    import great_expectations as gx  # heavy: imported when a night has something to check

    outcome = GateResult()
    reset_partitions(client, run_date, [GATE_TABLE])
    if not plans:
        return outcome
    docs_dir = docs_root / run_date.isoformat() / DOCS_FOLDER
    shutil.rmtree(docs_dir, ignore_errors=True)  # a rerun of the date replaces its docs
    context = gx.get_context(mode="file", project_root_dir=str(docs_dir))
    batch = (
        context.data_sources.add_pandas("nightshift")
        .add_dataframe_asset("campaign_audience")
        .add_batch_definition_whole_dataframe("tonight")
    )
    suite = context.suites.add(gx.ExpectationSuite(**json.loads(SUITE_FILE.read_text(encoding="utf-8"))))
    definition = context.validation_definitions.add(gx.ValidationDefinition(name="gate", data=batch, suite=suite))
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name="before_export", validation_definitions=[definition],
                      actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")])
    )  # fmt: skip
    sql = rows_sql(policy)
    outcomes = []
    for plan in plans:
        frame = client.query_df(sql, parameters={"d": run_date, "campaign": plan.id})
        if frame.empty:
            continue
        result = checkpoint.run(
            batch_parameters={"dataframe": frame},
            expectation_parameters=_parameters(client, plan, run_date, spent_fen),
            run_id=gx.RunIdentifier(run_name=f"{run_date.isoformat()}__{plan.id}"),
        )
        validation = next(iter(result.run_results.values()))
        rows = _outcomes(run_date, plan.id, validation)
        outcomes += rows
        outcome.checked.append(plan.id)
        failed = [f"{row[2]} ({row[3]})" for row in rows if not row[4]]
        if failed:
            outcome.failed[plan.id] = failed
            log.warning("quality gate failed for %s: %s", plan.id, "; ".join(failed))
    if outcomes:
        client.insert(GATE_TABLE, outcomes, column_names=list(GATE_COLUMNS))
    index = next(iter(docs_dir.rglob("local_site/index.html")), None)
    outcome.docs = index
    return outcome


GATE_COLUMNS = ("run_date", "campaign_id", "expectation", "target", "success", "observed", "unexpected", "why")
