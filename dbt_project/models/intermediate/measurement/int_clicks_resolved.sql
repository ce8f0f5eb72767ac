{{
    config(
        order_by='(campaign_id, one_id, clicked_at)',
    )
}}

{#-
    Clicks on short links, resolved to the campaign and person their code was handed to (audience.short_links of
    earlier nights). A clicked code that no night handed over (a link forwarded after its links were dropped, a
    code of another installation) resolves to nobody and is left out.
-#}

with

clicks as (

    select * from {{ ref('stg_clicks__clicks') }}

),

short_links as (

    select * from {{ ref('stg_audience__short_links') }}

),

final as (

    select
        clicks.click_id as click_id,
        clicks.code as code,
        clicks.clicked_at as clicked_at,
        clicks.clicked_date as clicked_date,
        short_links.campaign_id as campaign_id,
        short_links.one_id as one_id,
        short_links.channel as channel,
        short_links.variant as variant

    from clicks
    inner join short_links
        on clicks.code = short_links.code

)

select * from final
