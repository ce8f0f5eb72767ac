"""Every `nightshift` command starts by importing the whole command line (nightshift/cli/__init__.py). Command
modules import the engines inside the commands, so that a short command (`campaign resume`, `report open`,
`--help`) does not pay for what only other commands use."""

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT

# Seconds each took to import on 2 cores while the suite ran: sqlglot 0.87, chdb 0.90, clickhouse_connect 0.55,
# pandas 2.35, pyspark.sql 0.69, dbt.cli.main 6.86.
HEAVY = ("sqlglot", "chdb", "clickhouse_connect", "pandas", "pyspark", "dbt", "airflow")


def test_importing_the_command_line_loads_no_engine():
    code = "import sys, json, nightshift.cli; print(json.dumps(sorted(sys.modules)))"
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in json.loads(completed.stdout)}
    assert not loaded & set(HEAVY), (
        f"importing nightshift.cli loads {sorted(loaded & set(HEAVY))}: import them inside the command that needs "
        "them (python -X importtime -c 'import nightshift.cli' shows who asks)"
    )


def test_the_segments_package_still_offers_its_names():
    """nightshift.segments loads its submodules on first use; its names are the same objects as in the submodules."""
    from nightshift import segments
    from nightshift.segments import files, validate

    assert segments.validate_all is validate.validate_all and segments.SEGMENTS_DIR == files.SEGMENTS_DIR
    assert sorted(segments.__all__) == sorted(segments._HOMES)
    assert all(getattr(segments, name) is not None for name in segments.__all__)
