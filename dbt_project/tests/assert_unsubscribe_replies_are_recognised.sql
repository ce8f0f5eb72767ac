{#-
    The SMS unsubscribe keywords (macros/normalise.sql is_unsubscribe_reply) on real reply shapes: carriers'
    keywords in any case and with spaces or punctuation, the footer copied back, and replies that are not
    unsubscribes. Returns the replies the macro gets wrong.
-#}

with

replies as (

    select reply, expected
    from values(
        'reply String, expected Bool',
        ('TD', true), ('td', true), (' Td ', true), ('TD。', true), ('退订', true), ('退订TD', true),
        ('回T退订', true), ('T', true), ('N', true), ('取消', true), ('我要退订', true),
        ('好的', false), ('收到', false), ('?', false), ('谢谢', false), ('多少钱', false), ('怎么回收', false),
        ('TDX', false), ('取消订单怎么弄', false), ('', false)
    )

),

checked as (

    select reply, expected, {{ is_unsubscribe_reply('reply') }} as recognised
    from replies

)

select * from checked
where recognised != expected
