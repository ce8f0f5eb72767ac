with

source as (

    select * from {{ source_or_empty('audience', 'contact_history') }}
    where run_date <= toDate('{{ run_date() }}')

),

renamed as (

    select
        contact_id,
        run_date as send_date,
        toString(campaign_id) as campaign_id,
        one_id,
        toString(channel) as channel,
        toString(variant) as variant,
        toString(source) as source,
        replenishes

    from source

)

select * from renamed
