{#-
    The model's grain: no two rows share the same values of these columns (nulls count as values).
    Usage: data_tests: [{unique_combination_of_columns: {arguments: {combination_of_columns: [a, b]}}}]
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count() as rows_with_this_key

from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count() > 1

{% endtest %}
