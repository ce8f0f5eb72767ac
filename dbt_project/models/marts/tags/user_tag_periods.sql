{{
    config(
        materialized='view',
    )
}}

{#-
    The tag history in the marts, where segments may read it ("had tag X on date D" in rule segments):
    snapshots.user_tag_history with the periods named as run dates. A view, so it is current as soon as the
    snapshot has run in the same `dbt build` (the ref orders it after the snapshot).
-#}

with

user_tag_history as (

    select * from {{ ref('user_tag_history') }}

),

final as (

    select
        one_id,
        tag_code,
        tag_value,
        dbt_valid_from as valid_from_date,
        dbt_valid_to as valid_to_date

    from user_tag_history

)

select * from final
