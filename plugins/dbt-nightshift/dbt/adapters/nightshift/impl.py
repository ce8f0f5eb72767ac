from dbt.adapters.clickhouse.impl import ClickHouseAdapter
from dbt.adapters.nightshift.connections import NightshiftConnectionManager


class NightshiftAdapter(ClickHouseAdapter):
    """dbt-clickhouse's adapter, connected through Nightshift's warehouse factory."""

    ConnectionManager = NightshiftConnectionManager
