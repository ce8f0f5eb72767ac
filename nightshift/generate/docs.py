"""Markdown tables of the declared file shapes, for `nightshift/sources/README.md`.

Regenerate the tables after changing a declaration:
`python -m nightshift.generate.docs > /tmp/tables.md` and paste them into the README.
"""

from __future__ import annotations

from nightshift.sources.catalog import all_sources
from nightshift.sources.model import Entity


def entity_table(entity: Entity) -> str:
    encoding = f", {entity.encoding}" if entity.encoding else ""
    late = f"; event time `{entity.event_time_field}`" if entity.event_time_field else ""
    lines = [
        f"#### `{entity.source}/<day>/{entity.file_glob}` -> `{entity.raw_table}` ({entity.format}{encoding}{late})",
        "",
        entity.description,
        "",
        "| field | type | required | id_type | description |",
        "|---|---|---|---|---|",
    ]
    for spec in entity.fields:
        required = "yes" if spec.required else ""
        description = spec.description.replace("|", "\\|")  # a bare | would split the table cell
        id_type = spec.id_type or ""
        if spec.id_type and not spec.is_subject_id:
            id_type += " (names someone else)"
        lines.append(f"| `{spec.name}` | {spec.type} | {required} | {id_type} | {description} |")
    return "\n".join(lines) + "\n"


def render() -> str:
    parts = []
    for source in all_sources().values():
        if not source.simulated:
            continue
        parts.append(f"### {source.name}\n\n{source.description}\n")
        parts.extend(entity_table(entity) for entity in source.entities)
    return "\n".join(parts)


if __name__ == "__main__":
    print(render())
