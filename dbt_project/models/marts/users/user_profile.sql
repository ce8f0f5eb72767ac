{{
    config(
        engine='MergeTree()',
        order_by='one_id',
    )
}}

with

app_users as (

    select * from {{ ref('int_app_users_resolved_to_one_ids') }}

),

one_account_per_person as (

    -- deterministic choice among a person's app accounts: the most recently seen, then the smallest id
    select * from app_users
    order by one_id, last_seen_date desc, app_user_id
    limit 1 by one_id

),

final as (

    select
        one_id,
        app_user_id,
        phone,
        os,
        registered_at,
        toBool(phone is not null) as has_phone,
        toDate('{{ run_date() }}') as profile_date

    from one_account_per_person

)

select * from final
