with

source as (

    select * from {{ source('identity', 'identity_map') }}

),

as_of_run_date as (

    select
        one_id,
        id_type,
        id_value,
        first_seen_date,
        last_seen_date

    from source
    where first_seen_date <= toDate('{{ run_date() }}')

)

select * from as_of_run_date
