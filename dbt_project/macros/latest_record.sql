{#-
    latest_record_per_key(relation, key_columns, newest_first_by=[])
    relation: the CTE (or relation) to read; key_columns: list of the columns that identify a record;
    newest_first_by: list of further source columns that order versions, see below.

    One row per key of a raw source: the newest delivered record. A select to wrap in a CTE of a staging model,
    over the CTE that already reads the source up to the run date (`_drop_date <= run_date`), for example
        latest as (
            -- an order exported again (status change) keeps its newest record
            {{ latest_record_per_key('source', ['order_id']) }}
        ),

    Use it when a source delivers the same entity again: a snapshot source that restates each record (app users,
    Douyin fans, Official Account followers, WeCom contacts), or a record re-exported when its status changes, or
    an event re-delivered on a later day (counted once). Do not use it where every line is a fact of its own (SMS
    replies, delivery receipts, preference changes, CDNOW lines): those keep every row. A source that is a full
    snapshot every day (blacklist, whitelist) first keeps only its newest day, then uses this on that day's rows.

    "Newest" is, in order: the latest landing day (_drop_date); then `newest_first_by`, columns of the source
    that order versions within a day (an update time), newest first; then the latest ingestion (_ingested_at);
    then the file last in name order (_source_file: one batch loads every file of its day, so two files can hold
    the same key) and the last line of that file (_line_number). The last three make the choice deterministic,
    so re-running a date keeps the same record. ClickHouse `LIMIT 1 BY` keeps the first row per key in that order.
-#}
{% macro latest_record_per_key(relation, key_columns, newest_first_by=[]) -%}
    {%- set newest_first = ['_drop_date'] + newest_first_by + ['_ingested_at', '_source_file', '_line_number'] -%}
    select * from {{ relation }}
    order by {% for column in newest_first %}{{ column }} desc{{ ", " if not loop.last }}{% endfor %}
    limit 1 by {{ key_columns | join(', ') }}
{%- endmacro %}
