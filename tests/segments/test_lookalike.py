"""Lookalike expansion recovers a planted group: seeded with half of it, the top N lookalikes hit the hidden half
far more often than chance (precision at N and lift, printed), and every lookalike is explained by its tags."""

from __future__ import annotations

import pytest

from nightshift.segments.files import SegmentFile
from nightshift.segments.lookalike import expand_segment
from nightshift.segments.validate import validate_segment

PLANTED = "device_os = 'ios' AND coupon_sensitivity = 'high'"


def definition(client, marts, name: str, where: str):
    from pathlib import Path

    from nightshift.segments.schema import marts_schema

    sql = f"SELECT one_id FROM marts.user_profile WHERE {where}"
    return validate_segment(SegmentFile(name, Path(f"{name}.sql"), sql, 1), marts_schema(client, marts))


def test_a_hidden_half_of_a_planted_group_is_recovered_well_above_chance(client, synthetic_marts):
    marts = synthetic_marts
    planted = {
        int(one_id)
        for (one_id,) in client.query(f"SELECT one_id FROM {marts}.user_profile WHERE {PLANTED}").result_rows
    }
    seed, hidden = {i for i in planted if i % 2 == 0}, {i for i in planted if i % 2 == 1}
    assert len(seed) >= 20 and len(hidden) >= 20, "the planted group is too small to measure anything"
    expansion = expand_segment(
        client, definition(client, marts, "seed", f"({PLANTED}) AND one_id % 2 = 0"), len(hidden), marts
    )
    found = {lookalike.one_id for lookalike in expansion.lookalikes}
    assert len(found) == len(hidden) and not found & seed  # the seed itself is never in its expansion
    precision = len(found & hidden) / len(hidden)
    base_rate = len(hidden) / (expansion.people - expansion.seed_size)
    lift = precision / base_rate
    print(f"lookalike: seed {len(seed)}, hidden {len(hidden)}, precision@N {precision:.2f}, lift {lift:.1f}")
    assert lift > 5
    top = expansion.lookalikes[0]
    assert top.drivers and top.drivers[0][1] > 0 and "=" in top.drivers[0][0]
    assert top.score == pytest.approx(max(look.score for look in expansion.lookalikes))
    heaviest = {(w.tag_code, w.tag_value) for w in expansion.weights[:3]}
    assert ("device_os", "ios") in heaviest or ("coupon_sensitivity", "high") in heaviest


def test_cli_expand_prints_and_writes_scores_and_drivers(client, synthetic_marts, tmp_path):
    import csv

    from typer.testing import CliRunner

    from nightshift.cli.segment import segment_app

    output = tmp_path / "lookalikes.csv"
    args = ["expand", "ios_users", "--to", "25", "--output", str(output), "--database", synthetic_marts]
    result = CliRunner().invoke(segment_app, args)
    assert result.exit_code == 0, result.output
    assert "Tags that drive the score" in result.output and "device_os=ios" in result.output
    rows = list(csv.DictReader(output.open(encoding="utf-8")))
    assert len(rows) == 25 and all(row["drivers"] for row in rows)
    ios = {
        int(i)
        for (i,) in client.query(
            f"SELECT one_id FROM {synthetic_marts}.user_profile WHERE device_os = 'ios'"
        ).result_rows
    }
    assert not {int(row["one_id"]) for row in rows} & ios
