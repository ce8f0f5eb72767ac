"""The three sides of reconciliation, read from the warehouse as the Spark job's input schemas
(`spark_jobs.reconcile`): the plan (every contact handed to a channel), the benefit ledger and the vendor receipts.

Every record that answers a contact carries its business key: the grant's `out_request_no`, Aliyun's `out_id`,
Chuanglan's `uid`, JPush's `cid`, WeChat's `client_msg_id`, the call list's `list_row_id`. Raw tables keep every
delivery of a record, so each side takes the newest record per vendor id (a re-delivered file never counts twice).
The deliver stage's permanent failures (`audience.delivery_results`) are receipts too. Records of other senders
carry no key: their grants are unplanned for us only when they name one of our campaigns.

A vendor record that comes back without the key (Chuanglan echoes `uid` only when the sender set it; some consoles
drop it) is matched on the channel address, channel and send day instead (`ADDRESS_MATCHED`): the key of the only
contact handed over to that address on that channel and day. When several contacts share them the record is
ambiguous and assigned to none; `RECEIPT_MATCHING_SQL` counts, per vendor, records matched by key, by address,
ambiguous and unmatched, so nothing is guessed silently.
"""

from __future__ import annotations

# Contacts handed to a channel on dates before the run date (plan rows and make-up orders alike).
PLAN_SQL = """
SELECT contact_id, run_date AS business_date, toString(campaign_id) AS campaign_id, toString(channel) AS channel,
       toInt64(one_id) AS one_id, toString(benefit_id) AS benefit_id, cost_fen AS planned_fen,
       toString(source) AS source, replenishes, toString(variant) AS variant
FROM audience.contact_history
WHERE run_date < {d:Date}
"""

# The benefit ledger up to the run date: the newest record of each grant, for our campaigns. The person is looked up
# in the identity map of the run date (null when the ledger's user is unknown to identity).
GRANTS_SQL = """
WITH
    grants AS (
        SELECT grant_id, coalesce(out_request_no, '') AS contact_id, campaign_id, user_id, amount, grant_time,
               _drop_date AS reported_date
        FROM raw.benefits__grants
        WHERE _drop_date <= {d:Date} AND campaign_id IN {campaigns:Array(String)}
        ORDER BY grant_id, _drop_date DESC, _line_number DESC
        LIMIT 1 BY grant_id
    ),
    people AS (
        SELECT id_value, any(one_id) AS one_id FROM identity.identity_map_daily
        WHERE id_type = 'app_user_id'
          AND run_date = (SELECT max(run_date) FROM identity.identity_map_daily WHERE run_date <= {d:Date})
        GROUP BY id_value
    )
SELECT g.grant_id AS grant_id, g.contact_id AS contact_id, g.campaign_id AS campaign_id,
       CAST(p.one_id AS Nullable(Int64)) AS one_id, g.amount AS amount_fen,
       toDateTime64(g.grant_time, 3, 'UTC') AS granted_at, g.reported_date AS reported_date
FROM grants AS g
LEFT JOIN people AS p ON p.id_value = g.user_id
"""

# One receipt per (vendor record, key), newest first (a JPush msg_id covers a whole push of up to 1,000 ids);
# `delivered` in each vendor's own terms.
RECEIPT_SOURCES: dict[str, tuple[str, str, str, str, str]] = {
    # table: (channel, key column, vendor record id, delivered condition, vendor code)
    "raw.receipts__aliyun_sms": ("sms", "out_id", "biz_id", "success = 1", "coalesce(err_code, '')"),
    "raw.receipts__chuanglan_sms": ("sms", "uid", "msgid", "status = 'DELIVRD'", "status"),
    "raw.receipts__jpush": ("app_push", "cid", "msg_id", "status != 'failed'", "toString(coalesce(error_code, 0))"),
    "raw.receipts__wechat_template": (
        "wechat_oa_template",
        "client_msg_id",
        "client_msg_id",
        "errcode = 0",
        "toString(errcode)",
    ),  # fmt: skip
    "raw.receipts__outbound_call": ("outbound_call", "list_row_id", "call_id", "call_result = '已接通'", "call_result"),
}

# The deliver stage's record of its API calls is a receipt source of its own: a contact whose latest result is
# `failed` (refused for good: not subscribed, not an external contact, an invalid number) is an undelivered receipt
# carrying the vendor's code, reported the night it was delivered. Accepted calls are no receipt: the vendor's own
# delivery report says whether the message arrived.
DELIVERY_RESULTS = "audience.delivery_results"
DELIVERY_FAILURES_SQL = """SELECT contact_id, channel, false AS delivered, vendor_code, run_date AS reported_date
FROM (SELECT contact_id, toString(channel) AS channel, run_date,
             argMax(status, (sent_at, attempt)) AS status, argMax(vendor_code, (sent_at, attempt)) AS vendor_code
      FROM audience.delivery_results WHERE run_date <= {d:Date}
      GROUP BY contact_id, channel, run_date)
WHERE status = 'failed'"""


def receipts_sql(tables: set[str]) -> str | None:
    """Receipts of every vendor table that exists, one row per (key, vendor record): contact_id, channel,
    delivered, vendor_code, reported_date. None when no receipt table exists yet."""
    selects = [
        f"""SELECT {key} AS contact_id, '{channel}' AS channel, toBool({delivered}) AS delivered,
       {code} AS vendor_code, _drop_date AS reported_date
FROM (SELECT * FROM {table} WHERE _drop_date <= {{d:Date}} AND coalesce({key}, '') != ''
      ORDER BY {record_id}, {key}, _drop_date DESC, _line_number DESC LIMIT 1 BY {record_id}, {key})"""
        for table, (channel, key, record_id, delivered, code) in RECEIPT_SOURCES.items()
        if table in tables
    ] + address_matched_receipts_sql(tables)
    if DELIVERY_RESULTS in tables:
        selects.append(DELIVERY_FAILURES_SQL)
    return "\nUNION ALL\n".join(selects) if selects else None


# Vendor tables whose records may lack the key: (channel, address column, event time column). A night's files are
# handed over after that night's run and sent the next day: the contact's business date is the event's day in China
# time minus SEND_LAG_DAYS (delivery reports come within minutes of the send, in daytime).
ADDRESS_MATCHED: dict[str, tuple[str, str, str]] = {
    "raw.receipts__chuanglan_sms": ("sms", "mobile", "reportTime"),
}
VENDOR_TIMEZONE = "Asia/Shanghai"
SEND_LAG_DAYS = 1
# Every contact handed over on a channel: its address and send day (plan rows and resends).
HANDED_OVER_ADDRESSES_SQL = """
SELECT a.contact_id AS contact_id, a.contact_ref AS address, a.run_date AS business_date
FROM audience.campaign_audience AS a
WHERE a.run_date <= {{d:Date}} AND a.channel = '{channel}' AND a.contact_id IN (
    SELECT contact_id FROM audience.contact_history WHERE run_date <= {{d:Date}} AND channel = '{channel}')
UNION ALL
SELECT contact_id, contact_ref, run_date FROM audience.resends WHERE run_date <= {{d:Date}} AND channel = '{channel}'
"""


def _keyless_matches_sql(table: str) -> str:
    """Keyless records of one vendor table with the keys of the contacts at their address and day (0, 1 or more)."""
    channel, key, record_id, delivered, code = RECEIPT_SOURCES[table]
    _, address, event_time = ADDRESS_MATCHED[table]
    return f"""
SELECT r.record_id AS record_id, any(r.delivered) AS delivered, any(r.vendor_code) AS vendor_code,
       any(r.reported_date) AS reported_date, groupArrayIf(h.contact_id, h.contact_id != '') AS candidates
FROM (SELECT {record_id} AS record_id, {address} AS address, toDate({event_time}, '{VENDOR_TIMEZONE}') - {SEND_LAG_DAYS}
                    AS business_date,
             toBool({delivered}) AS delivered, {code} AS vendor_code, _drop_date AS reported_date
      FROM {table} WHERE _drop_date <= {{d:Date}} AND coalesce({key}, '') = ''
      ORDER BY {record_id}, _drop_date DESC, _line_number DESC LIMIT 1 BY {record_id}) AS r
LEFT JOIN ({HANDED_OVER_ADDRESSES_SQL.format(channel=channel)}) AS h
    ON h.address = r.address AND h.business_date = r.business_date
GROUP BY r.record_id"""


def address_matched_receipts_sql(tables: set[str]) -> list[str]:
    """Receipts of keyless records matched to exactly one contact, in `receipts_sql`'s columns."""
    needed = {"audience.campaign_audience", "audience.resends"}
    if not needed <= tables:
        return []
    return [
        f"""SELECT candidates[1] AS contact_id, '{ADDRESS_MATCHED[table][0]}' AS channel, delivered, vendor_code,
       reported_date
FROM ({_keyless_matches_sql(table)}) WHERE length(candidates) = 1"""
        for table in ADDRESS_MATCHED
        if table in tables
    ]


def receipt_matching_sql(tables: set[str]) -> str | None:
    """Per vendor table up to the run date: records matched by key, by address, ambiguous and unmatched."""
    selects = []
    for table, (_, key, record_id, _, _) in RECEIPT_SOURCES.items():
        if table not in tables:
            continue
        by_key = f"""(SELECT uniqExact({record_id}, {key}) FROM {table}
                  WHERE _drop_date <= {{d:Date}} AND coalesce({key}, '') != '')"""
        if table in ADDRESS_MATCHED and {"audience.campaign_audience", "audience.resends"} <= tables:
            keyless = _keyless_matches_sql(table)
            selects.append(f"""SELECT '{table}' AS vendor_table, {by_key} AS matched_by_key,
       countIf(length(candidates) = 1) AS matched_by_address, countIf(length(candidates) > 1) AS ambiguous,
       countIf(length(candidates) = 0) AS unmatched
FROM ({keyless})""")
        else:
            selects.append(f"SELECT '{table}' AS vendor_table, {by_key} AS matched_by_key, toUInt64(0) AS "
                           "matched_by_address, toUInt64(0) AS ambiguous, toUInt64(0) AS unmatched")  # fmt: skip
    return "\nUNION ALL\n".join(selects) if selects else None
