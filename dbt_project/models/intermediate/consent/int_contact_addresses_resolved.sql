{{
    config(
        order_by='one_id',
    )
}}

{#-
    Addresses that need more than an identifier to be usable: an Official Account openid only takes template
    messages while it follows the account (latest user/info answer), and a WeCom message goes to an external
    contact that a staff member has added. Phones and app accounts come straight from the identity map.
-#}

with

identity_links as (

    select * from {{ ref('stg_identity__identity_links') }}

),

followers as (

    select * from {{ ref('stg_wechat_oa__followers') }}

),

wecom_contacts as (

    select * from {{ ref('stg_wecom__external_contacts') }}

),

subscribed_openids as materialized (

    select
        links.one_id as one_id,
        argMax(followers.wechat_oa_openid, (followers.subscribed_at, followers.wechat_oa_openid))
            as oa_template_openid

    from followers
    inner join (
        select one_id, id_value from identity_links where id_type = 'wechat_oa_openid'
    ) as links
        on followers.wechat_oa_openid = links.id_value
    where followers.is_subscribed
    group by links.one_id

),

wecom_addresses as materialized (

    select
        links.one_id as one_id,
        -- the latest relation; ties (added at the same instant, or by two staff): the greatest (external id,
        -- staff id), so every build picks the same owner, as int_person_attributes_merged's WeCom gender does
        {%- set latest_relation =
            '(wecom_contacts.added_at, wecom_contacts.wecom_external_userid, wecom_contacts.staff_userid)' %}
        argMax(wecom_contacts.wecom_external_userid, {{ latest_relation }}) as wecom_external_userid,
        -- the staff member on the same relation: WeCom tags an external contact through the staff who owns it
        argMax(wecom_contacts.staff_userid, {{ latest_relation }}) as wecom_owner_userid

    from wecom_contacts
    inner join (
        select one_id, id_value from identity_links where id_type = 'wecom_external_userid'
    ) as links
        on wecom_contacts.wecom_external_userid = links.id_value
    group by links.one_id

),

people as (

    select one_id from subscribed_openids
    union distinct
    select one_id from wecom_addresses

),

final as (

    select
        people.one_id as one_id,
        subscribed_openids.oa_template_openid as oa_template_openid,
        wecom_addresses.wecom_external_userid as wecom_external_userid,
        wecom_addresses.wecom_owner_userid as wecom_owner_userid

    from people
    left join subscribed_openids on people.one_id = subscribed_openids.one_id
    left join wecom_addresses on people.one_id = wecom_addresses.one_id

)

select * from final
