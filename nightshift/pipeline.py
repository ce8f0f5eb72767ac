"""The nightly pipeline: the one ordered list of stages, each partition-scoped by the run (logical) date.

Every stage is a function `run(ctx: StageContext) -> StageResult` in its module under `nightshift/stages/`.
Airflow tasks, the CLI (`nightshift run`) and tests all go through `run_stage`, which also records the run in
`ops.stage_runs`. Re-running a stage for the same date replaces that date's partition; it never appends twice.
`run` runs stages for one date; `run_range` runs them for a range of dates in order (a backfill), each date only
after the one before it finished, since a night reads what earlier nights left (contact history, spent budgets).

`STAGES` is the only place the order is written: the DAG (dags/nightly_marketing.py) imports it when Airflow
parses the file, so this module stays light at import time and imports the stage modules only when one runs.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
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
    "deliver",
    "report",
)

# Stages that run in a DAG of their own, scheduled on the export Assets (dags/channel_delivery.py), rather than in
# the nightly chain: delivery takes as long as the vendors' rate limits make it, and must not hold up the report.
ASSET_SCHEDULED_STAGES: tuple[str, ...] = ("deliver",)
NIGHTLY_STAGES: tuple[str, ...] = tuple(stage for stage in STAGES if stage not in ASSET_SCHEDULED_STAGES)


def stage_runner(stage: str) -> StageRunner:
    """The stage's `run`, its module imported only now: the stage modules bring pyarrow, sqlglot, scipy and pydantic
    models, which Airflow must not load when it parses the DAG, and a run of some stages (an Airflow task, `nightshift
    run --stages ...`) need not load the others' (the report's statistics alone take 2 s to import)."""
    _check_known([stage])
    return importlib.import_module(f"nightshift.stages.{stage}").run


class BackfillStopped(NightshiftError):
    """A stage failed on one date of a range; the dates before it are done, it and the later ones are not."""

    def __init__(self, message: str, run_date: date, stage: str, resume: str):
        super().__init__(message)
        self.run_date, self.stage, self.resume = run_date, stage, resume


def _check_known(stages: Iterable[str]) -> None:
    unknown = [stage for stage in stages if stage not in STAGES]
    if unknown:
        raise NightshiftError(f"Unknown stage {unknown[0]!r}; stages are, in order: {', '.join(STAGES)}")


def _ordered(stages: Iterable[str] | None) -> list[str]:
    """The wanted stages (default: all) in pipeline order, after checking every name (fail before any work)."""
    wanted = list(stages) if stages else list(STAGES)
    _check_known(wanted)
    return [stage for stage in STAGES if stage in wanted]


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
    function = function or stage_runner(stage)
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
    ordered = _ordered(stages)
    ctx = StageContext(run_date=run_date, settings=settings or get_settings())
    results = []
    for stage in ordered:
        result = run_stage(stage, run_date, ctx=ctx)
        results.append(result)
        if on_stage_done:
            on_stage_done(result)
    return results


def _finished(start: date, failed: date) -> str:
    last = failed - timedelta(days=1)
    if last < start:
        return "no date finished"
    return f"{start} finished" if last == start else f"{start} to {last} finished"


def resume_command(run_date: date, end: date, stages: Iterable[str] | None = None) -> str:
    """The command that runs the rest of a range again, from `run_date` (the failed date) to `end`."""
    wanted = f" --stages {','.join(stages)}" if stages else ""
    return f"nightshift run --from {run_date.isoformat()} --to {end.isoformat()}{wanted}"


def run_range(
    start: str | date,
    end: str | date,
    stages: Iterable[str] | None = None,
    settings: Settings | None = None,
    on_stage_done: Callable[[StageResult], None] | None = None,
) -> list[StageResult]:
    """Run the given stages (default: all, in pipeline order) for every date from `start` to `end`, both included,
    one date after the other. Stops at the first failure with `BackfillStopped`, which names the date and stage
    that failed and the command that resumes from that date (re-running a date is safe: stages replace their date).
    """
    from nightshift.settings import get_settings

    start, end = parse_run_date(start), parse_run_date(end)
    if end < start:
        raise NightshiftError(f"The range ends ({end}) before it starts ({start}): give the earlier date first")
    ordered = _ordered(stages)
    settings = settings or get_settings()
    wanted = ordered if stages else None  # a resume command repeats only what the caller chose
    results: list[StageResult] = []
    client = None  # one warehouse client for the whole range, opened by the first date's first stage
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        ctx = StageContext(run_date=day, settings=settings, _client=client)
        for stage in ordered:
            try:
                result = run_stage(stage, day, ctx=ctx)
            except Exception as error:
                done = _finished(start, day)
                resume = resume_command(day, end, wanted)
                cause = (str(error).strip().splitlines() or [""])[0][:500]
                if not isinstance(error, NightshiftError):  # unexpected: the type says more than a bare message
                    cause = f"{type(error).__name__}: {cause}".rstrip(": ")
                raise BackfillStopped(
                    f"Stage {stage} failed on {day}: {cause}\nThe range stopped there: {done}; {day} and the dates "
                    f"after it were not finished. Fix the cause, then resume from {day} with:\n  {resume}",
                    day,
                    stage,
                    resume,
                ) from error
            results.append(result)
            if on_stage_done:
                on_stage_done(result)
        client = ctx._client
    return results
