"""`show_profile()`: one person's identities, tags with their history, and recent app events and orders.

Reads the warehouse that tests/dbt/test_tag_bitmaps.py builds (`build_tag_warehouse`: identity map, two
run dates of user_tags through the tag history snapshot, app events and orders of person 1), in a subprocess
because that installation is not this pytest process's.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import run_python
from tests.dbt.test_tag_bitmaps import DAY_1, DAY_2, PEOPLE, build_tag_warehouse

PROFILE_CODE = """
import io
import json
import sys

from rich.console import Console

from nightshift.errors import NightshiftError
from nightshift.profile_view import show_profile
from nightshift.settings import get_settings

outputs = {}
for one_id in json.loads(sys.argv[1]):
    console = Console(record=True, width=220, file=io.StringIO())
    try:
        show_profile(one_id, get_settings(), console, recent=3)
        outputs[one_id] = {"text": console.export_text(), "error": ""}
    except NightshiftError as error:
        outputs[one_id] = {"text": console.export_text(), "error": str(error)}
print(json.dumps(outputs))
"""

BUYER = 1  # has a phone, app events and two orders
CHANGED = 70  # gender may change and is_sharer is removed on day 2 (one_id % 10 == 0 and % 7 == 0)
MISSING = PEOPLE + 500


@pytest.fixture(scope="module")
def profiles(tmp_path_factory) -> dict[int, dict[str, str]]:
    home = build_tag_warehouse(tmp_path_factory.getbasetemp() / "tag-marts")["home"]
    stdout = run_python(home, PROFILE_CODE, json.dumps([BUYER, CHANGED, MISSING]))
    return {int(one_id): shown for one_id, shown in json.loads(stdout.strip().splitlines()[-1]).items()}


def _row(text: str, first_cell: str) -> list[str]:
    """Cells of the table row whose first cell is `first_cell` (rich box characters as separators)."""
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row starting with {first_cell!r} in:\n{text}")


def test_profile_lists_identities(profiles):
    text = profiles[BUYER]["text"]
    assert profiles[BUYER]["error"] == ""
    assert f"Person one_id {BUYER}" in text
    assert _row(text, "app_user_id")[1] == "u1"
    assert _row(text, "phone")[1] == "+8613800138001"


def test_profile_shows_tags_with_since_dates_and_removed_tags(profiles):
    buyer = profiles[BUYER]["text"]
    assert _row(buyer, "lifecycle_stage")[2] == DAY_1  # unchanged since the first run date
    assert _row(buyer, "rfm_monetary")[4] == DAY_2  # computed on the last run date
    changed = profiles[CHANGED]["text"]
    is_sharer = _row(changed, "is_sharer")
    assert is_sharer[1:3] == ["(removed)", DAY_2]
    assert is_sharer[3].endswith(f"{DAY_1}..{DAY_2}")  # the value it had before, and when


def test_profile_shows_recent_app_events_and_orders_newest_first(profiles):
    text = profiles[BUYER]["text"]
    assert "Last 3 events" in text and "Last 3 orders" in text
    events = [line.split("│")[2:4] for line in text.splitlines() if re.match(r"│ 2026-\d\d-\d\d.*│ app ", line)]
    # the last three: page_view a week later, then pay and order_submit of the C2B order
    assert [[cell.strip() for cell in event] for event in events] == [
        ["app", "page_view"],
        ["app", "pay"],
        ["app", "order_submit"],
    ]
    orders = [line.split("│")[1:6] for line in text.splitlines() if "│ o-" in line]
    assert [[cell.strip() for cell in order] for order in orders] == [
        ["2026-11-12 04:00:00", "o-2", "b2c", "created", "50.0"],
        ["2026-11-10 04:00:00", "o-1", "c2b", "paid", "1180.0"],
    ]


def test_profile_notes_tables_that_are_not_built(profiles):
    # the scenario builds no marts.user_profile: the section says so instead of failing
    assert "marts.user_profile is not built yet" in profiles[BUYER]["text"]


def test_unknown_one_id_is_a_clear_error(profiles):
    error = profiles[MISSING]["error"]
    assert f"one_id {MISSING} does not exist" in error
    assert 'nightshift sql "SELECT one_id FROM marts.user_profile LIMIT 5"' in error
