"""`generate_world`: the population, rendered day by day into landing files, with ground truth."""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from nightshift.generate.activity import make_day, simulate_day
from nightshift.generate.dirt import DirtyLine, inject
from nightshift.generate.ids import rng_for
from nightshift.generate.pools import make_pools
from nightshift.generate.population import build_population
from nightshift.generate.render import app, commerce, contact, social, wechat
from nightshift.generate.render.common import RenderContext
from nightshift.generate.table import Table, encode_table, file_chunks
from nightshift.generate.truth import IdentityCollector, write_dirty_records, write_junk_identifiers
from nightshift.sources.catalog import all_sources

TRUTH_DIR = "_truth"
SIMULATED_ORDER = ("app", "wechat_oa", "wecom", "miniprogram", "douyin", "xiaoe", "orders", "benefits")
SIMULATED_ORDER += ("receipts", "consent")
DUPLICATE_FILE_SUFFIX = "_part2"
WORLD_FILE = "world.json"


@dataclass
class GenerationSummary:
    landing_dir: Path
    users: int
    start_date: date
    days: int
    seed: int
    dirt_rate: float
    files: int = 0
    records: dict[str, int] = field(default_factory=dict)  # clean records per raw table
    dirty: dict[str, int] = field(default_factory=dict)  # dirty records per reason code
    identities: int = 0
    split_persons: int = 0  # accounts no record links to their human's other ids: separate truth persons
    bytes_written: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        total = sum(self.records.values())
        dirty = sum(self.dirty.values())
        return (
            f"{self.users:,} people x {self.days} day(s) from {self.start_date}: {self.files} files, "
            f"{total:,} clean records, {dirty:,} dirty, {self.identities:,} truth identities, "
            f"{self.bytes_written / 1e6:.1f} MB in {self.seconds:.1f} s -> {self.landing_dir}"
        )


def _file_name(table: Table) -> str:
    entity = table.entity
    stem = entity.file_glob.split("*", 1)[0]
    return f"{stem}.{'csv' if entity.format == 'csv' else 'jsonl'}"


def _render_day(ctx: RenderContext) -> dict[str, list[Table]]:
    tables: dict[str, list[Table]] = {"app": app.render(ctx)}
    for renderer in (wechat, social, commerce, contact):
        tables.update(renderer.render(ctx))
    return tables


def _write_table(table: Table, path: Path, dirt_rate: float, rng: np.random.Generator) -> tuple[list[DirtyLine], int]:
    encoded = encode_table(table)
    lines, dirty = inject(encoded, dirt_rate, rng)
    chunks = file_chunks(lines, encoded.header, table.entity.encoding or "utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
    return dirty, sum(len(chunk) for chunk in chunks)


def generate_world(
    landing_dir: Path,
    users: int,
    start_date: date,
    days: int,
    seed: int = 42,
    dirt_rate: float = 0.01,
    progress: bool = True,
) -> GenerationSummary:
    """Write `days` days of landing files for `users` simulated people, and the ground truth.

    Files go to `<landing_dir>/<source>/<YYYY-MM-DD>/`, truth to `<landing_dir>/_truth/`. Day directories
    and truth files this call writes are replaced; other content of `landing_dir` is left alone.
    The same arguments always produce byte-identical files.
    """
    if users < 1 or days < 1:
        raise ValueError(f"generate_world needs users >= 1 and days >= 1 (got users={users}, days={days})")
    if not 0.0 <= dirt_rate < 0.5:
        raise ValueError(f"dirt_rate must be in [0, 0.5) (got {dirt_rate}); 0.01 means 1% of records are dirty")
    started = time.perf_counter()
    landing = Path(landing_dir)
    summary = GenerationSummary(landing, users, start_date, days, seed, dirt_rate)
    sources = all_sources()
    pools = make_pools(seed)
    population = build_population(users, start_date, days, seed)
    identities = IdentityCollector()
    dirty_rows: list[tuple[str, int, str]] = []
    records: Counter[str] = Counter()

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task("generating world", total=days * len(SIMULATED_ORDER))
        for index in range(days):
            day = make_day(index, start_date + timedelta(days=index))
            bar.update(task, description=f"{day.stamp} simulating  ")
            facts = simulate_day(population, day, seed)
            ctx = RenderContext(population, pools, facts, seed)
            rendered = _render_day(ctx)
            day_files: list[Path] = []
            for source in SIMULATED_ORDER:
                bar.update(task, description=f"{day.stamp} {source:<12}")
                declared = {e.name for e in sources[source].entities}
                tables = rendered[source]
                if {t.entity.name for t in tables} != declared:
                    raise RuntimeError(f"generator for {source!r} does not cover its declared entities {declared}")
                day_dir = landing / source / day.stamp
                if day_dir.exists():
                    shutil.rmtree(day_dir)
                for table in tables:
                    path = day_dir / _file_name(table)
                    relative = path.relative_to(landing).as_posix()
                    rng = rng_for(seed, "dirt", relative)
                    dirty, size = _write_table(table, path, dirt_rate, rng)
                    dirty_rows.extend((relative, d.line_number, d.reason_code) for d in dirty)
                    summary.bytes_written += size
                    records[table.entity.raw_table] += len(table)
                    identities.add(table)
                    day_files.append(path)
                bar.advance(task)
            if dirt_rate > 0:
                dirty_rows.append(_duplicate_one_file(day_files, landing, rng_for(seed, "duplicate_file", day.stamp)))
            summary.files += len(day_files) + (1 if dirt_rate > 0 else 0)

        bar.update(task, description="writing ground truth")
        truth = landing / TRUTH_DIR
        truth.mkdir(parents=True, exist_ok=True)
        summary.identities = identities.write(truth / "identities.csv")
        summary.split_persons = identities.split_persons
        write_dirty_records(truth / "dirty_records.csv", dirty_rows)
        write_junk_identifiers(truth / "junk_identifiers.csv")
        summary.records = dict(sorted(records.items()))
        summary.dirty = dict(sorted(Counter(reason for _, _, reason in dirty_rows).items()))
        _write_world_file(truth / WORLD_FILE, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def _write_world_file(path: Path, summary: GenerationSummary) -> None:
    """The arguments that rebuild this exact population (`build_population`), and what was written.

    A later stage that answers exports (receipts, conversions) reads this to regenerate the same people.
    No timings: the file must stay byte-identical for identical arguments.
    """
    world = {
        "users": summary.users,
        "start_date": summary.start_date.isoformat(),
        "days": summary.days,
        "seed": summary.seed,
        "dirt_rate": summary.dirt_rate,
        "files": summary.files,
        "records": summary.records,
        "dirty": summary.dirty,
        "identities": summary.identities,
        "split_persons": summary.split_persons,
    }
    path.write_text(json.dumps(world, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _duplicate_one_file(files: list[Path], landing: Path, rng: np.random.Generator) -> tuple[str, int, str]:
    """Deliver one of the day's non-empty files a second time under another name that its glob still matches."""
    candidates = [path for path in files if path.stat().st_size > 0]
    original = candidates[int(rng.integers(0, len(candidates)))]
    copy = original.with_name(original.stem + DUPLICATE_FILE_SUFFIX + original.suffix)
    shutil.copyfile(original, copy)
    return copy.relative_to(landing).as_posix(), 0, "duplicate_file"
