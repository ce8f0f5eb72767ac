"""The raw-table copies behind `python -m bench --users N --base-users B` (bench/replicated_world.py): each copy is
new people whose ids still pass what the channels check, and what the blocklist names stays as it is.

A small table in a scratch database of the session's embedded warehouse; nothing is timed here.
"""

from __future__ import annotations

import re

from bench.replicated_world import replicate_raw_tables
from nightshift.deliveries.columnar import PLAIN_MAINLAND_MOBILE
from nightshift.deliveries.wechat_oa import OPENID
from nightshift.identity.config import IdentityConfig

TABLE = "bench_test_raw.users"
PLACEHOLDER = "+8613800138000"
ZERO_DEVICE = "00000000-0000-0000-0000-000000000000"
RULES = IdentityConfig(
    blocked_values={"phone": (PLACEHOLDER,), "device_id": (ZERO_DEVICE,)},
    blocked_patterns={"phone": (r"\+86(\d)\1{10}",), "app_user_id": ("(?i)(null|guest)",)},
)
COPIES = 3


def _copies(client) -> dict[str, list[tuple]]:
    client.command("create database if not exists bench_test_raw")
    client.command(f"drop table if exists {TABLE}")
    client.command(
        f"create table {TABLE} (user_id String, phone Nullable(String), device_ids Array(String), openid String, "
        "order_id String, city String) engine = MergeTree order by user_id"
    )
    client.command(
        f"insert into {TABLE} values "
        f"('U10000001', '+8613912345678', ['A-1', '{ZERO_DEVICE}'], 'oAbc_-1', 'O1', 'sh'), "
        f"('U10000002', '{PLACEHOLDER}', [], '', 'O2', 'bj'), "
        "('U10000003', '139 1234 5678', [''], 'oXyz', 'O3', 'gz'), "
        "('GUEST', null, [], 'oQ', '', 'sz')"
    )
    tables = {TABLE: {"user_id": "app_user_id", "phone": "phone", "device_ids": "device_id", "openid": "openid"}}
    _, rows, not_applied = replicate_raw_tables(client, COPIES, tables, RULES)
    assert rows == {TABLE: 4 * COPIES}
    # RE2 has no back-references: the bench says which pattern it could not keep, rather than guessing
    assert not_applied == [r"phone: \+86(\d)\1{10}"]
    by_city: dict[str, list[tuple]] = {}
    for row in client.query(f"select city, user_id, phone, device_ids, openid, order_id from {TABLE}").result_rows:
        by_city.setdefault(row[0], []).append(row[1:])
    return {city: sorted(rows) for city, rows in by_city.items()}


def test_each_copy_is_new_people_whose_ids_pass_the_channels_checks(client):
    copies = _copies(client)
    shanghai = copies["sh"]
    assert [row[0] for row in shanghai] == ["U10000001", "U10000001_1", "U10000001_2"]
    assert [row[3] for row in shanghai] == ["oAbc_-1", "oAbc_-1_1", "oAbc_-1_2"]
    assert all(re.match(OPENID, row[3]) for row in shanghai)  # WeChat's openid check takes the copies
    assert [row[4] for row in shanghai] == ["O1", "O1_1", "O1_2"]
    # a phone stays a mainland mobile (the SMS and call files take it), with its own number in each copy
    phones = [row[1] for row in shanghai]
    assert len(set(phones)) == COPIES and phones[0] == "+8613912345678"
    assert all(re.match(PLAIN_MAINLAND_MOBILE, phone) and phone.startswith("+86139") for phone in phones)
    # the blocklisted zero device id is the same in every copy; the real one is not
    assert sorted(tuple(row[2]) for row in shanghai) == [
        ("A-1", ZERO_DEVICE),
        ("A-1_1", ZERO_DEVICE),
        ("A-1_2", ZERO_DEVICE),
    ]


def test_blocklisted_empty_and_unparsed_values_stay_or_get_a_suffix(client):
    copies = _copies(client)
    assert {row[1] for row in copies["bj"]} == {PLACEHOLDER}  # a placeholder identifies nobody, in any copy
    assert {row[0] for row in copies["sz"]} == {"GUEST"}  # a blocklist pattern, applied
    assert {(row[1], row[4]) for row in copies["sz"]} == {(None, "")}  # no value stays no value
    # a phone written as free text is not a number the shift can keep valid: it gets the suffix
    assert [row[1] for row in copies["gz"]] == ["139 1234 5678", "139 1234 5678_1", "139 1234 5678_2"]
    assert [row[2] for row in copies["gz"]] == [[""]] * COPIES
