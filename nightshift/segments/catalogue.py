"""The tag catalogue (`dbt_project/seeds/tag_catalogue.csv`) as Python: what each tag code is and may hold.

Rule segments are checked against it before any warehouse exists, so a typo in a tag or value is caught at
`nightshift segment validate` with its file and line, not by an empty audience at night.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from nightshift.settings import PROJECT_ROOT

TAG_CATALOGUE = PROJECT_ROOT / "dbt_project" / "seeds" / "tag_catalogue.csv"
# catalogue `type` -> how rules may compare the tag's profile column
ORDERED_TYPES = frozenset({"integer", "decimal", "date"})
VALUE_LIST_TYPES = frozenset({"enum", "list"})  # allowed_values is a `|`-separated list of values


@dataclass(frozen=True)
class TagSpec:
    code: str
    type: str  # enum, boolean, integer, decimal, date, string, list
    allowed_values: tuple[str, ...] = ()  # enum and list tags
    low: int | None = None  # integer tags with `a..b` / `a..`
    high: int | None = None
    name_en: str = ""

    @property
    def is_ordered(self) -> bool:
        return self.type in ORDERED_TYPES


def _bounds(text: str) -> tuple[int | None, int | None]:
    low, _, high = text.partition("..")
    to_int = lambda part: int(part) if part.strip().lstrip("-").isdigit() else None  # noqa: E731
    return to_int(low), to_int(high)


def parse_catalogue(path: Path) -> dict[str, TagSpec]:
    tags: dict[str, TagSpec] = {}
    with Path(path).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            code, kind, allowed = row["code"], row["type"], row.get("allowed_values") or ""
            values = tuple(v for v in allowed.split("|") if v) if kind in VALUE_LIST_TYPES else ()
            low, high = _bounds(allowed) if kind == "integer" and ".." in allowed else (None, None)
            tags[code] = TagSpec(code, kind, values, low, high, row.get("name_en", ""))
    return tags


@cache
def tag_catalogue(path: Path = TAG_CATALOGUE) -> dict[str, TagSpec]:
    """code -> TagSpec for every tag of the catalogue (read once per process)."""
    return parse_catalogue(path)
