"""The `nightshift` CLI, run as a user would (a subprocess with its own installation)."""

import csv
import io
import json

import pytest

from tests.conftest import run_cli


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory):
    return tmp_path_factory.mktemp("cli")


def test_sql_prints_table_csv_and_json(cli_home):
    query = "SELECT number AS n, concat('用户', toString(number)) AS name FROM numbers(3)"
    table = run_cli(cli_home, "sql", query).stdout
    assert "用户2" in table and "3 rows" in table
    rows = list(csv.DictReader(io.StringIO(run_cli(cli_home, "sql", query, "--format", "csv").stdout)))
    assert rows == [{"n": str(i), "name": f"用户{i}"} for i in range(3)]
    records = json.loads(run_cli(cli_home, "sql", query, "--format", "json").stdout)
    assert records[2] == {"n": 2, "name": "用户2"}


def test_sql_error_is_one_clear_line(cli_home):
    result = run_cli(cli_home, "sql", "SELECT no_such_column FROM numbers(1)", check=False)
    assert result.returncode != 0
    assert "no_such_column" in result.stderr + result.stdout


def test_status_shows_settings_warehouse_tables_and_last_runs(cli_home):
    run_cli(cli_home, "run", "--date", "2026-11-20", "--stages", "identity")
    out = run_cli(cli_home, "status").stdout
    assert "NIGHTSHIFT_CLICKHOUSE_URL" in out and str(cli_home) in out
    assert "Warehouse reachable" in out
    assert "identity.identity_map" in out
    assert "identity" in out and "success" in out and "2026-11-20" in out


def test_unknown_stage_is_rejected_before_any_work(cli_home):
    result = run_cli(cli_home, "run", "--date", "2026-11-20", "--stages", "ingest,idenity", check=False)
    assert result.returncode == 1
    assert "Unknown stage 'idenity'" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ((), "Which date? Give --date D (one date) or --from D1 --to D2"),
        (("--date", "2026-11-20", "--from", "2026-11-20", "--to", "2026-11-21"), "not both"),
        (("--from", "2026-11-20"), "--from needs --to"),
        (("--to", "2026-11-21"), "--to needs --from"),
        (("--from", "2026-11-22", "--to", "2026-11-20"), "ends (2026-11-20) before it starts (2026-11-22)"),
        (("--from", "2026-11-20", "--to", "2026-11-2x"), "is not a date; use YYYY-MM-DD"),
        (("--from", "2026-11-20", "--to", "2026-11-21", "--stages", "report,reprot"), "Unknown stage 'reprot'"),
    ],
)
def test_run_refuses_unclear_dates_with_one_clear_line(cli_home, arguments, expected):
    result = run_cli(cli_home, "run", *arguments, check=False)
    assert result.returncode == 1
    assert expected in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.stderr


def test_run_over_a_range_runs_each_date_in_order(cli_home):
    out = run_cli(cli_home, "run", "--from", "2026-11-20", "--to", "2026-11-21", "--stages", "report").stdout
    assert out.index("2026-11-20 report") < out.index("2026-11-21 report")
    for day in ("2026-11-20", "2026-11-21"):
        assert (cli_home / "reports" / day / "nightly_report.txt").exists()
