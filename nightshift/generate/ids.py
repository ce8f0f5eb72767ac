"""Identifier and time factories: vectorised, deterministic, in the shapes the platforms use."""

from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

BEIJING = timezone(timedelta(hours=8))

# Junk identifiers that recur across real data: typed-in placeholder phones and the all-zero advertising id
# that iOS reports when tracking is limited. They are valid values, but identify nobody.
PLACEHOLDER_PHONE = "13800138000"
ZERO_DEVICE_ID = "00000000-0000-0000-0000-000000000000"

# Mobile prefixes that `phonenumbers` accepts as valid CN mobiles for any 8 following digits.
MOBILE_PREFIXES = np.array(
    [130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159, 166]
    + [170, 175, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 191, 198, 199],
    dtype=np.int64,
)

ALNUM = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
URLSAFE = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8)
HEX_UPPER = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
HEX_LOWER = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def stable_seed(*parts: object) -> list[int]:
    """A seed sequence entropy derived from names and numbers, stable across processes (unlike hash())."""
    return [zlib.crc32(str(part).encode()) for part in parts]


def rng_for(seed: int, *parts: object) -> np.random.Generator:
    return np.random.default_rng([seed, *stable_seed(*parts)])


def tokens(rng: np.random.Generator, n: int, length: int, alphabet: np.ndarray, prefix: bytes = b"") -> np.ndarray:
    """n random tokens as a numpy bytes array, e.g. WeChat openids (prefix 'o' + 27 URL-safe characters)."""
    # Random bytes reduced modulo the alphabet: the slight bias is irrelevant and it is much faster.
    raw = np.frombuffer(rng.bytes(n * length), dtype=np.uint8).reshape(n, length)
    body = alphabet[raw % len(alphabet)]
    if prefix:
        body = np.concatenate([np.tile(np.frombuffer(prefix, dtype=np.uint8), (n, 1)), body], axis=1)
    return np.ascontiguousarray(body).view(f"S{body.shape[1]}").ravel()


def uuid_tokens(rng: np.random.Generator, n: int, upper: bool = True) -> np.ndarray:
    """n random UUID-shaped strings (8-4-4-4-12 hex), as device ids and Douyin union ids look."""
    alphabet = HEX_UPPER if upper else HEX_LOWER
    body = alphabet[np.frombuffer(rng.bytes(n * 36), dtype=np.uint8).reshape(n, 36) % 16]
    body[:, [8, 13, 18, 23]] = ord("-")
    return np.ascontiguousarray(body).view("S36").ravel()


def numbered(prefix: str | bytes, numbers: np.ndarray) -> pa.Array:
    """Ids such as 'U10000042' from integers (arrow's integer formatting is much faster than numpy's)."""
    text = pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string())
    prefix = prefix.decode() if isinstance(prefix, bytes) else prefix
    return pc.binary_join_element_wise(prefix, text, "") if prefix else text


def scrambled(n: int, start: int, modulus: int, seed: int) -> np.ndarray:
    """n distinct integers in [start, start + modulus) in a shuffled-looking order (an affine permutation)."""
    multiplier = 2_654_435_761 % modulus or 1
    while np.gcd(multiplier, modulus) != 1:
        multiplier += 1
    offset = (seed * 7919) % modulus
    return start + (np.arange(n, dtype=np.int64) * multiplier + offset) % modulus


def phones(rng: np.random.Generator, n: int, avoid: set[int] | None = None) -> np.ndarray:
    """n distinct valid CN mobile numbers as int64 (never the placeholder)."""
    forbidden = {int(PLACEHOLDER_PHONE)} | (avoid or set())
    out = MOBILE_PREFIXES[rng.integers(0, len(MOBILE_PREFIXES), n)] * 100_000_000 + rng.integers(0, 100_000_000, n)
    while True:
        _, first = np.unique(out, return_index=True)
        clash = np.ones(n, dtype=bool)
        clash[first] = False
        clash |= np.isin(out, np.fromiter(forbidden, dtype=np.int64))
        if not clash.any():
            return out
        k = int(clash.sum())
        out[clash] = MOBILE_PREFIXES[rng.integers(0, len(MOBILE_PREFIXES), k)] * 100_000_000 + rng.integers(
            0, 100_000_000, k
        )


def phone_text(numbers: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string())


def day_start_epoch(day: date) -> int:
    """Epoch seconds of midnight Beijing time at the start of `day`."""
    return int(datetime(day.year, day.month, day.day, tzinfo=BEIJING).timestamp())


# Share of a day's activity per Beijing hour: quiet at night, peaks at lunch and in the evening.
HOUR_WEIGHTS = np.array(
    [1, 0.6, 0.3, 0.2, 0.2, 0.4, 1, 2, 3.5, 4, 4, 4.5, 5, 4.5, 4, 4, 4.2, 4.5, 5, 6, 7, 7, 5, 2.5], dtype=float
)
HOUR_WEIGHTS /= HOUR_WEIGHTS.sum()


def times_in_day(rng: np.random.Generator, n: int, start: int) -> np.ndarray:
    """n epoch-second times inside the Beijing day starting at `start`, following HOUR_WEIGHTS."""
    hours = rng.choice(24, size=n, p=HOUR_WEIGHTS)
    return start + hours * 3600 + rng.integers(0, 3600, n)
