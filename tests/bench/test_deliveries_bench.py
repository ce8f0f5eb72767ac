"""`python -m bench.deliveries` at a small scale: every channel writer is timed and its figures printed."""

from __future__ import annotations

import re
import subprocess
import sys

from nightshift.deliveries import WRITERS
from tests.conftest import REPO_ROOT


def test_the_deliveries_bench_prints_a_rate_for_every_channel() -> None:
    completed = subprocess.run([sys.executable, "-m", "bench.deliveries", "--rows", "3000"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    for channel in WRITERS:
        line = next(line for line in completed.stdout.splitlines() if f" {channel} " in line)
        figures = re.findall(r"[\d,]+(?:\.\d+)?%?", line)
        assert len(figures) == 5 and figures[-1].endswith("%"), line  # files, MB, seconds, rows/s, of goal
        assert int(figures[3].replace(",", "")) > 0, line
    assert "3,000 rows each" in completed.stdout
