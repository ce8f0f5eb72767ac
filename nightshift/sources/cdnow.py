"""`cdnow`: the real CDNOW transaction log (not generated), loaded with `nightshift load-cdnow PATH`.

`CDNOW_master.txt` as distributed: CRLF line endings, one header line, whitespace-separated columns
`customer_id date number_of_cds dollar_value`. Columns are read by position into the fields below.
Money is USD: `amount_cents` holds integer cents (the dollar value x 100) with the amount_fen semantics of the
catalog (integer minor currency units); the dollar text as delivered is kept in `amount_cents_original`.
Identical lines are separate purchases (a customer buying two CDs at the same price on one day: the log has
no order id), so they are all loaded, not de-duplicated. All purchases are from 1997-01-01 to 1998-06-30,
which is the day the file is dropped on (`nightshift.ingest.cdnow.CDNOW_DROP_DATE`); there is no event-time
field, because flagging 18 months of history as "late" would say nothing.
"""

from nightshift.sources.model import Entity, Field, Source

TRANSACTIONS = Entity(
    source="cdnow",
    name="transactions",
    file_glob="CDNOW_master*.txt",
    format="whitespace",
    has_header=True,
    deduplicate_lines=False,
    description="One row per purchase line of a CDNOW customer (first purchase in Q1 1997).",
    fields=(
        Field("customer_id", "string", required=True, id_type="cdnow_customer_id", description="zero-padded id"),
        Field("order_date", "date", required=True, description="YYYYMMDD as delivered"),
        Field("number_of_cds", "int", required=True),
        Field(
            "amount_cents",
            "amount_fen",
            required=True,
            amount_in_major_units=True,
            description="USD cents (delivered as dollars with two decimals)",
        ),
    ),
)

SOURCE = Source(
    name="cdnow",
    description="CDNOW music retailer transaction log 1997-1998 (real data, Fader/Hardie/Lee 2005).",
    entities=(TRANSACTIONS,),
    simulated=False,
)
