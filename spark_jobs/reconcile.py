"""Spark job: reconcile what was handed to channels with what the benefit system and the vendors recorded, key by
key (对账), decide make-up orders (补单) and raise loss alerts (资损监控).

Everything is keyed by a contact's business key `contact_id`; inputs are normalised frames (schemas below), read by
the reconcile stage from the warehouse (`nightshift.reconciliation.inputs`).

1. classify   every planned key whose business date is inside the lag window (plus the original keys of make-up
              orders still inside it) gets exactly one class, decided in this order:
              `delivery_failed` (a vendor reported a failure), `duplicate_grant` (more than one grant carries the
              key), `amount_mismatch` (one grant, another amount than planned), `replenished` (no grant, but its
              make-up order was granted), `missing_grant` (a benefit was planned, none was granted and the lag
              window has passed), `pending` (a grant or a receipt is still expected inside the lag window: not an
              error), `missing_receipt` (a channel with receipts never reported, past the window), `ok`.
              Grants that answer no planned key, arrived tonight, are one row each: `unplanned_grant`.
              `first_seen_run_date` and `resolved_run_date` (the first night the key had a final class) carry over
              from earlier nights and are never overwritten.
2. summarise  per business date, campaign and class: keys and money.
3. make-ups   `missing_grant` keys of the plan (never of a make-up) become make-up orders with a deterministic key,
              at most once ever (the caller passes every key already made up), only while the campaign is within
              its dates and its breaker closed, never for a blocked person (opted out, blacklisted, complaint,
              holdout), within the per-user cap and within the campaign's remaining budget (in business date,
              contact_id order); the rest is refused with the reason.
4. alerts     loss monitors per campaign: budget consumed (warning from 80%, critical when tonight's grants
              spend above 100%: spending exactly the budget is the plan), people over the per-user cap by
              tonight's grants, unplanned grants, duplicate grants,
              amount mismatches, abnormal peaks of grants per minute against the campaign's trailing baseline.
              A critical alert opens the campaign's breaker. Unplanned grants, duplicates and people over the cap
              are warnings (one duplicate puts a person over the cap) until one night brings as many as their
              threshold (a burst): then critical.
5. resends    a plan key that became `delivery_failed` tonight is sent once more, at most once ever, on the
              first later channel of the campaign's preference order the person can receive within the policy's
              frequency caps (`resend_decisions`); otherwise the refusal says why.

Built-in functions only. The stage (`nightshift/stages/reconcile.py`) does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

PLAN_SCHEMA = (
    "contact_id string, business_date date, campaign_id string, channel string, one_id long, benefit_id string, "
    "planned_fen long, source string, replenishes string"
)
GRANTS_SCHEMA = (
    "grant_id string, contact_id string, campaign_id string, one_id long, amount_fen long, granted_at timestamp, "
    "reported_date date"
)
RECEIPTS_SCHEMA = "contact_id string, channel string, delivered boolean, vendor_code string, reported_date date"
PREVIOUS_SCHEMA = "contact_id string, first_seen_run_date date, resolved_run_date date"
CAMPAIGNS_SCHEMA = (
    "campaign_id string, is_active boolean, is_circuit_open boolean, budget_fen long, per_user_cap long, "
    "channels array<string>"
)
ITEM_COLUMNS = (
    "business_date", "campaign_id", "channel", "contact_id", "one_id", "class", "planned_fen", "granted_fen",
    "grants", "vendor_status", "vendor_code", "first_seen_run_date", "resolved_run_date",
)  # fmt: skip

DEFAULT_LAG_DAYS = 3
CHANNELS_WITH_RECEIPTS = ("sms", "app_push", "wechat_oa_template", "outbound_call")
PLAN_SOURCE, REPLENISHMENT_SOURCE = "plan", "replenishment"

OK, PENDING = "ok", "pending"
MISSING_GRANT, DUPLICATE_GRANT, UNPLANNED_GRANT = "missing_grant", "duplicate_grant", "unplanned_grant"
AMOUNT_MISMATCH, DELIVERY_FAILED, REPLENISHED, MISSING_RECEIPT = (
    "amount_mismatch", "delivery_failed", "replenished", "missing_receipt"
)  # fmt: skip
# The order in which `classify` decides a planned key's class: the first that applies wins.
CLASS_ORDER = (DELIVERY_FAILED, DUPLICATE_GRANT, AMOUNT_MISMATCH, REPLENISHED, MISSING_GRANT, PENDING,
               MISSING_RECEIPT, OK)  # fmt: skip
MAKE_UP_KEY_HEX = 32


@dataclass(frozen=True)
class Thresholds:
    """Loss monitor thresholds (`loss_monitors` in segments/policy.yml)."""

    budget_warning_share: float = 0.8
    budget_critical_share: float = 1.0
    duplicate_critical_keys: int = 10
    unplanned_critical_keys: int = 10
    peak_factor: float = 5.0
    peak_baseline_days: int = 7


def _grant_totals(grants: DataFrame) -> DataFrame:
    return (
        grants.where(F.col("contact_id") != "")
        .groupBy("contact_id")
        .agg(F.count("*").alias("grants"), F.sum("amount_fen").alias("granted_fen"))
    )


# The one keyed pass of `classify`: every input row that speaks about a key, tagged by what it carries. A grant whose
# key is '' answers no key (it is not counted) but still gets a row, so that tonight's such grants find their totals.
PLAN_ROW, REFERENCE_ROW, GRANT_ROW, MAKE_UP_GRANT_ROW, RECEIPT_ROW, HISTORY_ROW, EMPTY_KEY_GRANT_ROW = range(7)
# A keyed row is narrow (contact_id, kind, one_id and two longs whose meaning depends on the kind, see `_keyed_rows`):
# 34M rows at 10M keys are shuffled, and each column more is bytes to compress, move and aggregate for every row.
HIGH = 1 << 32  # the packed longs keep a value in their high 32 bits and another in the low ones
LOW_MASK = HIGH - 1
FLAG_BITS = 3  # a plan row's low bits: route << 3 | has_benefit << 2 | expects_receipt << 1 | in_window


def _numbered(values: DataFrame, number: str) -> DataFrame:
    """The distinct rows of `values` (a few short columns of few values, like campaign and channel), numbered from 1
    in their sort order: the keyed pass aggregates numbers, never strings (a string would make Spark sort all rows
    instead of hashing them), and the numbers keep the strings' order, so the max of numbers is the max of strings."""
    distinct = values.distinct()
    return distinct.withColumn(number, F.row_number().over(Window.orderBy(*distinct.columns)))


def _flag(condition: Column, bit: int) -> Column:
    """`condition` (null counts as false, as in every use of the flags) as bit `bit` of a long."""
    return F.when(condition, F.lit(1 << bit)).otherwise(F.lit(0)).cast("long")


def _keyed_rows(
    plan: DataFrame,
    grants: DataFrame,
    receipts: DataFrame,
    previous: DataFrame,
    routes: DataFrame,
    codes: DataFrame,
    run_date: date,
    lag_days: int,
    receipt_channels: tuple[str, ...],
) -> DataFrame:
    """One narrow frame of every row that speaks about a key: `contact_id`, `kind` and, by kind, `one_id`, `value`
    and `extra` (null where a kind carries nothing):

    - plan rows: one_id; value = planned_fen; extra = (business date as days since 1970 + 1, 0 when null) << 32 |
      route << 3 | the flags has_benefit, expects_receipt, in_window (campaign and channel as their `route` number);
    - a reference to the original key of every make-up inside the window (it brings the original back into scope);
    - grants: value = amount_fen; a make-up grant row on the ORIGINAL key for every grant of a make-up order;
    - receipts: value = failed << 32 | code_rank (null when `delivered` is null), extra = code_rank;
    - yesterday's history: value and extra = first_seen_run_date and resolved_run_date as days since 1970.

    Grouping it once by key replaces a join per input."""
    first = run_date - timedelta(days=lag_days + 1)
    inside = (F.col("business_date") >= F.lit(first)) & (F.col("business_date") < F.lit(run_date))
    makes_up = F.col("replenishes") != ""
    same_route = F.col("campaign_id").eqNullSafe(F.col("route_campaign_id")) & F.col("channel").eqNullSafe(
        F.col("route_channel")
    )
    has_benefit = (F.col("benefit_id") != "") & (F.col("planned_fen") > 0)
    plan_packed = (
        F.coalesce(F.unix_date("business_date").cast("long") + 1, F.lit(0)) * HIGH
        + F.coalesce(F.col("route").cast("long"), F.lit(0)) * (1 << FLAG_BITS)
        + _flag(has_benefit, 2) + _flag(F.col("channel").isin(list(receipt_channels)), 1) + _flag(inside, 0)
    )  # fmt: skip
    nothing = F.lit(None).cast("long")
    plan_rows = plan.join(F.broadcast(routes), on=same_route, how="left").select(
        "contact_id", F.lit(PLAN_ROW).alias("kind"), "one_id", F.col("planned_fen").alias("value"),
        plan_packed.alias("extra"),
    )  # fmt: skip
    references = plan.where(inside & makes_up).select(
        F.col("replenishes").alias("contact_id"), F.lit(REFERENCE_ROW).alias("kind")
    )
    # every keyed grant, so that each key granted tonight has a row of totals to find its unplanned grants by
    grant_rows = grants.where(F.col("contact_id").isNotNull()).select(
        "contact_id",
        F.when(F.col("contact_id") == "", EMPTY_KEY_GRANT_ROW).otherwise(GRANT_ROW).alias("kind"),
        F.col("amount_fen").alias("value"),
    )
    # Make-up orders are a small share of the plan (at most the keys missing a grant): broadcast, so the grants are
    # not shuffled a second time to find the make-up ones.
    make_ups = F.broadcast(plan.where(makes_up).select("contact_id", "replenishes"))
    make_up_grants = (
        grants.where(F.col("contact_id") != "")
        .select("contact_id")
        .join(make_ups, on="contact_id", how="inner")
        .select(F.col("replenishes").alias("contact_id"), F.lit(MAKE_UP_GRANT_ROW).alias("kind"))
    )
    receipt_rows = (
        receipts.where(F.col("contact_id").isNotNull())
        .join(F.broadcast(codes), on="vendor_code", how="left")
        .select("contact_id", F.lit(RECEIPT_ROW).alias("kind"),
                ((~F.col("delivered")).cast("long") * HIGH + F.coalesce(F.col("code_rank").cast("long"), F.lit(0)))
                .alias("value"),
                F.col("code_rank").cast("long").alias("extra"))
    )  # fmt: skip
    history_rows = previous.where(F.col("contact_id").isNotNull()).select(
        "contact_id", F.lit(HISTORY_ROW).alias("kind"), F.unix_date("first_seen_run_date").cast("long").alias("value"),
        F.unix_date("resolved_run_date").cast("long").alias("extra"),
    )  # fmt: skip
    columns = {"one_id": nothing, "value": nothing, "extra": nothing}

    def narrow(rows: DataFrame) -> DataFrame:
        return rows.select("contact_id", "kind", *[(F.col(c) if c in rows.columns else v).alias(c)
                                                   for c, v in columns.items()])  # fmt: skip

    keyed = narrow(plan_rows)
    for rows in (references, grant_rows, make_up_grants, receipt_rows, history_rows):
        keyed = keyed.unionByName(narrow(rows))
    return keyed


def _key_totals(keyed: DataFrame) -> DataFrame:
    """One row per key: its plan row's columns (plan keys are unique: `contact_history`'s contact_id) and what the
    other rows say about it. Fixed-width aggregates only, so Spark hashes the rows instead of sorting them; as few
    as the totals need, over the narrow rows of `_keyed_rows`, then decoded into named columns (10M rows, not 34M)."""

    def of_kind(kind: int, column: str) -> Column:
        return F.when(F.col("kind") == kind, F.col(column))

    def carries(kind: int) -> Column:
        """Whether a row of `kind` is among the key's rows."""
        return F.col("kinds").bitwiseAND(F.lit(1 << kind)) != 0

    # Rows of one key rarely meet before the shuffle: partitioning by key first makes one aggregation after the
    # shuffle instead of a partial one before it that reduces nothing.
    totals = (
        keyed.repartition("contact_id")
        .groupBy("contact_id")
        .agg(
            F.bit_or(F.expr("shiftleft(1, kind)")).alias("kinds"),
            F.max("one_id").alias("one_id"),  # only plan rows carry them
            F.max(of_kind(PLAN_ROW, "value")).alias("planned_fen"),
            F.max(of_kind(PLAN_ROW, "extra")).alias("plan_packed"),
            F.count(of_kind(GRANT_ROW, "kind")).alias("grants"),
            F.coalesce(F.sum(of_kind(GRANT_ROW, "value")), F.lit(0)).alias("granted_fen"),
            # failed if any receipt reports a failure (with that code), delivered otherwise, null without receipts
            F.max(of_kind(RECEIPT_ROW, "value")).alias("receipt_packed"),
            F.max(of_kind(RECEIPT_ROW, "extra")).alias("any_code_rank"),
            F.max(of_kind(HISTORY_ROW, "value")).alias("seen_days"),
            F.max(of_kind(HISTORY_ROW, "extra")).alias("resolved_days"),
        )
    )
    packed, receipt = F.col("plan_packed"), F.col("receipt_packed")
    days = F.shiftright(packed, 32)
    failed = F.shiftright(receipt, 32).cast("int")
    failed_code = F.when(failed == 1, F.nullif(receipt.bitwiseAND(F.lit(LOW_MASK)), F.lit(0)))
    return totals.select(
        "contact_id",
        carries(PLAN_ROW).alias("is_planned"),
        F.when(days > 0, F.date_from_unix_date((days - 1).cast("int"))).alias("business_date"),
        F.shiftright(packed.bitwiseAND(F.lit(LOW_MASK)), FLAG_BITS).cast("int").alias("route"),
        "one_id",
        "planned_fen",
        (packed.bitwiseAND(F.lit(4)) != 0).alias("has_benefit"),
        (packed.bitwiseAND(F.lit(2)) != 0).alias("expects_receipt"),
        (packed.bitwiseAND(F.lit(1)) != 0).alias("in_window"),
        carries(REFERENCE_ROW).alias("is_referenced"),
        "grants",
        "granted_fen",
        carries(MAKE_UP_GRANT_ROW).alias("make_up_granted"),
        failed.alias("failed"),
        F.coalesce(failed_code, F.col("any_code_rank")).cast("int").alias("code_rank"),
        F.date_from_unix_date(F.col("seen_days").cast("int")).alias("seen_before"),
        F.date_from_unix_date(F.col("resolved_days").cast("int")).alias("resolved_before"),
    )


def _class(run_date: date, lag_days: int) -> Column:
    """A planned key's class from its totals: the first of CLASS_ORDER that applies."""
    has_benefit = F.col("has_benefit")
    inside_window = F.datediff(F.lit(run_date), F.col("business_date")) <= lag_days
    no_grant = F.col("grants") == 0
    return (
        F.when(F.col("failed") == 1, F.lit(DELIVERY_FAILED))
        .when(F.col("grants") > 1, F.lit(DUPLICATE_GRANT))
        .when(has_benefit & (F.col("grants") == 1) & (F.col("granted_fen") != F.col("planned_fen")), AMOUNT_MISMATCH)
        .when(has_benefit & no_grant & F.col("make_up_granted"), F.lit(REPLENISHED))
        .when(has_benefit & no_grant & ~inside_window, F.lit(MISSING_GRANT))
        .when(has_benefit & no_grant, F.lit(PENDING))
        .when(F.col("expects_receipt") & F.col("failed").isNull() & inside_window, F.lit(PENDING))
        .when(F.col("expects_receipt") & F.col("failed").isNull(), F.lit(MISSING_RECEIPT))
        .otherwise(F.lit(OK))
    )


def _item(run_date: date, lag_days: int) -> list[Column]:
    """ITEM_COLUMNS of a planned key (its totals, route and vendor code decoded) or of an unplanned grant (a
    `tonight_*` grant joined to its key's totals, or without a key). One projection for both: two would compute the
    keyed pass twice."""
    unplanned = F.col("is_tonight").isNotNull()
    klass = _class(run_date, lag_days)
    run = F.lit(run_date)

    def either(for_plan: Column, for_unplanned: Column) -> Column:
        return F.when(unplanned, for_unplanned).otherwise(for_plan)

    vendor_status = F.when(F.col("failed") == 1, "failed").when(F.col("failed") == 0, "delivered").otherwise("")
    return [
        either(F.col("business_date"), F.col("tonight_business_date")).alias("business_date"),
        either(F.col("route_campaign_id"), F.col("tonight_campaign_id")).alias("campaign_id"),
        either(F.col("route_channel"), F.lit("")).alias("channel"),
        "contact_id",
        either(F.col("one_id"), F.col("tonight_one_id")).alias("one_id"),
        either(klass, F.lit(UNPLANNED_GRANT)).alias("class"),
        either(F.col("planned_fen"), F.lit(0)).cast("long").alias("planned_fen"),
        either(F.col("granted_fen"), F.col("tonight_amount_fen")).cast("long").alias("granted_fen"),
        either(F.col("grants"), F.lit(1)).cast("long").alias("grants"),
        either(vendor_status, F.lit("")).alias("vendor_status"),
        either(F.coalesce(F.col("vendor_code"), F.lit("")), F.lit("")).alias("vendor_code"),
        # earlier nights' dates are kept, never overwritten
        either(F.coalesce(F.col("seen_before"), run), run).alias("first_seen_run_date"),
        either(F.coalesce(F.col("resolved_before"), F.when(klass != PENDING, run).cast("date")), run).alias(
            "resolved_run_date"
        ),
    ]


def _tonight(grants: DataFrame, run_date: date) -> DataFrame:
    """Grants reported tonight, as the columns of an unplanned item (`tonight_*`)."""
    return grants.where(F.col("reported_date") == F.lit(run_date)).select(
        F.col("contact_id").alias("tonight_contact_id"),
        F.to_date("granted_at").alias("tonight_business_date"),
        F.col("campaign_id").alias("tonight_campaign_id"),
        F.col("one_id").alias("tonight_one_id"),
        F.col("amount_fen").alias("tonight_amount_fen"),
        F.lit(True).alias("is_tonight"),
    )


def classify(
    plan: DataFrame,
    grants: DataFrame,
    receipts: DataFrame,
    previous: DataFrame,
    run_date: date,
    lag_days: int = DEFAULT_LAG_DAYS,
    receipt_channels: tuple[str, ...] = CHANNELS_WITH_RECEIPTS,
) -> DataFrame:
    """`audience.reconciliation_items` rows of the run date (see the module docstring, step 1).

    One keyed pass (one shuffle of the inputs, one hash aggregation): every key gets its totals, then the planned
    keys in scope (business date inside the window, or the original of a make-up inside it) become planned items,
    and tonight's grants are joined to the totals of their key (already partitioned by key: only tonight's grants
    move) so that those on a key nobody planned become unplanned items, one per grant. Grants without a key (null)
    answer no key."""
    routes = _numbered(
        plan.select(F.col("campaign_id").alias("route_campaign_id"), F.col("channel").alias("route_channel")), "route"
    )
    codes = _numbered(receipts.where(F.col("vendor_code").isNotNull()).select("vendor_code"), "code_rank")
    totals = _key_totals(
        _keyed_rows(plan, grants, receipts, previous, routes, codes, run_date, lag_days, receipt_channels)
    )
    tonight = _tonight(grants, run_date)
    answers_no_plan = (F.col("contact_id") == F.col("tonight_contact_id")) & ~F.col("is_planned")
    in_scope = F.col("is_planned") & (F.col("in_window") | F.col("is_referenced"))
    joined = (
        totals.join(tonight.hint("shuffle_hash"), on=answers_no_plan, how="left")
        .where(F.col("is_tonight").isNotNull() | in_scope)
        .join(F.broadcast(routes), on="route", how="left")
        .join(F.broadcast(codes), on="code_rank", how="left")
    )
    keyless = tonight.where(F.col("tonight_contact_id").isNull()).withColumn("contact_id", F.col("tonight_contact_id"))
    return joined.unionByName(keyless, allowMissingColumns=True).select(*_item(run_date, lag_days))


def summarise(items: DataFrame) -> DataFrame:
    """`audience.reconciliation`: per business date, campaign and class, keys and money."""
    return items.groupBy("business_date", "campaign_id", "class").agg(
        F.count("*").alias("keys"),
        F.sum("planned_fen").cast("long").alias("planned_fen"),
        F.sum("granted_fen").cast("long").alias("granted_fen"),
    )


def make_up_key(original: Column) -> Column:
    """The make-up order's idempotency key: the same original key always gives the same make-up key."""
    return F.substring(F.sha2(F.concat(F.lit("replenish|"), original), 256), 1, MAKE_UP_KEY_HEX)


def _standing_refusal() -> Column:
    """Why nothing may go out for a candidate of a make-up or a resend, before the checks of its own: the
    campaign's breaker is open, the campaign is outside its dates, the person is blocked (null: none of these)."""
    return (
        F.when(F.coalesce(F.col("is_circuit_open"), F.lit(False)), "circuit_open")
        .when(~F.coalesce(F.col("is_active"), F.lit(False)), "campaign_inactive")
        .when(F.coalesce(F.col("is_blocked"), F.lit(False)), "person_blocked")
    )


def make_up_decisions(
    items: DataFrame,
    plan: DataFrame,
    grants: DataFrame,
    made_up: DataFrame,
    campaigns: DataFrame,
    blocked_people: DataFrame,
) -> DataFrame:
    """Tonight's make-up decisions (module docstring, step 3): one row per `missing_grant` plan key not made up
    before, with its plan row and `refusal` (null: made up tonight).

    `made_up`: contact_id of every original key made up on an earlier night; `blocked_people`: one_id;
    `campaigns`: CAMPAIGNS_SCHEMA. Orders and refusals are the two halves (`split_make_ups`): the stage computes the
    decisions once (a local checkpoint) and splits them, since deciding again for each half doubled the work."""
    missing = (
        items.where(F.col("class") == MISSING_GRANT)
        .select("contact_id")
        .join(plan.where(F.col("source") == PLAN_SOURCE), on="contact_id", how="inner")
        .join(made_up, on="contact_id", how="left_anti")
    )
    granted = _grant_totals(grants).select("contact_id", (F.col("grants") > 0).alias("has_grant"))
    held = (  # benefits a person holds or is still owed in each campaign: granted or not yet answered
        plan.where(F.col("benefit_id") != "")
        .join(granted, on="contact_id", how="left")
        .join(items.select("contact_id", "class"), on="contact_id", how="left")
        .where(F.coalesce(F.col("has_grant"), F.lit(False)) | (F.col("class") == PENDING))
        .groupBy("campaign_id", "one_id")
        .agg(F.count("*").alias("held"))
    )
    spent = (  # money granted so far, and money still owed to keys waiting for their grant
        grants.groupBy("campaign_id")
        .agg(F.sum("amount_fen").alias("granted"))
        .join(
            items.where(F.col("class") == PENDING).groupBy("campaign_id").agg(F.sum("planned_fen").alias("owed")),
            on="campaign_id",
            how="full",
        )
        .select(
            "campaign_id", (F.coalesce(F.col("granted"), F.lit(0)) + F.coalesce(F.col("owed"), F.lit(0))).alias("spent")
        )
    )
    blocked = blocked_people.select("one_id", F.lit(True).alias("is_blocked")).dropDuplicates(["one_id"])
    ranked = Window.partitionBy("campaign_id").orderBy("business_date", "contact_id")
    candidates = (
        missing.join(campaigns, on="campaign_id", how="left")
        .join(blocked, on="one_id", how="left")
        .join(held, on=["campaign_id", "one_id"], how="left")
        .join(spent, on="campaign_id", how="left")
        .withColumn(
            "refusal",
            _standing_refusal().when(F.coalesce(F.col("held"), F.lit(0)) + 1 > F.col("per_user_cap"), "over_user_cap"),
        )
    )
    # Budget last, over the candidates still standing, in a stable order.
    standing = candidates.where(F.col("refusal").isNull()).withColumn(
        "cumulative", F.sum("planned_fen").over(ranked.rowsBetween(Window.unboundedPreceding, Window.currentRow))
    )
    over_budget = F.col("budget_fen").isNotNull() & (
        F.coalesce(F.col("spent"), F.lit(0)) + F.col("cumulative") > F.col("budget_fen")
    )
    return standing.withColumn("refusal", F.when(over_budget, "over_budget")).unionByName(
        candidates.where(F.col("refusal").isNotNull()).withColumn("cumulative", F.lit(None).cast("long")),
    )


def split_make_ups(decided: DataFrame, run_date: date) -> tuple[DataFrame, DataFrame]:
    """(orders, refusals) of `make_up_decisions`. Orders are plan rows (source 'replenishment', channel '': a grant,
    no message)."""
    orders = decided.where(F.col("refusal").isNull()).select(
        make_up_key(F.col("contact_id")).alias("contact_id"),
        F.lit(run_date).alias("business_date"),
        "campaign_id",
        F.lit("").alias("channel"),
        "one_id",
        "benefit_id",
        "planned_fen",
        F.lit(REPLENISHMENT_SOURCE).alias("source"),
        F.col("contact_id").alias("replenishes"),
    )
    refusals = decided.where(F.col("refusal").isNotNull()).select(
        "contact_id", "campaign_id", F.col("refusal").alias("reason")
    )
    return orders, refusals


RESEND_REFUSALS = ("no_fallback_channel", "fallback_unreachable", "frequency_cap")


def resend_decisions(
    items: DataFrame,
    plan: DataFrame,
    resent: DataFrame,
    campaigns: DataFrame,
    blocked_people: DataFrame,
    reachable: DataFrame,
    recent_contacts: DataFrame,
    caps: DataFrame,
    run_date: date,
) -> DataFrame:
    """Tonight's resend decisions (module docstring, step 5): one row per plan key whose delivery failed tonight and
    was not resent before, with the chosen channel, address and time zone, and `refusal` (null: resent tonight);
    `split_resends` gives the two halves, as `split_make_ups` does.

    A failed contact is sent once more on the first channel after the failed one in the plan's preference order
    that the person can receive (`reachable`: one_id, channel, contact_ref, timezone) and whose policy frequency
    cap (`caps`: channel, max_contacts, days) still allows one more contact, counting `recent_contacts` (one_id,
    channel, contact_date: everything handed over before tonight plus tonight's plan). Only keys that became
    `delivery_failed` tonight, never a resend or make-up, at most once ever (`resent`: contact_id of every original
    already resent), never for a blocked person, an inactive campaign or one whose breaker is open. The resend is
    the same contact: it carries no benefit (the grant side is reconciled on the original key) and the campaign's
    own cap is not counted again. Refusal reasons: the make-up reasons, then `no_fallback_channel` (the plan has no
    later channel), `fallback_unreachable` (the person can receive none of them), `frequency_cap` (all capped)."""
    failed = (
        items.where((F.col("class") == DELIVERY_FAILED) & (F.col("resolved_run_date") == F.lit(run_date)))
        .select("contact_id")
        .join(plan.where(F.col("source") == PLAN_SOURCE), on="contact_id", how="inner")
        .join(resent, on="contact_id", how="left_anti")
        .select("contact_id", "campaign_id", "channel", "one_id")
    )
    blocked = blocked_people.select("one_id", F.lit(True).alias("is_blocked")).dropDuplicates(["one_id"])
    candidates = failed.join(campaigns, on="campaign_id", how="left").join(blocked, on="one_id", how="left")
    failed_at = F.array_position(F.col("channels"), F.col("channel"))
    later = (
        candidates.select(
            "contact_id",
            "one_id",
            failed_at.alias("failed_at"),
            F.posexplode_outer("channels").alias("position", "next"),
        ).where(F.col("position") + 1 > F.col("failed_at"))  # position counts from 0, array_position from 1
    )
    window_start = F.date_sub(F.lit(run_date), F.col("days").cast("int") - 1)
    contacts_in_window = (
        recent_contacts.join(caps, on="channel", how="inner")
        .where(F.col("contact_date") >= window_start)
        .groupBy("one_id", "channel")
        .agg(F.count("*").alias("recent"))
    )
    options = (
        later.join(reachable.withColumnRenamed("channel", "next"), on=["one_id", "next"], how="inner")
        .join(caps.withColumnRenamed("channel", "next"), on="next", how="left")
        .join(contacts_in_window.withColumnRenamed("channel", "next"), on=["one_id", "next"], how="left")
        .withColumn(
            "is_capped",
            F.col("max_contacts").isNotNull() & (F.coalesce(F.col("recent"), F.lit(0)) + 1 > F.col("max_contacts")),
        )
    )
    first_open = Window.partitionBy("contact_id").orderBy("position")
    chosen = (
        options.where(~F.col("is_capped"))
        .withColumn("rank", F.row_number().over(first_open))
        .where(F.col("rank") == 1)
        .select("contact_id", F.col("next").alias("next_channel"), "contact_ref", "timezone")
    )
    per_key = (
        later.groupBy("contact_id")
        .agg(F.count("next").alias("later_channels"))
        .join(options.groupBy("contact_id").agg(F.count("*").alias("reachable_channels")), on="contact_id", how="left")
    )
    return (
        candidates.join(per_key, on="contact_id", how="left")
        .join(chosen, on="contact_id", how="left")
        .withColumn(
            "refusal",
            _standing_refusal()
            .when(F.coalesce(F.col("later_channels"), F.lit(0)) == 0, "no_fallback_channel")
            .when(F.coalesce(F.col("reachable_channels"), F.lit(0)) == 0, "fallback_unreachable")
            .when(F.col("next_channel").isNull(), "frequency_cap"),
        )
    )


def split_resends(decided: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(resends, refusals) of `resend_decisions`."""
    resends = decided.where(F.col("refusal").isNull()).select(
        make_up_key(F.col("contact_id")).alias("contact_id"),
        F.col("contact_id").alias("replenishes"),
        "campaign_id",
        F.col("next_channel").alias("channel"),
        "one_id",
        "contact_ref",
        "timezone",
    )
    refusals = decided.where(F.col("refusal").isNotNull()).select(
        "contact_id", "campaign_id", F.col("refusal").alias("reason")
    )
    return resends, refusals


def _alert(campaign: Column, monitor: str, severity: Column, money: Column, keys: Column, detail: Column) -> list:
    return [
        campaign.alias("campaign_id"),
        F.lit(monitor).alias("monitor"),
        severity.alias("severity"),
        money.cast("long").alias("money_at_risk_fen"),
        keys.cast("long").alias("keys"),
        detail.alias("detail"),
    ]


def loss_alerts(
    items: DataFrame, grants: DataFrame, campaigns: DataFrame, run_date: date, thresholds: Thresholds = Thresholds()
) -> DataFrame:
    """`audience.loss_alerts` rows of the run date (module docstring, step 4)."""
    share = F.col("granted") / F.col("budget_fen")
    reported_tonight = (F.col("reported_date") == F.lit(run_date)).cast("int")
    budget = (
        grants.groupBy("campaign_id")
        .agg(F.sum("amount_fen").alias("granted"), F.count("*").alias("n"), F.sum(reported_tonight).alias("tonight"))
        .join(campaigns.where(F.col("budget_fen") > 0), on="campaign_id", how="inner")
        .where(share >= thresholds.budget_warning_share)
        .select(
            *_alert(
                F.col("campaign_id"),
                "budget",
                # critical when tonight's grants spend beyond the budget: a resumed campaign that stays over budget
                # with no new grants does not trip again every night
                F.when((share > thresholds.budget_critical_share) & (F.col("tonight") > 0), "critical").otherwise(
                    "warning"
                ),
                F.greatest(F.col("granted") - F.col("budget_fen"), F.lit(0)),
                F.col("n"),
                F.format_string("granted %.2f of %.2f yuan budget", F.col("granted") / 100, F.col("budget_fen") / 100),
            )
        )
    )
    over_cap = (
        grants.where(F.col("one_id").isNotNull())
        .groupBy("campaign_id", "one_id")
        .agg(F.count("*").alias("n"), F.sum("amount_fen").alias("amount"), F.sum(reported_tonight).alias("tonight"))
        .join(campaigns.where(F.col("per_user_cap").isNotNull()), on="campaign_id", how="inner")
        .where((F.col("n") > F.col("per_user_cap")) & (F.col("tonight") > 0))  # people put over the cap tonight
        .groupBy("campaign_id")
        .agg(
            F.count("*").alias("people"),
            F.sum(F.col("amount") * (1 - F.col("per_user_cap") / F.col("n"))).alias("excess"),
        )
        .select(*_alert(F.col("campaign_id"), "user_cap",
                        F.when(F.col("people") >= thresholds.duplicate_critical_keys, "critical").otherwise("warning"),
                        F.col("excess"), F.col("people"),
                        F.format_string("%d people hold more grants than the per-user cap", F.col("people"))))
    )  # fmt: skip
    tonight = items.where(F.col("resolved_run_date") == F.lit(run_date))

    def by_class(klass: str, monitor: str, severity: Column, money: Column, what: str) -> DataFrame:
        found = (
            tonight.where(F.col("class") == klass)
            .groupBy("campaign_id")
            .agg(F.count("*").alias("n"), F.sum(money).alias("money"))
        )
        return found.select(*_alert(F.col("campaign_id"), monitor, severity, F.col("money"), F.col("n"),
                                    F.format_string(f"%d {what}", F.col("n"))))  # fmt: skip

    unplanned = by_class(
        UNPLANNED_GRANT,
        "unplanned_grant",
        F.when(F.col("n") >= thresholds.unplanned_critical_keys, "critical").otherwise("warning"),
        F.col("granted_fen"),
        "grants that answer no planned contact",
    )
    duplicate = by_class(
        DUPLICATE_GRANT,
        "duplicate_grant",
        F.when(F.col("n") >= thresholds.duplicate_critical_keys, "critical").otherwise("warning"),
        F.col("granted_fen") - F.col("planned_fen"),
        "contacts granted more than once",
    )
    mismatch = by_class(
        AMOUNT_MISMATCH,
        "amount_mismatch",
        F.lit("warning"),
        F.abs(F.col("granted_fen") - F.col("planned_fen")),
        "grants of another amount than planned",
    )
    return budget.unionByName(over_cap).unionByName(unplanned).unionByName(duplicate).unionByName(mismatch).unionByName(
        abnormal_peaks(grants, run_date, thresholds)
    )  # fmt: skip


def abnormal_peaks(grants: DataFrame, run_date: date, thresholds: Thresholds = Thresholds()) -> DataFrame:
    """Campaigns whose busiest minute of grants reported tonight exceeds `peak_factor` times the busiest minute of
    the previous `peak_baseline_days` nights (no alert without a baseline: a first night has nothing to compare)."""
    since = run_date - timedelta(days=thresholds.peak_baseline_days)
    per_minute = (
        grants.where(F.col("reported_date") >= F.lit(since))
        .groupBy("campaign_id", "reported_date", F.date_trunc("minute", "granted_at").alias("minute"))
        .count()
    )
    busiest = per_minute.groupBy("campaign_id", "reported_date").agg(F.max("count").alias("peak"))
    tonight = busiest.where(F.col("reported_date") == F.lit(run_date)).select("campaign_id", "peak")
    baseline = (
        busiest.where(F.col("reported_date") < F.lit(run_date))
        .groupBy("campaign_id")
        .agg(F.max("peak").alias("baseline"))
    )
    return (
        tonight.join(baseline, on="campaign_id", how="inner")
        .where(F.col("peak") > F.col("baseline") * thresholds.peak_factor)
        .select(*_alert(F.col("campaign_id"), "abnormal_peak", F.lit("critical"), F.lit(0), F.col("peak"),
                        F.format_string("%d grants in one minute against a busiest minute of %d before",
                                        F.col("peak"), F.col("baseline"))))
    )  # fmt: skip
