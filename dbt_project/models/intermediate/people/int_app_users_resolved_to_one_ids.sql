{{
    config(
        order_by='(one_id, app_user_id)',
    )
}}

{#-
    A table, not a view: int_person_attributes_merged, user_profile and this model's own tests all read it, and
    as a view each of them re-ran the latest-record sort of raw app users and the identity join (about 35 s of
    the 10M-people user_profile build; bench/profile_build.py).
-#}

with

identity_links as (

    select * from {{ ref('stg_identity__identity_links') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

app_user_links as (

    select
        one_id,
        id_value as app_user_id,
        last_seen_date

    from identity_links
    where id_type = 'app_user_id'

),

resolved as (

    select
        -- explicit aliases: ClickHouse keeps the table prefix in names that both sides of a join have
        app_user_links.one_id as one_id,
        app_user_links.last_seen_date as last_seen_date,
        users.app_user_id as app_user_id,
        users.phone as phone,
        users.os as os,
        users.registered_at as registered_at,
        users.gender as gender,
        users.city as city,
        users.register_channel as register_channel,
        users.inviter_app_user_id as inviter_app_user_id

    from app_user_links
    inner join users
        on app_user_links.app_user_id = users.app_user_id

)

select * from resolved
