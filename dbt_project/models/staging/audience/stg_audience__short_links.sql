with

source as (

    select * from {{ source_or_empty('audience', 'short_links') }}
    -- earlier nights only, like the contact history: tonight's links are written by the export after the build
    where run_date < toDate('{{ run_date() }}')

),

per_code as (

    -- a code stands for one campaign and person on every night it is handed over (nightshift/shortcodes); the
    -- latest night says which channel and variant it last went out with
    select
        code,
        cast(any(campaign_id) as String) as campaign_id,
        any(one_id) as one_id,
        cast(argMax(channel, run_date) as String) as channel,
        cast(argMax(variant, run_date) as String) as variant,
        min(run_date) as first_send_date,
        max(run_date) as last_send_date

    from source
    group by code

)

select * from per_code
