"""The dbt project declares every raw table exactly as ingestion creates it.

dbt sources (dbt_project/models/staging/<source>/_<source>__models.yml) carry each raw column's ClickHouse type,
which `source_or_empty` uses to stand in for a raw table that was never loaded; this checks those declarations
against the catalog (nightshift/sources/*.py) and the raw-table convention (nightshift.warehouse.schema), and
that every raw table has a staging model reading it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import yaml

from nightshift.sources.catalog import all_sources
from nightshift.warehouse.schema import raw_columns
from tests.conftest import REPO_ROOT

STAGING_DIR = REPO_ROOT / "dbt_project" / "models" / "staging"
ENTITIES = [(source.name, entity) for source in all_sources().values() for entity in source.entities]


@cache
def declared_sources() -> dict[tuple[str, str], dict]:
    """(source, table) -> the YAML table entry, over every staging folder."""
    tables: dict[tuple[str, str], dict] = {}
    for path in sorted(STAGING_DIR.glob("*/_*__models.yml")):
        for source in yaml.safe_load(path.read_text(encoding="utf-8")).get("sources", []):
            for table in source.get("tables", []):
                tables[(source["name"], table["name"])] = {**table, "_path": path, "_schema": source.get("schema")}
    return tables


@cache
def staging_sql() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in STAGING_DIR.glob("*/stg_*.sql")}


@pytest.mark.parametrize(("source_name", "entity"), ENTITIES, ids=[e.raw_table for _, e in ENTITIES])
def test_raw_table_is_declared_with_its_columns_and_types(source_name, entity):
    declared = declared_sources().get((source_name, entity.name))
    assert declared is not None, (
        f"{entity.raw_table} has no dbt source: declare table {entity.name!r} under source {source_name!r} in "
        f"{STAGING_DIR / source_name / f'_{source_name}__models.yml'}"
    )
    assert declared["_schema"] == "raw" and declared.get("identifier") == f"{source_name}__{entity.name}", declared
    columns = [(column["name"], column.get("data_type", "")) for column in declared.get("columns", [])]
    expected = [(name, ctype) for name, ctype in raw_columns(entity)]
    assert columns == expected, (
        f"{declared['_path']}: columns of {entity.raw_table} differ from the declaration in "
        f"nightshift/sources/{source_name}.py (name, data_type).\ndeclared in dbt: {columns}\nexpected: {expected}"
    )


@pytest.mark.parametrize(("source_name", "entity"), ENTITIES, ids=[e.raw_table for _, e in ENTITIES])
def test_raw_table_has_a_staging_model(source_name, entity):
    call = f"source_or_empty('{source_name}', '{entity.name}')"
    readers = [path.name for path, sql in staging_sql().items() if call in sql]
    assert len(readers) == 1, (
        f"{entity.raw_table} should be read by exactly one staging model with {{{{ {call} }}}}; found {readers}"
    )


def test_only_staging_reads_sources():
    models_dir = REPO_ROOT / "dbt_project" / "models"
    offenders = [
        str(path.relative_to(models_dir))
        for path in models_dir.rglob("*.sql")
        if "staging" not in path.parts and ("source(" in path.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"models outside staging/ read sources directly: {offenders}"
