"""Which short codes exist and where each leads: the lake copy of `audience.short_links`, held in memory.

Every run date's partition is read in date order, so a code handed over again on a later night (the same person
in the same campaign) takes that night's channel and variant. The index is replaced whole when the partitions
on disk change (`LinkIndex.refreshed`), so a request never sees half a reload.

Memory is about 200 bytes a code (a million links: ~200 MB); links from older nights stay valid as long as their
partitions stay in the lake.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import fsspec
import pyarrow.parquet as pq

from nightshift.lake import dataset_path

DATASET = "short_links"  # nightshift.deliveries.short_links.LAKE_DATASET (a layer above this one)
COLUMNS = ["code", "campaign_id", "channel", "variant", "landing_url"]


@dataclass(frozen=True)
class Link:
    campaign_id: str
    channel: str
    variant: str
    landing_url: str


@dataclass
class LinkIndex:
    links: dict[str, Link] = field(default_factory=dict)
    signature: tuple = ()  # the partition files (path, size, modified) the links were read from

    def get(self, code: str) -> Link | None:
        return self.links.get(code)

    def __len__(self) -> int:
        return len(self.links)


def _partition_files(lake_root: str) -> tuple[fsspec.AbstractFileSystem, list[dict]]:
    fs, base = fsspec.core.url_to_fs(dataset_path(lake_root, DATASET))
    if not fs.exists(base):
        return fs, []
    files = sorted(fs.glob(f"{base}/run_date=*/*.parquet"))  # run_date=YYYY-MM-DD sorts as dates do
    return fs, [fs.info(path) for path in files]


def _signature(infos: list[dict]) -> tuple:
    return tuple((info["name"], info.get("size"), str(info.get("mtime") or info.get("LastModified"))) for info in infos)


def load_index(lake_root: str) -> LinkIndex:
    """Every short link in the lake, the latest night's row winning for a code."""
    fs, infos = _partition_files(lake_root)
    links: dict[str, Link] = {}
    shared: dict[tuple, Link] = {}  # a night's rows share a handful of (campaign, channel, variant, url) values
    for info in infos:
        with fs.open(info["name"], "rb") as handle:
            table = pq.read_table(handle, columns=COLUMNS)
        columns = [table.column(name).to_pylist() for name in COLUMNS]
        for code, *values in zip(*columns, strict=True):
            key = tuple(values)
            link = shared.get(key)
            if link is None:
                link = shared[key] = Link(*values)
            links[sys.intern(code)] = link
    return LinkIndex(links, _signature(infos))


def refreshed(index: LinkIndex, lake_root: str) -> LinkIndex:
    """The index again when the lake's partitions changed since it was read, else the same index."""
    _, infos = _partition_files(lake_root)
    return index if _signature(infos) == index.signature else load_index(lake_root)
