"""Deterministic samples of a segment (or a campaign's candidates): N people or x% of them.

A person's place in every sample is `md5("<salt>:<one_id>")` as lowercase hex, the same text in ClickHouse
(`lower(hex(MD5(...)))`) and Spark (`md5(...)`), so a sample depends on nothing but the salt and the ids:

- x%: members whose hash is below x% of the hash range. Each person is in or out on their own, so the sample of a
  grown segment is the old sample plus the newcomers that fall below the line; nobody leaves the sample while
  they stay in the segment.
- N people: the N members with the smallest hashes (ties by one_id). When the segment grows, a member leaves the
  sample only if a newcomer's hash is smaller than theirs; a larger N contains every smaller one.

The salt defaults to the segment's name (or the campaign's id), so different segments sample independently;
give two the same salt to sample the same people from both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HASH_HEX_DIGITS = 8  # the percent line is drawn on the first 8 hex digits (2^32 steps)
SAMPLE_TEXT = re.compile(r"^\s*(?P<number>\d+(\.\d+)?)\s*(?P<percent>%?)\s*$")


@dataclass(frozen=True)
class Sample:
    salt: str
    size: int | None = None  # N people
    percent: float | None = None  # or x% (0 < x <= 100)

    def __post_init__(self) -> None:
        if (self.size is None) == (self.percent is None):
            raise ValueError("a sample is either a number of people or a percentage")
        if self.size is not None and self.size < 1:
            raise ValueError(f"a sample of {self.size} people is empty; give at least 1")
        if self.percent is not None and not 0 < self.percent <= 100:
            raise ValueError(f"a sample of {self.percent:g}% is not between 0 and 100")

    @property
    def threshold(self) -> str:
        """Hex line for a percent sample: a member is in when their hash sorts below it (compared as text)."""
        assert self.percent is not None
        return format(int(self.percent / 100 * 16**HASH_HEX_DIGITS), f"0{HASH_HEX_DIGITS}x")

    def describe(self) -> str:
        amount = f"{self.size:,} people" if self.size is not None else f"{self.percent:g}%"
        return f"{amount} (salt {self.salt!r})"


def parse_sample(text: str, salt: str) -> Sample:
    """`10%`, `12.5%` or `1000` (people); raises ValueError saying what is allowed."""
    match = SAMPLE_TEXT.match(str(text))
    if not match:
        raise ValueError(f"sample {text!r} is neither a number of people (1000) nor a percentage (10%)")
    number = match["number"]
    if match["percent"]:
        return Sample(salt, percent=float(number))
    if "." in number:
        raise ValueError(f"sample {text!r}: a number of people is a whole number (or add % for a percentage)")
    return Sample(salt, size=int(number))


def hash_sql(salt: str, column: str = "one_id") -> str:
    """ClickHouse: the person's sample hash as lowercase hex (sqlglot writes Spark's `md5` for it)."""
    # imported here: segment files import this module for Sample, and sqlglot takes ~1 s to import, which every
    # `nightshift` command would pay at start-up (the CLI's segment options name the segments folder)
    from sqlglot import exp

    from nightshift.segments.sql import DIALECT

    key = f"concat({exp.Literal.string(salt).sql(DIALECT)}, ':', toString({column}))"
    return f"lower(hex(MD5({key})))"


def sampled_sql(sql: str, sample: Sample) -> str:
    """The segment's SELECT narrowed to its sample (one row per sampled one_id for an N-people sample)."""
    hashed = hash_sql(sample.salt)
    if sample.percent is not None:
        if sample.percent >= 100:
            return sql
        return f"SELECT one_id FROM (\n{sql}\n) AS segment\nWHERE {hashed} < '{sample.threshold}'"
    return (
        f"SELECT one_id FROM (SELECT DISTINCT one_id FROM (\n{sql}\n) AS segment) AS members\n"
        f"ORDER BY {hashed}, one_id\nLIMIT {int(sample.size)}"
    )
