"""What goes wrong when the world answers an export: the fault rates, each contact's draws, and the truth file.

Faults (the `fault` column of `<landing>/_truth/reconciliation_faults.csv`):

| fault              | applies to                  | what the landing files show                                     |
|--------------------|-----------------------------|-----------------------------------------------------------------|
| `grant_dropped`    | a row asking for a grant    | no ledger row with the contact_id                               |
| `grant_duplicated` | a row asking for a grant    | two ledger rows, distinct grant_ids, the same contact_id        |
| `amount_wrong`     | a row asking for a grant    | one ledger row, amount cost_fen x 100 (fen taken for yuan)      |
| `grant_unplanned`  | a campaign with grants      | a grant to an account in no audience, fresh request number      |
| `grant_burst`      | a campaign with grants, day | `burst_size` unplanned grants within `burst_window_seconds`     |
| `delivery_failed`  | a contact with receipts     | the vendor's failure code, in the D+1 file                      |
| `receipt_late`     | a contact with receipts     | a successful receipt dated D+1, in a file of D+2 .. D+1+delay   |

"A row asking for a grant" has a benefit_id and cost_fen > 0; "with receipts": every channel but wecom, in campaign
files only (replenishment rows are grants).

A contact has at most one grant fault and at most one receipt fault, drawn independently: a failed delivery of a
coupon campaign is still granted (the benefit system grants on request, whatever the message's fate) unless the
grant is also dropped. Unplanned and burst grants carry a request number `ops-<yyyymmdd>-<n>` (the benefit
console's own, never a Nightshift contact_id, which is 32 hex characters), an account `UX<yymmdd><n>` that no one
else has, and an empty one_id in the truth: nobody Nightshift planned.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path

import numpy as np

from nightshift.generate.ids import day_start_epoch, rng_for, times_in_day
from nightshift.generate.responder.exports import Contacts

TRUTH_FILE = Path("_truth") / "reconciliation_faults.csv"
TRUTH_COLUMNS = ("business_date", "campaign_id", "contact_id", "one_id", "fault")
FAILURE_REASONS = ("invalid_number", "user_blocked", "rate_limited")
AMOUNT_WRONG_FACTOR = 100
LATEST_RECEIPT_DELAY_DAYS = 7  # how far past D+1 a rerun looks for an earlier run's late files
UNPLANNED_REQUEST_PREFIX = "ops"
UNPLANNED_ACCOUNT_PREFIX = "UX"
BURST_START_HOURS = (9, 21)  # bursts start in office hours (someone runs a script)


@dataclass(frozen=True)
class ResponderRates:
    """Fault rates (shares of the rows each applies to) and the shape of the late and bursty data."""

    grant_dropped: float = 0.01
    grant_duplicated: float = 0.01
    amount_wrong: float = 0.01
    grant_unplanned: float = 0.01  # unplanned grants per planned grant of a campaign
    grant_burst: float = 0.02  # chance of a burst per campaign with grants, per day
    delivery_failed: float = 0.02
    receipt_late: float = 0.02
    burst_size: int = 50
    burst_window_seconds: int = 120
    max_receipt_delay_days: int = 3  # late receipts land 1..this many days after D+1
    chuanglan_share: float = 0.2  # of SMS contacts, sent through Chuanglan instead of Aliyun
    # of Chuanglan receipts, those that echo the contact's uid; the rest carry only the phone number and are
    # matched on (phone, send day) by the reconciliation
    chuanglan_uid_share: float = 0.5
    # Conversions (`conversions`): the chance a contact who can buy places one extra order because of the
    # message, within this many days of the send; per (campaign_id, variant) overrides, variant '*' = every one.
    conversion_rate: float = 0.08
    conversion_window_days: int = 7
    conversion_rates: tuple[tuple[str, str, float], ...] = ()

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.type == "float" and not 0.0 <= value <= 1.0:
                raise ValueError(f"ResponderRates.{spec.name} is a share and must be in [0, 1], got {value}")
        grant = self.grant_dropped + self.grant_duplicated + self.amount_wrong
        if grant > 1.0 or self.delivery_failed + self.receipt_late > 1.0:
            raise ValueError(
                "a contact has at most one grant fault and one receipt fault: grant_dropped + grant_duplicated + "
                f"amount_wrong ({grant:g}) and delivery_failed + receipt_late "
                f"({self.delivery_failed + self.receipt_late:g}) must each be at most 1"
            )
        if not 1 <= self.max_receipt_delay_days <= LATEST_RECEIPT_DELAY_DAYS:
            raise ValueError(f"max_receipt_delay_days must be in 1..{LATEST_RECEIPT_DELAY_DAYS}")
        if self.burst_size < 1 or self.burst_window_seconds < 1:
            raise ValueError("burst_size and burst_window_seconds must be at least 1")
        if self.conversion_window_days < 1:
            raise ValueError(f"conversion_window_days must be at least 1, got {self.conversion_window_days}")
        for campaign_id, variant, rate in self.conversion_rates:
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"conversion rate of {campaign_id}/{variant} must be in [0, 1], got {rate}")

    def conversion_rate_for(self, campaign_id: str, variant: str) -> float:
        """The incremental conversion rate of a campaign's variant: its own override, the campaign's '*', or the
        default."""
        overrides = {(c, v): rate for c, v, rate in self.conversion_rates}
        return overrides.get((campaign_id, variant), overrides.get((campaign_id, "*"), self.conversion_rate))


@dataclass
class Draws:
    """Every random decision about each contact, drawn once per export file in a fixed order."""

    grant_dropped: np.ndarray
    grant_duplicated: np.ndarray
    amount_wrong: np.ndarray
    delivery_failed: np.ndarray
    receipt_late: np.ndarray
    failure_reason: np.ndarray  # index into FAILURE_REASONS
    delay_days: np.ndarray  # receipt_late: days after D+1
    via_chuanglan: np.ndarray  # SMS vendor
    grant_delay: np.ndarray  # seconds from send to grant
    duplicate_delay: np.ndarray  # seconds from the grant to its duplicate
    report_delay: np.ndarray  # seconds from send to delivery report
    call_seconds: np.ndarray  # connected call duration
    intent_level: np.ndarray  # index into A..E
    echoes_uid: np.ndarray  # Chuanglan: the receipt carries the contact's uid

    @classmethod
    def concat(cls, parts: list[Draws]) -> Draws:
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})


def draw(contacts: Contacts, has_receipt: np.ndarray, rates: ResponderRates, rng: np.random.Generator) -> Draws:
    n = len(contacts)
    grant_draw, receipt_draw = rng.random(n), rng.random(n)
    asks = contacts.has_benefit
    dropped_below = rates.grant_dropped
    duplicated_below = dropped_below + rates.grant_duplicated
    failed_below = rates.delivery_failed
    return Draws(
        grant_dropped=asks & (grant_draw < dropped_below),
        grant_duplicated=asks & (grant_draw >= dropped_below) & (grant_draw < duplicated_below),
        amount_wrong=asks & (grant_draw >= duplicated_below) & (grant_draw < duplicated_below + rates.amount_wrong),
        delivery_failed=has_receipt & (receipt_draw < failed_below),
        receipt_late=has_receipt & (receipt_draw >= failed_below) & (receipt_draw < failed_below + rates.receipt_late),
        failure_reason=rng.integers(0, len(FAILURE_REASONS), n),
        delay_days=rng.integers(1, rates.max_receipt_delay_days + 1, n),
        via_chuanglan=rng.random(n) < rates.chuanglan_share,
        grant_delay=rng.integers(1, 30, n),
        duplicate_delay=rng.integers(1, 10, n),
        report_delay=rng.integers(2, 120, n),
        call_seconds=rng.integers(20, 240, n),
        intent_level=rng.integers(0, 5, n),
        echoes_uid=rng.random(n) < rates.chuanglan_uid_share,  # drawn last: earlier draws keep their values
    )


@dataclass
class ExtraGrants:
    """Grants nobody planned: to accounts in no audience, one by one (unplanned) or in bursts."""

    campaign_id: list[str]
    benefit_id: list[str]
    amount: list[int]
    grant_time: list[int]
    user_id: list[str]
    request_no: list[str]
    fault: list[str]

    def __len__(self) -> int:
        return len(self.request_no)


def extra_grants(
    contacts: Contacts, business_date: date, grant_day: date, rates: ResponderRates, seed: int
) -> ExtraGrants:
    """Unplanned and burst grants of each campaign that grants something on the day, in campaign order."""
    extra = ExtraGrants([], [], [], [], [], [], [])
    day_start = day_start_epoch(grant_day)
    asks = contacts.has_benefit
    for campaign_id in sorted(set(contacts.campaign_id[asks].tolist())):
        rows = np.flatnonzero(asks & (contacts.campaign_id == campaign_id))
        # A campaign of its own generator: adding a campaign to the day does not change another's extras.
        rng = rng_for(seed, "responder.extra", business_date.isoformat(), campaign_id)
        unplanned = int(rng.binomial(len(rows), rates.grant_unplanned))
        times = [times_in_day(rng, unplanned, day_start)]
        faults = ["grant_unplanned"] * unplanned
        if rng.random() < rates.grant_burst:
            start = day_start + int(rng.integers(BURST_START_HOURS[0] * 3600, BURST_START_HOURS[1] * 3600))
            times.append(start + np.sort(rng.integers(0, rates.burst_window_seconds, rates.burst_size)))
            faults += ["grant_burst"] * rates.burst_size
        template = rows[rng.integers(0, len(rows), len(faults))]  # what the campaign grants
        extra.campaign_id += [campaign_id] * len(faults)
        extra.benefit_id += contacts.benefit_id[template].tolist()
        extra.amount += contacts.cost_fen[template].tolist()
        extra.grant_time += np.concatenate(times).tolist()
        extra.fault += faults
    stamp = f"{grant_day:%Y%m%d}"
    extra.request_no = [f"{UNPLANNED_REQUEST_PREFIX}-{stamp}-{k + 1:06d}" for k in range(len(extra.fault))]
    extra.user_id = [f"{UNPLANNED_ACCOUNT_PREFIX}{grant_day:%y%m%d}{k + 1:06d}" for k in range(len(extra.fault))]
    return extra


def truth_rows(contacts: Contacts, draws: Draws, extra: ExtraGrants, business_date: date) -> list[tuple[str, ...]]:
    """The day's faults, one row per (contact, fault), sorted by campaign, fault and contact."""
    day = business_date.isoformat()
    rows = []
    for fault in ("grant_dropped", "grant_duplicated", "amount_wrong", "delivery_failed", "receipt_late"):
        for row in np.flatnonzero(getattr(draws, fault)).tolist():
            rows.append((day, contacts.campaign_id[row], contacts.contact_id[row], contacts.one_id[row], fault))
    rows += [(day, c, r, "", f) for c, r, f in zip(extra.campaign_id, extra.request_no, extra.fault, strict=True)]
    return sorted(rows, key=lambda row: (row[1], row[4], row[2]))


def replace_day_rows(path: Path, columns: Sequence[str], business_date: date, rows: Sequence[Sequence]) -> Path:
    """Replace one business date's rows of a truth CSV whose first column is the date (other dates' rows stay),
    rows ordered by date (stable: each day keeps its order); written to a temporary name, then renamed."""
    day = business_date.isoformat()
    kept: list[list[str]] = []
    if path.exists():
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            kept = [row for row in reader if row and row[0] != day]
    merged = sorted([*kept, *[[str(value) for value in row] for row in rows]], key=lambda row: row[0])
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(merged)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text.getvalue(), encoding="utf-8")
    temporary.replace(path)
    return path


def write_truth(landing_root: Path, business_date: date, rows: list[tuple[str, ...]]) -> Path:
    """Replace the business date's rows of the faults truth file (other dates' rows stay); rows ordered by date."""
    return replace_day_rows(Path(landing_root) / TRUTH_FILE, TRUTH_COLUMNS, business_date, rows)
