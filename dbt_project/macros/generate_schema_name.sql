{#-
    A model's `+schema` is its ClickHouse database name exactly (staging, intermediate, marts), instead of
    dbt's default `<target schema>_<custom schema>`. Models without one build into the profile's schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
