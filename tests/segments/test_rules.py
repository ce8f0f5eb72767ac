"""Rule segments (segments/<name>.yml): checked against the tag catalogue with file:line and a suggestion, and
compiled to SQL whose members equal an independent evaluation of the rule, the bitmap preview's size and the
nightly Spark job's members.

The warehouse tests use their own synthetic marts (bench/synthetic/segment_marts.py) plus a synthetic
`user_tag_periods` (the tag history view dbt builds), created once for the module.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nightshift.segments import validate_all
from nightshift.segments.bitmaps import CLICKHOUSE_SEGMENT_SETTINGS, clickhouse_sql
from nightshift.segments.catalogue import tag_catalogue
from nightshift.segments.files import SEGMENTS_DIR, SegmentError
from nightshift.segments.inspect import preview_segment
from nightshift.segments.loading import load_segment_files
from nightshift.segments.rules import parse_rule_file, parse_rule_text
from nightshift.segments.sampling import Sample
from tests.segments.test_sampling import expected_sample

HEADER = "name: {name}\nowner: tests\ndescription: {name}\n"
# Rules over the synthetic marts, each non-empty there; together they use every kind of condition.
RULES = {
    "tags_only": """
        all:
          - device_os: [ios, android]
          - not: {coupon_sensitivity: high}
          - any:
              - rfm_m_score: {">=": 4}
              - is_sharer: true
              - gender: female
          - nps_score: {"!=": 10}
    """,
    "numbers_lists_dates": """
        any:
          - all:
              - lifetime_spend: {">": 300.5, "<=": 40000}
              - categories_browsed: [phone, tablet]
          - all:
              - first_seen_date: {"<": 2026-08-01}
              - city: 北京
              - is_blacklisted: false
          - rfm_segment: {"not in": [champion, loyal, hibernating]}
    """,
    "history": """
        all:
          - any:
              - had: {tag: lifecycle_stage, value: active, on: 2026-11-05}
              - had: {tag: rfm_segment, on: 2026-11-19}
          - not: {had: {tag: lifecycle_stage, value: [churned, silent], on: 2026-11-19}}
          - account_age_days: {">=": 30}
    """,
}
HISTORY_DATES = ("2026-11-01", "2026-11-10")  # synthetic history: an older period, then the current value
# Sampled segments (sampling.py) go through the same paths: a sampled rule and a sampled SQL segment.
PILOT_RULE = Sample("tags_only_pilot", percent=20)
PILOT_SQL = Sample("pilot", size=150)
PILOT_SQL_BASE = "SELECT one_id FROM marts.user_profile WHERE can_receive_sms = 1"


def write_rule(directory: Path, name: str, rule: str) -> Path:
    path = directory / f"{name}.yml"
    body = "\n".join(line[4:] if line.startswith("    ") else line for line in rule.strip("\n").splitlines())
    path.write_text(HEADER.format(name=name) + "rule:\n" + "\n".join(f"  {line}" for line in body.splitlines()))
    return path


def rule_error(tmp_path: Path, rule: str, name: str = "bad") -> SegmentError:
    with pytest.raises(SegmentError) as caught:
        parse_rule_file(write_rule(tmp_path, name, rule))
    return caught.value


# -- validation against the catalogue (no warehouse) ----------------------------------------------------------------


def test_unknown_value_names_file_line_and_suggests_the_closest(tmp_path):
    error = rule_error(tmp_path, "all:\n  - gender: female\n  - device_os: iso\n")
    assert (error.path.name, error.line) == ("bad.yml", 7)  # header 3 lines, `rule:` 4, `all:` 5
    assert "unknown value 'iso' for tag `device_os`" in error.message and "`ios`" in error.hint


def test_unknown_tag_suggests_the_closest_code(tmp_path):
    error = rule_error(tmp_path, "any:\n  - rfm_segmnt: loyal\n")
    assert error.line == 6 and error.column == 7
    assert "unknown tag `rfm_segmnt`" in error.message and "`rfm_segment`" in error.hint


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('device_os: {">": ios}', "enum tag: it cannot be compared with >"),
        ("rfm_m_score: 7", "7 is outside `rfm_m_score`'s range 1..5"),
        ("rfm_m_score: high", "integer tag"),
        ("is_sharer: maybe", "true or false"),
        ("all: []", "needs a list of rules"),
        ("{device_os: ios, gender: male}", "one condition per rule item"),
        ('rfm_m_score: {"=>": 4}', "unknown comparison"),
        ("had: {tag: lifecycle_stage, value: active}", "missing `on:`"),
        ("had: {tag: lifecycle_stage, on: yesterday}", "is not a date"),
        ("had: {tag: lifetime_spend, value: 3, on: 2026-11-01}", "only be asked without `value:`"),
        ("all:\n  - device_os: [ios\n", "not valid YAML"),
    ],
)
def test_rule_mistakes_are_located_errors(tmp_path, rule, message):
    error = rule_error(tmp_path, rule)
    assert message in str(error) and error.path.name == "bad.yml" and error.line >= 4


def test_header_is_checked_like_sql_segments(tmp_path):
    path = tmp_path / "mine.yml"
    path.write_text("name: other\nowner: t\ndescription: d\nrule: {device_os: ios}\n")
    with pytest.raises(SegmentError, match="does not match the file name") as caught:
        parse_rule_file(path)
    assert caught.value.line == 1
    path.write_text("name: mine\nowner: t\nrule: {device_os: ios}\n")
    with pytest.raises(SegmentError, match="missing description"):
        parse_rule_file(path)
    path.write_bytes("name: mine\nowner: t\ndescription: 北京\nrule: {device_os: ios}\n".encode("gb18030"))
    with pytest.raises(SegmentError, match="not UTF-8"):
        parse_rule_file(path)


def test_compiled_sql_reads_the_profile_and_the_tag_history(tmp_path):
    segment = parse_rule_file(write_rule(tmp_path, "history", RULES["history"]))
    assert segment.kind == "rule" and segment.sql.startswith("SELECT one_id\nFROM marts.user_profile\nWHERE")
    assert "one_id IN (SELECT one_id FROM marts.user_tag_periods WHERE tag_code = 'rfm_segment'" in segment.sql
    assert "valid_from_date <= toDate('2026-11-19')" in segment.sql
    unsaved = parse_rule_text("{all: [{device_os: ios}, {is_sharer: false}]}")
    assert unsaved.sql.endswith("WHERE (\n    device_os = 'ios'\n    AND NOT is_sharer\n)")


def test_a_bad_rule_does_not_stop_the_other_segments(tmp_path):
    (tmp_path / "policy.yml").write_text("not: a segment\n")  # segments/policy.yml is no rule segment
    write_rule(tmp_path, "good_rule", "can_receive_app_push: true")
    write_rule(tmp_path, "typo", "device_os: iso")
    sql = (
        "-- name: {}\n-- owner: t\n-- description: d\nSELECT one_id FROM marts.user_profile WHERE can_receive_sms = 1\n"
    )
    (tmp_path / "good_sql.sql").write_text(sql.format("good_sql"))
    (tmp_path / "twice.sql").write_text(sql.format("twice"))
    write_rule(tmp_path, "twice", "can_receive_sms: true")
    report = validate_all(tmp_path)  # checked against the data contract: can_receive_sms is a contract column
    assert [(d.name, d.file.kind) for d in report.valid] == [
        ("good_rule", "rule"),
        ("good_sql", "sql"),
        ("twice", "sql"),
    ]
    assert sorted((e.path.name, e.line) for e in report.errors) == [("twice.yml", 1), ("typo.yml", 5)]


def test_shipped_segment_files_still_load():
    assert {segment.name for segment in load_segment_files(SEGMENTS_DIR)} >= {"ios_users", "high_value_customers"}


# -- the same members everywhere ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def marts(client) -> str:
    from bench.synthetic.segment_marts import create_synthetic_marts

    database = "segtest_rules"
    create_synthetic_marts(client, database, 2_000)
    client.command(f"DROP TABLE IF EXISTS {database}.user_tag_periods")
    client.command(
        f"CREATE TABLE {database}.user_tag_periods (one_id UInt64, tag_code String, tag_value Nullable(String), "
        "valid_from_date Date, valid_to_date Nullable(Date)) ENGINE = MergeTree ORDER BY (tag_code, one_id)"
    )
    older, current = HISTORY_DATES
    # the current value since `current` (one person in 3 only since the day after), and before it an older value
    # (or, for one person in 5, a period without the tag)
    client.command(
        f"INSERT INTO {database}.user_tag_periods SELECT one_id, tag_code, tag_value, "
        f"toDate('{current}') + one_id % 3 * 9, NULL FROM {database}.user_tags "
        "WHERE tag_code IN ('lifecycle_stage', 'rfm_segment')"
    )
    client.command(
        f"INSERT INTO {database}.user_tag_periods SELECT one_id, tag_code, "
        "if(one_id % 5 = 0, NULL, ['new', 'active', 'silent'][one_id % 3 + 1]), "
        f"toDate('{older}'), toDate('{current}') + one_id % 3 * 9 FROM {database}.user_tags "
        "WHERE tag_code IN ('lifecycle_stage', 'rfm_segment')"
    )
    return database


@pytest.fixture(scope="module")
def definitions(client, marts, tmp_path_factory):
    directory = tmp_path_factory.mktemp("rules")
    for name, rule in RULES.items():
        write_rule(directory, name, rule)
    pilot = write_rule(directory, "tags_only_pilot", RULES["tags_only"])
    pilot.write_text(pilot.read_text().replace("rule:", "sample: 20%\nrule:", 1))
    (directory / "profile_pilot.sql").write_text(
        "-- name: profile_pilot\n-- owner: t\n-- description: d\n-- sample: 150\n-- sample_salt: pilot\n"
        + PILOT_SQL_BASE
    )
    report = validate_all(directory, client, marts)
    assert report.errors == []
    return report.valid


def _truth(values: list[bool | None], connective: str) -> bool | None:
    """SQL's three-valued AND / OR."""
    decisive = connective == "any"
    if decisive in values:
        return decisive
    return None if None in values else not decisive


def _compare(value, operator: str, operand) -> bool | None:
    if isinstance(value, list):  # list tags: containment
        operands = operand if isinstance(operand, list) else [operand]
        contained = any(item in value for item in operands)
        return not contained if operator in ("!=", "not in") else contained
    if value is None:
        return None
    if isinstance(operand, bool):
        return (bool(value) == operand) != (operator == "!=")
    ops = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "in": lambda a, b: a in b,
        "not in": lambda a, b: a not in b,
    }
    return ops[operator](value, operand)


def evaluate(rule: dict, person: dict, periods: list[tuple]) -> bool | None:
    """The rule for one person, written independently of the compiler (for the test's expectations)."""
    ((key, value),) = rule.items()
    if key in ("all", "any"):
        return _truth([evaluate(item, person, periods) for item in value], key)
    if key == "not":
        inner = evaluate(value, person, periods)
        return None if inner is None else not inner
    if key == "had":
        day = value.get("on", value.get(True))  # YAML 1.1 reads the key `on` as true; the compiler reads the text
        wanted = value.get("value")
        wanted = None if wanted is None else {str(v) for v in (wanted if isinstance(wanted, list) else [wanted])}
        return any(
            tag == value["tag"] and tag_value is not None and (wanted is None or tag_value in wanted)
            and start <= day and (end is None or end > day)
            for one_id, tag, tag_value, start, end in periods
            if one_id == person["one_id"]
        )  # fmt: skip
    comparisons = value if isinstance(value, dict) else {"in" if isinstance(value, list) else "=": value}
    return _truth([_compare(person[key], op, operand) for op, operand in comparisons.items()], "all")


@pytest.fixture(scope="module")
def expected(client, marts) -> dict[str, set[int]]:
    rules = {name: yaml.safe_load(rule) for name, rule in RULES.items()}
    columns = sorted({"one_id", *(code for rule in RULES.values() for code in tag_catalogue() if code in rule)})
    result = client.query(f"SELECT {', '.join(columns)} FROM {marts}.user_profile")
    people = [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]
    periods_by_person: dict[int, list[tuple]] = {}
    for row in client.query(f"SELECT * FROM {marts}.user_tag_periods").result_rows:
        periods_by_person.setdefault(row[0], []).append(row)
    expected = {
        name: {p["one_id"] for p in people if evaluate(rule, p, periods_by_person.get(p["one_id"], [])) is True}
        for name, rule in rules.items()
    }
    reachable = {int(i) for (i,) in client.query(PILOT_SQL_BASE.replace("marts.", f"{marts}.")).result_rows}
    expected["tags_only_pilot"] = expected_sample(expected["tags_only"], PILOT_RULE)
    expected["profile_pilot"] = expected_sample(reachable, PILOT_SQL)
    return expected


def _members(client, definition, database) -> set[int]:
    rows = client.query(
        f"SELECT DISTINCT one_id FROM ({clickhouse_sql(definition, database)})", settings=CLICKHOUSE_SEGMENT_SETTINGS
    ).result_rows
    return {int(one_id) for (one_id,) in rows}


def test_compiled_sql_members_equal_the_rule_and_the_bitmap_preview(client, marts, definitions, expected):
    methods = {}
    for definition in definitions:
        members = _members(client, definition, marts)
        assert members, f"{definition.name} is empty on the synthetic data: the comparison would prove nothing"
        assert members == expected[definition.name], definition.name
        preview = preview_segment(client, definition.name, definitions, marts, sample_size=5, use_cache=False)
        assert preview.size == len(members) and set(preview.sample) <= members
        methods[definition.name] = preview.method
    # a rule over bitmap tags (enums, booleans, bounded integers, comparisons included) is all bitmap operations
    assert methods == {
        "tags_only": "tag bitmaps",
        "numbers_lists_dates": "profile scan",
        "history": "sql",
        "tags_only_pilot": "sql",
        "profile_pilot": "sql",
    }
    assert 0 < len(expected["tags_only_pilot"]) < len(expected["tags_only"]) and len(expected["profile_pilot"]) == 150


def test_rule_members_are_the_same_in_spark(spark, client, marts, definitions, tmp_path_factory):
    from nightshift.lake import table_to_lake
    from nightshift.segments.schema import warehouse_schema
    from nightshift.stages.segments import export_sql
    from spark_jobs.segments import materialise_segments

    lake, schema = tmp_path_factory.mktemp("lake"), warehouse_schema(client, marts)
    tables = sorted({"user_profile", *(table for d in definitions for table in d.tables)})
    assert tables == ["user_profile", "user_tag_periods"]
    frames = {}
    for table in tables:  # as the segments stage exports them
        table_to_lake(client, export_sql(table, schema[table], marts), str(lake / table))
        frames[table] = spark.read.parquet(str(lake / table))
    membership: dict[str, set[int]] = {d.name: set() for d in definitions}
    for row in materialise_segments(spark, frames, definitions).collect():
        membership[row.segment].add(row.one_id)
    assert membership == {d.name: _members(client, d, marts) for d in definitions}


def test_preview_of_an_unsaved_rule(client, marts, definitions):
    from nightshift.segments.validate import validate_segment

    unsaved = validate_segment(
        parse_rule_text("{all: [{device_os: ios}, {rfm_m_score: {'<': 3}}]}"), definitions[0].schema
    )
    preview = preview_segment(client, unsaved.name, [*definitions, unsaved], marts, use_cache=False)
    assert preview.method == "tag bitmaps"
    assert preview.size == len(_members(client, unsaved, marts)) > 0
    assert set(preview.overlaps) == {*RULES, "tags_only_pilot", "profile_pilot"}


def test_cli_shows_the_compiled_sql_and_previews_saved_and_unsaved_rules(client, marts, definitions, tmp_path):
    from typer.testing import CliRunner

    from nightshift.cli.segment import segment_app

    directory = definitions[0].path.parent
    runner = CliRunner()
    shown = runner.invoke(segment_app, ["show", "history", "--sql", "--dir", str(directory), "--database", marts])
    assert shown.exit_code == 0, shown.output
    assert shown.output.strip() == next(d.sql for d in definitions if d.name == "history")

    saved = runner.invoke(segment_app, ["preview", "tags_only", "--dir", str(directory), "--database", marts])
    size = len(_members(client, next(d for d in definitions if d.name == "tags_only"), marts))
    assert saved.exit_code == 0, saved.output
    assert f"tags_only: {size:,} people" in saved.output and "tag bitmaps" in saved.output

    rule = "{any: [{device_os: harmonyos}, {rfm_segment: champion}]}"
    args = ["preview", "--rule", rule, "--dir", str(directory), "--database", marts, "--no-cache"]
    unsaved = runner.invoke(segment_app, args)
    assert unsaved.exit_code == 0, unsaved.output
    assert "unsaved_rule: " in unsaved.output and "history" in unsaved.output  # overlaps with the saved ones

    typo = runner.invoke(segment_app, ["preview", "--rule", "{device_os: andriod}", "--database", marts])
    assert typo.exit_code != 0
    assert "<command line>:1:13: unknown value 'andriod' for tag `device_os`. Did you mean `android`?" in str(
        typo.exception
    )


def test_the_documented_example_compiles(tmp_path):
    docs = (Path(__file__).resolve().parents[2] / "docs" / "segments_without_sql.md").read_text()
    example = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "ios_champions_no_coupon_hunters.yml"
    path.write_text(example)
    segment = parse_rule_file(path)
    assert segment.sample == Sample("ios_champions_no_coupon_hunters", percent=20)
    assert "has(categories_browsed, 'phone')" in segment.sql and "marts.user_tag_periods" in segment.sql
