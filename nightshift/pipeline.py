"""The nightly pipeline: an ordered list of stages, each partition-scoped by the run (logical) date.

Every stage is a function `run(ctx: StageContext) -> StageResult` in `nightshift.stages.<name>`. Airflow tasks,
the CLI (`nightshift run`) and tests all go through `run_stage`, which also records the run in `ops.stage_runs`.
Re-running a stage for the same date replaces that date's partition; it never appends twice.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from nightshift.errors import NightshiftError
from nightshift.settings import Settings, get_settings

STAGES: tuple[str, ...] = ("ingest", "identity", "build", "segments", "reconcile", "export", "report")
# Stages that need the warehouse. With the embedded engine, Airflow runs them in a one-slot pool.
WAREHOUSE_STAGES: frozenset[str] = frozenset(STAGES)


@dataclass
class StageContext:
    run_date: date
    settings: Settings
    _client: object | None = None

    @property
    def client(self):
        """The warehouse client, opened on first use (one per process for the embedded engine)."""
        if self._client is None:
            from nightshift.warehouse import ensure_databases, get_client

            self._client = get_client(self.settings)
            ensure_databases(self._client)
        return self._client


@dataclass
class StageResult:
    stage: str
    run_date: date
    rows: dict[str, int] = field(default_factory=dict)  # table or file -> rows written for this date
    outputs: dict[str, str] = field(default_factory=dict)  # what -> where (paths of files written)
    summary: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict:
        """Small, JSON-serialisable form (what Airflow keeps in XCom)."""
        return {
            "stage": self.stage,
            "run_date": self.run_date.isoformat(),
            "rows": dict(self.rows),
            "outputs": dict(self.outputs),
            "summary": self.summary,
            "seconds": round(self.seconds, 3),
        }


def parse_run_date(value: str | date | datetime) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise NightshiftError(f"Run date {value!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-21") from None


def _stage_function(stage: str) -> Callable[[StageContext], StageResult]:
    if stage not in STAGES:
        raise NightshiftError(f"Unknown stage {stage!r}; stages are, in order: {', '.join(STAGES)}")
    module = importlib.import_module(f"nightshift.stages.{stage}")
    return module.run


def run_stage(
    stage: str,
    run_date: str | date,
    settings: Settings | None = None,
    ctx: StageContext | None = None,
    function: Callable[[StageContext], StageResult] | None = None,
    label: str | None = None,
):
    """Run one stage for one date and record it in ops.stage_runs. Returns the StageResult.

    `function`/`label` run a part of a stage (one source of `ingest`, for an Airflow mapped task) under the same
    bookkeeping, recorded as e.g. `ingest:orders`.
    """
    from nightshift import runlog

    run_date = parse_run_date(run_date)
    ctx = ctx or StageContext(run_date=run_date, settings=settings or get_settings())
    function = function or _stage_function(stage)
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
    run_date = parse_run_date(run_date)
    wanted = list(stages) if stages else list(STAGES)
    unknown = [stage for stage in wanted if stage not in STAGES]
    if unknown:  # fail fast on a typo, before any work is done
        raise NightshiftError(f"Unknown stage {unknown[0]!r}; stages are, in order: {', '.join(STAGES)}")
    ordered = [stage for stage in STAGES if stage in wanted]
    ctx = StageContext(run_date=run_date, settings=settings or get_settings())
    results = []
    for stage in ordered:
        result = run_stage(stage, run_date, ctx=ctx)
        results.append(result)
        if on_stage_done:
            on_stage_done(result)
    return results
