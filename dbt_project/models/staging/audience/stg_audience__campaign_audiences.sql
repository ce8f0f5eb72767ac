with

source as (

    select * from {{ source_or_empty('audience', 'campaign_audience') }}
    where run_date <= toDate('{{ run_date() }}')

),

renamed as (

    select
        contact_id,
        run_date as send_date,
        toString(campaign_id) as campaign_id,
        one_id,
        toString(variant) as variant,
        toString(channel) as channel,
        toString(benefit_id) as benefit_id,
        cost_fen

    from source

)

select * from renamed
