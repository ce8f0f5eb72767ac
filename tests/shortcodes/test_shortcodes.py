"""Short codes: stable, unique per (campaign, person), and nothing but canonical codes decode."""

from __future__ import annotations

import hashlib

import pytest
from sqids import Sqids

from nightshift.shortcodes import (
    ALPHABET,
    MAX_LENGTH,
    MIN_LENGTH,
    ShortCode,
    campaign_number,
    campaign_numbers,
    decode,
    encode,
)

CAMPAIGNS = ("winback_lapsed", "new_user_welcome", "vip_birthday")


def test_codes_are_stable_known_values():
    # Written out once: a code already sent in a message must mean the same person forever.
    assert campaign_number("winback_lapsed") == int.from_bytes(hashlib.sha256(b"winback_lapsed").digest()[:4], "big")
    code = encode("winback_lapsed", 42)
    assert code == "mVFaKzaSM"
    assert encode("winback_lapsed", 2**63 - 1) == "pT4R7URsfkjyBh9EvMG"
    assert len(code) >= MIN_LENGTH and set(code) <= set(ALPHABET)
    assert decode(code) == ShortCode(campaign_number("winback_lapsed"), 42)


def test_codes_are_unique_per_campaign_and_person_and_round_trip():
    codes = {}
    for campaign_id in CAMPAIGNS:
        for one_id in [*range(0, 5000), 2**32 - 1, 2**40 + 7, 2**63 - 1]:
            code = encode(campaign_id, one_id)
            assert len(code) <= MAX_LENGTH
            assert decode(code) == ShortCode(campaign_number(campaign_id), one_id)
            codes[code] = (campaign_id, one_id)
    assert len(codes) == len(CAMPAIGNS) * 5003


def test_campaign_numbers_map_back_to_ids():
    numbers = campaign_numbers(CAMPAIGNS)
    assert sorted(numbers.values()) == sorted(CAMPAIGNS)
    assert numbers[decode(encode("vip_birthday", 7)).campaign_number] == "vip_birthday"


HOSTILE = [
    "",
    "a",
    "x" * 10_000,
    "' OR 1=1 --",
    "1;DROP TABLE audience.short_links",
    "abc%20def",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "码码码码码码码码",
    "ＡＢＣＤＥＦＧＨ",  # full-width letters: look like the alphabet, are not
    "abcdefgh\x00",
    "abcdefgh\n",
    None,
    12345678,
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_is_refused(text):
    assert decode(text) is None


def test_non_canonical_spellings_are_refused():
    code = encode("winback_lapsed", 42)
    # Every other string of the alphabet of the same length either decodes to nothing or re-encodes differently:
    # sample the neighbours of a real code (one character changed) and a too-long real-looking code.
    accepted = []
    for position in range(len(code)):
        for character in ALPHABET:
            candidate = code[:position] + character + code[position + 1 :]
            if candidate != code and decode(candidate) is not None:
                accepted.append(candidate)
    for candidate in accepted:  # the only survivors are other people's canonical codes
        result = decode(candidate)
        assert encode_of(result) == candidate
    assert decode(code + ALPHABET[0] * (MAX_LENGTH + 1 - len(code))) is None


def encode_of(result: ShortCode) -> str:
    return Sqids(alphabet=ALPHABET, min_length=MIN_LENGTH).encode([result.campaign_number, result.one_id])


def test_negative_one_id_is_refused():
    with pytest.raises(ValueError, match="negative"):
        encode("winback_lapsed", -1)
