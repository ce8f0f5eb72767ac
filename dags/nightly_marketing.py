"""The nightly marketing pipeline, as one Airflow DAG that only wires `nightshift` stages together.

Every task is a thin call into the `nightshift` package; the logic, the warehouse connection and the heavy
imports (pandas, pyspark, chdb) all happen inside the task at run time, never when this file is parsed.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, TriggerRule, chain, dag, task

# The channels are written once, in nightshift.contracts (a light module of names, like nightshift.pipeline).
from nightshift.contracts import CHANNELS, export_asset

# The stage order is written once, in nightshift.pipeline (a light module: it imports no stage, warehouse client,
# Spark or dataframe library at import time, which tests/dags/test_nightly_marketing.py checks).
from nightshift.pipeline import NIGHTLY_STAGES

# Every task touches the warehouse. The embedded engine admits one process per directory, so `nightshift
# airflow-init` creates this pool with ONE slot in embedded mode (more against a ClickHouse server).
WAREHOUSE_POOL = "nightshift_warehouse"
# Ingestion is a source listing plus one mapped task per source; every later stage is one task, in pipeline order.
# The deliver stage is not in this chain: dags/channel_delivery.py runs it when the export Assets are updated.
STAGES_AFTER_INGEST = NIGHTLY_STAGES[1:]
RETRIES = 2
# One Asset per delivery channel, updated by the export task each night (its extra: the run date, the contacts and
# the delivery folders of that channel), so a delivery DAG can be scheduled on the channel it sends:
# `@dag(schedule=[Asset("nightshift://exports/sms")])`.
EXPORT_ASSETS = {
    channel: Asset(name=export_asset(channel)[0], uri=export_asset(channel)[1], group="nightshift")
    for channel in CHANNELS
}
# Long enough for a transient problem (a busy warehouse, a slow disk) to clear. `nightshift.airflow_setup.dags_test`
# sets NIGHTSHIFT_RETRY_DELAY_SECONDS=1 so a broken stage fails in seconds when debugging. (Airflow's own
# [core] default_task_retry_delay cannot do this: a delay equal to it is dropped when the DAG is serialised and
# comes back as a fixed 300 s.)
RETRY_DELAY = timedelta(seconds=float(os.environ.get("NIGHTSHIFT_RETRY_DELAY_SECONDS", "300")))

DOC_MD = """
### Nightly marketing pipeline

One run per day at 02:00 UTC for the day that just ended: the run's **logical date** (`ds`) is that day, the
partition every stage reads and writes, so re-running a date replaces that date's data and never appends twice.

| task | what it does |
|------|--------------|
| `list_sources` | lists the channel sources that delivered landing files for `ds` |
| `ingest_source` | one mapped task per source: validate, normalise, load into `raw.*` (rejects: `raw.quarantine`) |
| `identity` | resolves people across channels into one `one_id` |
| `build` | `dbt build`: staging -> intermediate -> tag/profile marts (with tests) |
| `segments` | Spark evaluates segment definitions into segment membership |
| `audiences` | Spark turns every active campaign plan into its audience (suppression, caps, A/B + holdout, budget) |
| `reconcile` | Spark reconciles contacts with the benefit ledger and receipts; make-up orders; loss alerts |
| `export` | files and sealed deliveries under `NIGHTSHIFT_EXPORTS/<ds>/`; Asset `nightshift://exports/<channel>` |
| `report` | the run report under `NIGHTSHIFT_REPORTS/<ds>/` |

The `channel_delivery` DAG, scheduled on those Assets, sends the sealed deliveries through the channels' APIs.

Each task returns a small summary (rows, output paths) in XCom; `ops.stage_runs` in the warehouse records every
stage execution (`nightshift status` shows it). All tasks share the pool `nightshift_warehouse`: one slot with the
embedded warehouse, which only one process may open at a time.

- **Re-run a date**: clear the failed task with its downstream tasks in the UI (Clear -> Downstream).
- **Backfill** (needs the scheduler, e.g. `nightshift airflow-standalone`), one date at a time:
  `airflow backfill create --dag-id nightly_marketing --from-date 2026-11-01 --to-date 2026-11-03
  --reprocess-behavior completed`.
- **Debug** a date in one process, without the scheduler: `airflow dags test nightly_marketing 2026-11-21` with
  the env from `nightshift.airflow_setup.airflow_env` (the demo does this), or without Airflow at all:
  `nightshift run --date 2026-11-21`.
- **Empty night**: without landing files no `ingest_source` task is mapped (shown as skipped); the later stages
  still run, so the report says that nothing arrived.
- **Retries**: 2 per task, 5 minutes apart (`NIGHTSHIFT_RETRY_DELAY_SECONDS` when the DAG is parsed; the
  `airflow dags test` runs started by `nightshift` use 1 s so a broken stage fails fast).
"""


def _require_ds(ds: str | None) -> str:
    """The run's logical date; a run triggered without one has no partition to work on."""
    if not ds:
        raise ValueError(
            "This DAG run has no logical date, so there is no partition to process. Trigger it with a logical "
            "date (UI: 'Trigger' -> set the logical date; CLI: airflow dags trigger nightly_marketing -l <date>)."
        )
    return ds


@dag(
    dag_id="nightly_marketing",
    # Data-interval semantics: the run starting at 02:00 UTC on day D+1 has logical date D, so `ds` names the
    # day that just ended (Airflow 3's plain cron schedule would name the day that is starting). 02:00 leaves
    # the channels two hours to finish delivering day D.
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # a day builds on the previous day's identity graph and profiles
    tags=["nightshift", "marketing"],
    doc_md=DOC_MD,
    default_args={
        "owner": "nightshift",
        "retries": RETRIES,
        "retry_delay": RETRY_DELAY,
        "pool": WAREHOUSE_POOL,
        "execution_timeout": timedelta(hours=2),
    },
)
def nightly_marketing():
    @task
    def list_sources(ds: str | None = None) -> list[str]:
        from nightshift.ingest.day import sources_for
        from nightshift.settings import get_settings
        from nightshift.stages.context import parse_run_date

        return sources_for(parse_run_date(_require_ds(ds)), get_settings())

    @task(map_index_template="{{ task.op_kwargs['source'] }}")
    def ingest_source(source: str, ds: str | None = None) -> dict:
        from functools import partial

        from nightshift.pipeline import run_stage as run_pipeline_stage
        from nightshift.stages.ingest import run_source

        # Recorded in ops.stage_runs as `ingest:<source>`, like every other stage.
        return run_pipeline_stage(
            "ingest", _require_ds(ds), function=partial(run_source, source=source), label=f"ingest:{source}"
        ).as_dict()

    @task
    def run_stage(stage: str, ds: str | None = None, outlet_events=None) -> dict:
        from nightshift import pipeline

        result = pipeline.run_stage(stage, _require_ds(ds))
        if stage == "export" and outlet_events is not None:
            from nightshift.stages.export import channel_deliveries

            for channel, extra in channel_deliveries(result).items():
                outlet_events[EXPORT_ASSETS[channel]].extra = extra
        return result.as_dict()

    ingested = ingest_source.expand(source=list_sources())
    stages = [
        # A night without landing files maps no ingest task (it shows as skipped); the later stages still run,
        # as `nightshift run` does, so the night still gets its exports and a report saying nothing arrived.
        run_stage.override(
            task_id=stage,
            trigger_rule=TriggerRule.NONE_FAILED if stage == STAGES_AFTER_INGEST[0] else TriggerRule.ALL_SUCCESS,
            outlets=list(EXPORT_ASSETS.values()) if stage == "export" else [],
        )(stage=stage)
        for stage in STAGES_AFTER_INGEST
    ]
    chain(ingested, *stages)


nightly_marketing()
