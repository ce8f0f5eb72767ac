"""What a landing file's declared shape is made of: sources, their entities, and each entity's fields.

These types are the contract between the world generator (which writes files in these shapes) and the
ingestion stage (which validates files against them and loads `raw.<source>__<entity>`). Each source is
declared in its own module (`nightshift/sources/<source>.py`, a module-level `SOURCE`); the collection of
every source is `nightshift.sources.catalog.all_sources()`.

Landing layout: `<NIGHTSHIFT_LANDING>/<source>/<YYYY-MM-DD>/<file>`; an entity claims the files matching
its `file_glob` in that day directory. Line numbers are physical, 1-based lines of the file (for CSV the
header is line 1). Ground truth for tests is written by the generator under `<NIGHTSHIFT_LANDING>/_truth/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FieldType = Literal[
    "string",  # any text
    "int",  # integer (64-bit)
    "float",
    "bool",  # true/false, 0/1
    "timestamp",  # ISO-8601 or epoch seconds in the platform's convention; normalised to UTC DateTime64
    "date",  # YYYY-MM-DD (or the source's documented date format)
    "phone",  # a phone number; normalised to E.164 with `phonenumbers` (region CN by default)
    "amount_fen",  # money; normalised to integer fen (1 yuan = 100 fen)
    "string_array",  # JSON array of strings (JSON sources only)
    "int_array",  # JSON array of integers (JSON sources only)
    "json",  # nested object kept as its JSON text
]

FileFormat = Literal["jsonl", "csv", "whitespace"]

# Why a record went to `raw.quarantine`. Generator ground truth and ingestion use exactly these codes.
QUARANTINE_REASONS: dict[str, str] = {
    "malformed_json": "the line is not a valid JSON object",
    "malformed_csv": "the line does not have the declared number of columns or has broken quoting",
    "undecodable_bytes": "the line contains bytes that are not valid in the file's encoding",
    "missing_required": "a required field (usually an identifier) is absent or empty",
    "wrong_type": "a field's value cannot be read as its declared type",
    "invalid_phone": "a phone field is not a valid phone number",
}

# Dirt that is NOT quarantined: ground truth records it so tests can check it was handled the right way.
HANDLED_DIRT: dict[str, str] = {
    "duplicate_record": "exact copy of an earlier record of the same day: loaded once, counted as duplicate",
    "duplicate_file": "the same file delivered twice (line_number 0): skipped by checksum",
    "late_event": "event dated before its file's day: loaded, flagged `_is_late`",
    "schema_drift": "unknown extra fields: loaded, extra fields kept in `_extra` and reported",
}


@dataclass(frozen=True)
class Field:
    name: str  # the field name exactly as the platform's API/export spells it
    type: FieldType = "string"
    required: bool = False
    description: str = ""
    # When set, this field holds an identifier of that type (used by identity resolution later):
    # phone, unionid, wechat_oa_openid, miniprogram_openid, douyin_open_id, app_user_id, device_id,
    # wecom_external_userid, xiaoe_user_id, cdnow_customer_id, ...
    id_type: str | None = None
    # False when the identifier names someone OTHER than the record's subject (an inviter, a gift receiver):
    # it is still an id of that type, but identity resolution never links it to the record's other ids.
    is_subject_id: bool = True
    # Values that mean "absent" for this field in this source (e.g. "" or "0"), treated as null.
    null_values: tuple[str, ...] = ("",)
    # amount_fen only: True when the source delivers the major currency unit (yuan, or dollars for CDNOW) with
    # up to two decimals; ingestion multiplies by 100. False (default): the value is already integer fen/cents.
    amount_in_major_units: bool = False


@dataclass(frozen=True)
class Entity:
    source: str
    name: str  # raw table is raw.<source>__<name>
    file_glob: str  # matched against file names in the day directory, e.g. "events*.jsonl"
    format: FileFormat
    fields: tuple[Field, ...]
    description: str = ""
    # Field holding the record's own event time; records dated before the file's day are flagged late.
    event_time_field: str | None = None
    # CSV options. `encoding=None` means detect (UTF-8, UTF-8 with BOM, GBK).
    delimiter: str = ","
    has_header: bool = True
    encoding: str | None = None
    # Exact duplicate lines of the same day are loaded once and counted. Turn off only for sources whose
    # identical lines are distinct facts (CDNOW: two identical purchases by a customer on one day).
    deduplicate_lines: bool = True

    @property
    def raw_table(self) -> str:
        return f"raw.{self.source}__{self.name}"

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.raw_table} has no field {name!r}")


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    entities: tuple[Entity, ...] = field(default_factory=tuple)
    simulated: bool = True  # produced by `nightshift generate` (False for real data such as cdnow)
