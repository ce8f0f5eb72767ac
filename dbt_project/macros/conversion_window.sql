{#-
    conversion_window_days(campaign_column): the days after a send in which a purchase counts as that campaign's
    conversion, per campaign. The build stage passes each plan's `measurement.conversion_window_days` as the var
    `conversion_windows` ({campaign_id: days}); a campaign without one (and a stock `dbt build` without the var)
    gets DEFAULT_CONVERSION_WINDOW_DAYS, 7 (nightshift/campaigns/models.py keeps the same default).
-#}
{% macro conversion_window_days(campaign_column) -%}
    {%- set windows = var('conversion_windows', {}) or {} -%}
    {%- set default_days = 7 -%}
    {%- if windows | length == 0 -%}
        toUInt16({{ default_days }})
    {%- else -%}
        toUInt16(multiIf(
        {%- for campaign_id, days in windows | dictsort %}
            {{ campaign_column }} = '{{ campaign_id | replace("'", "\\'") }}', {{ days | int }},
        {%- endfor %}
            {{ default_days }}))
    {%- endif -%}
{%- endmacro %}
