{#-
    `source(source_name, table_name)`, or an empty relation of the same columns when the raw table does not exist.

    Ingestion creates `raw.<source>__<entity>` the first time that entity has a landing file, so an installation
    that only loaded some sources (for example only the real CDNOW log) lacks the others. Staging must still build
    (every person model unions all sources), so a missing table reads as zero rows typed from the `data_type` of
    the source's columns in its YAML (which a pytest keeps equal to nightshift/sources/*.py). Only staging models
    call this, in place of `source()`. In a unit test `source()` is the test's fixture (no table to look up, and
    no source graph in its context), so it is used as it is.
-#}
{% macro source_or_empty(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute or model.resource_type == 'unit_test' or load_relation(relation) is not none -%}
        {{ relation }}
    {%- else -%}
        {%- set node = graph.sources.values()
            | selectattr('source_name', 'equalto', source_name)
            | selectattr('name', 'equalto', table_name)
            | first -%}
        {%- set columns = node.columns.values() | list -%}
        {%- if columns | length == 0 -%}
            {{ exceptions.raise_compiler_error(
                relation ~ " does not exist and source " ~ source_name ~ "." ~ table_name ~ " declares no columns "
                ~ "with data_type in its YAML, so an empty stand-in cannot be typed. Declare the columns, or "
                ~ "ingest a day of that source first."
            ) }}
        {%- endif -%}
        (
            -- {{ relation }} was never loaded: no rows, same columns
            select
            {%- for column in columns %}
                defaultValueOfTypeName('{{ column.data_type | replace("'", "\\'") }}') as `{{ column.name }}`
                {{- "," if not loop.last }}
            {%- endfor %}
            where 0
        )
    {%- endif -%}
{%- endmacro %}
