"""Benchmarks: `make bench` / `python -m bench`. They print figures; they assert nothing about time."""


def machine_description() -> str:
    """What the figures were measured on: architecture, cores, memory, Python."""
    import os
    import platform

    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {memory_gib:.0f} GiB, Python {platform.python_version()}"
