"""Benchmarks: `make bench` / `python -m bench`. They print figures; they assert nothing about time.

Benches print tables, not dbt's node-by-node log: a bench that runs dbt calls `quiet_dbt()` first.
"""

import os
from pathlib import Path


def quiet_dbt() -> None:
    """Run dbt quietly in this process and the processes it starts (`DBT_QUIET`, dbt's own switch): errors still
    print, and the whole log stays in the installation's `dbt/logs/dbt.log`. Called by the benches' `main`, never
    on import, so importing a bench module (the tests do) changes nothing for anyone else."""
    os.environ.setdefault("DBT_QUIET", "true")


def load_average(*, one_minute: bool = False) -> str:
    """The machine's load average over 1, 5 and 15 minutes (or the 1-minute one alone, for tables that show it
    before and after each figure): on a shared machine, read each timing beside it."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f}" if one_minute else f"{one:.1f} {five:.1f} {fifteen:.1f}"


def machine_memory_bytes() -> int:
    """The machine's physical memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def machine_description() -> str:
    """What the figures were measured on: architecture, cores, memory, Python."""
    import platform

    memory_gib = machine_memory_bytes() / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {memory_gib:.0f} GiB, Python {platform.python_version()}"


def frame_checksum(frame) -> str:
    """ "<rows>:<sum of xxhash64 over every column>": order-independent, equal iff (almost surely) the same rows."""
    from pyspark.sql import functions as F

    row = frame.agg(F.count("*"), F.sum(F.xxhash64(*frame.columns).cast("decimal(38,0)"))).first()
    return f"{row[0]}:{row[1] or 0}"


def jvm_cpu_seconds(spark) -> float:
    """CPU seconds the Spark driver JVM (local mode: every executor thread too) has used so far."""
    pid = spark.sparkContext._gateway.proc.pid
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
