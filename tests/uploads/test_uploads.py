"""Uploaded lists: matched through an identity map, with the match rate and every unmatched row's reason; hostile
files (wrong encoding, bad header, injected text, a million rows) give clear errors or rejected rows, never a crash.

The identity map here is a small table in this module's own database (the session warehouse's map belongs to the
pipeline tests), passed to `match_upload` as the map to match against.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nightshift.uploads.matching import match_upload
from nightshift.uploads.reading import MAX_VALUE_CHARS, UploadError, printable, read_upload

DATABASE = "segtest_uploads"
IDENTITY_MAP = f"SELECT id_type, id_value, one_id FROM {DATABASE}.identity_map"
MAP_ROWS = [
    ("phone", "+8613812345678", 1),
    ("unionid", "oUnion_1", 1),
    ("phone", "+8613987654321", 2),
    ("wechat_oa_openid", "oOA-2", 2),
    ("miniprogram_openid", "oMP-3", 3),
    ("app_user_id", "u3", 3),
    ("app_user_id", "u4", 4),
]


@pytest.fixture(scope="module")
def identity_map(client) -> str:
    client.command(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    client.command(f"DROP TABLE IF EXISTS {DATABASE}.identity_map")
    client.command(
        f"CREATE TABLE {DATABASE}.identity_map (id_type String, id_value String, one_id UInt64) "
        "ENGINE = MergeTree ORDER BY (id_type, id_value)"
    )
    client.insert(f"{DATABASE}.identity_map", MAP_ROWS, column_names=["id_type", "id_value", "one_id"])
    return IDENTITY_MAP


def upload(tmp_path: Path, text: str | bytes, name: str = "partner_list") -> Path:
    path = tmp_path / f"{name}.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_rows_are_matched_and_every_unmatched_row_has_its_reason(client, identity_map, tmp_path):
    path = upload(
        tmp_path,
        "\ufeffPhone,openid,app_user_id\n"  # a BOM and a capitalised header are fine
        "138 1234 5678,,\n"  # normalised to +8613812345678 -> 1
        "+86-139-8765-4321,oOA-2,\n"  # phone and openid agree -> 2
        ",oMP-3,u3\n"  # a mini program openid -> 3
        "13800000001,,\n"  # a valid number nobody has
        "12345,,\n"  # not a phone
        "+8613812345678,,u4\n"  # ids of two different people
        ",,\n"  # no id
        "13812345678,,,extra\n"  # too many fields
        "\n",  # a blank line is skipped
    )
    result = match_upload(client, read_upload(path), identity_map=identity_map)
    assert (result.rows, result.matched_rows, result.members) == (8, 3, [1, 2, 3])
    assert result.match_rate == pytest.approx(3 / 8)
    assert [(row.line, row.reason) for row in result.unmatched] == [
        (5, "not in the identity map"),
        (6, "not a valid phone"),
        (7, "ids of different people (one_ids 1, 4)"),
        (8, "no id in the row"),
        (9, "4 fields, the header has 3"),
    ]
    assert result.unmatched[0].values == "phone=+8613800000001"  # shown normalised
    assert result.reason_counts == {
        "ids of different people": 1,
        "no id in the row": 1,
        "not a valid phone": 1,
        "not in the identity map": 1,
        "wrong number of fields": 1,
    }


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("phone\n13812345678\n北京,\n".encode("gbk"), 3, "not UTF-8"),
        ("phone\n".encode("utf-16"), 1, "not UTF-8"),
        (b"phone\n138\x00\n", 2, "NUL bytes"),
        ("phon,unionid\n1\n", 1, "Did you mean `phone`?"),
        ("phone,phone\n1,2\n", 1, "appears twice"),
        ("email\na@b.c\n", 1, "Id columns are: phone, unionid, openid, app_user_id"),
        ("", 1, "the file is empty"),
        ("phone\n", 2, "no rows"),
        ('phone\n"13812345678\n', 2, "cannot be read"),
    ],
)
def test_broken_files_give_located_errors(tmp_path, content, line, message):
    with pytest.raises(UploadError) as caught:
        read_upload(upload(tmp_path, content))
    assert caught.value.line == line and message in str(caught.value)
    assert str(caught.value).startswith(f"{tmp_path / 'partner_list.csv'}:{line}: ")


def test_injected_text_is_data_and_is_printed_harmlessly(client, identity_map, tmp_path):
    injections = [
        "'); DROP TABLE segtest_uploads.identity_map; --",
        '=HYPERLINK("http://evil","x")',
        "oUnion_1' OR '1'='1",
        "\x1b[31mred\x1b[0m",
        "x" * (MAX_VALUE_CHARS + 1),
    ]
    lines = "\n".join('"' + value.replace('"', '""') + '"' for value in injections)
    result = match_upload(
        client, read_upload(upload(tmp_path, f"unionid\n{lines}\noUnion_1\n")), identity_map=identity_map
    )
    assert result.members == [1] and result.matched_rows == 1
    reasons = [row.reason for row in result.unmatched]
    assert reasons[:4] == ["not a valid unionid"] * 4 and reasons[4].startswith("a value of 129 characters")
    shown = [row.values for row in result.unmatched]
    assert shown[1].startswith("unionid='=HYPERLINK")  # a spreadsheet would not run it
    assert "\x1b" not in shown[3]  # escape sequences are escaped, not sent to the terminal
    assert client.query(f"SELECT count() FROM {DATABASE}.identity_map").result_rows[0][0] == len(MAP_ROWS)
    assert printable("-1+1") == "'-1+1"


def test_a_million_rows_are_matched_without_trouble(client, identity_map, tmp_path):
    ids = [f"u{n}" for n in range(1_000_000)]
    path = upload(tmp_path, "app_user_id\n" + "\n".join(ids) + "\n", name="big_list")
    started = time.perf_counter()
    result = match_upload(client, read_upload(path), identity_map=identity_map)
    seconds = time.perf_counter() - started
    assert result.rows == 1_000_000 and result.members == [3, 4] and result.matched_rows == 2
    assert result.reason_counts == {"not in the identity map": 999_998} and result.unmatched_rows == 999_998
    assert len(result.unmatched) == 1_000 and result.unmatched[0].values == "app_user_id=u0"
    print(f"1,000,000-row upload read and matched in {seconds:.1f} s")


def test_an_upload_is_previewed_and_overlapped_like_a_segment(client, identity_map, synthetic_marts, tmp_path):
    from nightshift.segments import validate_all
    from nightshift.segments.files import SEGMENTS_DIR
    from nightshift.segments.inspect import preview_segment
    from nightshift.uploads.preview import UPLOADED_LIST, upload_plans

    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "partner.csv").write_text("phone,app_user_id\n13812345678,\n13987654321,\n,u3\n,nobody\n")
    (uploads / "broken.csv").write_text("phon\n1\n")
    definitions = validate_all(SEGMENTS_DIR, client, synthetic_marts).valid
    plans, problems = upload_plans(client, uploads, {d.name for d in definitions}, identity_map)
    assert len(problems) == 1 and "Did you mean `phone`?" in problems[0]
    try:
        preview = preview_segment(
            client, "partner", definitions, synthetic_marts, use_cache=False, extra_plans=[p for p, _ in plans]
        )
        ios = preview_segment(client, "ios_users", definitions, synthetic_marts, extra_plans=[p for p, _ in plans])
    finally:
        for _, scratch in plans:
            client.command(f"DROP TABLE {scratch}")
    assert (preview.method, preview.size, sorted(preview.sample)) == (UPLOADED_LIST, 3, [1, 2, 3])
    ios_members = {
        int(one_id)
        for (one_id,) in client.query(
            f"SELECT one_id FROM {synthetic_marts}.user_profile WHERE device_os = 'ios' AND one_id IN (1, 2, 3)"
        ).result_rows
    }
    assert preview.overlaps["ios_users"] == len(ios_members) == ios.overlaps["partner"]


def test_cli_upload_check_names_the_problem(tmp_path):
    from typer.testing import CliRunner

    from nightshift.cli.segment import segment_app

    path = upload(tmp_path, "phone\n138\x00\n")
    result = CliRunner().invoke(segment_app, ["upload", "partner_list", "--file", str(path)])
    assert result.exit_code != 0 and f"{path}:2: the file contains NUL bytes" in str(result.exception)
