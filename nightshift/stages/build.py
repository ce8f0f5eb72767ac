"""Build stage: `dbt build` of the dbt project (dbt_project/) for the run date, in this process.

dbt builds views in `staging`/`intermediate` and tables in `marts`, and runs the data tests, through the
`nightshift` adapter (plugins/dbt-nightshift), on the same warehouse as every other stage. Models read data as of
the run date (which `invoke_dbt` hands to dbt), so re-running a date rebuilds the same content.
"""

from __future__ import annotations

from nightshift.campaigns.models import DEFAULT_CONVERSION_WINDOW_DAYS
from nightshift.campaigns.plans import load_plans
from nightshift.dbt_runner import invoke_dbt
from nightshift.errors import NightshiftError
from nightshift.stages.context import StageContext, StageResult
from nightshift.warehouse.partitions import count_rows

MART_DATABASE = "marts"
TABLE_MATERIALIZATIONS = frozenset({"table", "incremental"})
# Unit tests check the models' SQL on fixed inputs, not the night's data: they pass or fail the same way every night
# until the code changes, so they run where the code changes (`make test`: tests/dbt/test_build.py, or
# `dbt test --select test_type:unit` by hand), as dbt's docs advise, not in each nightly build: the build stage
# of a 20k-people night took 40 s with them and 31 s without (one dbt thread, 2 cores).
NIGHTLY_EXCLUDED = ["--exclude-resource-type", "unit_test"]


def conversion_windows() -> dict[str, int]:
    """{campaign_id: days} of the plans that set a conversion window other than the default, for
    marts.campaign_measurement. Plans that do not load are left to the audiences stage to report; their
    campaigns are measured with the default window."""
    plans = load_plans(known_segments=None).plans
    return {
        plan.id: plan.measurement.conversion_window_days
        for plan in plans
        if plan.measurement.conversion_window_days != DEFAULT_CONVERSION_WINDOW_DAYS
    }


def run(ctx: StageContext) -> StageResult:
    client = ctx.client  # opens (and locks) the warehouse and creates the pipeline databases first
    outcome = invoke_dbt(
        "build",
        ctx.run_date,
        ctx.settings,
        extra_args=NIGHTLY_EXCLUDED,
        extra_vars={"conversion_windows": conversion_windows()},
    )
    if not outcome.success:
        raise NightshiftError(f"Build stage for {ctx.run_date.isoformat()}: {outcome.failure_report()}")

    marts = sorted(
        node.relation
        for node in outcome.nodes
        if node.resource_type == "model"
        and node.materialized in TABLE_MATERIALIZATIONS
        and node.relation.startswith(f"{MART_DATABASE}.")
    )
    rows = {table: count_rows(client, table) for table in marts}
    models = outcome.count("success", "model")
    tests = outcome.count("pass")
    warnings = [node.name for node in outcome.nodes if node.status == "warn"]
    summary = f"dbt build: {models} models built, {tests} tests passed"
    if warnings:
        summary += f", {len(warnings)} warning(s): {', '.join(warnings)}"
    return StageResult(
        stage="build",
        run_date=ctx.run_date,
        rows=rows,
        outputs={"dbt_artifacts": str(outcome.target_path), "dbt_log": str(outcome.log_path / "dbt.log")},
        summary=summary,
    )
