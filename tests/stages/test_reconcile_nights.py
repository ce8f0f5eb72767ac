"""Five simulated nights in which the world answers what Nightshift exported (`nightshift demo --days 5`): the
reconcile stage's classes against the faults the world injected (`_truth/reconciliation_faults.csv`), late receipts
moving keys from pending to their class, make-up orders, and re-runs that never make up or contact anybody twice.

Scale: a small world, so the test fits the suite; the same check runs at any scale with
`python -m bench.reconcile_world` (see docs).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.conftest import run_cli, run_python

FIRST_NIGHT = "2026-11-20"
LAST_NIGHT = "2026-11-24"  # lag 3: the first night's keys are final on the fifth night
USERS = "800"

EVALUATE = textwrap.dedent(
    """
    import json, sys
    from datetime import date
    from bench.reconcile_world import evaluate
    from nightshift.settings import get_settings
    from nightshift.warehouse import get_client
    print("RESULT " + json.dumps(evaluate(get_client(), get_settings().landing_dir, date.fromisoformat(sys.argv[1])),
                                 default=str))
    """
)
PRINTS = textwrap.dedent(
    """
    import json, sys
    from nightshift.warehouse import get_client
    client = get_client()
    prints = {}
    for table in ("audience.replenishment", "audience.contact_history", "audience.reconciliation_items",
                  "audience.loss_alerts", "audience.replenishment_refusals"):
        prints[table] = [str(v) for v in client.query(
            f"SELECT count(), sum(cityHash64(*)) FROM {table}").result_rows[0]]
    made_up = client.query("SELECT replenishes, count() FROM audience.replenishment GROUP BY replenishes "
                           "HAVING count() > 1").result_rows
    contacts = client.query("SELECT contact_id, count() FROM audience.contact_history GROUP BY contact_id "
                            "HAVING count() > 1").result_rows
    print("RESULT " + json.dumps({"prints": prints, "made_up_twice": len(made_up), "contacted_twice": len(contacts)}))
    """
)


def _result(output: str) -> dict:
    return json.loads(next(line for line in output.splitlines() if line.startswith("RESULT ")).removeprefix("RESULT "))


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("five-nights")
    run_cli(home, "demo", "--no-airflow", "--users", USERS, "--days", "5", "--date", FIRST_NIGHT, timeout=2400)
    return home


@pytest.mark.slow
def test_every_class_matches_the_injected_faults(nights):
    result = _result(run_python(nights, EVALUATE, LAST_NIGHT, timeout=600))
    scores = result["classes"]
    assert result["settled_keys"] > 100, result
    for fault_class in ("delivery_failed", "ok"):
        assert scores[fault_class]["truth"] > 0, f"the world injected no {fault_class}: {result}"
    for klass, score in scores.items():
        assert score["precision"] in (None, 1.0) and score["recall"] in (None, 1.0), (klass, score, result["wrong"])
    assert result["late"]["total"] > 0 and result["late"]["pending_then_ok"] == result["late"]["total"], result


@pytest.mark.slow
def test_rerunning_nights_makes_up_and_contacts_nobody_twice(nights):
    before = _result(run_python(nights, PRINTS))
    assert before["made_up_twice"] == 0 and before["contacted_twice"] == 0
    # a night in the middle, and the last one, again: same tables, nobody made up or contacted twice
    run_cli(nights, "run", "--from", "2026-11-23", "--to", LAST_NIGHT, "--stages", "reconcile,audiences,export",
            timeout=1200)  # fmt: skip
    after = _result(run_python(nights, PRINTS))
    assert after == before
