"""Moving tables between ClickHouse and the Parquet lake, both directions, with ClickHouse's Parquet I/O."""

from datetime import date

import pyarrow.parquet as pq

from nightshift.lake import dataset_path, lake_to_table, table_to_lake


def test_table_round_trips_through_the_lake(client, settings):
    client.command(
        "CREATE OR REPLACE TABLE ops.lake_probe (one_id UInt64, name String, at DateTime64(3, 'UTC'), d Date) "
        "ENGINE = MergeTree ORDER BY one_id"
    )
    client.command(
        "INSERT INTO ops.lake_probe SELECT number, concat('名字', toString(number)), "
        "toDateTime64('2026-11-20 01:02:03.456', 3, 'UTC'), toDate('2026-11-20') FROM numbers(1000)"
    )
    path = dataset_path(settings.lake_root, "lake_probe", date(2026, 11, 20))
    assert path.endswith("/lake_probe/run_date=2026-11-20")

    written = table_to_lake(client, "ops.lake_probe", path)
    assert written.rows == 1000
    table = pq.read_table(path)
    assert table.num_rows == 1000 and set(table.column_names) == {"one_id", "name", "at", "d"}

    client.command("CREATE OR REPLACE TABLE ops.lake_probe_copy AS ops.lake_probe")
    loaded = lake_to_table(client, path, "ops.lake_probe_copy")
    assert loaded.rows == 1000 and loaded.files == 1
    difference = client.query(
        "SELECT count() FROM (SELECT * FROM ops.lake_probe EXCEPT SELECT * FROM ops.lake_probe_copy)"
    ).result_rows[0][0]
    assert difference == 0


def test_writing_a_partition_again_replaces_it(client, settings):
    path = dataset_path(settings.lake_root, "replace_probe", date(2026, 11, 20))
    table_to_lake(client, "SELECT number AS n FROM numbers(10)", path)
    table_to_lake(client, "SELECT number AS n FROM numbers(3)", path)
    assert pq.read_table(path).num_rows == 3


def test_query_parameters_reach_the_engine(client, settings):
    path = dataset_path(settings.lake_root, "param_probe")
    written = table_to_lake(
        client, "SELECT number AS n FROM numbers(100) WHERE n < {limit:UInt32}", path, parameters={"limit": 7}
    )
    assert written.rows == 7


def test_missing_lake_path_loads_nothing(client, settings):
    client.command("CREATE OR REPLACE TABLE ops.empty_probe (n UInt64) ENGINE = MergeTree ORDER BY n")
    loaded = lake_to_table(client, dataset_path(settings.lake_root, "never_written"), "ops.empty_probe")
    assert (loaded.rows, loaded.files) == (0, 0)
