"""The segments stage with an uploaded list: the list is matched through the identity map as of the run date and
joins the membership (ClickHouse and the lake copy the audiences stage reads) like any segment; a list named
like a segment, or unusable, is recorded with its error and skipped, never stopping the segments."""

from __future__ import annotations

from datetime import date

import pytest

from bench.synthetic.segment_marts import create_synthetic_marts
from nightshift.stages.context import StageContext

RUN_DATE = date(2031, 2, 3)  # a date no other test writes
MAP = [(1, "phone", "+8613812345678"), (2, "unionid", "oU2"), (3, "app_user_id", "u3"), (4, "app_user_id", "u4")]


@pytest.fixture(scope="module")
def stage_run(client, settings, tmp_path_factory):
    from nightshift.stages import segments
    from nightshift.warehouse.partitions import reset_partitions

    create_synthetic_marts(client, "marts", 200)
    reset_partitions(client, RUN_DATE, ["identity.identity_map_daily"])
    client.insert(
        "identity.identity_map_daily",
        [[RUN_DATE, one_id, id_type, value, RUN_DATE, RUN_DATE] for one_id, id_type, value in MAP],
        column_names=["run_date", "one_id", "id_type", "id_value", "first_seen_date", "last_seen_date"],
    )
    directory = tmp_path_factory.mktemp("segments")
    (directory / "everyone.sql").write_text("-- name: everyone\n-- owner: t\n-- description: d\n"
                                            "SELECT one_id FROM marts.user_profile\n")  # fmt: skip
    uploads = directory / "uploads"
    uploads.mkdir()
    (uploads / "partner.csv").write_text("phone,unionid,app_user_id\n13812345678,,\n,oU2,\n,,u3\n,,nobody\n")
    (uploads / "everyone.csv").write_text("app_user_id\nu4\n")  # the name of a segment
    (uploads / "broken.csv").write_bytes("phone\n北京\n".encode("gbk"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segments, "SEGMENTS_DIR", directory)
        result = segments.run(StageContext(run_date=RUN_DATE, settings=settings, _client=client))
    yield result
    client.command("ALTER TABLE identity.identity_map_daily DROP PARTITION {d:Date}", parameters={"d": RUN_DATE})
    for table in ("marts.user_profile", "marts.user_tags", "marts.tag_bitmaps"):
        client.command(f"DROP TABLE IF EXISTS {table}")


def test_an_uploaded_list_is_a_segment_like_any_other(client, stage_run):
    members = client.query(
        "SELECT segment, groupArraySorted(10)(one_id) FROM audience.segment_membership "
        "WHERE run_date = {d:Date} AND segment != 'everyone' GROUP BY segment",
        parameters={"d": RUN_DATE},
    ).result_rows
    assert members == [("partner", [1, 2, 3])]
    lake = client.query(
        f"SELECT count() FROM file('{stage_run.outputs['membership_parquet']}/*.parquet') WHERE segment = 'partner'"
    ).result_rows[0][0]
    assert lake == 3  # the audiences stage reads the lake copy
    changes = client.query(
        "SELECT members FROM audience.segment_changes WHERE run_date = {d:Date} AND segment = 'partner'",
        parameters={"d": RUN_DATE},
    ).result_rows
    assert changes == [(3,)]
    assert "partner: 3/4 rows matched (75%)" in stage_run.summary and "2 upload(s) skipped" in stage_run.summary


def test_upload_outcomes_are_recorded(client, stage_run):
    matches = dict(
        (upload, (rows, matched, reasons, error))
        for upload, rows, matched, reasons, error in client.query(
            "SELECT upload, rows, matched_rows, unmatched_by_reason, error FROM audience.upload_matches "
            "WHERE run_date = {d:Date}",
            parameters={"d": RUN_DATE},
        ).result_rows
    )
    assert matches["partner"] == (4, 3, {"not in the identity map": 1}, "")
    assert "a segment is already called 'everyone'" in matches["everyone"][3]
    assert "not UTF-8" in matches["broken"][3]
    unmatched = client.query(
        "SELECT upload, line, ids, reason FROM audience.upload_unmatched WHERE run_date = {d:Date}",
        parameters={"d": RUN_DATE},
    ).result_rows
    assert unmatched == [("partner", 5, "app_user_id=nobody", "not in the identity map")]
