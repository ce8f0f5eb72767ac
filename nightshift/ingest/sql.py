"""SQL that validates and normalises a batch of lines inside ClickHouse, generated from an Entity declaration.

One set-based pass from the lines table to the raw and quarantine tables, built from three nested SELECTs:
1. `base_select`: parse each record ONCE (`JSONExtract` into a named tuple of strings), drop exact duplicate
   lines, keep unknown keys as `_extra`.
2. `checked_select`: convert every field to its declared type and pick the first problem of the line, if any,
   as (reason_code, reason).
3. `routed_select`: the raw-table row of every line plus its routing columns. The rows go into a Null table whose
   materialized views (`routing_views`) send the rows without a problem to the raw table, the others to
   quarantine, and count every file's distinct lines and unknown keys: nothing is materialised in between.
Field columns of the inner SELECTs are positional (`v1`, `o1`, ...) so any field name is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from nightshift.ingest import phones
from nightshift.sources.model import Entity, Field
from nightshift.warehouse.schema import ARRAY_TYPES, KEEPS_ORIGINAL, raw_columns

# Naive timestamps are local time of the platforms (Beijing); the day of a drop is also a Beijing day.
LOCAL_TIMEZONE = "Asia/Shanghai"
ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
_VALUE_IN_MESSAGE = 120  # characters of a bad value quoted in a quarantine reason
_FIX = "fix it at the source and deliver the file again"

TYPE_DESCRIPTIONS: dict[str, str] = {
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean (true/false/1/0)",
    "date": "a date (YYYY-MM-DD or YYYYMMDD)",
    "timestamp": "a timestamp (epoch seconds or milliseconds, or ISO-8601; without an offset it is read as "
    f"{LOCAL_TIMEZONE} time)",
    "string_array": "a JSON array of strings",
    "int_array": "a JSON array of integers",
    "json": "valid JSON",
}


def lit(value: str) -> str:
    """A ClickHouse string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _null_is_empty(field: Field) -> bool:
    """True when the field reads JSON null, an absent key and '' alike (all three mean "no value")."""
    return "" in field.null_values


def _tuple_type(fields: tuple[Field, ...]) -> str:
    # JSONExtract into String gives '' where Nullable(String) gives NULL (and the same text otherwise), and a
    # plain String column is cheaper: used where '' means "no value" anyway.
    return (
        "Tuple("
        + ", ".join(f"{_ident(f.name)} {'String' if _null_is_empty(f) else 'Nullable(String)'}" for f in fields)
        + ")"
    )


@dataclass(frozen=True)
class LineKinds:
    """What the lines of a batch carry, so that the SQL reads each kind the cheapest way.

    - `records`: some line's record is in the `record` column (CSV split in Python, non-UTF-8 JSON lines);
      without it every JSON line is its own record and is read as it is, not copied.
    - `json`: some line is read as a JSON object (a JSON line or a record).
    - `fields`: some line carries its values in `fields`, one per declared field in declaration order (NULL where
      the file's header lacks the field): CSV split by the engine whose header names only declared fields. Such
      a line's values are what JSONExtract would read from its record, without building or parsing the record.
    """

    records: bool = True
    json: bool = True
    fields: bool = False


def _record(kinds: LineKinds) -> str:
    return "if(record = '', raw_line, record)" if kinds.records else "raw_line"


def _by_kind(kinds: LineKinds, json_sql: str, fields_sql: str) -> str:
    """`json_sql` for lines read as JSON, `fields_sql` for lines with fields (short-circuit `if` when mixed)."""
    if not kinds.fields:
        return json_sql
    if not kinds.json:
        return fields_sql
    return f"if(notEmpty(fields), {fields_sql}, {json_sql})"


def _tuple_from_fields(entity: Entity, fields: tuple[Field, ...]) -> str:
    """The `_tuple_type(fields)` tuple from the `fields` column: an absent field is NULL, or '' where the tuple
    holds a plain String (as JSONExtract gives for an absent key)."""
    positions = {f.name: i for i, f in enumerate(entity.fields, start=1)}
    elements = [
        f"ifNull(fields[{positions[f.name]}], '')" if _null_is_empty(f) else f"fields[{positions[f.name]}]"
        for f in fields
    ]
    return f"CAST(tuple({', '.join(elements)}), {lit(_tuple_type(fields))})"


def _extracted(entity: Entity, fields: tuple[Field, ...], kinds: LineKinds) -> str:
    return _by_kind(
        kinds, f"JSONExtract({_record(kinds)}, {lit(_tuple_type(fields))})", _tuple_from_fields(entity, fields)
    )


def phone_values_select(entity: Entity, lines_table: str, kinds: LineKinds) -> str:
    """Distinct values of the phone fields outside the fast shape, read straight from the records (one light
    extraction of those fields only). A superset of what `checked_select` looks up (values of lines that are not
    JSON objects come along): the phone map is a lookup, and an unused entry changes nothing."""
    phone_fields = tuple(f for f in entity.fields if f.type == "phone")
    values = "[" + ", ".join(f"tupleElement(t, {lit(f.name)})" for f in phone_fields) + "]"
    return f"""
SELECT DISTINCT assumeNotNull(value) FROM (
    SELECT arrayJoin({values}) AS value
    FROM (SELECT {_extracted(entity, phone_fields, kinds)} AS t FROM {lines_table}
          WHERE parse_error = '')
)
WHERE value IS NOT NULL AND NOT {phones.fast_shape_sql("value")}"""


def base_select(entity: Entity, lines_table: str, deduplicate: bool, kinds: LineKinds = LineKinds()) -> str:
    """SELECT of one row per distinct line, fields extracted as strings (see `LineKinds` for how each kind of
    line is read)."""
    field_columns = []
    for index, field in enumerate(entity.fields, start=1):
        raw = f"tupleElement(t, {lit(field.name)})"
        nulls = ", ".join(lit(v) for v in field.null_values)
        # A line that is not a JSON object has no fields (JSONExtract would read an array's items by position).
        # `is_object` comes last: the first operand of OR is evaluated for every row, so the extraction runs once
        # for all fields; behind a short-circuit operand it would run again for each field.
        is_null = (
            f"{raw} IN ({nulls})"
            if _null_is_empty(field)
            else f"{raw} IS NULL" + (f" OR {raw} IN ({nulls})" if nulls else "")
        )
        field_columns.append(f"if({is_null} OR NOT is_object, NULL, {raw}) AS v{index}")
        if field.type in KEEPS_ORIGINAL:
            original = raw if _null_is_empty(field) else f"ifNull({raw}, '')"
            field_columns.append(f"if(is_object, {original}, '') AS o{index}")
    declared = ", ".join(lit(f.name) for f in entity.fields)
    dedup = "ORDER BY file_idx, line_number LIMIT 1 BY raw_line" if deduplicate else ""
    # JSONExtractKeys parses the line anyway and gives [] when it is not valid JSON: a separate isValidJSON pass is
    # only needed for lines that could be the empty object. A line with fields has no undeclared keys.
    keys = _by_kind(kinds, "if(parse_error = '', JSONExtractKeys(rec), [])", "CAST([], 'Array(String)')")
    # the record starts with '{' after spaces (as startsWith(trimLeft(rec), '{')), without a trimmed copy
    is_object = _by_kind(
        kinds,
        "parse_error = '' AND match(rec, '^ *[{]') AND (notEmpty(keys) OR (length(rec) < 16 AND isValidJSON(rec)))",
        "parse_error = ''",
    )
    return f"""
SELECT file_idx, line_number, raw_line, if(is_object, '', leftUTF8(toValidUTF8(raw_line), 60)) AS line_head,
       parse_error, parse_detail, is_object, extra_keys,
       if(empty(extra_keys), '', concat('{{', arrayStringConcat(
           arrayMap(k -> concat(toJSONString(k), ':', JSONExtractRaw(rec, k)), extra_keys), ','), '}}')) AS extra_json,
       {", ".join(field_columns)}
FROM (
    SELECT file_idx, line_number, raw_line, parse_error, parse_detail,
           {_record(kinds)} AS rec,
           {keys} AS keys,
           {is_object} AS is_object,
           {_extracted(entity, entity.fields, kinds)} AS t,
           arrayFilter(k -> k NOT IN ({declared}), keys) AS extra_keys
    FROM {lines_table}
    {dedup}
)"""


def _quoted_value(value_sql: str) -> str:
    return f"concat('''', leftUTF8(toValidUTF8({value_sql}), {_VALUE_IN_MESSAGE}), '''')"


def _conversion(field: Field, value: str, phone_map: str) -> tuple[str, str]:
    """(normalised value expression, expression true when a present value is bad) for one field."""
    x = f"trimBoth({value})"
    kind = field.type
    if kind == "string":
        return value, "0"
    if kind == "int":
        converted = f"toInt64OrNull({x})"
    elif kind == "float":
        converted = f"toFloat64OrNull({x})"
    elif kind == "bool":
        converted = f"multiIf(lower({x}) IN ('true', '1'), toUInt8(1), lower({x}) IN ('false', '0'), toUInt8(0), NULL)"
    elif kind == "date":
        digits = f"replaceAll({x}, '-', '')"
        candidate = (
            f"toDateOrNull(concat(substring({digits}, 1, 4), '-', substring({digits}, 5, 2), '-', "
            f"substring({digits}, 7, 2)))"
        )
        shape = f"(match({x}, '^\\\\d{{4}}-\\\\d{{2}}-\\\\d{{2}}$') OR match({x}, '^\\\\d{{8}}$'))"
        # toDateOrNull is lenient (Feb 30 -> Mar 2): keep the date only if it formats back to the input.
        converted = f"if({shape} AND formatDateTime({candidate}, '%Y%m%d') = {digits}, {candidate}, NULL)"
    elif kind == "timestamp":
        converted = (
            "multiIf("
            f"match({x}, '^\\\\d{{9,10}}$'), toDateTime64(toInt64OrZero({x}), 3, 'UTC'), "
            f"match({x}, '^\\\\d{{9,10}}\\\\.\\\\d{{1,3}}$'), toDateTime64(toDecimal64OrZero({x}, 3), 3, 'UTC'), "
            f"match({x}, '^\\\\d{{12,13}}$'), fromUnixTimestamp64Milli(toInt64OrZero({x}), 'UTC'), "
            f"match({x}, {lit(ISO_TIMESTAMP)}), "
            f"toTimeZone(parseDateTime64BestEffortOrNull({x}, 3, {lit(LOCAL_TIMEZONE)}), 'UTC'), "
            "NULL)"
        )
    elif kind == "amount_fen":
        if field.amount_in_major_units:
            converted = (
                f"if(match({x}, '^-?\\\\d+(\\\\.\\\\d{{1,2}})?$'), toInt64(toDecimal128OrNull({x}, 2) * 100), NULL)"
            )
        else:
            converted = f"if(match({x}, '^-?\\\\d+$'), toInt64OrNull({x}), NULL)"
    elif kind == "phone":
        e164 = (
            f"if({phones.fast_shape_sql(value)}, {phones.fast_e164_sql(value)}, "
            f"joinGet({lit(phone_map)}, 'e164', assumeNotNull({value})))"
        )
        converted = f"if({value} IS NULL, NULL, nullIf({e164}, ''))"
    elif kind in ARRAY_TYPES:
        # Arrays cannot be Nullable in ClickHouse: an absent or bad array is [], and `bad` says which it was.
        text = f"ifNull({value}, '')"  # JSON functions on a Nullable argument would return Nullable(Array)
        is_array = f"(isValidJSON({text}) AND JSONType({text}) = 'Array')"
        if kind == "string_array":
            elements_ok = f"NOT has(JSONExtract({text}, 'Array(Nullable(String))'), NULL)"
            extracted = f"JSONExtract({text}, 'Array(String)')"
        else:
            elements_ok = f"arrayAll(e -> match(e, '^-?\\\\d+$'), JSONExtractArrayRaw({text}))"
            extracted = f"JSONExtract({text}, 'Array(Int64)')"
        is_ok = f"ifNull({is_array} AND {elements_ok}, 0)"
        return f"if({is_ok}, {extracted}, [])", f"({value} IS NOT NULL AND NOT {is_ok})"
    elif kind == "json":
        return value, f"({value} IS NOT NULL AND NOT isValidJSON({value}))"
    else:  # pragma: no cover - FieldType is a closed Literal
        raise ValueError(f"field {field.name!r} has unknown type {kind!r}")
    return converted, f"({value} IS NOT NULL AND ({converted}) IS NULL)"


def _bad_reason(field: Field, value: str) -> tuple[str, str]:
    """(reason_code, reason expression) for a present value that failed its conversion."""
    quoted = _quoted_value(value)
    name = f"`{field.name}`"
    if field.type == "phone":
        return "invalid_phone", (
            f"concat('field {name} value ', {quoted}, ' is not a valid phone number (read with default region "
            f"{phones.DEFAULT_REGION}); fix it at the source or leave it empty, then deliver the file again')"
        )
    if field.type == "amount_fen":
        expected = (
            "an amount with at most two decimals"
            if field.amount_in_major_units
            else "an amount in integer fen (no decimals)"
        )
    else:
        expected = TYPE_DESCRIPTIONS[field.type]
    return "wrong_type", f"concat('field {name} value ', {quoted}, ' is not {expected}; {_FIX}')"


def checked_select(
    entity: Entity, lines_table: str, deduplicate: bool, kinds: LineKinds, phone_map: str, drop_date: date
) -> str:
    """SELECT over `base_select`: normalised columns `n<i>`, `_is_late`, reason_code and reason."""
    columns, codes, reasons = [], [], []
    codes.append("parse_error != '', parse_error")
    reasons.append("parse_error != '', parse_detail")
    if entity.format == "jsonl":
        codes.append("NOT is_object, 'malformed_json'")
        reasons.append(
            "NOT is_object, concat('line is not a valid JSON object (it starts ', "
            f"{_quoted_value('line_head')}, '); fix the producer so that every line is one "
            "JSON object, then deliver the file again')"
        )
    for index, field in enumerate(entity.fields, start=1):
        if field.required:
            codes.append(f"v{index} IS NULL, 'missing_required'")
            reasons.append(
                f"v{index} IS NULL, 'required field `{field.name}` is missing or empty, so the record cannot be "
                f"loaded; {_FIX}'"
            )
    for index, field in enumerate(entity.fields, start=1):
        converted, is_bad = _conversion(field, f"v{index}", phone_map)
        columns.append(f"{converted} AS n{index}")
        columns.append(f"{is_bad} AS bad{index}")
        if is_bad != "0":
            code, reason = _bad_reason(field, f"v{index}")
            codes.append(f"bad{index}, {lit(code)}")
            reasons.append(f"bad{index}, {reason}")
    late = "toUInt8(0)"
    if entity.event_time_field:
        index = [f.name for f in entity.fields].index(entity.event_time_field) + 1
        kind = entity.fields[index - 1].type
        event_day = f"toDate(n{index}, {lit(LOCAL_TIMEZONE)})" if kind == "timestamp" else f"n{index}"
        late = f"toUInt8(ifNull({event_day} < toDate({lit(drop_date.isoformat())}), 0))"
    kept = [f"n{i}" for i in range(1, len(entity.fields) + 1)]
    kept += [f"o{i}" for i, f in enumerate(entity.fields, start=1) if f.type in KEEPS_ORIGINAL]
    return f"""
SELECT file_idx, line_number, raw_line, extra_keys, extra_json, {", ".join(kept)}, {late} AS is_late,
       multiIf({", ".join(codes)}, '') AS reason_code,
       multiIf({", ".join(reasons)}, '') AS reason
FROM (SELECT *, {", ".join(columns)} FROM ({base_select(entity, lines_table, deduplicate, kinds)}))"""


def raw_projection(entity: Entity) -> str:
    """Expressions, in raw-table column order, turning a checked row into a raw-table row."""
    expressions = []
    for index, field in enumerate(entity.fields, start=1):
        value = f"n{index}"
        if field.required and field.type not in ARRAY_TYPES:
            value = f"assumeNotNull({value})"
        expressions.append(value)
        if field.type in KEEPS_ORIGINAL:
            expressions.append(f"o{index}")
    expressions += [
        "{drop_date:Date}",
        "{batch_id:String}",
        "arrayElement({files:Array(String)}, file_idx)",
        "line_number",
        "{ingested_at:DateTime64(3, 'UTC')}",
        "is_late",
        "extra_json",
    ]
    assert len(expressions) == len(raw_columns(entity))
    return ", ".join(expressions)


# Routing columns of the Null table beside the raw-table columns; no declared field may take these names.
ROUTING_COLUMNS = (
    ("__file_idx", "UInt32"),
    ("__raw_line", "String"),
    ("__extra_keys", "Array(String)"),
    ("__reason_code", "LowCardinality(String)"),
    ("__reason", "String"),
)


def routed_columns(entity: Entity) -> list[tuple[str, str]]:
    columns = raw_columns(entity)
    clash = {name for name, _ in columns} & {name for name, _ in ROUTING_COLUMNS}
    if clash:
        raise ValueError(f"{entity.source}.{entity.name} declares fields named like routing columns: {sorted(clash)}")
    return columns + list(ROUTING_COLUMNS)


def routed_select(
    entity: Entity, lines_table: str, deduplicate: bool, kinds: LineKinds, phone_map: str, drop_date: date
) -> str:
    """Every distinct line as its raw-table row (query parameters: drop_date, batch_id, files, ingested_at) plus
    the routing columns, in `routed_columns` order."""
    checked = checked_select(entity, lines_table, deduplicate, kinds, phone_map, drop_date)
    # Only quarantined rows need their line: the others carry '' (the insert gathers every column into large
    # blocks, and a copy of every line would double the memory the batch needs).
    raw_line = "if(reason_code = '', '', raw_line)"
    return f"SELECT {raw_projection(entity)}, file_idx, {raw_line}, extra_keys, reason_code, reason FROM ({checked})"


def routing_views(entity: Entity, routed_table: str, raw_stage: str, quarantine: str, stats: str) -> list[str]:
    """(target table, AS SELECT) of the materialized views on the Null table `routed_table`: rows without a
    problem -> `raw_stage`, the others -> `quarantine` (with the raw line, made valid UTF-8), and per file the
    count of distinct lines, of lines with unknown keys and those keys -> `stats` (one row per file and block)."""
    raw = ", ".join(f"`{name}`" for name, _ in raw_columns(entity))
    return [
        (raw_stage, f"SELECT {raw} FROM {routed_table} WHERE __reason_code = ''"),
        (
            quarantine,
            f"SELECT _drop_date, {lit(entity.source)} AS source, {lit(entity.name)} AS entity, "
            "_source_file AS source_file, _line_number AS line_number, toValidUTF8(__raw_line) AS raw_line, "
            "__reason_code AS reason_code, __reason AS reason, _batch_id, _ingested_at "
            f"FROM {routed_table} WHERE __reason_code != ''",
        ),
        (
            stats,
            "SELECT __file_idx AS file_idx, count() AS distinct_lines, countIf(_extra != '') AS drift_rows, "
            f"groupUniqArrayArray(__extra_keys) AS extra_keys FROM {routed_table} GROUP BY __file_idx",
        ),
    ]
