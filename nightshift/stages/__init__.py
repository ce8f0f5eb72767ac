"""The pipeline's stages, one module each; `nightshift.pipeline` lists them in order and runs them.

Every stage module has `run(ctx: StageContext) -> StageResult` (see `context.py`): it reads and writes only the run
date's partitions of ClickHouse tables and lake datasets, and is the only owner of its step.

| stage      | module          | writes |
|------------|-----------------|--------|
| ingest     | `ingest.py`     | `raw.*`, `raw.quarantine`, `ops.ingestion_summary` |
| identity   | `identity.py`   | `identity.*` |
| build      | `build.py`      | dbt: `staging`, `intermediate`, `marts`, `snapshots` |
| segments   | `segments.py`   | `audience.segment_membership`, `audience.segment_changes`, lake copies of the marts |
| audiences  | `audiences.py`  | `audience.campaign_audience`, `audience.exclusions` |
| reconcile  | `reconcile.py`  | `audience.reconciliation_items`, `reconciliation`, `loss_alerts`, `replenishment` |
| export     | `export.py`     | `<exports>/<run_date>/` files with manifests, `audience.contact_history` |
| deliver    | `deliver.py`    | `audience.delivery_results` (appended as it goes, never reset: a rerun resumes) |
| report     | `report.py`     | `<reports>/<run_date>/` |
"""
