{#-
    campaign_retention_days(): how many days after a send a campaign's retention curve covers (day 1 = the send day).
    One number for int_planned_people_responses (how far it collects responses) and campaign_retention (the curve);
    nightshift/measurement/responses.py RETENTION_DAYS reads the same curve and must match it.
-#}
{% macro campaign_retention_days() -%}
    {{ return(7) }}
{%- endmacro %}
