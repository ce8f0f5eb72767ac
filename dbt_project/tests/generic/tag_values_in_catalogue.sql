{#-
    Every (tag_code, tag_value) row of a long tag table is allowed by the tag catalogue seed: the code is
    catalogued, and the value fits the tag's type and allowed_values —
      enum / boolean: one of the '|'-separated values; list: every ','-separated element is one of them;
      integer / decimal: a number, within 'min..max' when given (either bound may be empty);
      date: a date; string: not empty.
    Returns the offending rows with the rule they break.
-#}
{% test tag_values_in_catalogue(model, catalogue) %}

with

tags as (

    select tag_code, tag_value, count() as rows_with_value
    from {{ model }}
    group by tag_code, tag_value

),

catalogue as (

    select
        code,
        type,
        splitByChar('|', coalesce(allowed_values, '')) as allowed,
        splitByString('..', coalesce(allowed_values, '')) as bounds

    from {{ catalogue }}

),

checked as (

    select
        tags.tag_code as tag_code,
        tags.tag_value as tag_value,
        tags.rows_with_value as rows_with_value,
        catalogue.type as type,
        multiIf(
            catalogue.code = '', 'tag code is not in the catalogue',
            catalogue.type in ('enum', 'boolean') and not has(catalogue.allowed, tags.tag_value),
                'value is not one of allowed_values',
            catalogue.type = 'list'
                and not arrayAll(element -> has(catalogue.allowed, element), splitByChar(',', tags.tag_value)),
                'a list element is not one of allowed_values',
            catalogue.type in ('integer', 'decimal') and toFloat64OrNull(tags.tag_value) is null, 'not a number',
            catalogue.type in ('integer', 'decimal') and length(catalogue.bounds) = 2
                and catalogue.bounds[1] != '' and toFloat64(tags.tag_value) < toFloat64(catalogue.bounds[1]),
                'below the allowed minimum',
            catalogue.type in ('integer', 'decimal') and length(catalogue.bounds) = 2
                and catalogue.bounds[2] != '' and toFloat64(tags.tag_value) > toFloat64(catalogue.bounds[2]),
                'above the allowed maximum',
            catalogue.type = 'integer' and toInt64OrNull(tags.tag_value) is null, 'not an integer',
            catalogue.type = 'date' and toDateOrNull(tags.tag_value) is null, 'not a date',
            catalogue.type = 'string' and tags.tag_value = '', 'empty string',
            ''
        ) as problem

    from tags
    left join catalogue
        on tags.tag_code = catalogue.code

)

select * from checked
where problem != ''

{% endtest %}
