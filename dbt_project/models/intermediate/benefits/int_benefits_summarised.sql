{{
    config(
        order_by='one_id',
    )
}}

{%- set run_date_sql = "toDate('" ~ run_date() ~ "')" %}

{#-
    A person's benefit history as of the end of the run date (Beijing time): coupons granted and used, whether
    one is still usable, and how coupon-driven their paid B2C orders are.
-#}

with

identity_links as (

    select * from {{ ref('stg_identity__identity_links') }}

),

grants as (

    select * from {{ ref('stg_benefits__grants') }}

),

redemptions as (

    select * from {{ ref('stg_benefits__redemptions') }}

),

expiries as (

    select * from {{ ref('stg_benefits__expiries') }}

),

order_histories as (

    select * from {{ ref('int_order_histories_summarised') }}

),

grant_outcomes as (

    select
        grants.grant_id as grant_id,
        grants.app_user_id as app_user_id,
        grants.benefit_type as benefit_type,
        grants.granted_at as granted_at,
        grants.expires_at as expires_at,
        grants.grant_id in (
            select grant_id from redemptions where toDate(redeemed_at, 'Asia/Shanghai') <= {{ run_date_sql }}
        ) as is_redeemed,
        grants.grant_id in (
            select grant_id from expiries where toDate(expired_at, 'Asia/Shanghai') <= {{ run_date_sql }}
        ) as is_expired

    from grants
    where toDate(grants.granted_at, 'Asia/Shanghai') <= {{ run_date_sql }}

),

per_person_grants as materialized (

    select
        links.one_id as one_id,
        countIf(grant_outcomes.benefit_type = 'coupon') as coupons_granted,
        countIf(grant_outcomes.benefit_type = 'coupon' and grant_outcomes.is_redeemed) as coupons_redeemed,
        countIf(
            grant_outcomes.benefit_type = 'coupon'
            and not grant_outcomes.is_redeemed
            and not grant_outcomes.is_expired
            and toDate(grant_outcomes.expires_at, 'Asia/Shanghai') > {{ run_date_sql }}
        ) > 0 as has_active_coupon,
        argMax(grant_outcomes.benefit_type, (grant_outcomes.granted_at, grant_outcomes.grant_id))
            as last_benefit_type

    from grant_outcomes
    inner join (
        select one_id, id_value from identity_links where id_type = 'app_user_id'
    ) as links
        on grant_outcomes.app_user_id = links.id_value
    group by links.one_id

),

people as (

    select one_id from per_person_grants
    union distinct
    select one_id from order_histories where paid_b2c_orders > 0

),

final as (

    select
        people.one_id as one_id,
        toInt64(per_person_grants.coupons_granted) as coupons_granted,
        toInt64(per_person_grants.coupons_redeemed) as coupons_redeemed,
        toUInt8(per_person_grants.has_active_coupon) as has_active_coupon,
        if(empty(per_person_grants.last_benefit_type), 'none', per_person_grants.last_benefit_type)
            as last_benefit_type,
        multiIf(
            order_histories.paid_b2c_orders = 0, 'none',
            order_histories.coupon_b2c_orders * 2 >= order_histories.paid_b2c_orders, 'high',
            order_histories.coupon_b2c_orders > 0, 'medium',
            'low'
        ) as coupon_sensitivity

    from people
    left join per_person_grants on people.one_id = per_person_grants.one_id
    left join order_histories on people.one_id = order_histories.one_id

)

select * from final
