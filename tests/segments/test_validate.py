"""Segment files: header parsing, validation errors (file, line, column, suggested fix) and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.synthetic.segment_marts import profile_columns
from nightshift.cli.segment import segment_app
from nightshift.segments import SegmentError, parse_segment_file, validate_all, validate_segment
from nightshift.segments.files import SEGMENTS_DIR
from nightshift.segments.schema import contract_schema

HEADER = "-- name: {name}\n-- owner: growth\n-- description: a test segment\n"
SCHEMA = {
    "user_profile": profile_columns(),
    "user_tags": {"one_id": "UInt64", "tag_code": "String", "tag_value": "String", "computed_date": "Date"},
    "tag_bitmaps": {
        "tag_code": "LowCardinality(String)",
        "tag_value": "String",
        "people": "UInt64",
        "bitmap": "AggregateFunction(groupBitmap, UInt32)",
    },
}


def write_segment(directory: Path, name: str, body: str, header: str | None = None) -> Path:
    path = directory / f"{name}.sql"
    path.write_text((HEADER.format(name=name) if header is None else header) + body)
    return path


def error_for(tmp_path: Path, body: str, name: str = "seg") -> SegmentError:
    path = write_segment(tmp_path, name, body)
    with pytest.raises(SegmentError) as caught:
        validate_segment(parse_segment_file(path), SCHEMA)
    return caught.value


def test_a_valid_segment_gives_a_definition(tmp_path):
    path = write_segment(tmp_path, "sms", "SELECT one_id\nFROM marts.user_profile\nWHERE can_receive_sms = 1;\n")
    definition = validate_segment(parse_segment_file(path), SCHEMA)
    assert definition.name == "sms"
    assert definition.tables == {"user_profile"}
    assert definition.file.refresh == "daily"


def test_syntax_error_names_file_line_and_column(tmp_path):
    error = error_for(tmp_path, "SELECT one_id\nFROM marts.user_profile\nWHERE (can_receive_sms = 1\n")
    assert error.path.name == "seg.sql"
    assert (error.line, error.column) == (6, 26)  # 3 header lines + the third SQL line, at its last token
    assert "syntax error" in str(error) and "seg.sql:6:26" in str(error)


@pytest.mark.parametrize(
    "body",
    [
        "INSERT INTO marts.user_profile (one_id) SELECT 1",
        "DROP TABLE marts.user_profile",
        "ALTER TABLE marts.user_profile DELETE WHERE 1",
        "TRUNCATE TABLE marts.user_profile",
        "SYSTEM DROP DNS CACHE",
    ],
)
def test_dml_and_ddl_are_rejected(tmp_path, body):
    error = error_for(tmp_path, body)
    assert "read-only SELECT" in error.message
    assert error.line == 4


def test_two_statements_are_rejected(tmp_path):
    error = error_for(tmp_path, "SELECT one_id FROM marts.user_profile;\nSELECT one_id FROM marts.user_profile")
    assert "2 statements" in error.message


def test_settings_are_rejected(tmp_path):
    error = error_for(tmp_path, "SELECT one_id FROM marts.user_profile\nSETTINGS max_threads = 64")
    assert "SETTINGS is not allowed" in error.message
    assert error.line == 5


@pytest.mark.parametrize(
    ("body", "function"),
    [
        ("SELECT one_id FROM file('/etc/passwd', 'CSV', 'one_id UInt64')", "file"),
        ("SELECT one_id FROM url('http://example.com/ids.csv', CSV)", "url"),
        ("SELECT one_id FROM s3('https://bucket/ids.parquet')", "s3"),
        ("SELECT one_id FROM remote('host:9000', marts.user_profile)", "remote"),
        ("SELECT one_id FROM mysql('host:3306', 'db', 't', 'u', 'p')", "mysql"),
    ],
)
def test_table_functions_that_read_outside_are_rejected(tmp_path, body, function):
    error = error_for(tmp_path, body)
    assert f"table function {function}()" in error.message and "reads files, URLs" in error.message
    assert (error.line, error.column) == (4, 20)


def test_scalar_file_function_is_rejected(tmp_path):
    error = error_for(tmp_path, "SELECT one_id FROM marts.user_profile WHERE phone = file('/etc/hostname')")
    assert "file() reads data from outside" in error.message


def test_system_tables_are_rejected(tmp_path):
    error = error_for(tmp_path, "SELECT toUInt64(1) AS one_id FROM system.one")
    assert "system table system.one" in error.message


def test_non_marts_tables_are_rejected_with_the_marts_alternative(tmp_path):
    error = error_for(tmp_path, "SELECT one_id FROM raw.app__users")
    assert "raw.app__users is not a marts table" in error.message
    error = error_for(tmp_path, "SELECT one_id FROM intermediate.user_tags")
    assert "use marts.user_tags" in error.hint


def test_bitmap_tables_are_rejected_because_spark_cannot_read_them(tmp_path):
    error = error_for(
        tmp_path,
        "SELECT one_id\nFROM marts.user_profile\nWHERE one_id IN (SELECT arrayJoin(bitmapToArray(bitmap)) "
        "FROM marts.tag_bitmaps WHERE tag_code = 'gender')",
    )
    assert "marts.tag_bitmaps holds ClickHouse aggregate states" in error.message
    assert "marts.user_tags" in error.hint and error.line == 6


def test_unknown_table_suggests_the_closest(tmp_path):
    error = error_for(tmp_path, "SELECT one_id FROM marts.user_profiles")
    assert "Did you mean marts.user_profile?" in error.hint


def test_unknown_column_points_at_it_and_suggests_the_closest(tmp_path):
    error = error_for(tmp_path, "SELECT one_id\nFROM marts.user_profile\nWHERE can_recieve_sms = 1\n  AND phone != ''")
    assert "unknown column `can_recieve_sms`" in error.message
    assert "Did you mean `can_receive_sms`?" in error.hint
    assert (error.line, error.column) == (6, 7)


def test_unknown_qualified_column_in_a_join(tmp_path):
    error = error_for(
        tmp_path,
        "SELECT p.one_id AS one_id FROM marts.user_profile AS p\n"
        "INNER JOIN marts.user_tags AS t ON t.one_id = p.one_id\nWHERE t.tag_vale = 'champion'",
    )
    assert "unknown column `tag_vale` in t" in error.message and "`tag_value`" in error.hint
    assert error.line == 6


def test_missing_one_id_is_rejected(tmp_path):
    error = error_for(tmp_path, "SELECT phone FROM marts.user_profile")
    assert "no `one_id`" in error.message and "SELECT one_id FROM marts.user_profile" in error.hint


def test_nondeterministic_functions_are_rejected(tmp_path):
    error = error_for(tmp_path, "SELECT one_id FROM marts.user_profile WHERE last_active_date > today() - 30")
    assert "profile_date" in error.hint


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("SELECT one_id FROM marts.user_profile FINAL", "FINAL is not allowed"),
        ("SELECT one_id FROM marts.user_profile SAMPLE 0.1", "SAMPLE is not allowed"),
        ("SELECT one_id FROM marts.user_profile LIMIT 100", "LIMIT without a total ORDER BY"),
        ("SELECT one_id FROM marts.user_profile ORDER BY timezone LIMIT 1 BY timezone", "LIMIT BY"),
        ("SELECT one_id FROM marts.user_tags ARRAY JOIN [1, 2] AS n", "ARRAY JOIN"),
    ],
)
def test_clickhouse_only_clauses_that_spark_cannot_reproduce_are_rejected(tmp_path, body, expected):
    assert expected in str(error_for(tmp_path, body))


def test_aliases_ctes_and_joins_are_accepted(tmp_path):
    path = write_segment(
        tmp_path,
        "ok",
        "WITH sellers AS (SELECT one_id FROM marts.user_tags WHERE tag_value = 'sell')\n"
        "SELECT p.one_id AS one_id, lower(p.timezone) AS tz FROM marts.user_profile AS p\n"
        "INNER JOIN sellers ON sellers.one_id = p.one_id\n"
        "WHERE tz = 'asia/shanghai' AND arrayExists(x -> x = tz, ['a'])",
    )
    assert validate_segment(parse_segment_file(path), SCHEMA).tables == {"user_profile", "user_tags"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("-- name: seg\n-- description: no owner\n", "missing owner"),
        ("-- name: other\n-- owner: x\n-- description: d\n", "does not match the file name"),
        ("-- name: seg\n-- owner: x\n-- descripton: d\n", "Did you mean `-- description:`?"),
        ("-- name: seg\n-- owner: x\n-- description: d\n-- refresh: hourly\n", "refresh 'hourly'"),
        ("SELECT one_id FROM marts.user_profile\n", "missing name, owner, description"),
    ],
)
def test_bad_headers_are_reported(tmp_path, header, expected):
    path = write_segment(tmp_path, "seg", "SELECT one_id FROM marts.user_profile", header=header)
    with pytest.raises(SegmentError) as caught:
        parse_segment_file(path)
    assert expected in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.fixture(scope="module")
def marts(synthetic_marts) -> str:
    return synthetic_marts  # shared, read-only (tests/conftest.py)


def test_validate_all_keeps_going_past_invalid_files(tmp_path, client, marts):
    write_segment(tmp_path, "good", "SELECT one_id FROM marts.user_profile WHERE device_os = 'ios'")
    write_segment(tmp_path, "typo", "SELECT one_id FROM marts.user_profile WHERE devise_os = 'ios'")
    write_segment(tmp_path, "headerless", "SELECT one_id FROM marts.user_profile", header="")
    report = validate_all(tmp_path, client, marts)
    assert [d.name for d in report.valid] == ["good"]
    assert sorted(e.segment for e in report.errors) == ["headerless", "typo"]
    assert "Did you mean `device_os`?" in next(str(e) for e in report.errors if e.segment == "typo")


def test_the_warehouse_analyses_each_query(tmp_path, client, marts):
    write_segment(tmp_path, "fn", "SELECT one_id\nFROM marts.user_profile\nWHERE lowerUTF9(phone) = ''")
    report = validate_all(tmp_path, client, marts)
    assert report.valid == []
    assert "ClickHouse rejects the query" in str(report.errors[0]) and "lowerUTF9" in str(report.errors[0])


def test_every_shipped_segment_is_valid_against_the_marts(client, marts):
    report = validate_all(SEGMENTS_DIR, client, marts)
    assert report.errors == []
    assert len(report.valid) >= 6


def test_without_marts_the_contract_is_used(client, tmp_path):
    write_segment(tmp_path, "contract", "SELECT one_id FROM marts.user_profile WHERE can_receive_sms = 1")
    write_segment(tmp_path, "tagged", "SELECT one_id FROM marts.user_profile WHERE rfm_segment = 'loyal'")
    report = validate_all(tmp_path, client, "segtest_no_marts_here")
    assert [d.name for d in report.valid] == ["contract"]
    assert report.valid[0].schema == contract_schema()
    assert "unknown column `rfm_segment`" in str(report.errors[0]) and "data contract" in str(report.errors[0])


def test_cli_validate_lists_valid_segments_and_errors(tmp_path, client, marts):
    write_segment(tmp_path, "good", "SELECT one_id FROM marts.user_profile WHERE device_os = 'ios'")
    write_segment(tmp_path, "bad", "SELECT one_id FROM marts.user_profile WHERE can_recieve_sms = 1")
    result = CliRunner().invoke(segment_app, ["validate", "--dir", str(tmp_path), "--database", marts])
    assert result.exit_code == 1
    assert "good" in result.output and "1 valid, 1 invalid" in result.output
    assert "bad.sql:4:" in result.output and "can_receive_sms" in result.output
    result = CliRunner().invoke(segment_app, ["validate", "good", "--dir", str(tmp_path), "--database", marts])
    assert result.exit_code == 0, result.output


def test_cli_show_prints_both_dialects(client, marts):
    result = CliRunner().invoke(segment_app, ["show", "app_users_with_phone", "--database", marts])
    assert result.exit_code == 0, result.output
    assert "marts__user_profile" in result.output and "profile scan" in result.output
    result = CliRunner().invoke(segment_app, ["show", "reachable_by_sms", "--database", marts])
    assert result.exit_code == 0, result.output
    assert "tag bitmaps" in result.output  # boolean tags (0/1 columns, 'true'/'false' bitmaps) compile too
