"""The whole nightly pipeline on a generated world, run twice for the same date in a separate installation.

Acceptance: re-running `nightshift run` for a date leaves identical table contents and byte-identical exports.
`ops.*` is excluded on purpose: it is the operational log (every execution adds a row to ops.stage_runs).
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import pytest

from tests.conftest import NIGHTLY_WORLD_RUN_DATE, run_cli, run_python

RUN_DATE = NIGHTLY_WORLD_RUN_DATE

FINGERPRINT_SCRIPT = textwrap.dedent(
    """
    import json
    from nightshift.warehouse import get_client
    client = get_client()
    tables = client.query(
        "SELECT database, name FROM system.tables WHERE database IN ('raw', 'staging', 'intermediate', 'marts', "
        "'audience', 'snapshots') AND engine NOT IN ('View', 'MaterializedView') ORDER BY database, name"
    ).result_rows
    prints = {}
    for database, name in tables:
        columns = [c for (c,) in client.query(
            "SELECT name FROM system.columns WHERE database = {d:String} AND table = {t:String} "
            "AND name NOT IN ('_ingested_at', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to', 'dbt_scd_id') "
            "ORDER BY position", parameters={"d": database, "t": name}).result_rows]
        hashed = ", ".join(f"`{c}`" for c in columns)
        count, digest = client.query(
            f"SELECT count(), sum(cityHash64({hashed})) FROM `{database}`.`{name}`").result_rows[0]
        prints[f"{database}.{name}"] = [count, str(digest)]
    print(json.dumps(prints))
    """
)


def _fingerprint_tables(home: Path) -> dict:
    return json.loads(run_python(home, FINGERPRINT_SCRIPT).strip().splitlines()[-1])


def _fingerprint_exports(home: Path) -> dict:
    export_dir = home / "exports" / RUN_DATE
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(export_dir.iterdir())}


@pytest.fixture(scope="module")
def pipeline_home(nightly_world) -> Path:
    return nightly_world


@pytest.mark.slow
def test_rerunning_a_date_leaves_identical_tables_and_exports(pipeline_home):
    tables_first = _fingerprint_tables(pipeline_home)
    exports_first = _fingerprint_exports(pipeline_home)
    assert tables_first["marts.user_profile"][0] > 0
    assert tables_first["audience.segment_membership"][0] > 0
    assert any(name.endswith(".csv") for name in exports_first)
    assert any(name.endswith(".manifest.json") for name in exports_first)

    run_cli(pipeline_home, "run", "--date", RUN_DATE)

    assert _fingerprint_tables(pipeline_home) == tables_first
    assert _fingerprint_exports(pipeline_home) == exports_first


@pytest.mark.slow
def test_export_manifest_describes_its_file(pipeline_home):
    export_dir = pipeline_home / "exports" / RUN_DATE
    manifests = sorted(export_dir.glob("*.manifest.json"))
    assert manifests
    for manifest_path in manifests:
        manifest = json.loads(manifest_path.read_text())
        data = (export_dir / manifest["file"]).read_bytes()
        assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
        assert manifest["rows"] == data.count(b"\n") - 1  # header line excluded
        assert manifest["run_date"] == RUN_DATE
    report = (pipeline_home / "reports" / RUN_DATE / "nightly_report.txt").read_text()
    assert "Exports in" in report
    ingestion = report.split("Ingestion (latest load", 1)[1].split("\n\n", 1)[0]
    sources = {line.split()[0] for line in ingestion.splitlines()[2:]}
    assert {"app", "orders", "wechat_oa", "consent"} <= sources  # every simulated source was ingested
    assert "quarantined" in ingestion
