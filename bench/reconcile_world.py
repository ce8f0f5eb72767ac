"""Reconciliation against the world's own record of what went wrong: `python -m bench.reconcile_world [--users N]
[--days D]` runs D simulated nights (`nightshift demo --no-airflow`) in a scratch installation, the world answering
each night's exports with grants and receipts and a few injected faults (`<landing>/_truth/reconciliation_faults.csv`),
then scores every class of `audience.reconciliation_items` on the keys that are past the lag window: precision and
recall per class, and whether late receipts moved keys from `pending` to their class.

A key's expected class is the first, in the job's documented order, of the classes its faults map to (a contact can
be both failed by the vendor and granted twice); a dropped grant is expected as `missing_grant`, counted the same as
`replenished` once its make-up order was granted.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from spark_jobs.reconcile import CLASS_ORDER, UNPLANNED_GRANT

FAULT_CLASSES = {
    "grant_dropped": "missing_grant",
    "grant_duplicated": "duplicate_grant",
    "amount_wrong": "amount_mismatch",
    "delivery_failed": "delivery_failed",
    "grant_unplanned": "unplanned_grant",
    "grant_burst": "unplanned_grant",
    "receipt_late": "ok",
}

FINAL_CLASSES_SQL = """
SELECT contact_id, argMax(class, run_date), argMax(business_date, run_date), groupUniqArray(class)
FROM audience.reconciliation_items GROUP BY contact_id
"""


def _truth(landing_dir: Path) -> dict[str, set[str]]:
    faults: dict[str, set[str]] = defaultdict(set)
    path = Path(landing_dir) / "_truth" / "reconciliation_faults.csv"
    if path.exists():
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                faults[row["contact_id"]].add(row["fault"])
    return faults


def evaluate(client, landing_dir: Path, last_night: date, lag_days: int = 3) -> dict:
    """Precision and recall per class over the keys whose business date is past the lag window on `last_night`
    (every unplanned grant counts), plus the late receipts' path and the keys that differ."""
    settled = last_night - timedelta(days=lag_days + 1)
    final = {key: (klass, day, history) for key, klass, day, history in client.query(FINAL_CLASSES_SQL).result_rows}
    handed_over = dict(client.query("SELECT contact_id, run_date FROM audience.contact_history").result_rows)
    truth = _truth(landing_dir)
    predicted = {
        key: ("missing_grant" if klass == "replenished" else klass)
        for key, (klass, day, _) in final.items()
        if klass == "unplanned_grant" or day <= settled
    }
    expected = {key: "ok" for key, day in handed_over.items() if day <= settled}
    for key, faults in truth.items():
        if key in handed_over and handed_over[key] > settled:
            continue
        classes = {FAULT_CLASSES[fault] for fault in faults}
        # the job's own order decides between a contact's faults (a failed delivery that was also granted twice)
        expected[key] = next((klass for klass in (*CLASS_ORDER, UNPLANNED_GRANT) if klass in classes), "ok")
    scores = {}
    for klass in sorted(set(expected.values()) | set(predicted.values())):
        wanted = {key for key, value in expected.items() if value == klass}
        found = {key for key, value in predicted.items() if value == klass}
        hits = len(wanted & found)
        scores[klass] = {
            "truth": len(wanted),
            "predicted": len(found),
            "precision": hits / len(found) if found else None,
            "recall": hits / len(wanted) if wanted else None,
        }
    # a key whose only fault is a late receipt waits as pending, then lands in its class (another fault, such as a
    # duplicate grant, gives a key its final class before the receipt comes)
    late = [key for key, faults in truth.items() if faults == {"receipt_late"} and key in final and key in expected]
    wrong = sorted(key for key in set(expected) | set(predicted) if expected.get(key) != predicted.get(key))
    return {
        "settled_keys": len(expected),
        "classes": scores,
        "late": {
            "total": len(late),
            "pending_then_ok": sum(1 for key in late if "pending" in final[key][2] and final[key][0] == "ok"),
        },
        "replenished": sum(1 for klass, _, _ in final.values() if klass == "replenished"),
        "wrong": [(key, expected.get(key), predicted.get(key)) for key in wrong[:20]],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--date", default="2026-11-20", help="first night")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="nightshift-reconcile-world-"))
    env = {**os.environ, "NIGHTSHIFT_HOME": str(home)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "nightshift.cli", "demo", "--no-airflow", "--users", str(args.users), "--days",
         str(args.days), "--date", args.date],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    last = date.fromisoformat(args.date) + timedelta(days=args.days - 1)
    code = (
        "import json, sys; from datetime import date; from bench.reconcile_world import evaluate; "
        "from nightshift.settings import get_settings; from nightshift.warehouse import get_client; "
        "print(json.dumps(evaluate(get_client(), get_settings().landing_dir, date.fromisoformat(sys.argv[1])), "
        "default=str, indent=1))"
    )
    scores = subprocess.run([sys.executable, "-c", code, last.isoformat()], env=env, check=True, text=True,
                            capture_output=True).stdout  # fmt: skip
    print(f"{args.users:,} people, {args.days} nights in {elapsed:.0f} s (installation {home})")
    print(scores)
    json.loads(scores)


if __name__ == "__main__":
    main()
