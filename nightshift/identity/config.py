"""Identity resolution settings from `config/identity.yml`: blocklists, component size limit, reference fields."""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

import yaml

from nightshift.errors import ConfigurationError
from nightshift.settings import PROJECT_ROOT

DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config" / "identity.yml"
KNOWN_KEYS = {"blocklist", "max_component_size", "hub_min_degree", "max_hub_rounds", "reference_fields"}


@dataclass(frozen=True)
class IdentityConfig:
    """What the resolver refuses to trust, and which fields hold references to other people (not links).

    The one home of these rules and their defaults; the Spark job (`spark_jobs.identity`) takes this object as is.
    """

    blocked_values: dict[str, tuple[str, ...]] = field(default_factory=dict)  # id_type -> exact values
    blocked_patterns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # id_type -> regexes (full match)
    max_component_size: int = 200
    hub_min_degree: int = 25  # inside an oversize component, ids linked to at least this many others are hubs
    max_hub_rounds: int = 3  # hub cutting rounds before an oversize component is left unmerged
    reference_fields: frozenset[str] = frozenset()  # "<source>.<entity>.<field>"


# A setting missing from the file takes the dataclass default: the defaults are stated once, above.
_DEFAULTS = {option.name: option.default for option in fields(IdentityConfig) if option.default is not MISSING}


def _positive_int(raw: dict, key: str, where: Path) -> int:
    value = raw.get(key, _DEFAULTS[key])
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"{where}: `{key}` must be a positive integer, got {value!r}")
    return value


def _string_list(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigurationError(f"{where} must be a list of strings (quote values such as phone numbers)")
    return tuple(value)


def load_identity_config(path: Path | None = None) -> IdentityConfig:
    """Read and validate the identity configuration; errors name the file and the offending key."""
    path = path or DEFAULT_CONFIG_PATH
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigurationError(f"Identity configuration {path} does not exist; restore config/identity.yml") from None
    except yaml.YAMLError as error:
        raise ConfigurationError(f"Identity configuration {path} is not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{path}: expected a mapping at the top level")
    unknown = set(raw) - KNOWN_KEYS
    if unknown:
        raise ConfigurationError(f"{path}: unknown keys {sorted(unknown)}; known keys are {sorted(KNOWN_KEYS)}")

    values: dict[str, tuple[str, ...]] = {}
    patterns: dict[str, tuple[str, ...]] = {}
    blocklist = raw.get("blocklist") or {}
    if not isinstance(blocklist, dict):
        raise ConfigurationError(f"{path}: `blocklist` must map id_type -> {{values: [...], patterns: [...]}}")
    for id_type, entry in blocklist.items():
        if not isinstance(entry, dict) or set(entry) - {"values", "patterns"}:
            raise ConfigurationError(f"{path}: blocklist.{id_type} must have only `values` and/or `patterns` lists")
        values[id_type] = _string_list(entry.get("values"), f"{path}: blocklist.{id_type}.values")
        patterns[id_type] = _string_list(entry.get("patterns"), f"{path}: blocklist.{id_type}.patterns")
        for pattern in patterns[id_type]:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ConfigurationError(
                    f"{path}: blocklist.{id_type}.patterns has an invalid regular expression {pattern!r}: {error}"
                ) from None
    references = _string_list(raw.get("reference_fields"), f"{path}: reference_fields")
    malformed = [name for name in references if name.count(".") != 2]
    if malformed:
        raise ConfigurationError(f"{path}: reference_fields entries must be <source>.<entity>.<field>: {malformed}")
    return IdentityConfig(
        blocked_values=values,
        blocked_patterns=patterns,
        max_component_size=_positive_int(raw, "max_component_size", path),
        hub_min_degree=_positive_int(raw, "hub_min_degree", path),
        max_hub_rounds=_positive_int(raw, "max_hub_rounds", path),
        reference_fields=frozenset(references),
    )
