{{
    config(
        order_by='(funnel_name, entry_date, step_number)',
        partition_by='toYYYYMM(entry_date)',
    )
}}

{#-
    Each funnel: ordered app events a person must do, each within window_days of the entry (first step).
    A person "entered" on entry_date when they did the first step that Beijing day; windowFunnel then finds the
    deepest step reached in order within the window that starts at such an entry.
-#}
{%- set funnels = [
    {'name': 'c2b_valuation_to_pay', 'window_days': 7, 'steps': ['page_view', 'valuation', 'order_submit', 'pay']},
    {'name': 'b2c_cart_to_pay', 'window_days': 7, 'steps': ['page_view', 'add_to_cart', 'order_submit', 'pay']},
] %}

with

activity_events as (

    select * from {{ ref('int_activity_events_unioned') }}

),

person_events as (

    select
        one_id,
        event_name,
        event_at,
        activity_date as event_date

    from activity_events
    where touchpoint = 'app'
        and activity_date <= toDate('{{ run_date() }}')

),

{%- for funnel in funnels %}

{{ funnel.name }}_levels as (

    -- an event can belong to the window of an entry up to window_days (+1 for the partial last day) before it
    select
        one_id,
        event_date - arrayJoin(range({{ funnel.window_days + 1 }})) as entry_date,
        -- milliseconds since the epoch: windowFunnel takes no DateTime64, and event order within a second matters
        windowFunnel({{ funnel.window_days * 86400 * 1000 }})(
            toUInt64(toUnixTimestamp64Milli(event_at)),
            event_name = '{{ funnel.steps[0] }}' and event_date = entry_date
            {%- for step in funnel.steps[1:] %},
            event_name = '{{ step }}'
            {%- endfor %}
        ) as level

    from person_events
    where event_name in ('{{ funnel.steps | join("', '") }}')
    group by one_id, entry_date
    having level >= 1

),

{{ funnel.name }}_steps as (

    select
        '{{ funnel.name }}' as funnel_name,
        entry_date,
        arrayJoin(range(1, {{ funnel.steps | length + 1 }})) as step_number,
        ['{{ funnel.steps | join("', '") }}'][step_number] as step_event,
        toUInt64(countIf(level >= step_number)) as people,
        toUInt16({{ funnel.window_days }}) as window_days

    from {{ funnel.name }}_levels
    group by entry_date, step_number

),

{%- endfor %}

all_funnels as (

    {%- for funnel in funnels %}
    select * from {{ funnel.name }}_steps
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        toLowCardinality(funnel_name) as funnel_name,
        entry_date,
        toUInt8(step_number) as step_number,
        toLowCardinality(step_event) as step_event,
        people,
        round(people / first_value(people) over (partition by funnel_name, entry_date order by step_number), 4)
            as conversion_from_entry,
        toBool(entry_date + window_days <= toDate('{{ run_date() }}')) as is_window_complete

    from all_funnels

)

select * from final
