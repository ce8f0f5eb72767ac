"""The layers are enforced, not just drawn: the import-linter contracts in `.importlinter` must hold.

One contract says imports point down only (entry points, pipeline, stages, services, Spark jobs, domain
packages, infrastructure, warehouse, pure declarations, settings, errors); the other forbids import cycles between
the modules of any package. docs/architecture.md explains the layers.
"""

from __future__ import annotations

import subprocess

from tests.conftest import REPO_ROOT, VENV_BIN


def test_import_contracts_hold() -> None:
    completed = subprocess.run(
        [str(VENV_BIN / "lint-imports"), "--no-cache"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, f"An import breaks the layers (see .importlinter):\n{completed.stdout[-6000:]}"
    assert "Contracts: 2 kept, 0 broken." in completed.stdout


def test_the_layer_contract_catches_an_upward_import(tmp_path) -> None:
    """The contract is live: a domain module importing a stage breaks it (checked on a copy of the package)."""
    import shutil

    for package in ("nightshift", "spark_jobs", "bench"):
        shutil.copytree(REPO_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / ".importlinter", tmp_path / ".importlinter")
    (tmp_path / "nightshift" / "segments" / "upward.py").write_text("from nightshift.stages import export\n")
    completed = subprocess.run(
        [str(VENV_BIN / "lint-imports"), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode != 0
    assert "nightshift.segments is not allowed to import nightshift.stages" in completed.stdout
