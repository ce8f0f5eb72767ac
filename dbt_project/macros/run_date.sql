{#-
    The run (partition) date as 'YYYY-MM-DD', from `--vars '{run_date: 2026-11-21}'`, or else from the environment
    variable DBT_ENV_CUSTOM_ENV_NIGHTSHIFT_RUN_DATE, which the pipeline sets while it runs dbt
    (nightshift/dbt_runner.py; dbt also records it in its artifacts, run_results.json metadata.env).

    The pipeline uses the environment variable, read only while executing, because dbt re-parses the whole project
    (seconds) whenever a var changes, and re-parses every file that read an environment variable during parsing
    when that variable changes; a date read while executing changes nothing that was parsed, so every night reuses
    the saved parse.

    Models read data as of this date, never as of today, so re-running a date rebuilds the same content.
    Without the var, commands that build or test data use the date of the pipeline's last successful build
    (the newest `build` row in ops.stage_runs), so a hand-run `dbt build` reproduces what the night built; when
    the pipeline has never built, they fail and say how to pass the date. Commands that only show SQL (parse,
    compile, ls, docs generate) fall back to the placeholder 1970-01-01.
-#}
{% macro last_pipeline_build_date() -%}
    {%- set exists = run_query(
        "select count() from system.tables where database = 'ops' and name = 'stage_runs'"
    ).columns[0].values()[0] -%}
    {%- if exists | int == 0 -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set found = run_query(
        "select toString(argMax(run_date, (finished_at, started_at))), count() from ops.stage_runs "
        ~ "where stage = 'build' and status = 'success'"
    ) -%}
    {%- if found.columns[1].values()[0] | int == 0 -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return(found.columns[0].values()[0]) -}}
{%- endmacro %}

{% macro run_date() -%}
    {%- set value = var('run_date', none) -%}
    {%- if value is none and execute -%}
        {%- set value = env_var('DBT_ENV_CUSTOM_ENV_NIGHTSHIFT_RUN_DATE', '') or none -%}
    {%- endif -%}
    {%- if value is none -%}
        {%- if execute and flags.WHICH in ('build', 'run', 'test', 'seed', 'snapshot', 'retry') -%}
            {%- set value = last_pipeline_build_date() -%}
            {%- if value is none -%}
                {{ exceptions.raise_compiler_error(
                    "The var run_date is not set and the pipeline has never built (no successful `build` in "
                    ~ "ops.stage_runs). Pass the partition date, for example "
                    ~ "dbt " ~ flags.WHICH ~ " --vars '{run_date: 2026-11-21}'"
                ) }}
            {%- endif -%}
        {%- else -%}
            {%- set value = '1970-01-01' -%}
        {%- endif -%}
    {%- endif -%}
    {%- set value = value | string -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        {{ exceptions.raise_compiler_error(
            "The var run_date is " ~ value ~ ", which is not a date; use YYYY-MM-DD, for example 2026-11-21"
        ) }}
    {%- endif -%}
    {{- return(value) -}}
{%- endmacro %}
