with

source as (

    select * from {{ source_or_empty('wecom', 'external_contacts') }}
    where _drop_date <= toDate('{{ run_date() }}')

),

latest as (

    -- a snapshot source: newest record per (contact, staff member) relation
    {{ latest_record_per_key('source', ['external_userid', 'userid']) }}

),

renamed as (

    select
        external_userid as wecom_external_userid,
        userid as staff_userid,
        name as contact_name,
        type as contact_type,
        {{ gender_code('gender') }} as gender,
        nullIf(unionid, '') as unionid,
        remark,
        description,
        createtime as added_at,
        tag_id as corp_tag_ids,
        remark_mobiles,
        add_way,
        nullIf(state, '') as channel_state,
        _drop_date

    from latest

)

select * from renamed
