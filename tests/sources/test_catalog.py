"""The source catalog lists every declaration module's `SOURCE` once, sorted by name."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import nightshift.sources
from nightshift.sources import catalog
from nightshift.sources.model import Source

NOT_DECLARATIONS = {"catalog", "model"}


def test_every_declaration_module_is_in_the_catalog() -> None:
    modules = {info.name for info in pkgutil.iter_modules(nightshift.sources.__path__)} - NOT_DECLARATIONS
    assert len(modules) == len(catalog.DECLARED)
    for name in sorted(modules):
        source = importlib.import_module(f"nightshift.sources.{name}").SOURCE
        assert catalog.all_sources().get(source.name) is source, f"nightshift/sources/{name}.py is not in DECLARED"


def test_all_sources_is_sorted_by_name() -> None:
    names = list(catalog.all_sources())
    assert names == sorted(names)


def test_a_name_declared_twice_is_refused() -> None:
    twin = Source("app", "a second app")
    with pytest.raises(ValueError, match="'app' declared twice"):
        catalog._by_name((*catalog.DECLARED, twin))
