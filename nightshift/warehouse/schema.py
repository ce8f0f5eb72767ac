"""Every table that Nightshift's Python code owns, declared once: raw, ops, identity and audience.

dbt owns `staging`, `intermediate`, `marts` and `snapshots` (dbt_project/); everything else the pipeline writes is
declared here, so a reader finds a table's columns, engine, partition and order key in one place, and a stage
never carries DDL of its own. `ensure_tables(client, *names)` creates what is missing (idempotent).

Dated tables are partitioned by the run date: a stage replaces its date with
`nightshift.warehouse.partitions.reset_partitions` before it writes, so a re-run never appends twice.
"""

from __future__ import annotations

from nightshift.sources.model import Entity, Field

# Every database, created in one place (`nightshift.warehouse.ensure_databases`). Python owns the first group;
# `ingest_stage` holds ingestion's per-batch scratch tables, dropped when a batch ends. dbt builds into the second
# group (created here too, so code and tests that read a mart before the first build find the database).
INGEST_SCRATCH_DATABASE = "ingest_stage"
PYTHON_DATABASES: tuple[str, ...] = ("raw", INGEST_SCRATCH_DATABASE, "ops", "identity", "audience")
DBT_DATABASES: tuple[str, ...] = ("staging", "intermediate", "marts", "snapshots")
DATABASES: tuple[str, ...] = PYTHON_DATABASES + DBT_DATABASES

# ---------------------------------------------------------------------------------------------------------------
# raw: one table per declared source entity, plus the quarantine. Raw tables follow the raw-table convention: one
# column per declared field holding the normalised value, `<field>_original` for phone/timestamp/amount fields,
# then the lineage columns. They are partitioned by `_drop_date` so that re-ingesting one day replaces that day.
# ---------------------------------------------------------------------------------------------------------------

CLICKHOUSE_TYPES: dict[str, str] = {
    "string": "String",
    "int": "Int64",
    "float": "Float64",
    "bool": "UInt8",
    "timestamp": "DateTime64(3, 'UTC')",
    "date": "Date",
    "phone": "String",
    "amount_fen": "Int64",
    "string_array": "Array(String)",
    "int_array": "Array(Int64)",
    "json": "String",
}
ARRAY_TYPES = frozenset({"string_array", "int_array"})
KEEPS_ORIGINAL = frozenset({"phone", "timestamp", "amount_fen"})

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_drop_date", "Date"),
    ("_batch_id", "String"),
    ("_source_file", "String"),
    ("_line_number", "UInt64"),
    ("_ingested_at", "DateTime64(3, 'UTC')"),
    ("_is_late", "UInt8"),
    ("_extra", "String"),
)


def column_type(field: Field) -> str:
    base = CLICKHOUSE_TYPES[field.type]
    if field.required or field.type in ARRAY_TYPES:
        return base  # arrays cannot be Nullable in ClickHouse; absent means empty
    return f"Nullable({base})"


def raw_columns(entity: Entity) -> list[tuple[str, str]]:
    """(name, type) of every column of the entity's raw table, in table order."""
    columns: list[tuple[str, str]] = []
    for field in entity.fields:
        columns.append((field.name, column_type(field)))
        if field.type in KEEPS_ORIGINAL:
            columns.append((f"{field.name}_original", "String"))
    return columns + list(LINEAGE_COLUMNS)


def raw_table_ddl(entity: Entity, table: str | None = None) -> str:
    columns = ",\n    ".join(f"`{name}` {ctype}" for name, ctype in raw_columns(entity))
    return (
        f"CREATE TABLE IF NOT EXISTS {table or entity.raw_table}\n(\n    {columns}\n)\n"
        "ENGINE = MergeTree\nPARTITION BY _drop_date\nORDER BY (_drop_date, _source_file, _line_number)"
    )


QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS raw.quarantine
(
    _drop_date    Date,
    source        LowCardinality(String),
    entity        LowCardinality(String),
    source_file   String,
    line_number   UInt64,
    raw_line      String,
    reason_code   LowCardinality(String),
    reason        String,
    _batch_id     String,
    _ingested_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY (_drop_date, source)
ORDER BY (source, entity, _drop_date, source_file, line_number)
"""

# Append-only: one row per file per batch. The newest batch of a (day, source, entity) says what is loaded now.
INGESTED_FILES_DDL = """
CREATE TABLE IF NOT EXISTS ops.ingested_files
(
    drop_date     Date,
    source        LowCardinality(String),
    entity        LowCardinality(String),
    source_file   String,
    status        LowCardinality(String),
    sha256        String,
    lines         UInt64,
    loaded        UInt64,
    duplicates    UInt64,
    quarantined   UInt64,
    batch_id      String,
    ingested_at   DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (drop_date, source, entity, source_file)
"""

# Append-only history: what each ingestion run of a (date, source) did, file by file (latest = max ingested_at).
INGESTION_SUMMARY_DDL = """
CREATE TABLE IF NOT EXISTS ops.ingestion_summary
(
    run_date              Date,
    source                LowCardinality(String),
    entity                LowCardinality(String),
    source_file           String,
    status                LowCardinality(String),
    sha256                String,
    encoding              LowCardinality(String),
    lines                 UInt64,
    blank_lines           UInt64,
    loaded                UInt64,
    duplicates            UInt64,
    quarantined           UInt64,
    quarantined_by_reason Map(String, UInt64),
    late_rows             UInt64,
    drift_rows            UInt64,
    drift_fields          Array(String),
    message               String,
    batch_id              String,
    ingested_at           DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (run_date, source, source_file)
"""

INGESTION_SUMMARY_COLUMNS: tuple[str, ...] = (
    "run_date",
    "source",
    "entity",
    "source_file",
    "status",
    "sha256",
    "encoding",
    "lines",
    "blank_lines",
    "loaded",
    "duplicates",
    "quarantined",
    "quarantined_by_reason",
    "late_rows",
    "drift_rows",
    "drift_fields",
    "message",
    "batch_id",
    "ingested_at",
)
INGESTED_FILES_COLUMNS: tuple[str, ...] = (
    "drop_date",
    "source",
    "entity",
    "source_file",
    "status",
    "sha256",
    "lines",
    "loaded",
    "duplicates",
    "quarantined",
    "batch_id",
    "ingested_at",
)


# ---------------------------------------------------------------------------------------------------------------
# ops: bookkeeping of ingestion and stage runs, and the segment preview cache
# ---------------------------------------------------------------------------------------------------------------

STAGE_RUNS_DDL = """
CREATE TABLE IF NOT EXISTS ops.stage_runs
(
    stage        LowCardinality(String),
    run_date     Date,
    started_at   DateTime64(3, 'UTC'),
    finished_at  DateTime64(3, 'UTC'),
    status       LowCardinality(String),
    rows_json    String,
    message      String
)
ENGINE = MergeTree
ORDER BY (stage, run_date, started_at)
"""


SEGMENT_BITMAP_CACHE_TABLE = "ops.segment_bitmap_cache"
SEGMENT_BITMAP_CACHE_DDL = f"""
CREATE TABLE IF NOT EXISTS {SEGMENT_BITMAP_CACHE_TABLE}
(
    fingerprint String,
    segment     String,
    built_at    DateTime,
    bitmap      AggregateFunction(groupBitmap, UInt32)
)
ENGINE = ReplacingMergeTree(built_at)
ORDER BY fingerprint
TTL built_at + INTERVAL 7 DAY
SETTINGS index_granularity = 1
"""

# ---------------------------------------------------------------------------------------------------------------
# identity: written by the identity stage. Every table but `identity.identity_map` is partitioned by run date;
# `identity.identity_map` is the current map (the latest run's partition of `identity.identity_map_daily`).
# ---------------------------------------------------------------------------------------------------------------

IDENTITY_MAP_COLUMNS = """
    one_id           UInt64,
    id_type          LowCardinality(String),
    id_value         String,
    first_seen_date  Date,
    last_seen_date   Date
"""

IDENTITY_DATED_TABLES: dict[str, str] = {
    "identity.identity_map_daily": f"""
        CREATE TABLE IF NOT EXISTS identity.identity_map_daily
        (
            run_date Date,
            {IDENTITY_MAP_COLUMNS}
        )
        ENGINE = MergeTree
        PARTITION BY run_date
        ORDER BY (run_date, id_type, id_value)
    """,
    # One row per person absorbed into another on the run date.
    "identity.identity_merges": """
        CREATE TABLE IF NOT EXISTS identity.identity_merges
        (
            run_date          Date,
            surviving_one_id  UInt64,
            merged_one_id     UInt64,
            merged_ids        UInt64
        )
        ENGINE = MergeTree
        PARTITION BY run_date
        ORDER BY (run_date, surviving_one_id, merged_one_id)
    """,
    # One row per part of a known person that moved to another one_id on the run date.
    "identity.identity_splits": """
        CREATE TABLE IF NOT EXISTS identity.identity_splits
        (
            run_date         Date,
            original_one_id  UInt64,
            new_one_id       UInt64,
            moved_ids        UInt64
        )
        ENGINE = MergeTree
        PARTITION BY run_date
        ORDER BY (run_date, original_one_id, new_one_id)
    """,
    # Ids that were not allowed to link: blocklisted placeholders, hubs of oversize components, and ids left
    # unmerged because their component stayed oversize.
    "identity.identity_blocked": """
        CREATE TABLE IF NOT EXISTS identity.identity_blocked
        (
            run_date        Date,
            id_type         LowCardinality(String),
            id_value        String,
            reason          LowCardinality(String),
            degree          Nullable(UInt64),
            component_size  Nullable(UInt64)
        )
        ENGINE = MergeTree
        PARTITION BY run_date
        ORDER BY (run_date, reason, id_type, id_value)
    """,
    "identity.identity_summary": """
        CREATE TABLE IF NOT EXISTS identity.identity_summary
        (
            run_date           Date,
            people             UInt64,
            ids                UInt64,
            edges              UInt64,
            merges             UInt64,
            splits             UInt64,
            blocked_ids        UInt64,
            largest_component  UInt64
        )
        ENGINE = MergeTree
        PARTITION BY run_date
        ORDER BY run_date
    """,
}

IDENTITY_MAP_DDL = f"""
CREATE TABLE IF NOT EXISTS identity.identity_map
(
    {IDENTITY_MAP_COLUMNS}
)
ENGINE = MergeTree
ORDER BY (one_id, id_type, id_value)
"""


# ---------------------------------------------------------------------------------------------------------------
# audience: segments, campaign audiences and reconciliation, each partitioned by run date
# ---------------------------------------------------------------------------------------------------------------

SEGMENT_MEMBERSHIP_DDL = """
CREATE TABLE IF NOT EXISTS audience.segment_membership
(
    run_date  Date,
    segment   LowCardinality(String),
    one_id    UInt64
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, segment, one_id)
"""
SEGMENT_CHANGES_DDL = """
CREATE TABLE IF NOT EXISTS audience.segment_changes
(
    run_date       Date,
    segment        LowCardinality(String),
    previous_date  Nullable(Date),
    members        UInt64,
    entered        UInt64,
    exited         UInt64
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, segment)
"""
# Each segment's members of the night as one bitmap, under the fingerprint of (its query, the marts' data) that
# `nightshift.segments.cache` computes: previews overlap with shipped segments by reading these instead of scanning.
SEGMENT_BITMAPS_DDL = """
CREATE TABLE IF NOT EXISTS audience.segment_bitmaps
(
    run_date     Date,
    segment      LowCardinality(String),
    fingerprint  String,
    members      UInt64,
    bitmap       AggregateFunction(groupBitmap, UInt32)
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (fingerprint, segment)
SETTINGS index_granularity = 1
"""
# Uploaded lists (segments/uploads/<name>.csv), matched by the segments stage: the people each list names (they
# join audience.segment_membership under the list's name), one summary row per list, and its unmatched rows (the
# first ones of each list, normalised, with the reason; every one is counted in upload_matches).
UPLOAD_MEMBERS_DDL = """
CREATE TABLE IF NOT EXISTS audience.upload_members
(
    run_date  Date,
    upload    LowCardinality(String),
    one_id    UInt64
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, upload, one_id)
"""
UPLOAD_MATCHES_DDL = """
CREATE TABLE IF NOT EXISTS audience.upload_matches
(
    run_date            Date,
    upload              LowCardinality(String),
    file                String,
    rows                UInt64,
    matched_rows        UInt64,
    members             UInt64,
    unmatched_by_reason Map(String, UInt64),
    error               String
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, upload)
"""
UPLOAD_UNMATCHED_DDL = """
CREATE TABLE IF NOT EXISTS audience.upload_unmatched
(
    run_date  Date,
    upload    LowCardinality(String),
    line      UInt32,
    ids       String,
    reason    String
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, upload, line)
"""
# One row per (campaign, person) kept on the run date, holdout included (channel ''). `contact_id` is the contact's
# idempotency key (nightshift/campaigns/contact_id.py); a table created before it existed gains it in place, keys
# of older rows recomputed by the same formula (nightshift/audiences/contacts.py).
CAMPAIGN_AUDIENCE_DDL = """
CREATE TABLE IF NOT EXISTS audience.campaign_audience
(
    run_date     Date,
    campaign_id  LowCardinality(String),
    one_id       UInt64,
    contact_id   String,
    variant      LowCardinality(String),
    channel      LowCardinality(String),
    contact_ref  String,
    send_at      DateTime('UTC'),
    benefit_id   LowCardinality(String),
    cost_fen     Int64
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, campaign_id, one_id)
"""
# One row per contact actually handed to a channel: written by the export stage for exactly the rows of the files
# it wrote (source 'plan'; 'replenishment' for re-sends). Frequency caps, the budget's fatigue order and the money
# already spent read this table, not the plan.
CONTACT_HISTORY_DDL = """
CREATE TABLE IF NOT EXISTS audience.contact_history
(
    run_date     Date,
    campaign_id  LowCardinality(String),
    one_id       UInt64,
    channel      LowCardinality(String),
    contact_id   String,
    variant      LowCardinality(String),
    send_at      DateTime('UTC'),
    benefit_id   LowCardinality(String),
    cost_fen     Int64,
    source       LowCardinality(String),
    replenishes  String
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, contact_id)
"""
# What happened to each record the deliver stage sent through a channel's API, APPENDED as it goes and never reset:
# a row `sending` before each call, then `retrying` (a retryable error; another attempt follows), `gave_up` (retries
# ran out), `accepted` or `failed` (refused for good, with the vendor's code). A contact's latest row is its state;
# a rerun skips contacts whose latest row is accepted or failed and resends the rest with the same idempotency key.
DELIVERY_RESULTS_DDL = """
CREATE TABLE IF NOT EXISTS audience.delivery_results
(
    run_date          Date,
    campaign_id       LowCardinality(String),
    channel           LowCardinality(String),
    contact_id        String,
    attempt           UInt16,
    status            LowCardinality(String),
    vendor_code       String,
    vendor_message_id String,
    sent_at           DateTime64(6, 'UTC')
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, channel, campaign_id, contact_id, sent_at)
"""
# One row per short link handed over on the run date (plans with `template.link`): the person's code in one campaign
# (nightshift/shortcodes), the channel and variant it went out with, and where it redirects. Written by the export
# stage before the files that carry the links; read by the redirect service (through its lake copy) and by dbt to
# resolve clicked codes to (campaign_id, one_id). A code is the same on every date for the same campaign and person.
SHORT_LINKS_DDL = """
CREATE TABLE IF NOT EXISTS audience.short_links
(
    run_date     Date,
    code         String,
    campaign_id  LowCardinality(String),
    one_id       UInt64,
    channel      LowCardinality(String),
    variant      LowCardinality(String),
    landing_url  String
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, campaign_id, one_id, channel)
"""
# One row per (campaign, person) left out on the run date: the first step's reason, the arm the person's draw
# puts them in (variant) and the first channel still open to them when they left ('' when none). Rows written
# before variant and channel existed keep '' in both (nightshift/audiences/contacts.py adds the columns).
EXCLUSIONS_DDL = """
CREATE TABLE IF NOT EXISTS audience.exclusions
(
    run_date     Date,
    campaign_id  LowCardinality(String),
    one_id       UInt64,
    reason       LowCardinality(String),
    variant      LowCardinality(String),
    channel      LowCardinality(String)
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, campaign_id, reason, one_id)
"""
# The quality gate before export (nightshift/deliveries/gate.py): one row per campaign and expectation of the
# night's Great Expectations checkpoint; a campaign with a failed row was withheld.
QUALITY_GATE_DDL = """
CREATE TABLE IF NOT EXISTS audience.quality_gate
(
    run_date     Date,
    campaign_id  LowCardinality(String),
    expectation  LowCardinality(String),
    target       String,
    success      UInt8,
    observed     String,
    unexpected   UInt64,
    why          String
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, campaign_id, expectation, target)
"""
# Reconciliation (对账): one row per business key per run date, in exactly one class; history is kept per run date.
RECONCILIATION_ITEMS_DDL = """
CREATE TABLE IF NOT EXISTS audience.reconciliation_items
(
    run_date             Date,
    business_date        Date,
    campaign_id          LowCardinality(String),
    channel              LowCardinality(String),
    contact_id           String,
    one_id               Nullable(Int64),
    class                LowCardinality(String),
    planned_fen          Int64,
    granted_fen          Int64,
    grants               Int64,
    vendor_status        LowCardinality(String),
    vendor_code          String,
    first_seen_run_date  Date,
    resolved_run_date    Nullable(Date)
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, business_date, campaign_id, class, contact_id)
"""
# Per run date, business date, campaign and class: keys and money.
RECONCILIATION_DDL = """
CREATE TABLE IF NOT EXISTS audience.reconciliation
(
    run_date       Date,
    business_date  Date,
    campaign_id    LowCardinality(String),
    class          LowCardinality(String),
    keys           Int64,
    planned_fen    Int64,
    granted_fen    Int64
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, business_date, campaign_id, class)
"""
# Make-up orders (补单) decided on the run date. Across run dates this is also the replenishment ledger: an original
# key made up on any date is never made up again.
REPLENISHMENT_DDL = """
CREATE TABLE IF NOT EXISTS audience.replenishment
(
    run_date       Date,
    contact_id     String,
    replenishes    String,
    business_date  Date,
    campaign_id    LowCardinality(String),
    channel        LowCardinality(String),
    one_id         Int64,
    benefit_id     LowCardinality(String),
    planned_fen    Int64
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, campaign_id, contact_id)
"""
# Failed deliveries sent once more on the campaign's next fallback channel, decided on the run date (exported that
# night as `resend__<campaign>__<channel>.csv`). Across run dates also the ledger of every key ever resent.
RESENDS_DDL = """
CREATE TABLE IF NOT EXISTS audience.resends
(
    run_date     Date,
    contact_id   String,
    replenishes  String,
    campaign_id  LowCardinality(String),
    channel      LowCardinality(String),
    one_id       Int64,
    variant      LowCardinality(String),
    contact_ref  String,
    send_at      DateTime('UTC')
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, campaign_id, channel, contact_id)
"""
# How vendor receipts found their contact, per vendor table up to the run date: by the key they echo, by address
# (channel address + send day, for records without the key), or not at all (ambiguous: several contacts there).
RECEIPT_MATCHING_DDL = """
CREATE TABLE IF NOT EXISTS audience.receipt_matching
(
    run_date            Date,
    vendor_table        LowCardinality(String),
    matched_by_key      UInt64,
    matched_by_address  UInt64,
    ambiguous           UInt64,
    unmatched           UInt64
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, vendor_table)
"""
# What could not be made up, and why (campaign inactive, over budget, over the per-user cap, person blocked,
# circuit open) and which failed deliveries could not be resent (no fallback channel, unreachable, capped).
REPLENISHMENT_REFUSALS_DDL = """
CREATE TABLE IF NOT EXISTS audience.replenishment_refusals
(
    run_date     Date,
    contact_id   String,
    campaign_id  LowCardinality(String),
    reason       LowCardinality(String)
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, campaign_id, reason, contact_id)
"""
# Loss monitors (资损监控): a critical alert opens the campaign's circuit breaker until `nightshift campaign resume`.
LOSS_ALERTS_DDL = """
CREATE TABLE IF NOT EXISTS audience.loss_alerts
(
    run_date          Date,
    campaign_id       LowCardinality(String),
    monitor           LowCardinality(String),
    severity          LowCardinality(String),
    money_at_risk_fen Int64,
    keys              Int64,
    detail            String
)
ENGINE = MergeTree
PARTITION BY run_date
ORDER BY (run_date, campaign_id, monitor)
"""
# Who let a campaign go again after its breaker opened, and why (append-only; never reset by a stage).
CAMPAIGN_RESUMES_DDL = """
CREATE TABLE IF NOT EXISTS ops.campaign_resumes
(
    campaign_id         LowCardinality(String),
    acknowledged_through Date,
    resumed_at          DateTime64(3, 'UTC'),
    resumed_by          String,
    reason              String
)
ENGINE = MergeTree
ORDER BY (campaign_id, resumed_at)
"""


# Every declared table by name, for `ensure_tables`. Raw entity tables are declared from the catalog instead
# (`raw_table_ddl`), since their columns are the entity's fields.
TABLES: dict[str, str] = {
    "raw.quarantine": QUARANTINE_DDL,
    "ops.ingested_files": INGESTED_FILES_DDL,
    "ops.ingestion_summary": INGESTION_SUMMARY_DDL,
    "ops.stage_runs": STAGE_RUNS_DDL,
    SEGMENT_BITMAP_CACHE_TABLE: SEGMENT_BITMAP_CACHE_DDL,
    **IDENTITY_DATED_TABLES,
    "identity.identity_map": IDENTITY_MAP_DDL,
    "audience.segment_membership": SEGMENT_MEMBERSHIP_DDL,
    "audience.segment_changes": SEGMENT_CHANGES_DDL,
    "audience.segment_bitmaps": SEGMENT_BITMAPS_DDL,
    "audience.upload_members": UPLOAD_MEMBERS_DDL,
    "audience.upload_matches": UPLOAD_MATCHES_DDL,
    "audience.upload_unmatched": UPLOAD_UNMATCHED_DDL,
    "audience.campaign_audience": CAMPAIGN_AUDIENCE_DDL,
    "audience.contact_history": CONTACT_HISTORY_DDL,
    "audience.exclusions": EXCLUSIONS_DDL,
    "audience.delivery_results": DELIVERY_RESULTS_DDL,
    "audience.short_links": SHORT_LINKS_DDL,
    "audience.quality_gate": QUALITY_GATE_DDL,
    "audience.reconciliation_items": RECONCILIATION_ITEMS_DDL,
    "audience.reconciliation": RECONCILIATION_DDL,
    "audience.replenishment": REPLENISHMENT_DDL,
    "audience.replenishment_refusals": REPLENISHMENT_REFUSALS_DDL,
    "audience.resends": RESENDS_DDL,
    "audience.receipt_matching": RECEIPT_MATCHING_DDL,
    "audience.loss_alerts": LOSS_ALERTS_DDL,
    "ops.campaign_resumes": CAMPAIGN_RESUMES_DDL,
}


def ensure_tables(client, *names: str) -> None:
    """Create the named tables, and their databases, if they do not exist yet (a fresh installation may preview a
    segment before any night has run)."""
    for name in names:
        if name not in TABLES:
            raise KeyError(f"{name} is not declared in nightshift/warehouse/schema.py; declare it there first")
        client.command(f"CREATE DATABASE IF NOT EXISTS {name.split('.')[0]}")
        client.command(TABLES[name])
