{#-
    Every tag of the catalogue seed is produced, and nothing else is: the seed's codes and types equal the
    list the SQL is generated from (macros/tags.sql catalogue_tags(): the codes marts.user_tags can hold), and
    every code is a column of marts.user_profile. Returns one row per disagreement.
-#}

with

catalogue as (

    select code, type from {{ ref('tag_catalogue') }}

),

produced as (

    select tag.1 as code, tag.2 as type
    from (select 1)
    array join [
        {%- for tag in catalogue_tags() %}
        ('{{ tag.code }}', '{{ tag.type }}'){{ "," if not loop.last }}
        {%- endfor %}
    ] as tag

),

profile_columns as (

    select name
    from system.columns
    where database = '{{ ref("user_profile").schema }}'
        and table = '{{ ref("user_profile").identifier }}'

),

problems as (

    select code, 'in the seed but not produced by catalogue_tags() (macros/tags.sql)' as problem
    from catalogue
    where code not in (select code from produced)

    union all

    select code, 'produced by catalogue_tags() but missing from the seed'
    from produced
    where code not in (select code from catalogue)

    union all

    select catalogue.code, 'type differs between the seed and catalogue_tags()'
    from catalogue
    inner join produced
        on catalogue.code = produced.code
    where catalogue.type != produced.type

    union all

    select code, 'not a column of user_profile'
    from catalogue
    where code not in (select name from profile_columns)

)

select * from problems
