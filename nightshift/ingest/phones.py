"""Phone numbers to E.164 with `phonenumbers` (default region CN), without a Python call per record.

`phonenumbers` costs ~100 us per number, far too slow for millions of distinct phones. Almost every value is
a Chinese mobile number written as 11 digits, optionally with +86/0086 and separators. For that shape the
validity rule is exactly `phonenumbers`' own CN metadata (the national-number patterns of every number type),
which we hand to ClickHouse as a regular expression. Every other distinct value goes through `phonenumbers`
in Python and comes back as a small mapping table. Both paths give identical answers (tested).
"""

from __future__ import annotations

from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberFormat

DEFAULT_REGION = "CN"
_SEPARATORS = r"[\s\-().]"
# 11 digits starting with 1, optionally after +86 or 0086: the shape handled inside ClickHouse.
FAST_SHAPE = r"^(\+86|0086)?1\d{10}$"
_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)
_NSN_LENGTH = 11


def _anchored(pattern: str) -> str:
    return f"^(?:{pattern})$"


@cache
def cn_valid_nsn_regex() -> tuple[str, str]:
    """(any number type, general description): an 11-digit CN national number is valid iff it matches both."""
    metadata = PhoneMetadata.metadata_for_region(DEFAULT_REGION)
    patterns = []
    for name in _TYPE_DESCS:
        desc = getattr(metadata, name, None)
        if desc is None or desc.national_number_pattern is None:
            continue
        lengths = desc.possible_length or metadata.general_desc.possible_length
        if lengths and _NSN_LENGTH not in lengths and lengths != (-1,):
            continue
        patterns.append(_anchored(desc.national_number_pattern))
    general = _anchored(metadata.general_desc.national_number_pattern)
    return ("|".join(patterns) or general), general


def stripped_sql(value_sql: str) -> str:
    return f"replaceRegexpAll({value_sql}, '{_sql_regex(_SEPARATORS)}', '')"


def fast_shape_sql(value_sql: str) -> str:
    return f"match({stripped_sql(value_sql)}, '{_sql_regex(FAST_SHAPE)}')"


def fast_e164_sql(value_sql: str) -> str:
    """E.164 for a value of the fast shape ('' if `phonenumbers` would call it invalid)."""
    types_regex, general_regex = cn_valid_nsn_regex()
    nsn = f"right({stripped_sql(value_sql)}, {_NSN_LENGTH})"
    return (
        f"if(match({nsn}, '{_sql_regex(general_regex)}') AND match({nsn}, '{_sql_regex(types_regex)}'), "
        f"concat('+86', {nsn}), '')"
    )


def _sql_regex(pattern: str) -> str:
    """A regex as the body of a ClickHouse single-quoted string literal."""
    return pattern.replace("\\", "\\\\").replace("'", "\\'")


def to_e164(value: str, region: str = DEFAULT_REGION) -> str:
    """E.164 form of a phone number, or '' when `phonenumbers` does not consider it a valid number."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
