"""Benchmarks: `make bench` / `python -m bench`. They print figures; they assert nothing about time.

Benches print tables, not dbt's node-by-node log: a bench that runs dbt calls `quiet_dbt()` first.
"""

import os


def quiet_dbt() -> None:
    """Run dbt quietly in this process and the processes it starts (`DBT_QUIET`, dbt's own switch): errors still
    print, and the whole log stays in the installation's `dbt/logs/dbt.log`. Called by the benches' `main`, never
    on import, so importing a bench module (the tests do) changes nothing for anyone else."""
    os.environ.setdefault("DBT_QUIET", "true")


def load_average() -> str:
    """The machine's load average over 1, 5 and 15 minutes: on a shared machine, read each timing beside it."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} {five:.1f} {fifteen:.1f}"


def machine_description() -> str:
    """What the figures were measured on: architecture, cores, memory, Python."""
    import platform

    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {memory_gib:.0f} GiB, Python {platform.python_version()}"
