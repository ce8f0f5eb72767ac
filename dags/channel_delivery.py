"""Channel delivery: the `deliver` stage, run whenever the nightly export announces sealed deliveries.

Scheduled on the export Assets of the channels with an API (updated by `nightly_marketing`'s export task); only
wires the stage, whose logic and heavy imports live in `nightshift.stages.deliver`.
"""

from __future__ import annotations

import os
from datetime import timedelta
from functools import reduce
from operator import or_

import pendulum
from airflow.sdk import Asset, dag, task

from nightshift.contracts import API_CHANNELS, export_asset

WAREHOUSE_POOL = "nightshift_warehouse"  # the deliver stage records every call in the warehouse
RETRIES = 2
RETRY_DELAY = timedelta(seconds=float(os.environ.get("NIGHTSHIFT_RETRY_DELAY_SECONDS", "300")))
# At the vendors' rate limits a million messages take hours; a rerun resumes where a stopped run left off.
DELIVERY_TIMEOUT = timedelta(hours=12)
# Any channel's export update starts a run (the export task updates them together, so usually one run a night).
EXPORT_UPDATED = reduce(or_, (Asset(name=export_asset(c)[0], uri=export_asset(c)[1], group="nightshift")
                              for c in API_CHANNELS))  # fmt: skip

DOC_MD = """
### Channel delivery

Runs when `nightly_marketing`'s export task updates a channel's Asset (`nightshift://exports/<channel>`): sends
the run date's sealed payloads (the date is in the Asset event's extra) through each configured channel's API
(`NIGHTSHIFT_DELIVERY_ENDPOINTS`; none: the task says so and sends nothing), at the channel's rate limit, each
message once. Every record's outcome is appended to `audience.delivery_results`.

- **Rerun / resume**: clear the task; contacts already accepted or refused for good are skipped, the rest resent
  with the same idempotency key. Outside Airflow: `nightshift deliver --date D [--channel C] [--dry-run]`.
- **Secrets**: the vendors' keys come from the task's environment only (`ALIYUN_ACCESS_KEY_ID/_SECRET`,
  `JPUSH_APP_KEY/_MASTER_SECRET`, `WECHAT_APP_ID/_SECRET`, `WECOM_CORP_ID/_SECRET`).
"""


@dag(
    dag_id="channel_delivery",
    schedule=EXPORT_UPDATED,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two runs of one date would race for the same contacts
    tags=["nightshift", "delivery"],
    doc_md=DOC_MD,
    default_args={
        "owner": "nightshift",
        "retries": RETRIES,
        "retry_delay": RETRY_DELAY,
        "pool": WAREHOUSE_POOL,
        "execution_timeout": DELIVERY_TIMEOUT,
    },  # fmt: skip
)
def channel_delivery():
    @task
    def deliver(triggering_asset_events=None) -> list[dict]:
        run_dates = sorted({
            event.extra["run_date"]
            for events in (triggering_asset_events or {}).values()
            for event in events
            if (event.extra or {}).get("run_date")
        })  # fmt: skip
        if not run_dates:
            raise ValueError(
                "No export Asset event with a run date triggered this run, so there is nothing to deliver. "
                "Deliver a date by hand with: nightshift deliver --date YYYY-MM-DD"
            )
        from nightshift import pipeline

        return [pipeline.run_stage("deliver", run_date).as_dict() for run_date in run_dates]

    deliver()


channel_delivery()
