"""Tag and profile build benchmark: dbt builds user_profile, user_tags and tag_bitmaps at 1M and 10M people.

    python -m bench.profile_build                          # base world of 100,000 users, then 1M and 10M people
    python -m bench.profile_build --people 1000000 --base-users 50000 --home /tmp/bench-profile

What is real and what is replicated:
1. REAL: a world of --base-users generated people (nightshift.generate, --days days ending on the run date),
   ingested, resolved by the identity stage and built by the nightly pipeline's build stage (every model, data
   test and the snapshot). Its per-layer dbt times are printed: what staging and intermediate cost at that scale.
2. REPLICATED: the relations the three marts read (the tables at the edge of their upstream graph in dbt's
   manifest: the int_* tables, plus the identity map and raw app users behind the int_app_users_* view) are
   copied N times, copy k with `one_id + k * (max one_id + 1)` and, for identifier strings, `~k` appended to
   non-empty values (so joins on app_user_id still match within a copy and ids stay distinct). Every other column
   is kept as it is. N = round(people / base people), so each scale has N times the real world's people with its
   exact distributions (share of buyers, tags per person, value mixes); only the one_ids and ids are new.
3. TIMED: `dbt run --select user_profile user_tags tag_bitmaps` on the replicated inputs: each model's execution
   time from run_results.json (what the goal "under 2 minutes of warehouse time for 10M people" is about) and
   the dbt wall time (adds dbt's start-up and parse); then `dbt test` of the three marts (grain tests) apart.

4. --whole-build: the whole `dbt build` instead, as the pipeline's build stage runs it (every model, data test,
   the seed and the snapshot, with its vars; the unit tests run in `make test`, not nightly). Replicated then:
   the edge of the whole graph, i.e. every dbt source the world loaded (raw tables: `~k` on the identifier fields
   of the source catalog and on RECORD_KEY_COLUMNS; the identity map) and the snapshot's history as of the night
   before (DERIVED_COLUMNS). Printed: wall, CPU and load of the build, summed node times per node kind and layer,
   dbt's time outside the nodes, the slowest nodes, and with --checksums an order-independent checksum of every
   built table. Measured figures, before and after the cuts, are in docs/build_performance.md.

    python -m bench.profile_build --whole-build --base-users 20000 --people 1000000 10000000

Runs in a throwaway installation (--home to keep it; a process opens one warehouse, so all scales share it).
Load averages (1, 5, 15 min) are printed next to each timing, and the CPU seconds this process used (the
embedded engine runs in it): on a shared 2-core machine wall time >= CPU / 2, the rest is waiting for others.

Where the time goes at 10M people (see the commits that changed user_tags and int_app_users_resolved_to_one_ids):
user_tags writes ~420M rows, so it is bound by writing and merging MergeTree parts; user_profile is ten hash
joins of ~10M-row sides plus writing ~90 columns; tag_bitmaps feeds ~320M of those rows (the bitmap-able tags)
into groupBitmapState keyed by (tag_code, tag_value), and used about one core for ~35 s (CPU ~ wall).
The grain test of user_tags (unique tag_code, one_id) counts each tag's rows and distinct one_ids in a bitmap
(`unique_ids_per_group`): 1.7-2.1 s alone at 1M people, where the GROUP BY ... HAVING it replaced took 25 s and
the comparison of neighbours in sort order after it 5.7 s; timed at 1M only by default.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import load_average, machine_description, quiet_dbt

console = Console(width=120)
RUN_DATE = date(2026, 11, 20)
DEFAULT_SCALES = (1_000_000, 10_000_000)
DEFAULT_BASE_USERS = 100_000
DEFAULT_BASE_DAYS = 1
# The marts' tests read user_tags' ~42 rows per person (~10x the 1M time at 10M), so by default they are timed
# apart at 1M only (--test-up-to).
DEFAULT_TEST_UP_TO = 1_000_000
SLOWEST_NODES = 12  # listed under each whole build
CHECKSUM_DETAIL = ("snapshots.user_tag_history", "marts.user_tags", "marts.user_profile")  # printed one by one
MARTS = ("user_profile", "user_tags", "tag_bitmaps")
BASE_DATABASE = "bench_base"  # where the real world's copies of the replicated relations wait between scales
# Identifier strings that must stay distinct per copy (and consistent across relations, for the app_user_id
# join of int_app_users_resolved_to_one_ids): copy k gets `~k` appended to non-empty values.
IDENTIFIER_COLUMNS = {
    "identity.identity_map": ("id_value",),
    "identity.identity_map_daily": ("id_value",),
    "raw.app__users": ("user_id", "inviter_id"),
    "intermediate.int_identities_pivoted": (
        "phone",
        "unionid",
        "wechat_oa_openid",
        "miniprogram_openid",
        "app_user_id",
        "wecom_external_userid",
        "douyin_open_id",
        "xiaoe_user_id",
        "cdnow_customer_id",
    ),
    "intermediate.int_contact_addresses_resolved": ("oa_template_openid", "wecom_external_userid"),
    "intermediate.int_app_users_resolved_to_one_ids": ("app_user_id", "phone", "inviter_app_user_id"),
}
# --whole-build replicates the edge of the whole dbt graph (its sources and the snapshot's own history). Raw
# tables get `~k` on the identifier fields the source catalog declares (id_type: the ids identity resolution
# links, so they match the replicated identity map) and on these record keys, which staging tests unique or
# joins between raw tables (a copy of an order must not collide with its original).
RECORD_KEY_COLUMNS = frozenset(
    {
        "event_id",
        "order_id",
        "item_id",
        "refund_id",
        "grant_id",
        "redemption_id",
        "list_id",
        "complaint_id",
        "clue_id",
        "visit_id",
        "call_id",
        "msgid",
        "msg_id",
        "biz_id",
        "out_id",
        "client_msg_id",
        "code",
    }
)
# Columns computed from other columns, recomputed per copy ({one_id} is the copy's one_id). The snapshot's
# history: its unique key is "one_id:tag_code"; its dates move one day back, so the timed build meets it as
# the history of the night before (on its own run date a snapshot only re-checks what it already recorded);
# its period id (a hash, tested unique) is rehashed with the copy number.
DERIVED_COLUMNS = {
    "snapshots.user_tag_history": {
        "person_tag_key": "concat(toString({one_id}), ':', toString(tag_code))",
        "computed_date": "computed_date - 1",
        "dbt_scd_id": "cityHash64(dbt_scd_id, bench_copy)",
        "dbt_updated_at": "dbt_updated_at - 1",
        "dbt_valid_from": "dbt_valid_from - 1",
        "dbt_valid_to": "dbt_valid_to - 1",
    },
}
PERSON_KEY = "one_id"
COPY_COLUMN = "bench_copy"
WORLD_TABLE = f"{BASE_DATABASE}.world"
WORLD_COLUMNS = ("users", "days", "people", "relations", "graph_edge", "stride")


# --- what to replicate (pure functions of dbt's manifest and the tables' columns) -------------------------------


def frontier_relations(manifest: dict, models: tuple[str, ...]) -> list[str]:
    """`database.table` of every table or source the models read, looking through views and ephemeral models.

    These are what a scaled run must replicate: a view is recomputed from them inside the mart's query, so it
    scales with them. Seeds are reference data and stay as they are; the models themselves are excluded.
    """
    nodes = {**manifest["nodes"], **manifest["sources"]}
    wanted = {
        unique_id
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["name"] in models
    }
    if len(wanted) != len(models):
        raise ValueError(f"dbt's manifest does not have exactly one model per name in {', '.join(models)}")
    frontier: set[str] = set()
    pending = list(wanted)
    seen = set(pending)
    while pending:
        node = nodes[pending.pop()]
        for parent_id in node.get("depends_on", {}).get("nodes", []):
            if parent_id in seen or parent_id not in nodes:
                continue
            seen.add(parent_id)
            parent = nodes[parent_id]
            materialized = parent.get("config", {}).get("materialized")
            if parent["resource_type"] == "model" and materialized in ("view", "ephemeral"):
                pending.append(parent_id)
            elif parent["resource_type"] in ("model", "source", "snapshot") and parent_id not in wanted:
                name = parent.get("alias") or parent.get("identifier") or parent["name"]
                frontier.add(f"{parent['schema']}.{name}")
    return sorted(frontier)


def graph_edge_relations(manifest: dict) -> list[str]:
    """`database.table` of every dbt source and of every snapshot's own history: what the whole `dbt build`
    reads and does not build. A scaled whole build replicates these (the snapshot compares against its history,
    so a night at scale has a history at that scale). Seeds are reference data and stay as they are."""
    relations = {
        f"{source['schema']}.{source.get('identifier') or source['name']}" for source in manifest["sources"].values()
    }
    relations |= {
        f"{node['schema']}.{node.get('alias') or node['name']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "snapshot"
    }
    return sorted(relations)


def identifier_columns(relation: str, columns: dict[str, str]) -> tuple[str, ...]:
    """The string columns of `relation` that get `~copy`: IDENTIFIER_COLUMNS for the tables named there; for a
    raw table, the identifier fields of its source catalog entity and the RECORD_KEY_COLUMNS it has, when they
    hold strings (a numeric key, such as a provider's message number, is kept: no test needs it unique)."""
    if relation in IDENTIFIER_COLUMNS:
        return IDENTIFIER_COLUMNS[relation]
    if not relation.startswith("raw."):
        return ()
    return raw_identifier_columns(columns, catalog_id_fields(relation))


def catalog_id_fields(relation: str) -> dict[str, str]:
    """{field -> id_type} of the identifier fields the source catalog declares for the raw table `relation`."""
    from nightshift.sources.catalog import all_sources

    return {
        field.name: field.id_type
        for source in all_sources().values()
        for entity in source.entities
        if entity.raw_table == relation
        for field in entity.fields
        if field.id_type
    }


def raw_identifier_columns(columns: dict[str, str], id_fields: dict[str, str] | set[str]) -> tuple[str, ...]:
    """The string columns among a raw table's `columns` that are identifier fields (`id_fields`) or
    RECORD_KEY_COLUMNS."""
    return tuple(
        name
        for name, column_type in columns.items()
        if (name in id_fields or name in RECORD_KEY_COLUMNS) and "String" in column_type
    )


def replication_sql(
    relation: str,
    columns: list[tuple[str, str]],
    copies: int,
    stride: int,
    base: str,
    identifiers: tuple[str, ...] = (),
    derived: dict[str, str] | None = None,
    copied: dict[str, str] | None = None,
) -> str:
    """INSERT ... SELECT writing `copies` copies of `base` into `relation`; copy 0 is the original rows.

    `columns` are (name, type) in table order. one_id becomes one_id + copy * stride (stride > max one_id keeps
    one_ids unique across copies); the `identifiers` string columns get `~copy` appended when non-empty (each
    element, for an array of strings), or, for a column named in `copied`, its expression of `{value}` and `{copy}`
    (bench/replicated_world.py keeps phones valid mobile numbers that way); `derived` columns are recomputed per copy
    from their expression, where `{one_id}` stands for the copy's one_id.
    """
    derived = derived or {}
    copied = copied or {}
    names = {name for name, _ in columns}
    missing = [name for name in identifiers if name not in names]
    if missing:
        raise ValueError(f"{relation} has no column(s) {', '.join(missing)}; update IDENTIFIER_COLUMNS in {__file__}")
    if PERSON_KEY not in names and not identifiers and not derived:
        raise ValueError(
            f"{relation} has neither {PERSON_KEY} nor identifier columns, so its copies would be duplicates; "
            f"say how to make its rows distinct per copy in IDENTIFIER_COLUMNS ({__file__})"
        )
    # Qualified by the base table: an unqualified one_id in a derived expression would resolve to the alias below
    # (ClickHouse substitutes aliases) and add the offset twice.
    copy_one_id = f"(original.{PERSON_KEY} + {COPY_COLUMN} * {stride})"
    expressions = []
    for name, column_type in columns:
        if name in derived:
            expressions.append(f"{derived[name].replace('{one_id}', copy_one_id)} as {name}")
        elif name == PERSON_KEY:
            expressions.append(f"{copy_one_id} as {name}")
        elif name in identifiers and column_type.startswith("Array("):
            suffixed = f"arrayMap(value -> if(empty(value), value, {_copy_of('value', copied.get(name))}), {name})"
            expressions.append(f"if({COPY_COLUMN} = 0, {name}, {suffixed}) as {name}")
        elif name in identifiers:
            text = f"ifNull({name}, '')" if column_type.startswith("Nullable") else name
            suffixed = _copy_of(name, copied.get(name))
            expressions.append(f"if({COPY_COLUMN} = 0 or empty({text}), {name}, {suffixed}) as {name}")
        else:
            expressions.append(name)
    select_list = ",\n    ".join(expressions)
    return (
        f"insert into {relation}\nselect\n    {select_list}\n"
        f"from {base} as original\ncross join (select number as {COPY_COLUMN} from numbers({copies})) as copies"
    )


def _copy_of(value: str, expression: str | None) -> str:
    """A copy's identifier: `value~copy`, or `expression` with `{value}` and `{copy}` filled in."""
    if expression is None:
        return f"concat({value}, '~', toString({COPY_COLUMN}))"
    return expression.replace("{value}", value).replace("{copy}", COPY_COLUMN)


def base_name(relation: str) -> str:
    return f"{BASE_DATABASE}.`{relation}`"


# --- the real world ------------------------------------------------------------------------------------------


@dataclass
class DbtTiming:
    wall_seconds: float
    cpu_seconds: float  # user + system CPU of this process, where the embedded engine's threads run
    node_seconds: dict[str, float]  # unique_id -> execution time (run_results.json)
    load: str


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run_dbt(settings, command: str, extra_args: list[str], extra_vars: dict | None = None) -> DbtTiming:
    from nightshift.dbt_runner import invoke_dbt

    started, cpu_started = time.perf_counter(), _cpu_seconds()
    outcome = invoke_dbt(command, RUN_DATE, settings, extra_args, extra_vars)
    wall_seconds, cpu_seconds = time.perf_counter() - started, _cpu_seconds() - cpu_started
    load = load_average()
    if not outcome.success:
        raise RuntimeError(outcome.failure_report())
    node_seconds = {node.unique_id: node.execution_seconds for node in outcome.nodes}
    return DbtTiming(wall_seconds, cpu_seconds, node_seconds, load)


def _run_whole_build(settings) -> DbtTiming:
    """`dbt build` as the pipeline's build stage runs it: every node but the unit tests (which run in `make test`),
    with the vars it passes (the plans' conversion windows)."""
    from nightshift.stages.build import NIGHTLY_EXCLUDED, conversion_windows

    return _run_dbt(settings, "build", NIGHTLY_EXCLUDED, {"conversion_windows": conversion_windows()})


def node_kinds(manifest: dict) -> dict[str, str]:
    """unique_id -> what it is, for the per-kind table: `model: <layer>`, `test on <layer>` (the layer of the
    model or snapshot a data test is attached to), `unit test`, `snapshot`, `seed`. Layers are the schemas."""
    nodes = manifest["nodes"]
    kinds = {}
    for unique_id, node in nodes.items():
        kind = node["resource_type"]
        if kind == "model":
            kinds[unique_id] = f"model: {node['schema']}"
        elif kind == "test":
            parents = [
                nodes[parent]["schema"]
                for parent in node["depends_on"]["nodes"]
                if parent in nodes and parent.split(".")[0] in ("model", "snapshot")
            ]
            kinds[unique_id] = f"test on {parents[0] if parents else 'sources'}"
        else:
            kinds[unique_id] = kind.replace("_", " ")
    for unique_id in manifest.get("unit_tests", {}):
        kinds[unique_id] = "unit test"
    return kinds


def _manifest(settings) -> dict:
    from nightshift.dbt_runner import dbt_paths

    target_path, _ = dbt_paths(settings)
    return json.loads((target_path / "manifest.json").read_text())


def add_build_rows(table: Table, build: DbtTiming, manifest: dict, slowest: int) -> None:
    """Rows of a whole `dbt build`: wall, CPU and load; per node kind the count and summed execution seconds;
    what dbt spends outside the nodes' queries (start-up, parse, compile, its own metadata queries); the slowest
    nodes."""
    kinds = node_kinds(manifest)
    by_kind: dict[str, list[float]] = {}
    for unique_id, seconds in build.node_seconds.items():
        by_kind.setdefault(kinds.get(unique_id, unique_id.split(".")[0]), []).append(seconds)
    node_total = sum(build.node_seconds.values())
    table.add_row(
        f"[bold]dbt build ({len(build.node_seconds)} nodes)[/]",
        f"[bold]{build.wall_seconds:.1f}[/]",
        f"{build.cpu_seconds:.0f}",
        "wall; CPU of this process",
        build.load,
    )
    for kind, seconds in sorted(by_kind.items(), key=lambda item: -sum(item[1])):
        table.add_row(f"  {kind}", f"{sum(seconds):.1f}", "", f"{len(seconds)} nodes", "")
    table.add_row("  outside nodes", f"{build.wall_seconds - node_total:.1f}", "", "start-up, parse, compile", "")
    for unique_id in sorted(build.node_seconds, key=build.node_seconds.get, reverse=True)[:slowest]:
        name = unique_id.split(".", 2)[-1]
        table.add_row(f"    {name[:60]}", f"{build.node_seconds[unique_id]:.1f}", "", kinds.get(unique_id, ""), "")


def build_real_world(settings, client, users: int, days: int) -> tuple[Table, int]:
    """Generate, ingest, resolve and `dbt build` a world of `users` people; returns its figures and people."""
    from nightshift.generate import generate_world
    from nightshift.pipeline import run_stage
    from nightshift.stages.context import StageContext

    table = Table("step", "seconds", "CPU s", "detail", "load avg", title=f"real world: {users:,} users, {days} day(s)")
    first_day = RUN_DATE - timedelta(days=days - 1)
    started = time.perf_counter()
    generate_world(settings.landing_dir, users=users, start_date=first_day, days=days, seed=42, progress=False)
    table.add_row("generate", f"{time.perf_counter() - started:.1f}", "", "", load_average())
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        ctx = StageContext(run_date=day, settings=settings, _client=client)
        for stage in ("ingest", "identity"):
            result = run_stage(stage, day, ctx=ctx)
            table.add_row(
                f"{stage} {day.isoformat()}", f"{result.seconds:.1f}", "", result.summary[:60], load_average()
            )

    build = _run_whole_build(settings)
    add_build_rows(table, build, _manifest(settings), slowest=SLOWEST_NODES)
    people = int(client.query("select count() from marts.user_profile").result_rows[0][0])
    return table, people


# --- replication and the timed build -------------------------------------------------------------------------


@dataclass(frozen=True)
class RealWorld:
    """The stashed real world: what it was built from and what a scaled run needs to replicate it."""

    users: int
    days: int
    people: int  # rows of its user_profile
    relations: tuple[str, ...]  # the marts' inputs, with their real rows in BASE_DATABASE
    graph_edge: tuple[str, ...]  # what the whole build reads and does not build (that exist), also stashed there
    stride: int  # one_id offset between copies: above every real one_id


def stash_real_inputs(settings, client, users: int, days: int, people: int) -> RealWorld:
    """Move the marts' input relations and the whole graph's edge to BASE_DATABASE (renames, instant) and record
    the world there. Sources the world never loaded (dbt reads them as empty) are not part of the edge."""
    manifest = _manifest(settings)
    relations = frontier_relations(manifest, MARTS)
    existing = {
        f"{database}.{name}" for database, name in client.query("select database, name from system.tables").result_rows
    }
    graph_edge = [relation for relation in graph_edge_relations(manifest) if relation in existing]
    client.command(f"drop database if exists {BASE_DATABASE}")
    client.command(f"create database {BASE_DATABASE}")
    stashed = sorted(set(relations) | set(graph_edge))
    for relation in stashed:
        client.command(f"rename table {relation} to {base_name(relation)}")
    stride = 1 + max(
        int(client.query(f"select max({PERSON_KEY}) from {base_name(relation)}").result_rows[0][0])
        for relation in stashed
        if table_columns(client, base_name(relation)).get(PERSON_KEY)
    )
    world = RealWorld(users, days, people, tuple(relations), tuple(graph_edge), stride)
    client.command(
        f"create table {WORLD_TABLE} (users UInt64, days UInt64, people UInt64, relations Array(String), "
        "graph_edge Array(String), stride UInt64) engine = TinyLog"
    )
    client.insert(
        WORLD_TABLE,
        [[users, days, people, list(relations), list(graph_edge), stride]],
        column_names=list(WORLD_COLUMNS),
    )
    return world


def stashed_world(client, users: int, days: int) -> RealWorld | None:
    """The real world an earlier run left in this installation, if it was built with the same users and days."""
    stashed_columns = client.query(
        "select name from system.columns where database = {database:String} and table = 'world'",
        parameters={"database": BASE_DATABASE},
    ).result_rows
    if {name for (name,) in stashed_columns} != set(WORLD_COLUMNS):
        return None  # none, or left by an older version of this bench
    row = client.query(f"select {', '.join(WORLD_COLUMNS)} from {WORLD_TABLE}").result_rows[0]
    world = RealWorld(int(row[0]), int(row[1]), int(row[2]), tuple(row[3]), tuple(row[4]), int(row[5]))
    return world if (world.users, world.days) == (users, days) else None


def table_columns(client, relation: str) -> dict[str, str]:
    database, table = relation.split(".", 1)
    result = client.query(
        "select name, type from system.columns where database = {database:String} and table = {table:String} "
        "order by position",
        parameters={"database": database, "table": table.strip("`")},
    )
    return dict(result.result_rows)


def replicate(
    client, relations: list[str], copies: int, stride: int, copied: dict[str, dict[str, str]] | None = None
) -> tuple[float, dict[str, int]]:
    """(Re)create each relation as `copies` copies of its real rows. Its identifier columns are `identifier_columns`,
    or when `copied` (relation -> column -> expression, see `replication_sql`) names the relation, its columns there.
    Returns seconds and rows per relation."""
    rows = {}
    started = time.perf_counter()
    for relation in relations:
        columns = table_columns(client, base_name(relation))
        client.command(f"drop table if exists {relation}")
        client.command(f"create table {relation} as {base_name(relation)}")
        expressions = (copied or {}).get(relation)
        sql = replication_sql(
            relation,
            list(columns.items()),
            copies,
            stride,
            base_name(relation),
            tuple(expressions) if expressions else identifier_columns(relation, columns),
            DERIVED_COLUMNS.get(relation),
            expressions,
        )
        client.command(sql, settings={"max_insert_threads": os.cpu_count() or 2})
        rows[relation] = int(client.query(f"select count() from {relation}").result_rows[0][0])
    return time.perf_counter() - started, rows


def bench_scale(settings, client, world: RealWorld, people: int, with_tests: bool) -> Table:
    """Replicate the real world's mart inputs to about `people` people, then time building the marts."""
    relations, base_people = list(world.relations), world.people
    copies = max(1, round(people / base_people))
    replicate_seconds, input_rows = replicate(client, relations, copies, world.stride)
    run = _run_dbt(settings, "run", ["--select", " ".join(MARTS)])
    sizes = {
        name: (int(rows), int(total_bytes))
        for name, rows, total_bytes in client.query(
            "select name, total_rows, total_bytes from system.tables "
            "where database = 'marts' and name in {names:Array(String)}",
            parameters={"names": list(MARTS)},
        ).result_rows
    }
    tests = _run_dbt(settings, "test", ["--select", " ".join(MARTS)]) if with_tests else None

    table = Table(
        "step",
        "seconds",
        "CPU s",
        "rows",
        "MiB",
        "load avg",
        title=f"{sizes['user_profile'][0]:,} people = {copies} copies of the real world's {base_people:,}",
    )
    table.add_row(
        f"replicate {len(relations)} inputs", f"{replicate_seconds:.1f}", "", f"{sum(input_rows.values()):,}", "", ""
    )
    model_total = 0.0
    for mart in MARTS:
        seconds = next(s for uid, s in run.node_seconds.items() if uid.endswith(f".{mart}"))
        model_total += seconds
        rows, total_bytes = sizes[mart]
        table.add_row(f"  model {mart}", f"{seconds:.1f}", "", f"{rows:,}", f"{total_bytes / 2**20:,.0f}", "")
    table.add_row(
        "[bold]3 marts (warehouse)[/]", f"[bold]{model_total:.1f}[/]", f"{run.cpu_seconds:.0f}", "", "", run.load
    )
    table.add_row("dbt run wall", f"{run.wall_seconds:.1f}", "", "", "", "")
    if tests is not None:
        slowest = max(tests.node_seconds, key=tests.node_seconds.get)
        table.add_row(
            f"dbt test marts ({len(tests.node_seconds)})",
            f"{sum(tests.node_seconds.values()):.1f}",
            f"{tests.cpu_seconds:.0f}",
            "",
            "",
            tests.load,
        )
        table.add_row(f"  slowest: {slowest.split('.')[2][:40]}", f"{tests.node_seconds[slowest]:.1f}", "", "", "", "")
    return table


def built_checksums(client) -> dict[str, tuple[int, int]]:
    """{table: (rows, checksum)} of every table the build writes (intermediate, marts, snapshots): the sum of
    a hash of each whole row (nulls included), independent of row order, to show that a change to the build
    left its output as it was. Views are skipped (they are computed from these tables)."""
    tables = client.query(
        "select database, name from system.tables where database in ('intermediate', 'marts', 'snapshots') "
        "and engine like '%MergeTree' order by database, name"
    ).result_rows
    checksums = {}
    for database, name in tables:
        rows, checksum = client.query(
            f"select count(), sum(cityHash64(tuple(*))) from {database}.`{name}`"
        ).result_rows[0]
        checksums[f"{database}.{name}"] = (int(rows), int(checksum))
    return checksums


def bench_whole_build(settings, client, world: RealWorld, people: int, checksums: bool) -> Table:
    """Replicate the edge of the whole dbt graph to about `people` people, then time the whole `dbt build` as the
    pipeline's build stage runs it: every model, data test, unit test, seed and the snapshot."""
    copies = max(1, round(people / world.people))
    replicate_seconds, input_rows = replicate(client, list(world.graph_edge), copies, world.stride)
    replicate_load = load_average()
    build = _run_whole_build(settings)
    built_people = int(client.query("select count() from marts.user_profile").result_rows[0][0])
    table = Table(
        "step",
        "seconds",
        "CPU s",
        "detail",
        "load avg",
        title=f"whole dbt build: {built_people:,} people = {copies} copies of the real world's {world.people:,}",
    )
    table.add_row(
        f"replicate {len(world.graph_edge)} sources + snapshot history",
        f"{replicate_seconds:.1f}",
        "",
        f"{sum(input_rows.values()):,} rows",
        replicate_load,
    )
    add_build_rows(table, build, _manifest(settings), slowest=SLOWEST_NODES)
    if checksums:
        started = time.perf_counter()
        written = built_checksums(client)
        combined = sum(checksum for _, checksum in written.values()) % 2**64
        table.add_row(
            f"checksum of {len(written)} built tables",
            f"{time.perf_counter() - started:.1f}",
            "",
            f"{combined:016x}",
            load_average(),
        )
        for relation in CHECKSUM_DETAIL:
            if relation in written:
                rows, checksum = written[relation]
                table.add_row(f"  {relation}", "", "", f"{rows:,} rows {checksum % 2**64:016x}", "")
    return table


def main(argv: list[str] | None = None) -> None:
    quiet_dbt()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, nargs="+", default=list(DEFAULT_SCALES), help="scales to run")
    parser.add_argument("--base-users", type=int, default=DEFAULT_BASE_USERS, help="users of the real world")
    parser.add_argument("--days", type=int, default=DEFAULT_BASE_DAYS, help="days of the real world")
    parser.add_argument("--home", type=Path, default=None, help="installation directory (default: temporary)")
    parser.add_argument(
        "--test-up-to",
        type=int,
        default=DEFAULT_TEST_UP_TO,
        help="also time `dbt test` of the marts at scales up to this many people (0: never)",
    )
    parser.add_argument(
        "--whole-build",
        action="store_true",
        help="time the whole `dbt build` (every model, test and the snapshot) on replicated sources instead of "
        "the three marts on replicated inputs",
    )
    parser.add_argument(
        "--checksums",
        action="store_true",
        help="with --whole-build: print an order-independent checksum of every table the build wrote (to compare "
        "a change of the build before and after on the same world and scale)",
    )
    parser.add_argument(
        "--reuse-world",
        action="store_true",
        help="with --home: reuse the real world an earlier run of the same --base-users/--days left there",
    )
    args = parser.parse_args(argv)

    os.environ["NIGHTSHIFT_HOME"] = str(args.home or tempfile.mkdtemp(prefix="nightshift-bench-profile-"))
    os.environ.pop("NIGHTSHIFT_CLICKHOUSE_URL", None)
    from nightshift.settings import get_settings
    from nightshift.warehouse import ensure_databases, get_client

    settings = get_settings()
    client = get_client(settings)
    ensure_databases(client)
    console.print(
        f"machine: {machine_description()}; installation: {settings.home}; load avg at start: {load_average()}"
    )

    world = stashed_world(client, args.base_users, args.days) if args.reuse_world else None
    if world is None:
        figures, people = build_real_world(settings, client, args.base_users, args.days)
        console.print(figures)
        world = stash_real_inputs(settings, client, args.base_users, args.days, people)
    else:
        console.print(f"reusing the real world of {world.people:,} people stashed in {BASE_DATABASE} (--reuse-world)")
    replicated = world.graph_edge if args.whole_build else world.relations
    console.print(
        f"replicated per scale (real rows kept in {BASE_DATABASE}): {', '.join(replicated)}; "
        f"one_id stride {world.stride:,}"
    )
    for people in args.people:
        if args.whole_build:
            console.print(bench_whole_build(settings, client, world, people, args.checksums))
        else:
            console.print(bench_scale(settings, client, world, people, with_tests=people <= args.test_up_to))
    console.print(f"machine: {machine_description()}; load avg at end: {load_average()}")


if __name__ == "__main__":
    main()
