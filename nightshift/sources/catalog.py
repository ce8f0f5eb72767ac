"""The source catalog: every declared source, collected explicitly from its declaration module.

A source is declared once, as the module-level `SOURCE` of `nightshift/sources/<source>.py` (built from the
types in `nightshift.sources.model`). Adding a source means writing that module and listing its `SOURCE` in
`DECLARED` below; nothing registers itself on import.

Landing layout: `<NIGHTSHIFT_LANDING>/<source>/<YYYY-MM-DD>/<file>`; an entity claims the files matching
its `file_glob` in that day directory. Line numbers are physical, 1-based lines of the file (for CSV the
header is line 1). Ground truth for tests is written by the generator under `<NIGHTSHIFT_LANDING>/_truth/`.
"""

from __future__ import annotations

from nightshift.sources import (
    app,
    benefits,
    cdnow,
    clicks,
    consent,
    douyin,
    miniprogram,
    orders,
    receipts,
    wechat_oa,
    wecom,
    xiaoe,
)
from nightshift.sources.model import Source

DECLARED: tuple[Source, ...] = (
    # Simulated sources, produced by `nightshift generate` (nightshift/generate/).
    app.SOURCE,
    benefits.SOURCE,
    consent.SOURCE,
    douyin.SOURCE,
    miniprogram.SOURCE,
    orders.SOURCE,
    receipts.SOURCE,
    wechat_oa.SOURCE,
    wecom.SOURCE,
    xiaoe.SOURCE,
    # Real data sources (not generated).
    cdnow.SOURCE,
    # Nightshift's own services: the short-link redirect service's click log.
    clicks.SOURCE,
)


def _by_name(sources: tuple[Source, ...]) -> dict[str, Source]:
    names = [source.name for source in sources]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"source(s) {', '.join(map(repr, twice))} declared twice in nightshift/sources/catalog.py")
    # By name, not by declaration order, so that anything iterating the catalog (docs, ingestion, identity
    # extraction) has one stable order.
    return {source.name: source for source in sorted(sources, key=lambda source: source.name)}


_SOURCES = _by_name(DECLARED)


def all_sources() -> dict[str, Source]:
    """Every declared source by name, sorted by name (a fresh dict: callers may not change the catalog)."""
    return dict(_SOURCES)
