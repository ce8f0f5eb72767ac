{#-
    The run (partition) date as 'YYYY-MM-DD', from `--vars '{run_date: 2026-11-21}'`.

    Models read data as of this date, never as of today, so re-running a date rebuilds the same content.
    Commands that build or test data fail without it. Other commands (parse, compile, ls, docs generate) fall
    back to the placeholder 1970-01-01: their output only shows the shape of the SQL.
-#}
{% macro run_date() -%}
    {%- set value = var('run_date', none) -%}
    {%- if value is none -%}
        {%- if execute and flags.WHICH in ('build', 'run', 'test', 'seed', 'snapshot', 'retry') -%}
            {{ exceptions.raise_compiler_error(
                "The var run_date is not set. Pass the partition date to build, for example "
                ~ "dbt " ~ flags.WHICH ~ " --vars '{run_date: 2026-11-21}'"
            ) }}
        {%- endif -%}
        {%- set value = '1970-01-01' -%}
    {%- endif -%}
    {%- set value = value | string -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        {{ exceptions.raise_compiler_error(
            "The var run_date is " ~ value ~ ", which is not a date; use YYYY-MM-DD, for example 2026-11-21"
        ) }}
    {%- endif -%}
    {{- return(value) -}}
{%- endmacro %}
