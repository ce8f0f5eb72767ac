{{
    config(
        order_by='one_id',
    )
}}

{#-
    Risk-control blacklist and internal test accounts, matched to people through any listed identifier
    (phone, app account, device), from the newest snapshots on or before the run date.
-#}

with

identity_links as (

    select * from {{ ref('stg_identity__identity_links') }}

),

blacklist_entries as (

    select * from {{ ref('stg_consent__blacklist_entries') }}

),

test_accounts as (

    select * from {{ ref('stg_consent__test_accounts') }}

),

blacklisted_ids as (

    select 'phone' as id_type, phone as id_value, risk_level from blacklist_entries where phone is not null
    union all
    select 'app_user_id', app_user_id, risk_level from blacklist_entries where app_user_id is not null
    union all
    select 'device_id', device_id, risk_level from blacklist_entries where device_id is not null

),

test_ids as (

    select 'phone' as id_type, phone as id_value from test_accounts
    union all
    select 'app_user_id', app_user_id from test_accounts where app_user_id is not null

),

blacklisted_people as materialized (

    select
        identity_links.one_id as one_id,
        -- the highest level wins: high > medium
        if(countIf(blacklisted_ids.risk_level = 'high') > 0, 'high', 'medium') as blacklist_risk_level

    -- the listed ids are the side ClickHouse hashes (the right one): a few rows, while identity_links has every
    -- identifier of every person (10M people: ~42M rows, 250 s with the sides the other way round)
    from identity_links
    inner join blacklisted_ids
        on blacklisted_ids.id_type = identity_links.id_type
        and blacklisted_ids.id_value = identity_links.id_value
    group by identity_links.one_id

),

test_people as materialized (

    select distinct
        identity_links.one_id as one_id,
        toUInt8(1) as is_internal_test_account

    from identity_links
    inner join test_ids
        on test_ids.id_type = identity_links.id_type
        and test_ids.id_value = identity_links.id_value

),

people as (

    select one_id from blacklisted_people
    union distinct
    select one_id from test_people

),

final as (

    select
        people.one_id as one_id,
        toUInt8(not empty(blacklisted_people.blacklist_risk_level)) as is_blacklisted,
        if(empty(blacklisted_people.blacklist_risk_level), 'none', blacklisted_people.blacklist_risk_level)
            as blacklist_risk_level,
        test_people.is_internal_test_account as is_internal_test_account

    from people
    left join blacklisted_people on people.one_id = blacklisted_people.one_id
    left join test_people on people.one_id = test_people.one_id

)

select * from final
