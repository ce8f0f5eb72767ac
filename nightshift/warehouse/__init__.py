"""The warehouse: one client factory, every Python-owned table declared once, partition replacement helpers.

- `client`: `get_client()` (embedded chdb engine or a ClickHouse server, from NIGHTSHIFT_CLICKHOUSE_URL, with the
  embedded engine's advisory lock) and `ensure_databases()`, the one place databases are created;
- `schema`: the declaration of every table Nightshift's Python code writes (raw, ops, identity, audience);
- `partitions`: `reset_partitions` before a dated write, `table_exists`, `count_rows`.
"""

from nightshift.warehouse.client import ensure_databases, get_client

__all__ = ["ensure_databases", "get_client"]
