"""Installations share dbt's saved parse (NIGHTSHIFT_DBT_PARSE_CACHE, nightshift/dbt_runner.py): a new
installation's first dbt run starts from it instead of parsing the whole project, a damaged shared file only costs
a whole parse, and with sharing off nothing is read or written. dbt's own perf_info.json says how many files it
parsed."""

import json

import pytest

from tests.conftest import run_python

STEPS = """
import json, sys
from datetime import date
from pathlib import Path
from nightshift.dbt_runner import SAVED_PARSE, dbt_paths, invoke_dbt
from nightshift.settings import get_settings

shared_dir = Path(sys.argv[1])
settings = get_settings().model_copy(update={"dbt_parse_cache": str(shared_dir)})
target, _ = dbt_paths(settings)
steps = {}

def parse(name, settings=settings):
    (target / SAVED_PARSE).unlink(missing_ok=True)  # as in a new installation
    outcome = invoke_dbt("parse", date(2026, 11, 20), settings)
    perf = json.loads((target / "perf_info.json").read_text())
    steps[name] = {"success": outcome.success, "parsed_files": perf["parsed_path_count"],
                   "files": perf["path_count"], "shared": sorted(p.name for p in shared_dir.glob("*.msgpack"))}

parse("first")                      # nothing shared yet: the whole project, then shared
parse("second")                     # a new installation starts from the shared parse
shared = next(shared_dir.glob("*.msgpack"))
shared.write_bytes(b"not a msgpack")
parse("damaged")                    # dbt cannot read it: a whole parse, and the good one is shared again
steps["damaged"]["repaired"] = shared.read_bytes() != b"not a msgpack"
print("RESULT " + json.dumps(steps))
"""


@pytest.mark.slow
def test_a_new_installation_starts_from_the_shared_parse(tmp_path):
    output = run_python(tmp_path / "home", STEPS, str(tmp_path / "shared"), timeout=900)
    steps = json.loads(next(line for line in output.splitlines() if line.startswith("RESULT ")).removeprefix("RESULT "))
    first, second, damaged = steps["first"], steps["second"], steps["damaged"]
    assert all(step["success"] for step in steps.values()), steps
    assert first["parsed_files"] == first["files"] > 100 and len(first["shared"]) == 1, first
    assert second["parsed_files"] == 0, second
    assert damaged["parsed_files"] == damaged["files"] and damaged["repaired"], damaged


def test_with_sharing_off_nothing_is_read_or_written(tmp_path):
    from nightshift.dbt_runner import SAVED_PARSE, _seed_saved_parse, _share_saved_parse, _shared_parse
    from nightshift.settings import Settings

    assert _shared_parse(Settings(home=tmp_path, dbt_parse_cache=""), "{}") is None
    saved = tmp_path / "target" / SAVED_PARSE
    _seed_saved_parse(saved, None)
    assert not saved.exists()
    saved.parent.mkdir()
    saved.write_bytes(b"parse")
    _share_saved_parse(saved, None)
    assert [path.name for path in tmp_path.rglob("*")] == ["target", SAVED_PARSE]


def test_a_copy_that_fails_leaves_no_half_file_in_the_shared_folder(tmp_path):
    from nightshift.dbt_runner import _share_saved_parse

    unreadable = tmp_path / "target" / "partial_parse.msgpack"
    unreadable.mkdir(parents=True)  # copying a folder as a file fails after the temporary file exists
    shared = tmp_path / "shared" / "partial_parse-key.msgpack"
    _share_saved_parse(unreadable, shared)
    assert list(shared.parent.iterdir()) == []
