"""Ad platforms: customer-audience files of hashed ids (Tencent Ads, Ocean Engine), never a raw phone or openid.

An ad platform matches uploaded ids against its own users; it takes one id type per file, one id per line,
zipped, under a size limit (Tencent Ads 100 MB, Ocean Engine 50 MB), so each id type becomes its own zip parts
(the zip's one member is named `<ID_TYPE>.txt`), split when over the limit. Ids are deduplicated and sorted: an
audience is a set, and sorted lines make the files identical on a re-run.

Normalisation before hashing (Tencent Ads' published rules, "客户文件人群"): a mobile number is the 11 national
digits (no +86, no spaces or dashes); hashes are lowercase hex of the UTF-8 text (MD5 for `HASH_*`, SHA-256 for
`SHA256_*`). Tencent's worked examples (IDFA, IMEI, MAC) hash the normalised text the same way; the tests check
them. A unionid goes in clear only as `WX_UNIONID`, the platform's own id type for it; an openid never goes.

Ocean Engine (巨量引擎 DMP) audience packages take the same hashed phone: its id type names here
(`MOBILE_HASH_SHA256`, `MOBILE_HASH_MD5`, `OAID_HASH_MD5`) follow its console's labels and must be checked against
the account's API version before an automated upload.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nightshift.campaigns.models import CampaignPlan
from nightshift.deliveries.common import Payload, Row, mainland_mobile, md5_hex, sha256_hex, zipped

MEGABYTE = 1024 * 1024
TENCENT_MAX_FILE_BYTES = 100 * MEGABYTE
OCEAN_ENGINE_MAX_FILE_BYTES = 50 * MEGABYTE
NO_AD_IDENTIFIER = "no_ad_identifier"

# id type -> how to derive it from a row ('' when the row has none). Order is the order of the parts.
IdRule = Callable[[Row], str]


def _mobile(row: Row) -> str:
    return mainland_mobile(row.get("phone")) or ""


def _hashed(source: IdRule, digest: Callable[[str], str]) -> IdRule:
    return lambda row: digest(value) if (value := source(row)) else ""


def _plain(column: str) -> IdRule:
    return lambda row: str(row.get(column) or "").strip()


TENCENT_ID_TYPES: dict[str, IdRule] = {
    "HASH_MOBILE_PHONE": _hashed(_mobile, md5_hex),
    "SHA256_MOBILE_PHONE": _hashed(_mobile, sha256_hex),
    "HASH_OAID": _hashed(_plain("oaid"), md5_hex),
    "WX_UNIONID": _plain("unionid"),
}
OCEAN_ENGINE_ID_TYPES: dict[str, IdRule] = {
    "MOBILE_HASH_SHA256": _hashed(_mobile, sha256_hex),
    "MOBILE_HASH_MD5": _hashed(_mobile, md5_hex),
    "OAID_HASH_MD5": _hashed(_plain("oaid"), md5_hex),
}
# Id types that carry an identifier in clear (the platform hashes nothing for them); everything else is a digest.
CLEAR_ID_TYPES = frozenset({"WX_UNIONID"})


def _split(lines: list[str], max_bytes: int) -> list[list[str]]:
    """Lines in files of at most max_bytes of text each (a zip of text is never larger than the text plus its
    small header, which the margin covers)."""
    files, current, size = [], [], 0
    for line in lines:
        length = len(line.encode("utf-8")) + 1
        if current and size + length > max_bytes:
            files.append(current)
            current, size = [], 0
        current.append(line)
        size += length
    if current:
        files.append(current)
    return files


def audience_payload(rows: Sequence[Row], id_types: dict[str, IdRule], max_file_bytes: int) -> Payload:
    payload = Payload()
    ids_per_type: dict[str, set[str]] = {id_type: set() for id_type in id_types}
    for row in rows:
        found = {id_type: rule(row) for id_type, rule in id_types.items()}
        if not any(found.values()):
            payload.rejected[str(row["contact_id"])] = NO_AD_IDENTIFIER
            continue
        payload.contacts += 1
        for id_type, value in found.items():
            if value:
                ids_per_type[id_type].add(value)
    margin = 1024  # zip local header + central directory for one member
    for id_type, ids in ids_per_type.items():
        for lines in _split(sorted(ids), max_file_bytes - margin):
            payload.parts.append(("zip", zipped(f"{id_type}.txt", ("\n".join(lines) + "\n").encode("utf-8"))))
    return payload


def tencent_ads_payload(
    rows: Sequence[Row], plan: CampaignPlan, max_file_bytes: int = TENCENT_MAX_FILE_BYTES
) -> Payload:
    return audience_payload(rows, TENCENT_ID_TYPES, max_file_bytes)


def ocean_engine_payload(
    rows: Sequence[Row], plan: CampaignPlan, max_file_bytes: int = OCEAN_ENGINE_MAX_FILE_BYTES
) -> Payload:
    return audience_payload(rows, OCEAN_ENGINE_ID_TYPES, max_file_bytes)
