"""The venv `make setup` builds: its packages are compiled to bytecode at install (Makefile, VENV_FORMAT). uv leaves
compiling to the first import, and where PYTHONDONTWRITEBYTECODE is set (this machine and CI) no import ever writes
it: every process then compiled each module it imported again (`import great_expectations` 7.2 s against 3.5 s
compiled; an export of six campaigns 8.0 s against 4.5 s)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

# The imports every night's processes pay for: the export gate, dbt, Spark's Python side, the report's statistics.
HEAVY_PACKAGES = ("great_expectations", "dbt", "pyspark", "pandas", "scipy")


@pytest.mark.parametrize("package", HEAVY_PACKAGES)
def test_installed_packages_are_compiled_to_bytecode(package):
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin, f"{package} is not installed: run `make setup`"
    folder = Path(spec.origin).parent
    modules = list(folder.rglob("*.py"))
    missing = [path for path in modules if not Path(importlib.util.cache_from_source(str(path))).is_file()]
    assert len(missing) <= len(modules) // 100, (
        f"{len(missing)} of {len(modules)} modules of {package} have no bytecode (e.g. {missing[:3]}): every process "
        "compiles them again on import. Run `make setup`: it installs with `uv pip sync --compile-bytecode`."
    )
