"""Acceptance: the real CDNOW log through the whole pipeline gives one person per CDNOW customer with
buy-till-you-die RFM values as of the run date.

`nightshift load-cdnow CDNOW_master.txt` then `nightshift run --date 1998-07-01` (no landing files for that
date, so ingestion does nothing) in a subprocess with its own NIGHTSHIFT_HOME; the expected values are computed
here, independently, from the raw file: purchases on the same calendar day are one purchase with amounts summed;
frequency = purchase days - 1; recency = days first -> last purchase; age = days first purchase -> run date;
monetary = mean amount of the repeat purchase days (0 without). Every customer is compared, not a sample.
Takes about 3-5 minutes (identity resolution in Spark, then dbt build).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import CDNOW_FILE, run_cli

RUN_DATE = date(1998, 7, 1)
CDNOW_CUSTOMERS = 23_570
PIPELINE_TIMEOUT = 1800
MONETARY_TOLERANCE = 1e-6  # dollars; the warehouse divides integer cents in floating point


@dataclass(frozen=True)
class Rfm:
    frequency: int
    recency_days: int
    age_days: int
    monetary: float


def expected_rfm(path: Path, run_date: date) -> dict[str, Rfm]:
    """Customer id (as delivered, zero-padded) -> RFM, straight from the whitespace-separated log."""
    day_totals: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    with path.open(encoding="ascii") as handle:
        next(handle)  # header
        for line in handle:
            if not line.strip():
                continue
            customer_id, day, _cds, dollars = line.split()
            day_totals[customer_id][datetime.strptime(day, "%Y%m%d").date()] += Decimal(dollars)
    result = {}
    for customer_id, totals in day_totals.items():
        days = sorted(totals)
        repeat_amounts = [totals[day] for day in days[1:]]
        result[customer_id] = Rfm(
            frequency=len(days) - 1,
            recency_days=(days[-1] - days[0]).days,
            age_days=(run_date - days[0]).days,
            monetary=float(sum(repeat_amounts) / len(repeat_amounts)) if repeat_amounts else 0.0,
        )
    return result


@dataclass(frozen=True)
class PipelineRun:
    home: Path
    returncode: int
    output: str
    stage_status: dict[str, str]


@pytest.fixture(scope="module")
def cdnow_run(tmp_path_factory) -> PipelineRun:
    """`load-cdnow` then the whole `nightshift run` for 1998-07-01, in a fresh installation."""
    if not CDNOW_FILE.is_file():
        pytest.fail(f"The CDNOW log is expected at {CDNOW_FILE} (set NIGHTSHIFT_SHARED_DIR to the shared/ folder)")
    home = tmp_path_factory.mktemp("cdnow")
    run_cli(home, "load-cdnow", str(CDNOW_FILE))
    completed = run_cli(home, "run", "--date", RUN_DATE.isoformat(), check=False, timeout=PIPELINE_TIMEOUT)
    statuses = json.loads(
        run_cli(home, "sql", "SELECT stage, argMax(status, finished_at) AS status FROM ops.stage_runs GROUP BY stage",
                "--format", "json").stdout
    )  # fmt: skip
    return PipelineRun(
        home, completed.returncode, completed.stdout[-3000:] + completed.stderr[-3000:],
        {row["stage"]: row["status"] for row in statuses},
    )  # fmt: skip


@pytest.fixture(scope="module")
def cdnow_home(cdnow_run) -> Path:
    """The installation, once the stages that build the profile (ingest, identity, build) have succeeded; later
    stages (segments, exports, ...) are checked separately by test_whole_pipeline_run_succeeds."""
    failed = {stage: cdnow_run.stage_status.get(stage) for stage in ("ingest", "identity", "build")}
    assert all(status == "success" for status in failed.values()), (
        f"stages building the profile did not all succeed: {failed}\n{cdnow_run.output}"
    )
    return cdnow_run.home


def test_whole_pipeline_run_succeeds(cdnow_run):
    assert cdnow_run.returncode == 0, (
        f"nightshift run --date {RUN_DATE} exited {cdnow_run.returncode}; stage status: {cdnow_run.stage_status}\n"
        f"{cdnow_run.output}"
    )


def profile_rows(home: Path) -> list[dict]:
    completed = run_cli(
        home,
        "sql",
        "SELECT one_id, cdnow_customer_id, rfm_frequency, rfm_recency_days, rfm_age_days, rfm_monetary, "
        "toString(profile_date) AS profile_date FROM marts.user_profile",
        "--format",
        "json",
    )
    return json.loads(completed.stdout)


def test_one_person_per_cdnow_customer_with_buy_till_you_die_rfm(cdnow_home):
    expected = expected_rfm(CDNOW_FILE, RUN_DATE)
    assert len(expected) == CDNOW_CUSTOMERS, "the raw file itself should hold 23,570 customers"
    rows = profile_rows(cdnow_home)
    by_customer = {row["cdnow_customer_id"]: row for row in rows}
    assert len(rows) == CDNOW_CUSTOMERS, f"marts.user_profile has {len(rows)} people, expected {CDNOW_CUSTOMERS}"
    assert len({row["one_id"] for row in rows}) == CDNOW_CUSTOMERS
    assert set(by_customer) == set(expected), "profile customers differ from the file's customer ids"
    assert {row["profile_date"] for row in rows} == {RUN_DATE.isoformat()}

    mismatches = []
    for customer_id, want in expected.items():
        row = by_customer[customer_id]
        got = Rfm(row["rfm_frequency"], row["rfm_recency_days"], row["rfm_age_days"], row["rfm_monetary"])
        if (got.frequency, got.recency_days, got.age_days) != (want.frequency, want.recency_days, want.age_days) or (
            abs(got.monetary - want.monetary) > MONETARY_TOLERANCE
        ):
            mismatches.append((customer_id, got, want))
    assert not mismatches, f"{len(mismatches)} customers differ (id, built, expected), first ones: {mismatches[:5]}"


def test_known_customers_spot_check(cdnow_home):
    """A few customers worked out by hand from the file, so the Python reference itself is checked too."""
    by_customer = {row["cdnow_customer_id"]: row for row in profile_rows(cdnow_home)}
    # 00001: one line, 1997-01-01, $11.77 -> one purchase day, age 546 days on 1998-07-01
    assert (by_customer["00001"]["rfm_frequency"], by_customer["00001"]["rfm_recency_days"],
            by_customer["00001"]["rfm_age_days"], by_customer["00001"]["rfm_monetary"]) == (0, 0, 546, 0)  # fmt: skip
    reference = expected_rfm(CDNOW_FILE, RUN_DATE)
    multi_day = max(reference, key=lambda customer_id: (reference[customer_id].frequency, customer_id))
    assert by_customer[multi_day]["rfm_frequency"] == reference[multi_day].frequency > 10
