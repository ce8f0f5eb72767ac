with

source as (

    select * from {{ source('identity', 'identity_map_daily') }}

),

-- The map as the identity stage left it on the run date: the latest partition on or before that date (a date
-- the identity stage did not run for reads the map of the last date it did). Never a newer map: rebuilding
-- an old date must not pick up one_ids that later merges produced.
map_as_of_run_date as (

    select
        one_id,
        id_type,
        id_value,
        first_seen_date,
        last_seen_date

    from source
    where run_date = (
        select max(run_date) from {{ source('identity', 'identity_map_daily') }}
        where run_date <= toDate('{{ run_date() }}')
    )
        and first_seen_date <= toDate('{{ run_date() }}')

)

select * from map_as_of_run_date
