"""Run dbt in this process against Nightshift's warehouse, and turn its outcome into plain facts.

In-process on purpose: the embedded engine allows one process per warehouse directory, and the pipeline
process already holds it. The `nightshift` dbt adapter opens its connections with `nightshift.warehouse.get_client()`,
which in this process returns another client on the same engine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from nightshift.errors import NightshiftError
from nightshift.settings import PROJECT_ROOT, Settings, get_settings

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# Node statuses that mean the node did not do its job (a warning is not one of them).
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
MESSAGE_LINES = 6  # enough of dbt's message to see the database error, not a wall of SQL
# The run date reaches dbt through this environment variable rather than `--vars` (dbt_project/macros/run_date.sql
# says why: a new var each night would make dbt re-parse the whole project). dbt copies every DBT_ENV_CUSTOM_ENV_*
# variable into its artifacts' `metadata.env` without the prefix, so run_results.json still says which date it is of.
RUN_DATE_VARIABLE = "DBT_ENV_CUSTOM_ENV_NIGHTSHIFT_RUN_DATE"
RUN_DATE_METADATA = "NIGHTSHIFT_RUN_DATE"
# dbt's saved parse in an installation's target folder (dbt's own name): with it, dbt re-reads only changed files.
SAVED_PARSE = "partial_parse.msgpack"
# dbt's file log (logs/dbt.log) is at debug level unless told otherwise: every statement of every node, ~3.5 of the
# 13-14.5 s of a 20k-people night's build at one thread. At info it still has each node's start, result and timing
# and every error; the SQL each node ran stays in target/run. dbt's own DBT_LOG_LEVEL_FILE=debug brings it back.
FILE_LOG_LEVEL = "info"
FILE_LOG_LEVEL_VARIABLE = "DBT_LOG_LEVEL_FILE"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeOutcome:
    unique_id: str
    resource_type: str  # model, test, seed, snapshot, unit_test
    name: str
    status: str
    message: str
    relation: str = ""  # database.table for models, seeds and snapshots
    materialized: str = ""
    path: str = ""  # file that defines the node, relative to the dbt project
    execution_seconds: float = 0.0  # as dbt reports it (run_results.json), without dbt's own start-up and parse


@dataclass
class DbtOutcome:
    command: list[str]
    success: bool
    nodes: list[NodeOutcome] = field(default_factory=list)
    error: str = ""  # set when dbt stopped before running nodes (profile, parse or compile error)
    target_path: Path | None = None
    log_path: Path | None = None

    @property
    def failed(self) -> list[NodeOutcome]:
        return [node for node in self.nodes if node.status in FAILED_STATUSES]

    def count(self, status: str, resource_type: str | None = None) -> int:
        return sum(1 for n in self.nodes if n.status == status and resource_type in (None, n.resource_type))

    def failure_report(self) -> str:
        """What failed, for a person: each failing node with its file and dbt's message, and where the logs are."""
        where = f" Full log: {self.log_path / 'dbt.log'}." if self.log_path else ""
        if self.error:
            return f"dbt {self.command[0]} stopped before running anything: {self.error}.{where}"
        lines = [f"dbt {self.command[0]} failed on {len(self.failed)} node(s):"]
        for node in self.failed:
            lines.append(f"- {node.resource_type} {node.name} ({node.path}): {node.status}: {node.message}")
        skipped = self.count("skipped")
        if skipped:
            lines.append(f"{skipped} node(s) downstream of the failures were skipped.")
        if self.target_path:
            lines.append(f"Compiled SQL of each node is under {self.target_path / 'run'}.{where}")
        return "\n".join(lines)


def artifact_run_date(artifact: dict) -> str | None:
    """The run date a dbt artifact (run_results.json, manifest.json) was made for: from the pipeline's environment
    variable in its metadata, or from `--vars` when someone ran dbt by hand with the date; None when neither says."""
    from_environment = (artifact.get("metadata") or {}).get("env", {}).get(RUN_DATE_METADATA)
    variables = (artifact.get("args") or {}).get("vars") or {}
    if isinstance(variables, str):  # older dbt versions record --vars as the YAML text given
        found = re.search(r"run_date\W+(\d{4}-\d{2}-\d{2})", variables)
        variables = {"run_date": found.group(1)} if found else {}
    from_vars = variables.get("run_date")
    return str(from_vars) if from_vars else from_environment


def dbt_paths(settings: Settings) -> tuple[Path, Path]:
    """Artifacts and logs live in the installation's home, so separate installations never share them."""
    base = settings.home / "dbt"
    return base / "target", base / "logs"


def _shared_parse(settings: Settings, dbt_vars: str) -> Path | None:
    """Where installations of this project share dbt's saved parse (NIGHTSHIFT_DBT_PARSE_CACHE), one file per
    project folder, `--vars` and dbt version: dbt only reuses a parse made with the same vars, and checks every
    file's checksum itself, so a parse from another installation is as safe as yesterday's from this one."""
    if not settings.dbt_parse_cache:
        return None
    from dbt.version import __version__ as dbt_version

    key = hashlib.sha256("\0".join((str(DBT_PROJECT_DIR), dbt_vars, dbt_version)).encode()).hexdigest()[:16]
    return Path(settings.dbt_parse_cache).expanduser() / f"partial_parse-{key}.msgpack"


def _seed_saved_parse(saved: Path, shared: Path | None) -> None:
    """A new installation starts from the shared parse instead of parsing the whole project (measured on 2 cores:
    dbt's load 14.7 s from nothing, 1.7 s from a saved parse)."""
    if shared is None or saved.exists() or not shared.exists():
        return
    try:
        saved.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(shared, saved)  # keeps the mtime: an unchanged parse is not shared back
    except OSError as error:
        log.debug("dbt's shared parse %s was not copied (%s): dbt parses the whole project", shared, error)


def _share_saved_parse(saved: Path, shared: Path | None) -> None:
    """Offer this installation's parse to the next new one when dbt wrote a newer one. Written beside and renamed
    over, so a process that seeds at the same moment reads the old file or the new one, never half of one."""
    if shared is None or not saved.exists():
        return
    try:
        if shared.exists() and shared.stat().st_mtime >= saved.stat().st_mtime:
            return
        shared.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=shared.parent, prefix=".partial_parse-")
        os.close(handle)
    except OSError as error:  # a read-only project folder: sharing is only a speed-up
        log.debug("dbt's parse was not shared to %s (%s)", shared, error)
        return
    try:
        shutil.copy2(saved, partial)
        os.replace(partial, shared)
    except OSError as error:  # a full disk: no half-written copy is left behind
        Path(partial).unlink(missing_ok=True)
        log.debug("dbt's parse was not shared to %s (%s)", shared, error)


def _short(message: str | None) -> str:
    lines = [line.rstrip() for line in (message or "").strip().splitlines() if line.strip()]
    return "\n  ".join(lines[:MESSAGE_LINES])


def _node_outcome(result) -> NodeOutcome:
    node = result.node
    relation = f"{node.schema}.{node.alias}" if node.resource_type in ("model", "seed", "snapshot") else ""
    return NodeOutcome(
        unique_id=node.unique_id,
        resource_type=str(node.resource_type),
        name=node.name,
        status=str(result.status),
        message=_short(result.message),
        relation=relation,
        materialized=str(getattr(node.config, "materialized", "") or ""),
        path=node.original_file_path,
        execution_seconds=float(getattr(result, "execution_time", 0.0) or 0.0),
    )


def _check_same_warehouse(settings: Settings) -> None:
    # The adapter connects with get_client() and therefore reads the environment; make sure that is the
    # warehouse this run was asked to build in.
    from_environment = get_settings().warehouse
    if from_environment != settings.warehouse:
        raise NightshiftError(
            f"dbt would build in the {from_environment.describe()} (from the NIGHTSHIFT_* environment) but this "
            f"run is for the {settings.warehouse.describe()}. Set NIGHTSHIFT_HOME / NIGHTSHIFT_CLICKHOUSE_URL in "
            "the environment instead of passing different settings."
        )


def invoke_dbt(
    command: str,
    run_date: date,
    settings: Settings,
    extra_args: list[str] | None = None,
    extra_vars: dict[str, object] | None = None,
) -> DbtOutcome:
    """Run `dbt <command>` for one run date in this process; never raises for dbt failures (see DbtOutcome).
    `extra_vars` go to `--vars` (for example the plans' conversion windows); the run date goes in the environment
    (RUN_DATE_VARIABLE), so that dbt reuses its saved parse from one night to the next."""
    _check_same_warehouse(settings)
    from dbt.cli.main import dbtRunner  # a few seconds to import: only when dbt really runs
    from dbt_common.events.functions import reset_metadata_vars  # dbt reads DBT_ENV_CUSTOM_ENV_* once per process

    target_path, log_path = dbt_paths(settings)
    dbt_vars = json.dumps(extra_vars or {})
    saved, shared = target_path / SAVED_PARSE, _shared_parse(settings, dbt_vars)
    args = [
        command,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target_path),
        "--log-path", str(log_path),
        "--vars", dbt_vars,
        "--threads", str(settings.dbt_threads),
        "--no-use-colors",
        *([] if os.environ.get(FILE_LOG_LEVEL_VARIABLE) else ["--log-level-file", FILE_LOG_LEVEL]),
        *(extra_args or []),
    ]  # fmt: skip
    working_dir = os.getcwd()
    previous_date = os.environ.get(RUN_DATE_VARIABLE)
    os.environ[RUN_DATE_VARIABLE] = run_date.isoformat()
    reset_metadata_vars()
    _seed_saved_parse(saved, shared)
    try:
        result = dbtRunner().invoke(args)
        _share_saved_parse(saved, shared)
    finally:
        os.chdir(working_dir)  # dbt moves into the project directory while it runs; the caller's cwd is not its
        if previous_date is None:
            os.environ.pop(RUN_DATE_VARIABLE, None)
        else:
            os.environ[RUN_DATE_VARIABLE] = previous_date
        reset_metadata_vars()
    outcome = DbtOutcome(command=args, success=result.success, target_path=target_path, log_path=log_path)
    run_results = getattr(result.result, "results", None)
    if run_results is not None:
        outcome.nodes = [_node_outcome(node_result) for node_result in run_results]
    if result.exception is not None:
        outcome.error = _short(str(result.exception)).replace("\n  ", " ")
    elif not result.success and not outcome.failed:
        outcome.error = "dbt reported failure without naming a node"
    return outcome
