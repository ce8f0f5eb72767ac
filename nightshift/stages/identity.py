"""Identity stage: OneID resolution of every identifier the sources deliver into a stable integer `one_id`.

Contract: `identity.identity_map` (one_id, id_type, id_value, first_seen_date, last_seen_date) as of the run date;
`identity.identity_map_daily` keeps each run date's full map (partition = run date), so a re-run for a date reads
the same previous map and reproduces its output exactly. Also per run date: `identity.identity_merges`,
`identity.identity_splits`, `identity.identity_blocked` and one row of `identity.identity_summary`.

Flow: ClickHouse extracts nodes and edges from every raw table with identifier fields (SQL generated from the
catalog, `nightshift.identity.extract`) up to the run date and writes them to the lake as Parquet, with the
previous run date's map; Spark (`spark_jobs.identity`) resolves and numbers; ClickHouse loads the results.
"""

from __future__ import annotations

import time

from nightshift.identity import extract, tables
from nightshift.identity.config import IdentityConfig, load_identity_config
from nightshift.lake import dataset_path, lake_to_table, table_to_lake
from nightshift.stages.context import StageContext, StageResult

# Spark output directory -> warehouse table it is loaded into.
OUTPUT_TABLES = {
    "identity_map": "identity.identity_map_daily",
    "merges": "identity.identity_merges",
    "splits": "identity.identity_splits",
    "blocked": "identity.identity_blocked",
}


def run(ctx: StageContext, config: IdentityConfig | None = None, sources: dict | None = None) -> StageResult:
    """Resolve identities up to the run date. `config` and `sources` default to config/identity.yml and the
    whole catalog; tests pass their own."""
    started = time.perf_counter()
    client = ctx.client
    config = config or load_identity_config()
    id_fields = extract.identity_fields(config, sources)
    tables.create_tables(client)
    tables.clear_run_date(client, ctx.run_date)
    params = {"run_date": ctx.run_date}

    records = extract.records_sql(id_fields, extract.raw_columns(client))
    if records is None:
        tables.publish_current_map(client, ctx.run_date)
        tables.write_summary(client, ctx.run_date, edges=0)
        return StageResult("identity", ctx.run_date, summary="no raw table with identifiers yet: identity map is empty")

    lake = ctx.settings.lake_root
    nodes_path = dataset_path(lake, "identity_nodes", ctx.run_date)
    edges_path = dataset_path(lake, "identity_edges", ctx.run_date)
    previous_path = dataset_path(lake, "identity_previous", ctx.run_date)
    output_path = dataset_path(lake, "identity_output", ctx.run_date)
    nodes = table_to_lake(client, extract.nodes_sql(records), nodes_path, parameters=params)
    edges = table_to_lake(client, extract.edges_sql(records), edges_path, parameters=params)
    table_to_lake(client, tables.PREVIOUS_MAP_SQL, previous_path, parameters=params)
    max_issued = int(client.query(tables.MAX_ISSUED_SQL, parameters=params).result_rows[0][0] or 0)

    from nightshift.spark import get_spark
    from spark_jobs.identity import JobPaths, run_job

    spark = get_spark("nightshift-identity", ctx.settings)
    run_job(
        spark,
        JobPaths(nodes=nodes_path, edges=edges_path, previous=previous_path, output=output_path),
        config,
        max_issued,
        ctx.run_date.isoformat(),
        edge_count=edges.rows,
    )
    loaded = {
        table: lake_to_table(client, f"{output_path}/{name}", table).rows for name, table in OUTPUT_TABLES.items()
    }
    tables.publish_current_map(client, ctx.run_date)
    figures = tables.write_summary(client, ctx.run_date, edges=edges.rows)
    summary = (
        f"{figures['people']} people, {figures['ids']} identifiers from {nodes.rows} ids and {edges.rows} links; "
        f"{figures['merges']} merges, {figures['splits']} splits, {figures['blocked_ids']} blocked ids, "
        f"largest person {figures['largest_component']} ids; {time.perf_counter() - started:.1f} s"
    )
    return StageResult(
        "identity",
        ctx.run_date,
        rows={"identity.identity_map": figures["ids"], "people": figures["people"], **loaded},
        outputs={"identity_output": output_path},
        summary=summary,
    )
