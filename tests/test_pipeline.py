"""`nightshift.pipeline.run_range`: a range of dates in order, stopping at the first failed date with the command
that resumes from it. Stage runners are small stand-ins (the real stages are tested in their own modules); the
bookkeeping goes to the session's real warehouse (`ops.stage_runs`). Dates lie far from other tests' dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from nightshift import pipeline
from nightshift.errors import NightshiftError
from nightshift.pipeline import BackfillStopped, run_range
from nightshift.stages.context import StageResult

FIRST = date(2031, 3, 1)
FAILING = FIRST + timedelta(days=2)
LAST = FIRST + timedelta(days=4)


class StandIns:
    """A runner per stage that records (date, stage) and raises on the dates and stages it is told to fail."""

    def __init__(self, failing: set[tuple[date, str]] = frozenset()):
        self.calls: list[tuple[date, str]] = []
        self.failing = set(failing)

    def runners(self) -> dict:
        def runner(stage: str):
            def run(ctx) -> StageResult:
                self.calls.append((ctx.run_date, stage))
                if (ctx.run_date, stage) in self.failing:
                    raise RuntimeError("executor lost\nsecond line of the stack")
                return StageResult(stage, ctx.run_date, summary="ok")

            return run

        return {stage: runner(stage) for stage in pipeline.STAGES}


@pytest.fixture
def stand_ins(monkeypatch):
    def install(failing=frozenset()) -> StandIns:
        fake = StandIns(failing)
        runners = fake.runners()
        monkeypatch.setattr(pipeline, "stage_runner", runners.__getitem__)
        return fake

    return install


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def test_a_range_runs_every_date_in_order_and_stops_at_the_first_failed_one(settings, client, stand_ins):
    fake = stand_ins({(FAILING, "audiences")})
    stages = ["export", "segments", "audiences"]  # any order given; pipeline order run
    with pytest.raises(BackfillStopped) as stopped:
        run_range(FIRST, LAST, stages, settings)

    in_order = ["segments", "audiences", "export"]
    assert fake.calls == [(day, s) for day in _days(FIRST, FAILING - timedelta(days=1)) for s in in_order] + [
        (FAILING, "segments"),
        (FAILING, "audiences"),
    ]
    message = str(stopped.value)
    assert message.startswith(f"Stage audiences failed on {FAILING}: RuntimeError: executor lost\n")
    assert f"{FIRST} to {FAILING - timedelta(days=1)} finished" in message
    resume = f"nightshift run --from {FAILING} --to {LAST} --stages segments,audiences,export"
    assert message.endswith(resume) and stopped.value.resume == resume
    assert (stopped.value.run_date, stopped.value.stage) == (FAILING, "audiences")
    assert isinstance(stopped.value.__cause__, RuntimeError)

    recorded = client.query(
        "SELECT run_date, stage, status FROM ops.stage_runs WHERE run_date BETWEEN {a:Date} AND {b:Date} "
        "ORDER BY started_at",
        parameters={"a": FIRST, "b": LAST},
    ).result_rows
    assert recorded[-1] == (FAILING, "audiences", "failed")
    assert [row for row in recorded if row[2] == "failed"] == [(FAILING, "audiences", "failed")]

    # once the cause is fixed, the printed command's dates finish the range
    fixed = stand_ins()
    results = run_range(FAILING, LAST, in_order, settings)
    assert fixed.calls == [(day, s) for day in _days(FAILING, LAST) for s in in_order]
    assert [(r.run_date, r.stage) for r in results] == fixed.calls


def test_a_failure_on_the_first_date_says_no_date_finished_and_all_stages_resume_without_stages(settings, stand_ins):
    stand_ins({(FIRST, "ingest")})
    with pytest.raises(BackfillStopped) as stopped:
        run_range(FIRST, FIRST, None, settings)
    assert "no date finished" in str(stopped.value)
    assert stopped.value.resume == f"nightshift run --from {FIRST} --to {FIRST}"


def test_a_backwards_range_or_an_unknown_stage_is_refused_before_any_work(settings, stand_ins):
    fake = stand_ins()
    with pytest.raises(NightshiftError, match=r"ends \(2031-03-01\) before it starts \(2031-03-05\)"):
        run_range(LAST, FIRST, None, settings)
    with pytest.raises(NightshiftError, match="Unknown stage 'segmnets'"):
        run_range(FIRST, LAST, ["segments", "segmnets"], settings)
    assert fake.calls == []
