"""Credentials, client and connection manager of the `nightshift` adapter.

The only difference from dbt-clickhouse is where the ClickHouse client comes from: Nightshift's one connection
factory, `nightshift.warehouse.get_client()`, which reads NIGHTSHIFT_CLICKHOUSE_URL and returns a client for the
embedded engine (chdb) or a ClickHouse server, and takes the embedded warehouse's advisory lock. That client is
wrapped in dbt-clickhouse's own `ChHttpClient`, so every query, setting, macro and materialization behaves exactly
as with dbt-clickhouse. Host, port and user in the profile are therefore ignored: the URL is the single source.
"""

from __future__ import annotations

from dataclasses import dataclass

from dbt.adapters.clickhouse.connections import ClickHouseConnectionManager, retryable_exceptions
from dbt.adapters.clickhouse.credentials import ClickHouseCredentials
from dbt.adapters.clickhouse.httpclient import ChHttpClient
from dbt.adapters.clickhouse.logger import logger

ADAPTER_TYPE = "nightshift"


@dataclass
class NightshiftCredentials(ClickHouseCredentials):
    @property
    def type(self) -> str:
        return ADAPTER_TYPE


class NightshiftClient(ChHttpClient):
    """dbt-clickhouse's client wrapper around the client made by Nightshift's connection factory."""

    def _create_client(self, credentials: ClickHouseCredentials):
        # Imported here so that loading the adapter (dbt parse, dbt --help) never touches the warehouse.
        from nightshift.warehouse import get_client

        client = get_client()
        # dbt-clickhouse passes these (session id, synchronous mutations, profile custom_settings) to
        # clickhouse_connect.get_client(); the factory takes none, so apply them to the new client instead.
        for key, value in self._conn_settings.items():
            client.set_client_setting(key, value)
        return client


class NightshiftConnectionManager(ClickHouseConnectionManager):
    TYPE = ADAPTER_TYPE

    @classmethod
    def open(cls, connection):
        # Same as ClickHouseConnectionManager.open, which calls its module-level get_db_client() by name.
        if connection.state == "open":
            return connection
        credentials = cls.get_credentials(connection.credentials)
        return cls.retry_connection(
            connection,
            connect=lambda: NightshiftClient(credentials),
            logger=logger,
            retry_limit=credentials.retries,
            retryable_exceptions=retryable_exceptions,
        )
