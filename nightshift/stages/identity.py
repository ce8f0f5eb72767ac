"""Identity stage (thin first pass): give every app user a stable integer `one_id`.

This pass links only what an app registration links (an app user id and the phone bound to it); full
cross-channel resolution replaces it later without changing the contract: `marts.identity_map`
(one_id, id_type, id_value, first_seen_date, last_seen_date) as of the run date.

Stability: the map of the previous run date is the starting point, so a person keeps their one_id; new ids
get numbers after the current maximum, in a deterministic order. Each run date's full map is kept in
`marts.identity_map_daily` (partition = run date), which makes a re-run for the same date reproduce it exactly.
"""

from __future__ import annotations

from nightshift.pipeline import StageContext, StageResult
from nightshift.tables import count_rows, drop_date_partition, table_exists

IDENTITY_MAP_COLUMNS = """
    one_id           UInt64,
    id_type          LowCardinality(String),
    id_value         String,
    first_seen_date  Date,
    last_seen_date   Date
"""

DAILY_DDL = f"""
CREATE TABLE IF NOT EXISTS marts.identity_map_daily
(
    run_date         Date,
    {IDENTITY_MAP_COLUMNS}
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, id_type, id_value)
"""

MAP_DDL = f"""
CREATE TABLE IF NOT EXISTS marts.identity_map
(
    {IDENTITY_MAP_COLUMNS}
)
ENGINE = MergeTree
ORDER BY (one_id, id_type, id_value)
"""

# Ids seen up to the run date: the app user id, and the bound phone as an id of the same person.
OBSERVED_IDS_SQL = """
SELECT id_type, id_value, anchor_user_id, min(_drop_date) AS first_seen, max(_drop_date) AS last_seen
FROM
(
    SELECT 'app_user_id' AS id_type, user_id AS id_value, user_id AS anchor_user_id, _drop_date
    FROM raw.app__users WHERE _drop_date <= {run_date:Date}
    UNION ALL
    SELECT 'phone', assumeNotNull(phone), user_id, _drop_date
    FROM raw.app__users WHERE _drop_date <= {run_date:Date} AND phone IS NOT NULL AND phone != ''
)
GROUP BY id_type, id_value, anchor_user_id
"""


def run(ctx: StageContext) -> StageResult:
    client = ctx.client
    client.command("CREATE DATABASE IF NOT EXISTS marts")
    client.command(DAILY_DDL)
    client.command(MAP_DDL)
    drop_date_partition(client, "marts.identity_map_daily", ctx.run_date)
    params = {"run_date": ctx.run_date}

    if table_exists(client, "raw.app__users"):
        # Previous map (strictly before the run date) -> keep its one_ids; anchors seen for the first time get
        # max(one_id) + their rank by user id, so numbering is deterministic and never reuses an id.
        client.command(
            f"""
            INSERT INTO marts.identity_map_daily
            WITH
                previous AS (
                    SELECT id_type, id_value, one_id, first_seen_date
                    FROM marts.identity_map_daily
                    WHERE run_date = (SELECT max(run_date) FROM marts.identity_map_daily
                                      WHERE run_date < {{run_date:Date}})
                ),
                observed AS ({OBSERVED_IDS_SQL}),
                anchor_known AS (
                    SELECT id_value AS anchor_user_id, one_id FROM previous WHERE id_type = 'app_user_id'
                ),
                next_base AS (SELECT max(one_id) AS base FROM previous),
                new_anchors AS (
                    SELECT anchor_user_id,
                           (SELECT coalesce(max(base), 0) FROM next_base)
                               + row_number() OVER (ORDER BY anchor_user_id) AS one_id
                    FROM (SELECT DISTINCT anchor_user_id FROM observed)
                    WHERE anchor_user_id NOT IN (SELECT anchor_user_id FROM anchor_known)
                ),
                anchors AS (SELECT * FROM anchor_known UNION ALL SELECT * FROM new_anchors)
            SELECT {{run_date:Date}}, anchors.one_id, observed.id_type, observed.id_value,
                   observed.first_seen, observed.last_seen
            FROM observed
            INNER JOIN anchors ON observed.anchor_user_id = anchors.anchor_user_id
            """,
            parameters=params,
        )
    client.command(MAP_DDL)
    client.command("TRUNCATE TABLE marts.identity_map")
    client.command(
        "INSERT INTO marts.identity_map SELECT one_id, id_type, id_value, first_seen_date, last_seen_date "
        "FROM marts.identity_map_daily WHERE run_date = {run_date:Date}",
        parameters=params,
    )
    ids = count_rows(client, "marts.identity_map")
    people = int(client.query("SELECT uniqExact(one_id) FROM marts.identity_map").result_rows[0][0])
    summary = f"{people} people, {ids} identifiers" if ids else "no app users ingested yet: identity map is empty"
    return StageResult("identity", ctx.run_date, rows={"marts.identity_map": ids, "people": people}, summary=summary)
