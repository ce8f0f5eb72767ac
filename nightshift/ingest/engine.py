"""Ingest one source's landing files of one day, exactly once.

Per (day, source, entity):
- files are matched to entities by `file_glob`; a file whose content (sha256) equals an earlier file of the same
  source and day is a `duplicate_file` and is not read;
- if the entity's files and checksums equal what `ops.ingested_files` says is loaded, nothing is read again
  (`skipped`); re-running a day is therefore free and changes no counts;
- otherwise the entity's whole day is rebuilt from its current files (`loaded` = new file, `replaced` = same
  name, new content, `reloaded` = unchanged file re-read because a sibling changed, `removed` = registered file
  that disappeared) and swapped in atomically. Exact duplicate lines are counted across all files of the day.
Every file's equation (lines = loaded + duplicates + quarantined) is checked before anything is published.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

from nightshift.ingest import files as landing
from nightshift.ingest.load import Batch, FileResult, new_batch_id, publish_quarantine, timed
from nightshift.ingest.tables import ensure_ingest_tables, insert_rows
from nightshift.sources.catalog import all_sources
from nightshift.sources.model import Entity, Source
from nightshift.warehouse.schema import INGEST_SCRATCH_DATABASE, INGESTED_FILES_COLUMNS, INGESTION_SUMMARY_COLUMNS

log = logging.getLogger(__name__)


def ingest_source_day(client, source: Source, day: date, landing_root: Path, force: bool = False) -> list[FileResult]:
    """Ingest every file of `<landing_root>/<source>/<day>/`; returns one FileResult per file (and removal)."""
    ensure_ingest_tables(client)
    results: list[FileResult] = []
    by_entity: dict[str, list[landing.LandingFile]] = {entity.name: [] for entity in source.entities}
    seen: dict[str, str] = {}
    with timed("list and hash files", source.name):
        day_files = landing.list_day_files(landing_root, source.name, day)
    for landing_file in day_files:
        entity = landing.entity_for(source, landing_file.path.name)
        if landing_file.sha256 in seen:
            results.append(
                FileResult(
                    source.name,
                    entity.name if entity else "",
                    landing_file.relative,
                    landing_file.sha256,
                    "duplicate_file",
                    message=f"same content (sha256) as {seen[landing_file.sha256]}; not loaded a second time",
                )
            )
            continue
        seen[landing_file.sha256] = landing_file.relative
        if entity is None:
            globs = ", ".join(e.file_glob for e in source.entities)
            results.append(
                FileResult(
                    source.name,
                    "",
                    landing_file.relative,
                    landing_file.sha256,
                    "unmatched",
                    message=f"no entity of source {source.name!r} claims this file (globs: {globs}); rename it or "
                    f"declare it in nightshift/sources/{source.name}.py",
                )
            )
            continue
        by_entity[entity.name].append(landing_file)
    quarantine_stage = f"{INGEST_SCRATCH_DATABASE}.q{uuid.uuid4().hex[:12]}"
    try:
        rebuilt: list[FileResult] = []
        rebuilt_entities: list[str] = []
        for entity in source.entities:
            entity_results, was_rebuilt = _ingest_entity_day(
                client, entity, day, by_entity[entity.name], force, quarantine_stage
            )
            results += entity_results
            if was_rebuilt:
                rebuilt += entity_results
                rebuilt_entities.append(entity.name)
        with timed("quarantine, registry and summary", source.name):
            if rebuilt_entities:
                publish_quarantine(client, source.name, day, rebuilt_entities, quarantine_stage)
                # Last: until the registry names the new batches, a re-run rebuilds them (nothing half-counted).
                _record_batches(client, day, rebuilt)
            _record_summary(client, source.name, day, results)
    finally:
        client.command(f"DROP TABLE IF EXISTS {quarantine_stage}")
    return results


LOADED_STATUSES = ("loaded", "replaced", "reloaded")


def _registered(client, entity: Entity, day: date) -> dict[str, dict]:
    """Files whose rows the raw table holds now: those of the latest batch of this (day, source, entity)."""
    slice_filter = "drop_date = {d:Date} AND source = {s:String} AND entity = {e:String}"
    rows = client.query(
        f"SELECT {', '.join(INGESTED_FILES_COLUMNS)} FROM ops.ingested_files WHERE {slice_filter} "
        f"AND batch_id = (SELECT argMax(batch_id, ingested_at) FROM ops.ingested_files WHERE {slice_filter})",
        parameters={"d": day, "s": entity.source, "e": entity.name},
    ).named_results()
    return {row["source_file"]: row for row in rows if row["status"] in LOADED_STATUSES}


def _ingest_entity_day(
    client, entity: Entity, day: date, current: list[landing.LandingFile], force: bool, quarantine_stage: str
) -> tuple[list[FileResult], bool]:
    """(results, rebuilt?) for one entity's files of the day."""
    registered = _registered(client, entity, day)
    current_state = {f.relative: f.sha256 for f in current}
    if not force and current_state == {name: row["sha256"] for name, row in registered.items()}:
        return _skipped(client, entity, day, registered), False
    batch = Batch(client, entity, day, new_batch_id(entity.source, entity.name, day))
    results: list[FileResult] = []
    try:
        batch.create()
        encodings: dict[str, tuple[str, int]] = {f.relative: batch.add_file(f) for f in current}
        batch.validate()
        with timed("count", batch.batch_id):
            counts = batch.file_counts()
        for landing_file in current:
            results.append(_file_result(entity, batch, landing_file, counts, encodings, registered))
        for result in results:
            result.check_invariant()  # before publishing: a broken equation must not reach the raw tables
        with timed("publish", batch.batch_id):
            client.command(f"CREATE TABLE IF NOT EXISTS {quarantine_stage} AS raw.quarantine")
            batch.publish(quarantine_stage)
    finally:
        batch.close()
    for name, row in registered.items():
        if name not in current_state:
            results.append(
                FileResult(
                    entity.source,
                    entity.name,
                    name,
                    row["sha256"],
                    "removed",
                    batch_id=batch.batch_id,
                    message="was loaded before but is no longer in the landing directory; its rows were removed",
                )
            )
    return results, True


def _skipped(client, entity: Entity, day: date, registered: dict[str, dict]) -> list[FileResult]:
    """Results for an unchanged (day, entity): counts from the registry, details from the loaded rows."""
    details: dict[str, dict] = {name: {"by_reason": {}} for name in registered}
    if registered:
        for name, late, drift, fields in client.query(
            f"SELECT _source_file, sum(_is_late), countIf(_extra != ''), "
            f"arraySort(groupUniqArrayArray(JSONExtractKeys(_extra))) FROM {entity.raw_table} "
            "WHERE _drop_date = {d:Date} GROUP BY _source_file",
            parameters={"d": day},
        ).result_rows:
            details.setdefault(name, {"by_reason": {}}).update(late=late, drift=drift, fields=list(fields))
        for name, code, count in client.query(
            "SELECT source_file, reason_code, count() FROM raw.quarantine WHERE _drop_date = {d:Date} "
            "AND source = {s:String} AND entity = {e:String} GROUP BY source_file, reason_code",
            parameters={"d": day, "s": entity.source, "e": entity.name},
        ).result_rows:
            details.setdefault(name, {"by_reason": {}})["by_reason"][code] = count
    return [
        FileResult(
            entity.source,
            entity.name,
            name,
            row["sha256"],
            "skipped",
            lines=row["lines"],
            loaded=row["loaded"],
            duplicates=row["duplicates"],
            quarantined=row["quarantined"],
            quarantined_by_reason=details[name]["by_reason"],
            late_rows=details[name].get("late", 0),
            drift_rows=details[name].get("drift", 0),
            drift_fields=details[name].get("fields", []),
            batch_id=row["batch_id"],
            message=f"already ingested with the same sha256 by batch {row['batch_id']}; nothing re-read",
        )
        for name, row in registered.items()
    ]


def _file_result(entity, batch, landing_file, counts, encodings, registered) -> FileResult:
    count = counts[landing_file.relative]
    lines = count.get("lines", 0)
    previous = registered.get(landing_file.relative)
    if previous is None:
        status, message = "loaded", ""
    elif previous["sha256"] != landing_file.sha256:
        status, message = "replaced", f"content changed since batch {previous['batch_id']}; its rows were replaced"
    else:
        status, message = "reloaded", "unchanged, re-read because another file of this entity and day changed"
    by_reason = count["quarantined_by_reason"]
    drift = count.get("drift_fields", [])
    if drift:
        message = "; ".join(filter(None, [message, f"unknown fields kept in _extra: {', '.join(drift)}"]))
    encoding, blank = encodings[landing_file.relative]
    return FileResult(
        entity.source,
        entity.name,
        landing_file.relative,
        landing_file.sha256,
        status,
        encoding=encoding,
        lines=lines,
        blank_lines=blank,
        loaded=count.get("loaded", 0),
        duplicates=lines - count.get("distinct", 0),
        quarantined=sum(by_reason.values()),
        quarantined_by_reason=dict(by_reason),
        late_rows=count.get("late_rows", 0),
        drift_rows=count.get("drift_rows", 0),
        drift_fields=drift,
        message=message,
        batch_id=batch.batch_id,
    )


def _record_batches(client, day: date, results: list[FileResult]) -> None:
    """Append the batches' files to the registry; the newest batch of a (day, source, entity) is what counts."""
    at = datetime.now(UTC)
    rows = [
        [
            day,
            r.source,
            r.entity,
            r.source_file,
            r.status,
            r.sha256,
            r.lines,
            r.loaded,
            r.duplicates,
            r.quarantined,
            r.batch_id,
            at,
        ]
        for r in results
    ]
    insert_rows(client, "ops.ingested_files", INGESTED_FILES_COLUMNS, rows)


def _record_summary(client, source: str, day: date, results: list[FileResult]) -> None:
    """Append this run's rows; the latest run of a (date, source) is its rows with the greatest `ingested_at`."""
    now = datetime.now(UTC)
    rows = [summary_row(day, r, now) for r in results]
    insert_rows(
        client,
        "ops.ingestion_summary",
        INGESTION_SUMMARY_COLUMNS,
        [[row[c] for c in INGESTION_SUMMARY_COLUMNS] for row in rows],
    )


def summary_row(day: date, result: FileResult, at: datetime | None = None) -> dict:
    """One summary row as a plain dict (what the CLI prints and Airflow keeps)."""
    row = asdict(result)
    row.update(run_date=day, ingested_at=at or datetime.now(UTC))
    return {column: row[column] for column in INGESTION_SUMMARY_COLUMNS}


def ingest(
    client, day: date, landing_root: Path, source_names: list[str] | None = None, force: bool = False
) -> list[dict]:
    """Ingest the given sources (default: every declared source with a landing directory) for one day."""
    sources = all_sources()
    names = source_names if source_names is not None else sorted(sources)
    rows = []
    for name in names:
        if name not in sources:
            from nightshift.ingest.errors import IngestionError

            raise IngestionError(f"Unknown source {name!r}; declared sources are: {', '.join(sorted(sources))}")
        if not landing.day_dir(landing_root, name, day).is_dir():
            continue
        results = ingest_source_day(client, sources[name], day, landing_root, force=force)
        rows += [summary_row(day, r) for r in results]
        log.info("ingested %s %s: %d files", name, day, len(results))
    return rows
