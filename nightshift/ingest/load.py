"""Load one entity's files of one day: lines -> scratch tables -> validated raw rows + quarantine, atomically.

A batch rebuilds the whole (day, source, entity) slice: raw rows are written to a scratch copy of the raw
table and swapped in with `REPLACE PARTITION`, so the day is either the old load or the new one, never a mix,
and other days are never touched. Deciding WHETHER to rebuild (checksums, skipped files) is `engine.py`'s job.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from nightshift.ingest import files as landing
from nightshift.ingest import phones, sql
from nightshift.ingest.errors import InvariantViolation
from nightshift.ingest.tables import ensure_raw_table, insert_rows
from nightshift.sources.model import Entity
from nightshift.warehouse.schema import INGEST_SCRATCH_DATABASE

log = logging.getLogger(__name__)

# The validation queries are long, generated and run once: LLVM-compiling their expressions costs more than
# it saves at these sizes.
QUERY_SETTINGS = {"compile_expressions": 0}
# Records the engine builds are JSON text like Python's json.dumps(ensure_ascii=False): '/' stays '/'.
LINE_SETTINGS = {**QUERY_SETTINGS, "output_format_json_escape_forward_slashes": 0}

# The validating pass (measured at 1M JSON lines, 2 cores): blocks of 16,384 rows keep a block's ~30 columns in the
# CPU caches between the nested SELECTs (~15% less CPU than the default 65,409 rows). The Null table takes the
# rows on ONE stream, so its three views would run one after the other on one core: in parallel, the raw part
# is written while the quarantine and the figures take theirs (2.46 -> 1.35 s wall on an idle machine).
VALIDATE_SETTINGS = {"max_insert_threads": 2, "max_block_size": 16_384, "parallel_view_processing": 1}
# Files go to ClickHouse in pieces of about this size, cut at line ends: this bounds the memory of one insert.
CHUNK_BYTES = 16 << 20
# A line Python's str.strip() empties (every character str.isspace() accepts), as an RE2 pattern: CSV lines of the
# engine path are blank exactly when the Python path would call them blank.
PYTHON_BLANK_LINE = (
    "^[\\t\\n\\x{0b}\\x{0c}\\r\\x{1c}-\\x{1f} \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}"
    "\\x{202f}\\x{205f}\\x{3000}]*$"
)
_UNDECODABLE_UTF8 = (
    "line contains bytes that are not valid UTF-8 (the file was read as UTF-8); re-export the file in UTF-8 "
    "(or GBK) and deliver it again"
)


@dataclass
class FileResult:
    """What happened to one file (one row of `ops.ingestion_summary`)."""

    source: str
    entity: str
    source_file: str
    sha256: str
    status: str  # loaded | replaced | reloaded | skipped | duplicate_file | unmatched | removed
    encoding: str = ""
    lines: int = 0
    blank_lines: int = 0
    loaded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    late_rows: int = 0
    drift_rows: int = 0
    drift_fields: list[str] = field(default_factory=list)
    message: str = ""
    batch_id: str = ""

    def check_invariant(self) -> None:
        if self.lines != self.loaded + self.duplicates + self.quarantined:
            raise InvariantViolation(
                f"{self.source_file}: {self.lines} data lines read but {self.loaded} loaded + {self.duplicates} "
                f"duplicates + {self.quarantined} quarantined = "
                f"{self.loaded + self.duplicates + self.quarantined}. Rows were lost or invented; nothing of this "
                "batch was published. This is a bug in ingestion: keep the file and report it."
            )


@contextmanager
def timed(step: str, owner: str, subject: str = "") -> Iterator[None]:
    """Log the wall and CPU seconds of one step at DEBUG; `owner` is the batch id (or the source, for a step
    outside a batch), `subject` the file it worked on, if one. The record carries the figures as attributes too
    (`ingest_step`, `seconds`, `cpu_seconds`), so that `bench.ingest` can add them up per step without reading
    the message."""
    started, cpu_started = time.perf_counter(), time.process_time()
    yield
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    log.debug(
        "%s: %s%s took %.2fs (CPU %.2fs)",
        owner,
        step,
        f" of {subject}" if subject else "",
        seconds,
        cpu_seconds,
        extra={"ingest_step": step, "seconds": seconds, "cpu_seconds": cpu_seconds},
    )


def new_batch_id(source: str, entity: str, day: date) -> str:
    return f"{source}__{entity}__{day:%Y%m%d}__{uuid.uuid4().hex[:12]}"


class Batch:
    """Scratch tables of one (day, source, entity) load; `close()` drops them."""

    def __init__(self, client, entity: Entity, day: date, batch_id: str):
        self.client = client
        self.entity = entity
        self.day = day
        self.batch_id = batch_id
        self.ingested_at = datetime.now(UTC)
        tag = batch_id.rsplit("__", 1)[-1]
        prefix = f"{INGEST_SCRATCH_DATABASE}.b{tag}"
        self.text, self.lines, self.routed = f"{prefix}_text", f"{prefix}_lines", f"{prefix}_routed"
        self.phone_map, self.stage, self.quarantine = f"{prefix}_phones", f"{prefix}_raw", f"{prefix}_quarantine"
        self.stats = f"{prefix}_stats"
        self.views = [f"{prefix}_to_raw", f"{prefix}_to_quarantine", f"{prefix}_to_stats"]
        self.files: list[str] = []
        # What the lines carry so far (see `sql.LineKinds`): nothing until the first file is added.
        self.kinds = sql.LineKinds(records=False, json=False, fields=False)
        self._decoded: str | None = None  # the text of the file being added, when detection decoded it whole

    def create(self) -> None:
        c = self.client
        c.command(f"CREATE TABLE {self.text} (l String) ENGINE = Memory")
        c.command(
            f"CREATE TABLE {self.lines} (file_idx UInt32, line_number UInt64, raw_line String, record String, "
            "parse_error LowCardinality(String), parse_detail String, fields Array(Nullable(String))) ENGINE = Memory"
        )
        c.command(f"CREATE TABLE {self.phone_map} (raw String, e164 String) ENGINE = Join(ANY, LEFT, raw)")
        ensure_raw_table(c, self.entity)
        c.command(f"CREATE TABLE {self.stage} AS {self.entity.raw_table}")
        c.command(f"CREATE TABLE {self.quarantine} AS raw.quarantine ENGINE = Memory")
        c.command(
            f"CREATE TABLE {self.stats} (file_idx UInt32, distinct_lines UInt64, drift_rows UInt64, "
            "extra_keys Array(String)) ENGINE = Memory"
        )
        routed = ", ".join(f"`{name}` {ctype}" for name, ctype in sql.routed_columns(self.entity))
        c.command(f"CREATE TABLE {self.routed} ({routed}) ENGINE = Null")
        targets = (self.stage, self.quarantine, self.stats)
        for view, (target, select) in zip(
            self.views, sql.routing_views(self.entity, self.routed, *targets), strict=True
        ):
            c.command(f"CREATE MATERIALIZED VIEW {view} TO {target} AS {select}")

    def close(self) -> None:
        # The views first: a view must not outlive the tables it writes to.
        tables = (*self.views, self.routed, self.text, self.lines, self.stats, self.phone_map, self.stage)
        self.client.command(f"DROP TABLE IF EXISTS {', '.join((*tables, self.quarantine))}")

    # -- step 1: lines ---------------------------------------------------------------------------------------

    def add_file(self, landing_file: landing.LandingFile) -> tuple[str, int]:
        """Read one file into the lines table. Returns (encoding, blank lines)."""
        self.files.append(landing_file.relative)
        file_idx = len(self.files)
        data = landing_file.path.read_bytes()
        with timed("detect encoding", self.batch_id, landing_file.relative):
            encoding, decoded = landing.decode_whole(data, self.entity.encoding)
        # Only the CSV engine path reads the text; the other paths let it go now.
        self._decoded = decoded if self.entity.format == "csv" else None
        del decoded
        bom = "-sig" if data.startswith(landing.BOM) else ""
        if self.entity.format == "jsonl" and encoding == "utf-8":
            self.kinds = replace(self.kinds, json=True)
            with timed("read lines", self.batch_id, landing_file.relative):
                blank = self._add_utf8_jsonl(file_idx, landing.strip_bom(data))
            return "utf-8-sig" if data.startswith(landing.BOM) else "utf-8", blank
        if self.entity.format == "csv":
            with timed("read csv lines", self.batch_id, landing_file.relative):
                blank = self._add_plain_csv(file_idx, data, encoding)
            if blank is not None:
                return f"{encoding}{bom}", blank
        self.kinds = replace(self.kinds, records=True, json=True)
        with timed("read lines in Python", self.batch_id, landing_file.relative):
            parsed = landing.parse_lines(data, self.entity, encoding)
            count = len(parsed.line_numbers)
            if count:
                columns = zip(
                    [file_idx] * count,
                    parsed.line_numbers,
                    parsed.raw_lines,
                    parsed.records,
                    parsed.parse_errors,
                    parsed.parse_details,
                    strict=True,
                )
                insert_rows(
                    self.client,
                    self.lines,
                    ["file_idx", "line_number", "raw_line", "record", "parse_error", "parse_detail"],
                    [list(row) for row in columns],
                )
        return f"{encoding}{bom}", parsed.blank_lines

    def _add_utf8_jsonl(self, file_idx: int, data: bytes) -> int:
        """Bytes straight to ClickHouse; it splits (LineAsString), numbers and checks lines. Returns the blank-line
        count."""
        line_select = f"""
            SELECT {{file_idx:UInt32}}, n, l, '',
                   if(isValidUTF8(l), '', 'undecodable_bytes'), if(isValidUTF8(l), '', {sql.lit(_UNDECODABLE_UTF8)}),
                   []
            FROM (SELECT n, trimRight(line, '\\r') AS l FROM ({self._numbered_lines()}))
            WHERE length(l) > 32 OR notEmpty(trimBoth(l, ' \\t'))
        """
        return self._add_lines(file_idx, data, line_select)

    def _add_plain_csv(self, file_idx: int, data: bytes, encoding: str) -> int | None:
        """A CSV file without a single quote character, split and turned into records by ClickHouse (as
        `files.parse_lines` does line by line in Python: same line numbers, records, blank lines and
        malformed-line reasons; tests/ingest compare the two). Returns the blank-line count, or None when the file
        needs the Python path: bytes the encoding cannot read (those lines are quarantined one by one), quoting,
        or a header that does not give distinct column names."""
        entity = self.entity
        text, self._decoded = self._decoded, None  # the file's text if detecting its encoding decoded it
        data = landing.strip_bom(data)
        if b'"' in data:
            return None
        if text is None:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                return None
        if entity.has_header:
            header = text.split("\n", 1)[0].removesuffix("\r")
            columns = [name.strip() for name in header.split(entity.delimiter)]
        else:
            columns = [f.name for f in entity.fields]
        if len(set(columns)) != len(columns) or not all(columns):
            return None
        # The reason Python gives, with the count spliced in: split around a marker no header can hold.
        before, after = landing.columns_mismatch("\x00", columns).split("\x00")
        declared = [f.name for f in entity.fields]
        if set(columns) <= set(declared):
            # Every column is a declared field: the values go to `fields` in declaration order, which is what
            # the record would give (no record to build here, none to parse when validating).
            position = {name: i for i, name in enumerate(columns, 1)}
            values = ", ".join(f"v[{position[name]}]" if name in position else "NULL" for name in declared)
            record, fields = "''", f"CAST([{values}], 'Array(Nullable(String))')"
            self.kinds = replace(self.kinds, fields=True)
        else:
            # The record as toJSONString(mapFromArrays(columns, v)) writes it, built by concatenation: the same
            # text, without a Map per line (serialising Maps row by row cost most of this step).
            pairs = ", ',', ".join(
                f"toJSONString({sql.lit(name)}), ':', toJSONString(v[{i}])" for i, name in enumerate(columns, 1)
            )
            record, fields = f"concat('{{', {pairs}, '}}')", "[]"
            self.kinds = replace(self.kinds, records=True, json=True)
        fits = f"length(v) = {len(columns)}"
        line_select = f"""
            SELECT {{file_idx:UInt32}}, n, l,
                   if({fits}, {record}, ''),
                   if({fits}, '', 'malformed_csv'),
                   if({fits}, '', concat({sql.lit(before)}, toString(length(v)), {sql.lit(after)})),
                   if({fits}, {fields}, [])
            FROM (
                SELECT n, l, splitByString({sql.lit(entity.delimiter)}, l) AS v
                FROM (
                    SELECT n, if(endsWith(line, '\\r'), substring(line, 1, length(line) - 1), line) AS l
                    FROM ({self._numbered_lines()})
                )
            )
            WHERE n > {1 if entity.has_header else 0} AND NOT match(l, {sql.lit(PYTHON_BLANK_LINE)})
        """
        physical = self._add_lines(file_idx, text.encode("utf-8"), line_select, count_only=True)
        kept = self._lines_of(file_idx)
        return physical - (1 if entity.has_header and physical else 0) - kept

    def _lines_of(self, file_idx: int) -> int:
        return int(
            self.client.command(
                f"SELECT count() FROM {self.lines} WHERE file_idx = {{file_idx:UInt32}}",
                parameters={"file_idx": file_idx},
            )
        )

    def _numbered_lines(self) -> str:
        """The piece's lines (`line`, as LineAsString reads them: cut at '\\n' only) and their physical line
        numbers (`n`, from `{offset}`). A subquery: numbers are given before any filter drops a line. Its
        reader must run on one thread (`max_threads = 1`), which reads the Memory table's blocks in the order
        they were inserted, and LineAsString inserts them in the file's order."""
        return f"SELECT {{offset:UInt64}} + rowNumberInAllBlocks() + 1 AS n, l AS line FROM {self.text}"

    def _add_lines(self, file_idx: int, data: bytes, line_select: str, count_only: bool = False) -> int:
        """Send the file in chunks cut at line ends, read by the engine's LineAsString format into the text table
        (one row per physical line); `line_select` turns each chunk into rows of the lines table, numbered from
        `{offset}`. Returns the blank lines, or with `count_only` the physical lines."""
        offset, start = 0, 0
        whole = memoryview(data)  # chunks are views of the file's bytes, not copies
        while start < len(data):
            end = len(data) if len(data) - start <= CHUNK_BYTES else data.rfind(b"\n", start, start + CHUNK_BYTES) + 1
            if end <= start:  # one line longer than a chunk: take it whole
                end = data.find(b"\n", start + CHUNK_BYTES) + 1 or len(data)
            physical = data.count(b"\n", start, end) + (0 if data[end - 1] == ord("\n") else 1)
            self.client.command(f"TRUNCATE TABLE {self.text}")
            self.client.raw_insert(self.text, ["l"], whole[start:end], fmt="LineAsString")
            read = int(self.client.command(f"SELECT count() FROM {self.text}"))
            if read != physical:  # line numbers would be wrong: stop before anything is loaded
                raise InvariantViolation(
                    f"{self.files[file_idx - 1]}: the engine read {read} lines from bytes {start}-{end} where Python "
                    f"counts {physical}. Nothing of this batch was published. This is a bug in ingestion: keep the "
                    "file and report it."
                )
            self.client.command(
                f"INSERT INTO {self.lines} {line_select}",
                parameters={"file_idx": file_idx, "offset": offset},
                settings={**LINE_SETTINGS, "max_threads": 1},
            )
            offset += physical
            start = end
        self.client.command(f"TRUNCATE TABLE {self.text}")
        return offset if count_only else offset - self._lines_of(file_idx)

    # -- step 2: validate and route ----------------------------------------------------------------------------

    def validate(self) -> None:
        """One pass from the lines to the raw rows, the quarantine and the per-file figures (see `sql`)."""
        c, entity = self.client, self.entity
        # Sorting out exact duplicate lines costs a sort; skip it when no two lines even hash alike.
        with timed("duplicate check", self.batch_id):
            deduplicate = entity.deduplicate_lines and not int(
                c.command(f"SELECT count() = uniqExact(cityHash64(raw_line)) FROM {self.lines}")
            )
        with timed("phones", self.batch_id):
            self._map_phones()
        params = {
            "drop_date": self.day,
            "batch_id": self.batch_id,
            "files": self.files,
            "ingested_at": self.ingested_at,
        }
        with timed("parse, convert, check and route", self.batch_id):
            c.command(
                f"INSERT INTO {self.routed} "
                f"{sql.routed_select(entity, self.lines, deduplicate, self.kinds, self.phone_map, self.day)}",
                parameters=params,
                settings={**QUERY_SETTINGS, **VALIDATE_SETTINGS},
            )

    def _map_phones(self) -> None:
        """Distinct phone values outside the fast shape -> `phonenumbers` in Python -> the Join table."""
        if not any(f.type == "phone" for f in self.entity.fields):
            return
        select = sql.phone_values_select(self.entity, self.lines, self.kinds)
        values = [row[0] for row in self.client.query(select).result_rows]
        if values:
            insert_rows(self.client, self.phone_map, ["raw", "e164"], [[v, phones.to_e164(v)] for v in values])

    # -- step 3: count, check, publish ---------------------------------------------------------------------

    def file_counts(self) -> dict[str, dict]:
        """Per relative file name: lines, distinct (not duplicate) lines, loaded, late, drift, quarantine."""
        q = self.client.query
        counts: dict[str, dict] = {name: {"quarantined_by_reason": {}} for name in self.files}

        # One round trip: (kind, file, a, b, keys) rows from the four scratch tables.
        rows = q(
            f"""
            SELECT 'lines', arrayElement({{files:Array(String)}}, file_idx), count(), 0, [] FROM {self.lines}
            GROUP BY file_idx
            UNION ALL
            SELECT 'distinct', arrayElement({{files:Array(String)}}, file_idx), sum(distinct_lines), sum(drift_rows),
                   arraySort(groupUniqArrayArray(extra_keys)) FROM {self.stats} GROUP BY file_idx
            UNION ALL
            SELECT 'loaded', _source_file, count(), sum(_is_late), [] FROM {self.stage} GROUP BY _source_file
            UNION ALL
            SELECT 'quarantined', source_file, count(), 0, [reason_code] FROM {self.quarantine}
            GROUP BY source_file, reason_code""",
            parameters={"files": self.files},
        ).result_rows
        for kind, source_file, number, extra, keys in rows:
            count = counts[source_file]
            if kind == "lines":
                count["lines"] = number
            elif kind == "distinct":
                count.update(distinct=number, drift_rows=extra, drift_fields=list(keys))
            elif kind == "loaded":
                count.update(loaded=number, late_rows=extra)
            else:
                count["quarantined_by_reason"][keys[0]] = number
        return counts

    def publish(self, quarantine_stage: str) -> None:
        """Swap the day's raw rows in (atomic), and hand the quarantined rows to the source's quarantine stage."""
        c, entity, day = self.client, self.entity, self.day.isoformat()
        has_rows = int(c.command(f"SELECT count() FROM {self.stage}")) > 0
        if has_rows:
            c.command(f"ALTER TABLE {entity.raw_table} REPLACE PARTITION {sql.lit(day)} FROM {self.stage}")
        else:
            c.command(f"ALTER TABLE {entity.raw_table} DROP PARTITION {sql.lit(day)}")
        c.command(f"INSERT INTO {quarantine_stage} SELECT * FROM {self.quarantine}")


def publish_quarantine(client, source: str, day: date, rebuilt_entities: list[str], quarantine_stage: str) -> None:
    """Replace the (day, source) partition of raw.quarantine: kept rows of untouched entities + the new rows.

    A partition swap instead of DELETE + INSERT: atomic, and no mutation. Sources own separate partitions, so
    per-source tasks running side by side cannot overwrite each other.
    """
    client.command(
        f"INSERT INTO {quarantine_stage} SELECT * FROM raw.quarantine "
        "WHERE _drop_date = {d:Date} AND source = {s:String} AND NOT has({e:Array(String)}, entity)",
        parameters={"d": day, "s": source, "e": rebuilt_entities},
    )
    partition = f"(toDate({sql.lit(day.isoformat())}), {sql.lit(source)})"
    if int(client.command(f"SELECT count() FROM {quarantine_stage}")):
        client.command(f"ALTER TABLE raw.quarantine REPLACE PARTITION {partition} FROM {quarantine_stage}")
    else:
        client.command(f"ALTER TABLE raw.quarantine DROP PARTITION {partition}")
