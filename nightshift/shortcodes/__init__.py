"""Short codes: one deterministic, opaque code per (campaign, person), for the links the plans put in messages.

    code = sqids(alphabet=ALPHABET, min_length=MIN_LENGTH).encode([campaign_number(campaign_id), one_id])

- `campaign_number` is the first 4 bytes of sha256("<campaign_id>") as an unsigned integer: stable across reruns,
  machines and installations without a table to keep in sync (the code outlives the night it was made on).
  Campaign ids are few, so two colliding in 2**32 is out of reach; `campaign_numbers` still refuses a collision.
- The alphabet is a fixed shuffle (never change it: every code already sent would change meaning) and the
  minimum length pads codes to 8 characters, so a code does not give away how large one_ids are.
- `decode` is the only way in for text from the outside world (a clicked URL): it accepts exactly the codes
  `encode` makes. Sqids maps many strings to the same numbers, so a decoded code is encoded again and must give
  back the same text; anything longer than MAX_LENGTH, outside the alphabet or not of two numbers is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from sqids import Sqids

# A fixed shuffle of [a-zA-Z0-9] (seeded once, written out): codes must mean the same thing forever.
ALPHABET = "h9kQAYMoNtudq6VrITB8c1ESp50iCjsKmzGD7yWRLeO3bvPZ2x4JHglXnfwaFU"
ALPHABET_CHARACTERS = frozenset(ALPHABET)
MIN_LENGTH = 8
# Longest code `encode` can make is ~16 characters (two 64-bit numbers); anything beyond this is refused unread.
MAX_LENGTH = 32
CAMPAIGN_NUMBER_BYTES = 4


@dataclass(frozen=True)
class ShortCode:
    """What a code stands for: the campaign's number (see `campaign_number`) and the person."""

    campaign_number: int
    one_id: int


@lru_cache(maxsize=1)
def _sqids() -> Sqids:
    return Sqids(alphabet=ALPHABET, min_length=MIN_LENGTH)


@lru_cache(maxsize=1024)
def campaign_number(campaign_id: str) -> int:
    """The campaign's stable number in codes: first 4 bytes of sha256 of its id, big-endian."""
    digest = hashlib.sha256(campaign_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:CAMPAIGN_NUMBER_BYTES], "big")


def campaign_numbers(campaign_ids: Iterable[str]) -> dict[int, str]:
    """Number -> campaign id for these campaigns; refuses two campaigns that share a number (rename one)."""
    numbers: dict[int, str] = {}
    for campaign_id in sorted(set(campaign_ids)):
        number = campaign_number(campaign_id)
        if number in numbers:
            raise ValueError(
                f"campaigns {numbers[number]!r} and {campaign_id!r} hash to the same short-code number {number}; "
                "rename one of them (its id) so their links cannot be confused"
            )
        numbers[number] = campaign_id
    return numbers


def encode(campaign_id: str, one_id: int) -> str:
    """The short code of one person in one campaign: the same on every run, different for every pair."""
    if one_id < 0:
        raise ValueError(f"one_id must not be negative, got {one_id}")
    return _sqids().encode([campaign_number(campaign_id), int(one_id)])


def decode(code: object) -> ShortCode | None:
    """What a code from outside stands for, or None for anything `encode` cannot have made."""
    if not isinstance(code, str) or not MIN_LENGTH <= len(code) <= MAX_LENGTH:
        return None
    if not ALPHABET_CHARACTERS.issuperset(code):
        return None
    numbers = _sqids().decode(code)
    if len(numbers) != 2 or _sqids().encode(numbers) != code:  # non-canonical spellings of the same numbers
        return None
    return ShortCode(campaign_number=numbers[0], one_id=numbers[1])


__all__ = [
    "ALPHABET",
    "MAX_LENGTH",
    "MIN_LENGTH",
    "ShortCode",
    "campaign_number",
    "campaign_numbers",
    "decode",
    "encode",
]
