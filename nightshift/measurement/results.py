"""A campaign's measurement as rows to print: reach and conversions per variant and channel from
`marts.campaign_measurement`, and per variant (all its channels) the uplift against the holdout.

Rows per send date, in order: for each variant, one row per channel (counts and rates), then the variant's
`ALL_CHANNELS` row with the comparison against the holdout; last the holdout row. Comparisons are made per
variant over all its channels only: the audiences stage picks a person's channel after the random split, so the
people of one channel are not a random sample of the variant and comparing them with the whole holdout would
mix the channel's audience with the message's effect.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from nightshift.campaigns.models import HOLDOUT
from nightshift.errors import NightshiftError
from nightshift.measurement.statistics import Arm, Comparison, conversion_uplift, gmv_uplift, roi

MART = "marts.campaign_measurement"
ALL_CHANNELS = "all"
COUNT_COLUMNS = (
    "planned_people", "exported_people", "delivered_people", "clicked_people", "converted_people",
    "conversion_orders", "gmv_fen", "gmv_fen_sum_of_squares", "benefits_redeemed", "benefit_cost_fen",
)  # fmt: skip
QUERY = f"""
SELECT send_date, variant, channel, conversion_window_days, observed_days, {", ".join(COUNT_COLUMNS)}
FROM {MART}
WHERE campaign_id = {{campaign:String}} AND ({{all_dates:Bool}} OR send_date = {{send_date:Date}})
ORDER BY send_date, variant = '{HOLDOUT}', variant, channel
"""


@dataclass(frozen=True)
class MeasurementRow:
    campaign_id: str
    send_date: date
    variant: str
    channel: str  # ALL_CHANNELS on a variant's comparison row, '' for the holdout
    conversion_window_days: int
    observed_days: int
    planned_people: int
    exported_people: int
    delivered_people: int
    clicked_people: int
    converted_people: int
    conversion_orders: int
    gmv_fen: int
    gmv_fen_sum_of_squares: float
    benefits_redeemed: int
    benefit_cost_fen: int
    conversion: Comparison | None = None  # only on a variant's ALL_CHANNELS row
    gmv_per_person: Comparison | None = None
    roi: float | None = None

    @property
    def arm(self) -> Arm:
        return Arm(self.planned_people, self.converted_people, self.gmv_fen, self.gmv_fen_sum_of_squares)

    @property
    def conversion_rate(self) -> float:
        return self.arm.conversion_rate

    @property
    def is_holdout(self) -> bool:
        return self.variant == HOLDOUT


def _mart_exists(client) -> bool:
    database, table = MART.split(".")
    found = client.query(
        "SELECT count() FROM system.tables WHERE database = {d:String} AND name = {t:String}",
        parameters={"d": database, "t": table},
    ).result_rows
    return bool(found[0][0])


def campaigns_measured(client) -> list[str]:
    """Campaign ids with rows in the mart (none when the mart was never built)."""
    if not _mart_exists(client):
        return []
    return [row[0] for row in client.query(f"SELECT DISTINCT campaign_id FROM {MART} ORDER BY 1").result_rows]


def measure(client, campaign_id: str, send_date: date | None = None) -> list[MeasurementRow]:
    """The campaign's rows (every send date, or one), each variant compared with the holdout of its send date."""
    if not _mart_exists(client):
        raise NightshiftError(
            f"{MART} does not exist yet: run the build stage (`nightshift run --date D --stages build`) for a "
            "date after the campaign's first send"
        )
    result = client.query(
        QUERY,
        parameters={
            "campaign": campaign_id,
            "all_dates": send_date is None,
            "send_date": send_date or date(1970, 1, 1),
        },
    ).result_rows
    if not result:
        when = f" on send date {send_date}" if send_date else ""
        raise NightshiftError(
            f"{MART} has no rows for campaign {campaign_id!r}{when}. Campaigns measured: "
            f"{', '.join(campaigns_measured(client)) or 'none yet'} (a send date is measured from the night after it)"
        )
    rows = [
        MeasurementRow(campaign_id, day, variant, channel, int(window), int(observed), *_counts(counts))
        for day, variant, channel, window, observed, *counts in result
    ]
    return _with_variant_totals(rows)


def _counts(values) -> list:
    return [
        float(value) if name == "gmv_fen_sum_of_squares" else int(value)
        for name, value in zip(COUNT_COLUMNS, values, strict=True)
    ]


def _total(rows: list[MeasurementRow]) -> MeasurementRow:
    """A variant's rows of one send date summed over its channels (people are in one channel each)."""
    first = rows[0]
    sums = [sum(getattr(row, name) for row in rows) for name in COUNT_COLUMNS]
    return MeasurementRow(
        first.campaign_id, first.send_date, first.variant, ALL_CHANNELS, first.conversion_window_days,
        first.observed_days, *sums,
    )  # fmt: skip


def _with_variant_totals(rows: list[MeasurementRow]) -> list[MeasurementRow]:
    """After each variant's channel rows, its total compared with the send date's holdout (when there is one)."""
    holdouts = {row.send_date: row for row in rows if row.is_holdout}
    out: list[MeasurementRow] = []
    for index, row in enumerate(rows):
        out.append(row)
        following = rows[index + 1] if index + 1 < len(rows) else None
        if row.is_holdout or (following and (following.send_date, following.variant) == (row.send_date, row.variant)):
            continue
        total = _total([r for r in rows if (r.send_date, r.variant) == (row.send_date, row.variant)])
        holdout = holdouts.get(row.send_date)
        if holdout is not None and min(holdout.planned_people, total.planned_people) >= 2:
            treated, control = total.arm, holdout.arm
            total = replace(
                total,
                conversion=conversion_uplift(treated, control),
                gmv_per_person=gmv_uplift(treated, control),
                roi=roi(treated, control, total.benefit_cost_fen),
            )
        out.append(total)
    return out


RECORD_COLUMNS = (
    "campaign_id", "send_date", "variant", "channel", "conversion_window_days", "observed_days",
    *(column for column in COUNT_COLUMNS if column != "gmv_fen_sum_of_squares"),
    "conversion_rate", "gmv_per_person_fen",
    "conversion_uplift", "conversion_ci_low", "conversion_ci_high", "conversion_p_value", "conversion_mde",
    "conversion_verdict",
    "gmv_uplift_fen", "gmv_ci_low_fen", "gmv_ci_high_fen", "gmv_p_value", "gmv_mde_fen", "gmv_verdict",
    "roi",
)  # fmt: skip


def _comparison_fields(prefix: str, comparison: Comparison | None, unit: str = "") -> dict[str, object]:
    names = ("uplift", "ci_low", "ci_high", "p_value", "mde")
    values: dict[str, object] = {}
    for name in names:
        suffix = unit if name != "p_value" else ""
        values[f"{prefix}_{name}{suffix}"] = None if comparison is None else getattr(comparison, name)
    values[f"{prefix}_verdict"] = None if comparison is None else comparison.verdict
    return values


def as_record(row: MeasurementRow) -> dict[str, object]:
    """One row as a flat record (RECORD_COLUMNS): counts, rates, and the comparison on a variant's total row."""
    record: dict[str, object] = {
        "campaign_id": row.campaign_id,
        "send_date": row.send_date.isoformat(),
        "variant": row.variant,
        "channel": row.channel,
        "conversion_window_days": row.conversion_window_days,
        "observed_days": row.observed_days,
        **{column: getattr(row, column) for column in COUNT_COLUMNS if column != "gmv_fen_sum_of_squares"},
        "conversion_rate": row.conversion_rate,
        "gmv_per_person_fen": row.arm.gmv_per_person,
        **_comparison_fields("conversion", row.conversion),
        **_comparison_fields("gmv", row.gmv_per_person, "_fen"),
        "roi": row.roi,
    }
    return {column: record[column] for column in RECORD_COLUMNS}
