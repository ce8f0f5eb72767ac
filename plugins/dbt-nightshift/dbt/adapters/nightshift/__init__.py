"""dbt adapter `nightshift`: dbt-clickhouse on the warehouse that NIGHTSHIFT_CLICKHOUSE_URL points at.

Depending on the `clickhouse` plugin makes dispatch fall back to dbt-clickhouse's `clickhouse__` macros and
materializations, so this package adds no macros of its own.
"""

from dbt.adapters.base import AdapterPlugin
from dbt.adapters.nightshift.connections import NightshiftConnectionManager, NightshiftCredentials
from dbt.adapters.nightshift.impl import NightshiftAdapter
from dbt.include import nightshift

__all__ = ["NightshiftAdapter", "NightshiftConnectionManager", "NightshiftCredentials", "Plugin"]

Plugin = AdapterPlugin(
    adapter=NightshiftAdapter,
    credentials=NightshiftCredentials,
    include_path=nightshift.PACKAGE_PATH,
    dependencies=["clickhouse"],
)
