{{
    config(
        order_by='one_id',
    )
}}

{%- set run_date_sql = "toDate('" ~ run_date() ~ "')" %}

with

activity_events as (

    select * from {{ ref('int_activity_events_unioned') }}

),

recent_events as (

    -- behaviour and preferences look at the last 90 days; CDNOW purchase days carry no time of day or touchpoint
    select * from activity_events
    where activity_date > {{ run_date_sql }} - 90
        and touchpoint != 'cdnow'

),

category_counts as (

    select
        one_id,
        sku_category,
        count() as events,
        max(event_at) as last_event_at

    from recent_events
    where sku_category is not null
        and event_name in ('add_to_cart', 'valuation')
    group by one_id, sku_category

),

categories as (

    select
        one_id,
        -- ties (same count, same last event): the category last in alphabetical order, so that every build of the
        -- same events picks the same one (argMax alone keeps whichever tied row it met first)
        argMax(sku_category, (events, last_event_at, sku_category)) as preferred_category,
        arraySort(groupArray(sku_category)) as categories_browsed

    from category_counts
    group by one_id

),

hour_band_counts as (

    select
        one_id,
        multiIf(
            activity_hour between 6 and 11, 'morning',
            activity_hour between 12 and 17, 'afternoon',
            activity_hour between 18 and 22, 'evening',
            'night'
        ) as hour_band,
        count() as events

    from recent_events
    group by one_id, hour_band

),

hour_bands as (

    -- ties: the earlier band of the day (a fixed order, so the choice is deterministic)
    select
        one_id,
        argMax(hour_band, (events, -indexOf(['morning', 'afternoon', 'evening', 'night'], hour_band)))
            as active_hour_band

    from hour_band_counts
    group by one_id

),

touchpoint_counts as (

    select
        one_id,
        touchpoint,
        count() as events

    from recent_events
    group by one_id, touchpoint

),

touchpoints as (

    select
        one_id,
        argMax(touchpoint, (events, -indexOf(['app', 'miniprogram', 'wechat_oa', 'xiaoe'], touchpoint)))
            as preferred_touchpoint

    from touchpoint_counts
    group by one_id

),

per_person as (

    select
        one_id,
        min(activity_date) as first_active_date,
        max(activity_date) as last_active_date,
        arraySort(groupUniqArray(activity_date)) as active_dates,
        uniqExactIf(activity_date, activity_date > {{ run_date_sql }} - 30) as active_days_30d,
        countIf(touchpoint = 'app' and activity_date > {{ run_date_sql }} - 30) as app_events_30d,
        countIf(
            event_name = 'search' and activity_date > {{ run_date_sql }} - 90
            and match(coalesce(search_keyword, ''), '回收|估价|以旧换新|卖')
        ) as sell_searches_90d,
        countIf(
            event_name = 'search' and activity_date > {{ run_date_sql }} - 90
            and not match(coalesce(search_keyword, ''), '回收|估价|以旧换新|卖')
        ) as buy_searches_90d,
        countIf(event_name in ('share', 'invite') and activity_date > {{ run_date_sql }} - 90) > 0 as is_sharer,
        maxIf(event_at, event_name = 'valuation') as last_valuation_at,
        countIf(event_name = 'valuation') > 0 as has_valuation,
        -- two answers at the same instant: the higher score (a fixed choice, the same on every build)
        argMaxIf(nps_score, (event_at, nps_score), nps_score between 0 and 10) as latest_nps_score,
        argMaxIf(satisfaction_score, (event_at, satisfaction_score), satisfaction_score between 1 and 5)
            as latest_satisfaction_score

    from activity_events
    group by one_id

),

final as (

    select
        per_person.one_id as one_id,
        per_person.first_active_date as first_active_date,
        per_person.last_active_date as last_active_date,
        per_person.active_dates as active_dates,
        per_person.active_days_30d as active_days_30d,
        per_person.app_events_30d as app_events_30d,
        if(empty(categories.preferred_category), 'none', categories.preferred_category) as preferred_category,
        categories.categories_browsed as categories_browsed,
        multiIf(
            per_person.sell_searches_90d > 0 and per_person.buy_searches_90d > 0, 'mixed',
            per_person.sell_searches_90d > 0, 'sell',
            per_person.buy_searches_90d > 0, 'buy',
            'none'
        ) as search_intent,
        if(empty(hour_bands.active_hour_band), 'none', hour_bands.active_hour_band) as active_hour_band,
        if(empty(touchpoints.preferred_touchpoint), 'none', touchpoints.preferred_touchpoint) as preferred_touchpoint,
        toUInt8(per_person.is_sharer) as is_sharer,
        toUInt8(per_person.has_valuation) as has_valuation,
        if(per_person.has_valuation, per_person.last_valuation_at, null) as last_valuation_at,
        per_person.latest_nps_score as nps_score,
        per_person.latest_satisfaction_score as satisfaction_score

    from per_person
    left join categories on per_person.one_id = categories.one_id
    left join hour_bands on per_person.one_id = hour_bands.one_id
    left join touchpoints on per_person.one_id = touchpoints.one_id

)

select * from final
