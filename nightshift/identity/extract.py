"""Identity graph extraction, generated from the source catalog: which raw columns hold identifiers, and the
ClickHouse SQL that turns raw records into graph nodes and edges.

A record links the identifiers it carries (an app user's phone and devices; a follower's openid and unionid):
two or more linking ids on the SAME raw record make edges, one id alone makes a node without edges. Array id
fields (`device_ids`) contribute each element; phones in an array (`remark_mobiles`, free text) are normalised
to E.164 here, the way ingestion normalises scalar phone fields, and dropped when they are not a mobile number.
Reference fields (`inviter_id`: another person's id, listed in config/identity.yml) are nodes but never link.

Per record the edges form a star around its first id, in catalog order with required fields first: that is the
record's own key (user_id, openid...), which keeps the record's real links intact when a junk hub is cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from nightshift.errors import ConfigurationError
from nightshift.identity.config import IdentityConfig
from nightshift.ingest import phones
from nightshift.sources.catalog import all_sources
from nightshift.sources.model import Entity, Field

ARRAY_TYPES = ("string_array", "int_array")


@dataclass(frozen=True)
class IdFields:
    entity: Entity
    linking: tuple[Field, ...]  # star centre first
    references: tuple[Field, ...]


def _qualified(entity: Entity, field: Field) -> str:
    return f"{entity.source}.{entity.name}.{field.name}"


def identity_fields(config: IdentityConfig, sources: dict | None = None) -> list[IdFields]:
    """Every catalog entity with identifier fields, split into linking and reference fields.

    Fails when an entity has two scalar linking fields of the same id type: one of them names another person
    (like `inviter_id`) and must be listed under `reference_fields`, or every invitation would merge two people.
    """
    sources = sources if sources is not None else all_sources()
    result = []
    for source in sorted(sources.values(), key=lambda s: s.name):
        for entity in source.entities:
            with_ids = [f for f in entity.fields if f.id_type]
            if not with_ids:
                continue
            # Ids naming someone else: declared in the catalog (is_subject_id=False) or in the configuration.
            references = tuple(
                f for f in with_ids if not f.is_subject_id or _qualified(entity, f) in config.reference_fields
            )
            linking = [f for f in with_ids if f not in references]
            scalar_types = [f.id_type for f in linking if f.type not in ARRAY_TYPES]
            repeated = sorted({t for t in scalar_types if scalar_types.count(t) > 1})
            if repeated:
                names = [f.name for f in linking if f.id_type in repeated]
                raise ConfigurationError(
                    f"{entity.raw_table} has several {repeated} id fields {names}; a record holds one id of a type "
                    "for its own person, so the others name someone else. List them under reference_fields in "
                    f"config/identity.yml (e.g. {entity.source}.{entity.name}.{names[-1]})."
                )
            # Star centre: the first required scalar field, i.e. the record's own key.
            linking.sort(key=lambda f: (f.type in ARRAY_TYPES, not f.required))
            result.append(IdFields(entity, tuple(linking), references))
    return result


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _id_tuples(fields: tuple[Field, ...], columns: set[str]) -> str:
    """ClickHouse expression: Array(Tuple(id_type, id_value)) of the non-empty ids of these fields."""
    parts = []
    scalars = [f for f in fields if f.type not in ARRAY_TYPES and f.name in columns]
    if scalars:
        items = ", ".join(f"tuple('{f.id_type}', ifNull(toString({_quote(f.name)}), ''))" for f in scalars)
        parts.append(f"[{items}]")
    for array_field in (f for f in fields if f.type in ARRAY_TYPES and f.name in columns):
        element = "ifNull(toString(v), '')"
        if array_field.id_type == "phone":
            # Array elements are free text that ingestion does not normalise (a scalar phone field is already
            # E.164): keep the numbers of the usual mobile shape as E.164, like ingestion would, drop the rest.
            element = f"if({phones.fast_shape_sql(element)}, {phones.fast_e164_sql(element)}, '')"
        parts.append(f"arrayMap(v -> tuple('{array_field.id_type}', {element}), {_quote(array_field.name)})")
    if not parts:
        return "CAST([], 'Array(Tuple(String, String))')"
    combined = parts[0] if len(parts) == 1 else f"arrayConcat({', '.join(parts)})"
    return f"arrayDistinct(arrayFilter(x -> x.2 != '', {combined}))"


def raw_columns(client) -> dict[str, set[str]]:
    """Columns of every raw table, keyed by `raw.<table>`."""
    rows = client.query("SELECT table, name FROM system.columns WHERE database = 'raw'").result_rows
    columns: dict[str, set[str]] = {}
    for table, name in rows:
        columns.setdefault(f"raw.{table}", set()).add(name)
    return columns


def records_sql(id_fields: list[IdFields], columns: dict[str, set[str]]) -> str | None:
    """UNION ALL over raw tables of (ids, refs, _drop_date) per record up to {run_date:Date}; None if no table."""
    selects = []
    for item in id_fields:
        table_columns = columns.get(item.entity.raw_table)
        if not table_columns:
            continue  # source not ingested yet
        selects.append(
            f"SELECT {_id_tuples(item.linking, table_columns)} AS ids, "
            f"{_id_tuples(item.references, table_columns)} AS refs, _drop_date "
            f"FROM {item.entity.raw_table} WHERE _drop_date <= {{run_date:Date}}"
        )
    return "\nUNION ALL\n".join(selects) if selects else None


def nodes_sql(records: str) -> str:
    """One row per identifier seen up to the run date, with the first and last day it was delivered."""
    return f"""
SELECT id.1 AS id_type, id.2 AS id_value, min(_drop_date) AS first_seen_date, max(_drop_date) AS last_seen_date
FROM ({records})
ARRAY JOIN arrayConcat(ids, refs) AS id
GROUP BY id_type, id_value
"""


def edges_sql(records: str) -> str:
    """Distinct links between two ids on the same record, as a star around the record's first id."""
    return f"""
SELECT DISTINCT ids[1].1 AS src_type, ids[1].2 AS src_value, other.1 AS dst_type, other.2 AS dst_value
FROM ({records})
ARRAY JOIN arraySlice(ids, 2) AS other
WHERE length(ids) >= 2
"""
