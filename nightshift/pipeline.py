"""The nightly pipeline: the one ordered list of stages, each partition-scoped by the run (logical) date.

Every stage is a function `run(ctx: StageContext) -> StageResult` in its module under `nightshift/stages/`.
Airflow tasks, the CLI (`nightshift run`) and tests all go through `run_stage`, which also records the run in
`ops.stage_runs`. Re-running a stage for the same date replaces that date's partition; it never appends twice.

`STAGES` is the only place the order is written: the DAG (dags/nightly_marketing.py) imports it when Airflow
parses the file, so this module stays light at import time and imports the stage modules only when one runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from nightshift.errors import NightshiftError
from nightshift.stages.context import StageContext, StageResult, parse_run_date

if TYPE_CHECKING:
    from nightshift.settings import Settings

StageRunner = Callable[[StageContext], StageResult]

STAGES: tuple[str, ...] = (
    "ingest",
    "identity",
    "build",
    "segments",
    "audiences",
    "reconcile",
    "export",
    "report",
)


def stage_runners() -> dict[str, StageRunner]:
    """Each stage's `run`, in pipeline order. Imported here rather than at the top of the module: the stage
    modules bring pyarrow, sqlglot and pydantic models, which Airflow must not load when it parses the DAG."""
    from nightshift.stages import audiences, build, export, identity, ingest, reconcile, report, segments

    return {
        "ingest": ingest.run,
        "identity": identity.run,
        "build": build.run,
        "segments": segments.run,
        "audiences": audiences.run,
        "reconcile": reconcile.run,
        "export": export.run,
        "report": report.run,
    }


def _check_known(stages: Iterable[str]) -> None:
    unknown = [stage for stage in stages if stage not in STAGES]
    if unknown:
        raise NightshiftError(f"Unknown stage {unknown[0]!r}; stages are, in order: {', '.join(STAGES)}")


def run_stage(
    stage: str,
    run_date: str | date,
    settings: Settings | None = None,
    ctx: StageContext | None = None,
    function: StageRunner | None = None,
    label: str | None = None,
) -> StageResult:
    """Run one stage for one date and record it in ops.stage_runs. Returns the StageResult.

    `function`/`label` run a part of a stage (one source of `ingest`, for an Airflow mapped task) under the same
    bookkeeping, recorded as e.g. `ingest:orders`.
    """
    from nightshift import runlog
    from nightshift.settings import get_settings

    _check_known([stage])
    run_date = parse_run_date(run_date)
    ctx = ctx or StageContext(run_date=run_date, settings=settings or get_settings())
    function = function or stage_runners()[stage]
    stage = label or stage
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    try:
        result = function(ctx)
    except Exception as error:
        runlog.record(ctx.client, stage, run_date, started_at, "failed", {}, str(error)[:1000])
        raise
    result.seconds = time.perf_counter() - clock
    runlog.record(ctx.client, stage, run_date, started_at, "success", result.rows, result.summary)
    return result


def run(
    run_date: str | date,
    stages: Iterable[str] | None = None,
    settings: Settings | None = None,
    on_stage_done: Callable[[StageResult], None] | None = None,
) -> list[StageResult]:
    """Run the given stages (default: all, in pipeline order) for one date in this process."""
    from nightshift.settings import get_settings

    run_date = parse_run_date(run_date)
    wanted = list(stages) if stages else list(STAGES)
    _check_known(wanted)  # fail fast on a typo, before any work is done
    ordered = [stage for stage in STAGES if stage in wanted]
    ctx = StageContext(run_date=run_date, settings=settings or get_settings())
    results = []
    for stage in ordered:
        result = run_stage(stage, run_date, ctx=ctx)
        results.append(result)
        if on_stage_done:
            on_stage_done(result)
    return results
