"""The simulated world: determinism, files that match their declarations, exact dirt and identity truth."""

from __future__ import annotations

import csv
import filecmp
import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import phonenumbers
import pytest

from nightshift.generate import generate_world
from nightshift.sources.catalog import all_sources
from nightshift.sources.model import HANDLED_DIRT, QUARANTINE_REASONS, Entity, Field

START = date(2026, 11, 20)
DAYS = 2
BEIJING = timezone(timedelta(hours=8))
JUNK = {("phone", "+8613800138000"), ("device_id", "00000000-0000-0000-0000-000000000000")}


class Invalid(Exception):
    """A record that does not satisfy its declaration; the message says which field and why."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("landing")
    generate_world(landing, users=2000, start_date=START, days=DAYS, seed=7, progress=False)
    return landing


def _entity_for(path: Path, landing: Path) -> Entity:
    source = all_sources()[path.relative_to(landing).parts[0]]
    matches = [e for e in source.entities if path.match(e.file_glob)]
    assert len(matches) == 1, f"{path} is claimed by {len(matches)} entities of {source.name}"
    return matches[0]


def _parse_time(value: object) -> datetime:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        if value.isdigit():
            return datetime.fromtimestamp(int(value), tz=UTC)
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise Invalid(f"timestamp {value!r} has no offset")
        return parsed
    raise Invalid(f"timestamp {value!r} is neither epoch seconds nor ISO-8601")


def _check_value(spec: Field, value: object, from_csv: bool) -> None:
    kind = spec.type
    if kind == "phone":
        try:
            valid = isinstance(value, str) and phonenumbers.is_valid_number(phonenumbers.parse(value, "CN"))
        except phonenumbers.NumberParseException:
            valid = False
        if not valid:
            raise Invalid(f"{spec.name}: {value!r} is not a valid phone")
    elif kind == "timestamp":
        try:
            _parse_time(value)
        except ValueError as error:
            raise Invalid(f"{spec.name}: {value!r} is not a timestamp") from error
    elif kind in ("int", "amount_fen"):
        ok = value.lstrip("-").isdigit() if from_csv else isinstance(value, int) and not isinstance(value, bool)
        if not ok:
            raise Invalid(f"{spec.name}: {value!r} is not an integer")
    elif kind == "bool":
        if value not in (True, False, 0, 1, "true", "false", "0", "1"):
            raise Invalid(f"{spec.name}: {value!r} is not a bool")
    elif kind == "string":
        if not isinstance(value, str):
            raise Invalid(f"{spec.name}: {value!r} is not a string")
    elif kind in ("string_array", "int_array"):
        item = str if kind == "string_array" else int
        if not isinstance(value, list) or not all(isinstance(v, item) for v in value):
            raise Invalid(f"{spec.name}: {value!r} is not a {kind}")


def _check_record(entity: Entity, record: dict[str, object], from_csv: bool) -> None:
    # Unknown extra fields are schema drift, which is loaded: checked separately.
    for spec in entity.fields:
        value = record.get(spec.name)
        if value is None or value == "":
            if spec.required:
                raise Invalid(f"required {spec.name} missing")
            continue
        _check_value(spec, value, from_csv)


def _read(path: Path, entity: Entity) -> list[tuple[int, bytes, dict[str, object] | Exception]]:
    """(line number, raw bytes, parsed record or the error) for every data line of a landing file."""
    raw_lines = path.read_bytes().split(b"\n")
    assert raw_lines[-1] == b"", f"{path} does not end with a newline"
    raw_lines = raw_lines[:-1]
    out: list[tuple[int, bytes, dict[str, object] | Exception]] = []
    if entity.format == "jsonl":
        for number, raw in enumerate(raw_lines, start=1):
            try:
                record = json.loads(raw.decode("utf-8"))
                if not isinstance(record, dict):
                    raise Invalid("not an object")
                _check_record(entity, record, from_csv=False)
                out.append((number, raw, record))
            except (Invalid, ValueError) as error:
                out.append((number, raw, error))
        return out
    encoding = entity.encoding or "utf-8"
    header = next(csv.reader([raw_lines[0].decode(encoding)]))
    assert header == [f.name for f in entity.fields], f"{path}: header {header}"
    for number, raw in enumerate(raw_lines[1:], start=2):
        try:
            cells = next(csv.reader([raw.decode("gbk" if encoding == "gbk" else "utf-8")]))
            if len(cells) != len(header):
                raise Invalid(f"{len(cells)} columns, expected {len(header)}")
            record = dict(zip(header, cells, strict=True))
            _check_record(entity, record, from_csv=True)
            out.append((number, raw, record))
        except (Invalid, ValueError) as error:
            out.append((number, raw, error))
    return out


def _dirty(landing: Path) -> dict[tuple[str, int], str]:
    with (landing / "_truth" / "dirty_records.csv").open(encoding="utf-8") as handle:
        return {(row["source_file"], int(row["line_number"])): row["reason_code"] for row in csv.DictReader(handle)}


def _landing_files(landing: Path) -> list[Path]:
    return sorted(p for p in landing.rglob("*") if p.is_file() and p.relative_to(landing).parts[0] != "_truth")


def _clean_records(landing: Path):
    """(entity, relative file, record) for every record not listed as dirty, skipping duplicated files."""
    dirty = _dirty(landing)
    for path in _landing_files(landing):
        relative = path.relative_to(landing).as_posix()
        if (relative, 0) in dirty:
            continue
        entity = _entity_for(path, landing)
        for number, _, record in _read(path, entity):
            reason = dirty.get((relative, number))
            if reason in (None, "late_event", "schema_drift"):
                yield entity, relative, reason, record


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    generate_world(first, users=300, start_date=START, days=2, seed=11, progress=False)
    generate_world(second, users=300, start_date=START, days=2, seed=11, progress=False)
    files = [p.relative_to(first) for p in first.rglob("*") if p.is_file()]
    assert files and sorted(files) == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    _, mismatch, errors = filecmp.cmpfiles(first, second, [str(f) for f in files], shallow=False)
    assert mismatch == [] and errors == []


def test_every_declared_entity_has_a_file_per_day(world: Path) -> None:
    for source in all_sources().values():
        if not source.simulated:
            continue
        for offset in range(DAYS):
            day_dir = world / source.name / (START + timedelta(days=offset)).isoformat()
            for entity in source.entities:
                assert list(day_dir.glob(entity.file_glob)), f"no {entity.file_glob} in {day_dir}"


def test_every_line_parses_except_recorded_dirty_ones(world: Path) -> None:
    dirty = _dirty(world)
    quarantined = set(QUARANTINE_REASONS)
    seen = set()
    for path in _landing_files(world):
        relative = path.relative_to(world).as_posix()
        if (relative, 0) in dirty:
            seen.add((relative, 0))
            continue
        entity = _entity_for(path, world)
        earlier: set[bytes] = set()
        for number, raw, result in _read(path, entity):
            reason = dirty.get((relative, number))
            if reason is not None:
                seen.add((relative, number))
            # A clean line must not repeat an earlier one, or it would be an unrecorded duplicate.
            assert reason == "duplicate_record" or raw not in earlier, f"{relative}:{number} repeats a line"
            earlier.add(raw)
            if reason in quarantined:
                assert isinstance(result, Exception), f"{relative}:{number} recorded as {reason} but is valid"
            else:
                assert not isinstance(result, Exception), f"{relative}:{number} ({reason or 'clean'}): {result}"
                extra = set(result) - {f.name for f in entity.fields}
                assert bool(extra) == (reason == "schema_drift"), f"{relative}:{number} ({reason}): extra {extra}"
    assert seen == set(dirty), f"truth lists lines that do not exist: {sorted(set(dirty) - seen)[:5]}"


def test_dirty_lines_carry_the_recorded_kind(world: Path) -> None:
    dirty = _dirty(world)
    by_file: dict[str, dict[int, str]] = defaultdict(dict)
    for (relative, number), reason in dirty.items():
        by_file[relative][number] = reason
    for relative, reasons in by_file.items():
        path = world / relative
        if 0 in reasons:
            original = path.with_name(path.name.replace("_part2", ""))
            assert path.read_bytes() == original.read_bytes(), f"{relative} is not a copy of {original.name}"
            continue
        entity = _entity_for(path, world)
        lines = {number: (raw, result) for number, raw, result in _read(path, entity)}
        day_start = datetime.fromisoformat(path.parent.name).replace(tzinfo=BEIJING)
        for number, reason in reasons.items():
            raw, result = lines[number]
            message = f"{relative}:{number} recorded as {reason}"
            if reason == "duplicate_record":
                assert raw in [lines[n][0] for n in lines if n < number], message
            elif reason == "late_event":
                assert _parse_time(result[entity.event_time_field]) < day_start, message
            elif reason == "schema_drift":
                assert set(json.loads(raw)) - {f.name for f in entity.fields}, message
            elif reason == "undecodable_bytes":
                with pytest.raises(UnicodeDecodeError):
                    raw.decode(entity.encoding if entity.encoding == "gbk" else "utf-8")
            elif reason == "malformed_json":
                with pytest.raises(ValueError):
                    json.loads(raw)
            elif reason == "invalid_phone":
                assert "phone" in str(result), f"{message}: {result}"
            elif reason == "missing_required":
                assert "missing" in str(result), f"{message}: {result}"
            elif reason in ("wrong_type", "malformed_csv"):
                assert isinstance(result, Invalid), f"{message}: {result}"


def test_every_dirt_kind_appears(world: Path) -> None:
    reasons = set(_dirty(world).values())
    assert reasons == set(QUARANTINE_REASONS) | set(HANDLED_DIRT)


def test_clean_events_are_dated_on_their_file_day(world: Path) -> None:
    late = 0
    for entity, relative, reason, record in _clean_records(world):
        if entity.event_time_field is None:
            continue
        day = date.fromisoformat(Path(relative).parent.name)
        stamp = _parse_time(record[entity.event_time_field]).astimezone(BEIJING).date()
        if reason == "late_event":
            late += 1
            assert stamp < day, f"{relative}: late event dated {stamp}"
        else:
            assert stamp == day, f"{relative}: {reason or 'clean'} event dated {stamp}"
    assert late > 0


def _record_ids(world: Path) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for entity, _, _, record in _clean_records(world):
        for spec in entity.fields:
            value = record.get(spec.name)
            if spec.id_type is None or value in (None, ""):
                continue
            for item in value if isinstance(value, list) else [value]:
                if spec.id_type == "phone":  # scalar phone fields and free-text phone arrays
                    item = phonenumbers.format_number(
                        phonenumbers.parse(item, "CN"), phonenumbers.PhoneNumberFormat.E164
                    )
                found[(entity.source, spec.id_type)].add(item)
    return found


def test_truth_identities_match_the_files(world: Path) -> None:
    with (world / "_truth" / "identities.csv").open(encoding="utf-8") as handle:
        truth = list(csv.DictReader(handle))
    claimed: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in truth:
        claimed[(row["source"], row["id_type"])].add(row["id_value"])
    found = _record_ids(world)
    for key, values in claimed.items():
        missing = values - found[key]
        assert not missing, f"truth claims {key} ids not in the files: {sorted(missing)[:3]}"
    for key, values in found.items():
        unclaimed = {v for v in values if (key[1], v) not in JUNK} - claimed[key]
        assert not unclaimed, f"{key} ids in the files without a person in the truth: {sorted(unclaimed)[:3]}"
    assert {(row["id_type"], row["id_value"]) for row in truth} & JUNK == set()


def test_truth_links_ids_of_one_record_to_one_person(world: Path) -> None:
    """An app account's user_id and bound phone belong to the same person (unless the phone is shared)."""
    with (world / "_truth" / "identities.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["source"] == "app"]
    owner = {r["id_value"]: r["person_id"] for r in rows if r["id_type"] == "app_user_id"}
    phones = defaultdict(set)
    for r in rows:
        if r["id_type"] == "phone":
            phones[r["id_value"]].add(r["person_id"])
    checked = 0
    for entity, _, _, record in _clean_records(world):
        if entity.raw_table != "raw.app__users" or not record.get("phone") or record["phone"] == "13800138000":
            continue
        assert owner[record["user_id"]] in phones["+86" + record["phone"]]
        checked += 1
    assert checked > 100


def test_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="users >= 1"):
        generate_world(tmp_path, users=0, start_date=START, days=1, progress=False)
    with pytest.raises(ValueError, match="dirt_rate"):
        generate_world(tmp_path, users=10, start_date=START, days=1, dirt_rate=0.9, progress=False)


def test_sources_readme_shows_the_current_declarations() -> None:
    from nightshift.generate.docs import render

    readme = Path(__file__).resolve().parents[2] / "nightshift" / "sources" / "README.md"
    assert render() in readme.read_text(encoding="utf-8"), (
        "nightshift/sources/README.md is out of date: run `python -m nightshift.generate.docs` and paste the tables"
    )


def test_most_people_are_linkable_and_only_unlinked_accounts_are_split(world: Path) -> None:
    """Bridging records connect the accounts of nearly every person; what no record links is another person."""
    facts = json.loads((world / "_truth" / "world.json").read_text(encoding="utf-8"))
    assert 0 < facts["split_persons"] < 0.03 * facts["users"]  # about 1.2% today
    with (world / "_truth" / "identities.csv").open(encoding="utf-8") as handle:
        rows = {(r["person_id"], r["id_type"], r["id_value"]) for r in csv.DictReader(handle)}
    persons = {person for person, _, _ in rows}
    split = {p for p in persons if "-" in p}
    assert len(split) == facts["split_persons"]
    assert {p.split("-")[0] for p in split} <= persons  # a split part sits beside its human's main person

    # Same-human pairs of ids that no record links, as a share of all same-human pairs: the recall a perfect
    # resolver loses on this world. Identity resolution must reach 0.99 against the humans, so keep it small.
    def pairs(counts: Counter) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    per_person = Counter(person for person, _, _ in rows)
    per_human = Counter(person.split("-")[0] for person, _, _ in rows)
    assert pairs(per_person) / pairs(per_human) > 0.99
