with

source as (

    select * from {{ source_or_empty('wechat_oa', 'followers') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

latest as (

    -- a snapshot source: newest user/info answer per openid (an unsubscribe arrives as subscribe=0)
    {{ latest_record_per_key('source', ['openid']) }}

),

renamed as (

    select
        openid as wechat_oa_openid,
        nullIf(unionid, '') as unionid,
        toBool(subscribe) as is_subscribed,
        nullIf(language, '') as language,
        subscribe_time as subscribed_at,
        remark,
        groupid as group_id,
        tagid_list as oa_tag_ids,
        nullIf(subscribe_scene, '') as subscribe_scene,
        qr_scene,
        qr_scene_str,
        _drop_date

    from latest

)

select * from renamed
