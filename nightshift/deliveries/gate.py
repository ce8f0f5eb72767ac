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


# Tonight's rows of one campaign exactly as its files carry them, and whether the person is also in the campaign's
# holdout tonight.
ROWS_SQL = f"""
SELECT a.campaign_id AS campaign_id, a.one_id AS one_id, toString(a.channel) AS channel,
       toString(a.variant) AS variant, a.contact_ref AS contact_ref, a.cost_fen AS cost_fen,
       toUInt8(a.one_id IN (
           SELECT one_id FROM audience.campaign_audience
           WHERE run_date = {{d:Date}} AND campaign_id = {{campaign:String}} AND variant = '{HOLDOUT}'
       )) AS in_holdout
FROM audience.campaign_audience AS a
WHERE a.run_date = {{d:Date}} AND a.campaign_id = {{campaign:String}} AND a.variant != '{HOLDOUT}'
    AND a.channel != ''
"""


def profile_flags(profile_path: str, policy: Policy):
    """The flags of the profile the audiences stage planned from (the segments stage's lake copy of the run date,
    not today's marts.user_profile, which a rerun of an earlier date would find newer): one_id, can_receive_<channel>
    and the policy's channel and person flags."""
    import fsspec
    import pyarrow.parquet as pq

    wanted = {"one_id", *(f"can_receive_{channel}" for channel in CHANNELS),
              *(flag for flags in policy.suppression.channel.values() for flag in flags),
              *(rule.column for rule in policy.suppression.person)}  # fmt: skip
    fs, path = fsspec.core.url_to_fs(profile_path)
    dataset = pq.ParquetDataset(path, filesystem=fs)
    return dataset.read(columns=sorted(wanted & set(dataset.schema.names))).to_pandas()


def with_flags(rows, profile, policy: Policy):
    """`rows` with can_receive (the row's channel: consent and reachability, no closing flag) and is_suppressed (a
    person flag set); a person missing from the profile can receive nothing."""
    # one_id is UInt64 in the warehouse and int64 in Spark's Parquet: one type for the join
    merged = rows.assign(one_id=rows["one_id"].astype("int64")).merge(
        profile.assign(one_id=profile["one_id"].astype("int64")), on="one_id", how="left"
    )

    def is_set(column: str):
        return merged[column].fillna(0).astype(int) == 1 if column in merged else False

    can_receive = merged["one_id"] < 0  # all False, the right length
    for channel in CHANNELS:
        open_here = is_set(f"can_receive_{channel}")
        for flag in policy.suppression.channel.get(channel, []):
            open_here = open_here & ~is_set(flag)
        can_receive = can_receive | ((merged["channel"] == channel) & open_here)
    suppressed = merged["one_id"] < 0
    for rule in policy.suppression.person:
        suppressed = suppressed | is_set(rule.column)
    flagged = rows.copy()
    flagged["can_receive"] = can_receive.astype(int).to_numpy()
    flagged["is_suppressed"] = suppressed.astype(int).to_numpy()
    return flagged


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
    client,
    run_date: date,
    plans: list[CampaignPlan],
    policy: Policy,
    profile_path: str,
    docs_root: Path,
    spent_fen: dict[str, int],
) -> GateResult:
    """Validate every plan's rows of the night against the profile they were planned from (`profile_path`, the
    lake copy of the run date) and each campaign's cost on earlier nights (`spent_fen`); returns which campaigns
    failed (and why)."""
    import great_expectations as gx  # heavy: imported when a night has something to check
    from great_expectations.data_context.types.base import ProgressBarsConfig

    outcome = GateResult()
    reset_partitions(client, run_date, [GATE_TABLE])
    if not plans:
        return outcome
    docs_dir = docs_root / run_date.isoformat() / DOCS_FOLDER
    shutil.rmtree(docs_dir, ignore_errors=True)  # a rerun of the date replaces its docs
    context = gx.get_context(mode="file", project_root_dir=str(docs_dir))
    # Great Expectations draws a progress bar per metric batch: dozens per campaign in the night's log, none useful.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batch = (
        context.data_sources.add_pandas("nightshift")
        .add_dataframe_asset("campaign_audience")
        .add_batch_definition_whole_dataframe("tonight")
    )
    suite = context.suites.add(gx.ExpectationSuite(**json.loads(SUITE_FILE.read_text(encoding="utf-8"))))
    definition = context.validation_definitions.add(gx.ValidationDefinition(name="gate", data=batch, suite=suite))
    # No UpdateDataDocsAction: it rebuilds the whole site after each campaign's run, every result so far again.
    # The site is built once, after the last campaign.
    checkpoint = context.checkpoints.add(gx.Checkpoint(name="before_export", validation_definitions=[definition]))
    outcomes, profile = [], None
    for plan in plans:
        frame = client.query_df(ROWS_SQL, parameters={"d": run_date, "campaign": plan.id})
        if frame.empty:
            continue
        if profile is None:
            profile = profile_flags(profile_path, policy)
        frame = with_flags(frame, profile, policy)
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
    if outcome.checked:
        context.build_data_docs()
    outcome.docs = next(iter(docs_dir.rglob("local_site/index.html")), None)
    return outcome


GATE_COLUMNS = ("run_date", "campaign_id", "expectation", "target", "success", "observed", "unexpected", "why")
