{#-
    Every row satisfies `<column> <expression>` (for example expression ">= 0"); null values are not checked
    (test them with not_null). Returns the rows that break it.
-#}
{% test expression_is_true(model, column_name, expression) %}

select *
from {{ model }}
where {{ column_name }} is not null
    and not ({{ column_name }} {{ expression }})

{% endtest %}
