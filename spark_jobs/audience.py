"""Spark job: turn the active campaign plans into exact, policy-checked audiences for one run date.

Every (campaign, person) pair from the campaign's included segments minus its excluded segments becomes one
row of a working frame with a `reason` column (null = still in). Each step below is a pure function that keeps
the rows and only fills `reason` for the pairs it removes, so every pair ends as exactly one audience row or one
exclusion row. The steps run in this documented order:

0. pilot sample a plan's `sample:` keeps only that deterministic sample of its candidates (N people or x%, by
                  md5("<salt>:<one_id>") as in nightshift.segments.sampling); the others are not candidates.
1. suppression    person flags from the policy (complaints, risk blacklist -> their rule's reason), internal test
                  accounts unless the plan allows them (`internal_test_account`), a member without a profile row
                  (`no_profile`); per channel, `can_receive_<channel>` (reachability + consent), an empty
                  contact ref or a policy flag (e.g. SMS unsubscribe) closes that channel for the person.
2. frequency caps against contact history (contacts handed to a channel on earlier run dates, from
                  `audience.contact_history`, which the export stage writes): the plan's own cap
                  (`campaign_frequency_cap`), the benefit's per-user cap over the campaign's lifetime
                  (`benefit_cap`), and the policy's per-channel caps, which close capped channels; a person
                  whose open channels were all closed by caps is excluded (`frequency_cap`). A cap allows a
                  contact when history + this run's one contact <= max_contacts (arbitration gives a person at
                  most one campaign per run date, so the run's earlier assignments are exactly that contact).
3. arbitration    a person left in several campaigns keeps one: campaigns that can still reach them first, then
                  the highest priority, ties by campaign id; the others record `arbitration`.
4. experiment     u = xxhash64("<one_id>:<salt>") mapped to [0, 1): u < holdout_share -> `holdout`, otherwise
                  variants by cumulative weights over the rest. Depends on nothing but the id and the salt, so
                  it is stable across days and independent of audience size. Recorded on every pair, those
                  left out before included (exclusions keep their arm and channel for the per-variant funnel).
5. channel        the first open channel in the plan's preference order; none -> `no_reachable_channel`
                  (holdout people too, so the holdout stays comparable with the treated group). Holdout rows
                  keep an empty channel and contact ref: they are recorded, never contacted.
6. send time      the earliest local time inside the plan's send window and outside the policy's quiet hours
                  (validated per plan), on the run date, in the person's time zone (policy default when empty
                  or unknown), converted to UTC.
7. budget         remaining = budget_fen - what earlier run dates spent. People are ranked by the budget score:
                  fewest contacts in the last BUDGET_FATIGUE_DAYS days first, then a deterministic hash draw of
                  (one_id, salt), then one_id. A person is kept when the cost of the treated people ranked before
                  them plus one unit fits the remaining budget; the rest record `budget`. The same rule cuts the
                  holdout, so treated and holdout remain comparable.

How it runs: one keyed pass per person. Membership is grouped by person once, the segments the campaigns name as
bits of a mask; each campaign's candidate test is a literal condition on that mask; the profile and the person's
contact counts (history grouped by person once, every cap counted in that one aggregation) are joined per person.
The pairs are each person's candidate campaigns exploded, so they stay partitioned by person and arbitration's
window needs no further shuffle; steps 1-6 are expressions on each row. The pairs are materialised once (a local
checkpoint) before the budget. A budget that cuts keeps the people scored no later than its last paid treated
person: one narrow ranking of the treated finds that person, and the cut is a comparison on each row. Three
shuffles in all (membership, profile, history), plus a narrow one for the sized pilot samples' cutoffs and one for
the budgets' cutoffs when a budget cuts (figures and the plan before and after: docs/audience_performance.md).

Every audience row carries its `contact_id`, the contact's idempotency key (formula and its ClickHouse twin in
`nightshift.campaigns.contact_id`), so the same contact has the same key on every re-run of the date.

No Python UDFs: only built-in functions, higher-order array functions and window functions.
Thin `main()` for spark-submit reads Parquet and plan files and writes the two outputs as Parquet.
"""

from __future__ import annotations

import argparse
import json
import operator
from collections.abc import Iterable
from datetime import date
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from nightshift.campaigns.contact_id import contact_id_column
from nightshift.campaigns.models import BUDGET_FATIGUE_DAYS, HOLDOUT, CampaignPlan, Policy, first_send_time
from nightshift.contracts import CHANNELS

# 53 bits of the hash give every double in [0, 1) the same spacing (2^-53), so buckets are unbiased.
DRAW_BITS = 53
NO_PROFILE = "no_profile"
INTERNAL_TEST_ACCOUNT = "internal_test_account"
CAMPAIGN_FREQUENCY_CAP = "campaign_frequency_cap"
BENEFIT_CAP = "benefit_cap"
FREQUENCY_CAP = "frequency_cap"
ARBITRATION = "arbitration"
NO_REACHABLE_CHANNEL = "no_reachable_channel"
BUDGET = "budget"
# Funnel steps in order, with the reasons each can record (person suppression reasons come from the policy).
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("suppression", (NO_PROFILE, INTERNAL_TEST_ACCOUNT)),
    ("frequency caps", (CAMPAIGN_FREQUENCY_CAP, BENEFIT_CAP, FREQUENCY_CAP)),
    ("arbitration", (ARBITRATION,)),
    ("experiment", ()),
    ("channel", (NO_REACHABLE_CHANNEL,)),
    ("send time", ()),
    ("budget", (BUDGET,)),
)

CAMPAIGN_SCHEMA = T.StructType(
    [
        T.StructField("campaign_id", T.StringType(), False),
        T.StructField("priority", T.IntegerType(), False),
        T.StructField("include_segments", T.ArrayType(T.StringType()), False),
        T.StructField("exclude_segments", T.ArrayType(T.StringType()), False),
        T.StructField("channels", T.ArrayType(T.StringType()), False),
        T.StructField("allow_internal_test_accounts", T.BooleanType(), False),
        T.StructField("salt", T.StringType(), False),
        T.StructField("holdout_share", T.DoubleType(), False),
        T.StructField("variant_names", T.ArrayType(T.StringType()), False),
        T.StructField("variant_upper", T.ArrayType(T.DoubleType()), False),
        T.StructField("benefit_id", T.StringType(), False),
        T.StructField("unit_cost_fen", T.LongType(), False),
        T.StructField("benefit_cap", T.IntegerType(), True),
        T.StructField("campaign_cap_max", T.IntegerType(), True),
        T.StructField("campaign_cap_days", T.IntegerType(), True),
        T.StructField("remaining_budget_fen", T.LongType(), True),
        T.StructField("send_local_time", T.StringType(), False),
        T.StructField("sample_salt", T.StringType(), True),
        T.StructField("sample_size", T.IntegerType(), True),
        T.StructField("sample_threshold", T.StringType(), True),
    ]
)
HISTORY_SCHEMA = "run_date date, campaign_id string, one_id long, channel string, benefit_id string"
AUDIENCE_COLUMNS = (
    "run_date",
    "campaign_id",
    "one_id",
    "contact_id",
    "variant",
    "channel",
    "contact_ref",
    "send_at",
    "benefit_id",
    "cost_fen",
)
EXCLUSION_COLUMNS = ("run_date", "campaign_id", "one_id", "reason", "variant", "channel")


def campaign_frame(
    spark: SparkSession, plans: Iterable[CampaignPlan], policy: Policy, spent_fen: dict[str, int] | None = None
) -> DataFrame:
    """One row of parameters per campaign; `spent_fen` is what earlier run dates already spent per campaign."""
    spent_fen = spent_fen or {}
    rows = []
    for plan in plans:
        send_time = first_send_time(plan.send_window, policy.quiet_hours)
        if send_time is None:
            raise ValueError(f"campaign {plan.id}: send window lies inside quiet hours (validate plans first)")
        budget = plan.budget_fen
        sample = plan.sample.for_campaign(plan.id) if plan.sample else None
        rows.append(
            (
                plan.id,
                plan.priority,
                list(plan.include_segments),
                list(plan.exclude_segments),
                list(plan.channels),
                plan.allow_internal_test_accounts,
                plan.experiment.salt,
                plan.experiment.holdout_share,
                [variant.name for variant in plan.experiment.variants],
                plan.experiment.cumulative_upper_bounds(),
                plan.benefit.id if plan.benefit else "",
                plan.unit_cost_fen,
                plan.benefit.per_user_cap if plan.benefit else None,
                plan.frequency_cap.max_contacts if plan.frequency_cap else None,
                plan.frequency_cap.days if plan.frequency_cap else None,
                None if budget is None else max(budget - spent_fen.get(plan.id, 0), 0),
                send_time.strftime("%H:%M:%S"),
                sample.salt if sample else None,
                sample.size if sample else None,
                sample.threshold if sample and sample.percent is not None and sample.percent < 100 else None,
            )
        )
    return spark.createDataFrame(rows, CAMPAIGN_SCHEMA)


# Bits per mask word: a person's segments (those the campaigns name) are bits of long words, the sign bit unused.
WORD_BITS = 63


def segment_bits(campaign_rows: list) -> dict[str, tuple[int, int]]:
    """Each segment a campaign includes or excludes -> (word, bit) of its place in a person's segment mask."""
    names = sorted({name for row in campaign_rows for name in (*row.include_segments, *row.exclude_segments)})
    return {name: divmod(index, WORD_BITS) for index, name in enumerate(names)}


def people_segments(membership: DataFrame, bits: dict[str, tuple[int, int]]) -> DataFrame:
    """(one_id, segment_mask_0, ...): each member of a segment the campaigns name, once, with those segments as
    bits (`segment_bits`); the key of the per-person pass. A bitwise OR per person is a plain hash aggregation."""
    words = 1 + max((word for word, _ in bits.values()), default=0)
    word_of = F.create_map(*[part for name, (word, _) in bits.items() for part in (F.lit(name), F.lit(word))])
    bit_of = F.create_map(
        *[part for name, (_, bit) in bits.items() for part in (F.lit(name), F.lit(1 << bit).cast("long"))]
    )
    named = membership.where(F.col("segment").isin(list(bits)))
    return named.groupBy(F.col("one_id").cast("long").alias("one_id")).agg(
        *[
            F.bit_or(F.when(word_of[F.col("segment")] == word, bit_of[F.col("segment")]).otherwise(F.lit(0)))
            .cast("long")
            .alias(f"segment_mask_{word}")
            for word in range(words)
        ]
    )


def _in_any(segments: list[str], bits: dict[str, tuple[int, int]]) -> Column:
    """Whether the person's segment mask has any of `segments`."""
    masks: dict[int, int] = {}
    for name in segments:
        word, bit = bits[name]
        masks[word] = masks.get(word, 0) | 1 << bit
    tests = [F.col(f"segment_mask_{word}").bitwiseAND(F.lit(mask)) != 0 for word, mask in sorted(masks.items())]
    return reduce(operator.or_, tests, F.lit(False))


def _sample_hash(salt: str) -> Column:
    """Twin of nightshift.segments.sampling.hash_sql: lowercase hex md5 of "<salt>:<one_id>"."""
    return F.md5(F.concat(F.lit(salt), F.lit(":"), F.col("one_id").cast("string")))


def _is_candidate(campaign, bits: dict[str, tuple[int, int]], cutoff: tuple[str, int] | None = None) -> Column:
    """Whether the person (one_id, segment masks) is a candidate of `campaign` (a row of `campaign_frame`): in an
    included segment, in no excluded one, and inside the plan's pilot sample: below its percent line, or with a
    sized sample at or before the `cutoff` (hash, one_id) of its N-th candidate (None: no cutoff, all kept)."""
    member = _in_any(campaign.include_segments, bits) & ~_in_any(campaign.exclude_segments, bits)
    if campaign.sample_threshold is not None:
        member = member & (_sample_hash(campaign.sample_salt) < F.lit(campaign.sample_threshold))
    if campaign.sample_size is not None and cutoff is not None:
        sample_hash, (cutoff_hash, cutoff_id) = _sample_hash(campaign.sample_salt), cutoff
        member = member & (
            (sample_hash < F.lit(cutoff_hash)) | ((sample_hash == F.lit(cutoff_hash)) & (F.col("one_id") <= cutoff_id))
        )
    return member


def _literal(value, data_type: T.DataType) -> Column:
    if isinstance(value, list):
        return F.array(*[F.lit(item) for item in value]).cast(data_type)
    return F.lit(value).cast(data_type)


def _parameters(campaign, schema: T.StructType) -> Column:
    """The campaign's row of `campaign_frame` as a struct of literals."""
    return F.struct(*[_literal(campaign[field.name], field.dataType).alias(field.name) for field in schema.fields])


def sample_cutoffs(people: DataFrame, campaign_rows: list, bits: dict[str, tuple[int, int]]) -> dict:
    """Step 0's cutoffs: a plan sampling N people keeps the N candidates with the smallest (hash, one_id); the
    N-th of them is found here, once, so the per-person pass keeps a candidate by comparing with it. A plan with
    fewer than N candidates gets no cutoff: all of them are kept."""
    sized = [row for row in campaign_rows if row.sample_size is not None]
    if not sized:
        return {}
    picked = F.array(
        *[
            F.when(
                _is_candidate(row, bits),
                F.struct(
                    F.lit(row.campaign_id).alias("id"),
                    F.lit(row.sample_size).alias("size"),
                    _sample_hash(row.sample_salt).alias("hash"),
                ),
            )
            for row in sized
        ]
    )
    pairs = people.select("one_id", F.explode(picked).alias("c")).where(F.col("c").isNotNull())
    by_hash = Window.partitionBy("c.id").orderBy("c.hash", "one_id")
    ranked = pairs.withColumn("rank", F.row_number().over(by_hash)).where(F.col("rank") == F.col("c.size"))
    return {row.id: (row.hash, row.one_id) for row in ranked.select("c.id", "c.hash", "one_id").collect()}


def candidate_campaigns(membership: DataFrame, campaigns: DataFrame) -> DataFrame:
    """(one_id, candidate_campaigns): each member of a segment the campaigns name, with an array holding, per
    campaign, its parameters (a struct as in `campaign_frame`) when the person is its candidate after step 0,
    else null."""
    campaign_rows = campaigns.collect()
    if not campaign_rows:
        nobody = F.array().cast(T.ArrayType(campaigns.schema)).alias("candidate_campaigns")
        return membership.select(F.col("one_id").cast("long").alias("one_id"), nobody).limit(0)
    bits = segment_bits(campaign_rows)
    people = people_segments(membership, bits)
    cutoffs = sample_cutoffs(people, campaign_rows, bits)
    chosen = [
        F.when(_is_candidate(row, bits, cutoffs.get(row.campaign_id)), _parameters(row, campaigns.schema))
        for row in campaign_rows
    ]
    return people.select("one_id", F.array(*chosen).alias("candidate_campaigns"))


def candidates(membership: DataFrame, campaigns: DataFrame) -> DataFrame:
    """(campaign_id, one_id): members of any included segment and of no excluded segment, inside the plan's pilot
    sample (step 0), one row per pair.

    Step 0: a plan with `sample:` keeps the candidates whose hash is below its percent line, or its N smallest
    hashes; the hash is the twin of nightshift.segments.sampling.hash_sql (lowercase hex md5 of "<salt>:<one_id>").
    """
    chosen = candidate_campaigns(membership, campaigns)
    pairs = chosen.select(F.explode("candidate_campaigns").alias("campaign"), "one_id")
    return pairs.where(F.col("campaign").isNotNull()).select("campaign.campaign_id", "one_id")


def profile_columns(policy: Policy) -> list[str]:
    """Profile columns the steps read under `policy` (besides one_id)."""
    rules = policy.suppression
    flags = [rule.column for rule in rules.person] + [c for cols in rules.channel.values() for c in cols]
    per_channel = [f"{kind}_{channel}" for channel in CHANNELS for kind in ("can_receive", "contact_ref")]
    return sorted({*flags, *per_channel, rules.internal_test_account_column, "timezone"})


def _in_window(days: int | Column, run_date: date) -> Column:
    """History rows within the rolling window of `days` days that ends with (and excludes) the run date."""
    return (F.col("run_date") >= F.date_sub(F.lit(run_date), days - 1)) & (F.col("run_date") < F.lit(run_date))


def _count_map(counts: dict[str, Column]) -> Column:
    """A map from each key to its count column (an empty map<string,bigint> when there is none)."""
    if not counts:
        return F.create_map().cast("map<string,bigint>")
    return F.map_from_arrays(F.array(*[F.lit(key) for key in counts]), F.array(*counts.values()))


def contact_counts(history: DataFrame, campaigns: DataFrame, policy: Policy, run_date: date) -> DataFrame:
    """What every cap and the budget's fatigue score count in a person's contact history, in one pass grouped by
    person: contacts handed to a channel (a history row with a channel) before the run date, counted

    - per capped channel within the policy's window -> `capped_channels`, the channels whose cap is reached;
    - per campaign with a frequency cap within the plan's window -> `campaign_contacts` (campaign -> count);
    - per benefit with a per-user cap, over its lifetime -> `benefit_received` (benefit -> count);
    - within the last BUDGET_FATIGUE_DAYS days -> `recent_contacts`.

    A cap is reached once the person has a contact it counts (count > 0) and the count is >= max_contacts."""
    parameters = campaigns.select("campaign_id", "campaign_cap_days", "benefit_id", "benefit_cap").collect()
    sent = history.where(F.coalesce(F.col("channel"), F.lit("")) != "").where(F.col("run_date") < F.lit(run_date))
    channel_counts = {
        channel: F.count_if((F.col("channel") == channel) & _in_window(cap.days, run_date))
        for channel, cap in sorted(policy.frequency_caps.items())
    }
    campaign_counts = {
        row.campaign_id: F.count_if(
            (F.col("campaign_id") == row.campaign_id) & _in_window(row.campaign_cap_days, run_date)
        )
        for row in parameters
        if row.campaign_cap_days is not None
    }
    benefits = sorted({row.benefit_id for row in parameters if row.benefit_id and row.benefit_cap is not None})
    benefit_counts = {benefit: F.count_if(F.col("benefit_id") == benefit) for benefit in benefits}
    counted = sent.groupBy(F.col("one_id").cast("long").alias("one_id")).agg(
        F.count_if(_in_window(BUDGET_FATIGUE_DAYS, run_date)).alias("recent_contacts"),
        *[count.alias(f"channel_{channel}") for channel, count in channel_counts.items()],
        _count_map(campaign_counts).alias("campaign_contacts"),
        _count_map(benefit_counts).alias("benefit_received"),
    )
    capped = [
        F.when(_reached(F.col(f"channel_{channel}"), F.lit(cap.max_contacts)), F.lit(channel))
        for channel, cap in sorted(policy.frequency_caps.items())
    ]
    closed = F.array_compact(F.array(*capped)) if capped else F.array().cast("array<string>")
    return counted.select(
        "one_id", "recent_contacts", closed.alias("capped_channels"), "campaign_contacts", "benefit_received"
    )


def _reached(count: Column, max_contacts: Column) -> Column:
    return (count > 0) & (count >= max_contacts)


def working_frame(
    membership: DataFrame, campaigns: DataFrame, profile: DataFrame, history: DataFrame, policy: Policy, run_date: date
) -> DataFrame:
    """One row per (campaign, candidate) with the campaign's parameters, the profile columns the steps need, the
    person's contact counts (`contact_counts`) and `reason` = null.

    Built in one keyed pass: membership, profile and history are each grouped or partitioned by one_id once and
    joined per person; the pairs are the explosion of each person's candidate campaigns, so they stay partitioned
    by person and arbitration (a window per person) needs no further shuffle."""
    needed = profile.select(
        F.col("one_id").cast("long").alias("one_id"), F.lit(True).alias("has_profile"), *profile_columns(policy)
    )
    people = (
        candidate_campaigns(membership, campaigns)
        .join(needed, on="one_id", how="left")
        .join(contact_counts(history, campaigns, policy, run_date), on="one_id", how="left")
    )
    person_columns = [column for column in people.columns if column != "candidate_campaigns"]
    pairs = people.select(*person_columns, F.explode("candidate_campaigns").alias("campaign"))
    return pairs.where(F.col("campaign").isNotNull()).select(
        *person_columns, "campaign.*", F.lit(None).cast("string").alias("reason")
    )


def _exclude(frame: DataFrame, *rules: tuple[Column, str]) -> DataFrame:
    """Record the first matching rule's reason for the rows still in (a null condition counts as false).

    One projection per step, however many rules: deep chains of projections slow Spark's planner down.
    """
    first_hit = F.coalesce(*[F.when(F.coalesce(condition, F.lit(False)), F.lit(reason)) for condition, reason in rules])
    return frame.withColumn("reason", F.coalesce(F.col("reason"), first_hit))


def _is_set(column: str) -> Column:
    return F.coalesce(F.col(column).cast("int"), F.lit(0)) == 1


def apply_suppression(frame: DataFrame, policy: Policy) -> DataFrame:
    """Step 1: person-level suppression, and `open_channels` = the plan's channels the person may receive."""
    rules = policy.suppression
    is_test_account = _is_set(rules.internal_test_account_column)
    frame = _exclude(
        frame,
        (~F.coalesce(F.col("has_profile"), F.lit(False)), NO_PROFILE),
        *[(_is_set(rule.column), rule.reason) for rule in rules.person],
        (is_test_account & ~F.col("allow_internal_test_accounts"), INTERNAL_TEST_ACCOUNT),
    )

    def may_receive(channel: str) -> Column:
        has_address = F.coalesce(F.col(f"contact_ref_{channel}"), F.lit("")) != ""
        opted_out = [_is_set(flag) for flag in rules.channel.get(channel, [])]
        allowed = _is_set(f"can_receive_{channel}") & has_address
        for flag in opted_out:
            allowed = allowed & ~flag
        return allowed

    receivable = F.create_map(*[part for channel in CHANNELS for part in (F.lit(channel), may_receive(channel))])
    return frame.withColumn("open_channels", F.filter("channels", lambda channel: receivable[channel]))


def apply_frequency_caps(frame: DataFrame) -> DataFrame:
    """Step 2: the plan's cap, the benefit's per-user cap and the policy's per-channel caps, from the person's
    contact counts (`contact_counts`; null when the person has no history)."""
    campaign_contacts = F.coalesce(F.try_element_at("campaign_contacts", F.col("campaign_id")), F.lit(0))
    benefit_received = F.coalesce(F.try_element_at("benefit_received", F.col("benefit_id")), F.lit(0))
    closed = F.coalesce(F.col("capped_channels"), F.array().cast("array<string>"))
    under_cap = F.filter("open_channels", lambda channel: ~F.array_contains(closed, channel))
    frame = frame.withColumn("under_cap", under_cap)
    all_closed_by_caps = (F.size("open_channels") > 0) & (F.size("under_cap") == 0)
    frame = _exclude(
        frame,
        (
            F.col("campaign_cap_days").isNotNull() & _reached(campaign_contacts, F.col("campaign_cap_max")),
            CAMPAIGN_FREQUENCY_CAP,
        ),
        (_reached(benefit_received, F.col("benefit_cap")), BENEFIT_CAP),
        (all_closed_by_caps, FREQUENCY_CAP),
    )
    return frame.withColumn("open_channels", F.col("under_cap")).drop("under_cap")


def apply_arbitration(frame: DataFrame) -> DataFrame:
    """Step 3: one campaign per person: reachable first, then highest priority, then campaign id."""
    ranking = Window.partitionBy("one_id").orderBy(
        F.col("reason").isNull().desc(),
        (F.size("open_channels") > 0).desc(),
        F.col("priority").desc(),
        F.col("campaign_id").asc(),
    )
    return _exclude(frame, (F.row_number().over(ranking) > 1, ARBITRATION))


def uniform_draw(one_id: Column, salt: Column, *extra: str) -> Column:
    """A deterministic number in [0, 1) from xxhash64 of "<one_id>:<salt>[:extra]" (same id + salt -> same u)."""
    key = F.concat_ws(":", one_id.cast("string"), salt, *[F.lit(part) for part in extra])
    return F.shiftrightunsigned(F.xxhash64(key), 64 - DRAW_BITS).cast("double") / float(2**DRAW_BITS)


def experiment_group() -> Column:
    """The arm the person's draw puts them in: holdout first, then variants by cumulative weight (needs the
    campaign's salt, holdout_share, variant_names and variant_upper columns)."""
    u = uniform_draw(F.col("one_id"), F.col("salt"))
    rest = (u - F.col("holdout_share")) / (1 - F.col("holdout_share"))
    buckets_below = F.size(F.filter("variant_upper", lambda upper: upper <= rest))
    # least(): floating rounding can put `rest` at exactly 1.0; it then belongs to the last variant
    index = F.least(buckets_below, F.size("variant_names") - 1) + 1
    return F.when(u < F.col("holdout_share"), F.lit(HOLDOUT)).otherwise(F.element_at("variant_names", index))


def assign_variants(frame: DataFrame) -> DataFrame:
    """Step 4: holdout first, then variants by cumulative weight. Recorded on every pair, also those already
    left out: the draw depends only on the id and the salt, and the exclusions keep the arm each person left, so
    the funnel can be read per variant."""
    return frame.withColumn("variant", experiment_group())


def _is_treated() -> Column:
    """Whether the pair is still in and not in the holdout: it is contacted, and it costs."""
    return F.col("reason").isNull() & (F.col("variant") != HOLDOUT)


def select_channel(frame: DataFrame) -> DataFrame:
    """Step 5: first open channel in preference order; holdout people keep an empty channel."""
    contact_refs = F.create_map(*[part for ch in CHANNELS for part in (F.lit(ch), F.col(f"contact_ref_{ch}"))])
    frame = _exclude(frame, (F.size("open_channels") == 0, NO_REACHABLE_CHANNEL))
    is_treated = _is_treated()
    channel = F.get("open_channels", 0)
    return frame.withColumns(
        {
            "channel": F.when(is_treated, channel).otherwise(F.lit("")),
            "contact_ref": F.when(is_treated, contact_refs[channel]).otherwise(F.lit("")),
        }
    )


def schedule(frame: DataFrame, run_date: date, default_timezone: str, known_timezones: Iterable[str]) -> DataFrame:
    """Step 6: `send_at` (UTC) = the campaign's local send time on the run date in the person's time zone."""
    zone = F.when(F.col("timezone").isin(sorted(known_timezones)), F.col("timezone")).otherwise(F.lit(default_timezone))
    local = F.to_timestamp(F.concat_ws(" ", F.lit(run_date.isoformat()), F.col("send_local_time")))
    return frame.withColumn("send_at", F.to_utc_timestamp(local, zone))


def _budget_score() -> list[Column]:
    """The budget's ranking, best first: fewest recent contacts, then a hash draw of (one_id, salt), then one_id."""
    return [
        F.coalesce(F.col("recent_contacts"), F.lit(0)),
        uniform_draw(F.col("one_id"), F.col("salt"), "budget"),
        F.col("one_id"),
    ]


def _after(keys: list[Column], cutoff: tuple) -> Column:
    """Whether `keys` sort strictly after the `cutoff` values (lexicographic order, like the window's)."""
    later = F.lit(False)
    for key, value in reversed(list(zip(keys, cutoff, strict=True))):
        later = (key > F.lit(value)) | ((key == F.lit(value)) & later)
    return later


def budget_cutoffs(frame: DataFrame, cutting: dict[str, int]) -> dict[str, tuple | None]:
    """For each campaign in `cutting` (campaign -> how many treated people its remaining budget pays for, M), the
    budget score of its M-th treated person in score order (None when M is 0: the budget pays for nobody).

    The rule "keep a person when the cost of the treated people ranked before them plus one unit fits the
    remaining budget" keeps a treated person exactly when they rank at most M-th among the treated, and a holdout
    person exactly when fewer than M treated people rank before them: both are "scored no later than the M-th
    treated person". So one narrow ranking of the treated (score columns only) decides every pair of the
    campaign, with no window over the wide pairs."""
    ranked = [campaign for campaign, paid in cutting.items() if paid > 0]
    cutoffs: dict[str, tuple | None] = {campaign: None for campaign, paid in cutting.items() if paid == 0}
    if ranked:
        paid = F.create_map(*[part for campaign in ranked for part in (F.lit(campaign), F.lit(cutting[campaign]))])
        score = _budget_score()
        treated = frame.where(F.col("campaign_id").isin(ranked) & _is_treated()).select(
            "campaign_id", *[key.alias(f"key_{n}") for n, key in enumerate(score)]
        )
        keys = [F.col(f"key_{n}") for n in range(len(score))]
        by_score = Window.partitionBy("campaign_id").orderBy(*keys)
        last_paid = treated.withColumn("rank", F.row_number().over(by_score)).where(
            F.col("rank") == paid[F.col("campaign_id")]
        )
        for row in last_paid.select("campaign_id", *keys).collect():
            cutoffs[row.campaign_id] = tuple(row)[1:]
    return cutoffs


def apply_budget(frame: DataFrame) -> DataFrame:
    """Step 7: keep the best-scored people the remaining budget pays for; `cost_fen` per kept treated row.

    Only campaigns whose budget can cut somebody take part: when the cost of all their treated people plus one unit
    fits the remaining budget, no running total can exceed it. A cutting campaign's pairs still in are cut when
    they score after its last paid treated person (`budget_cutoffs`). `frame` is read twice (the totals, then the
    cutoffs), so the caller passes a materialised one."""
    totals = (
        frame.where(F.col("remaining_budget_fen").isNotNull() & (F.col("unit_cost_fen") > 0))
        .groupBy("campaign_id", "remaining_budget_fen", "unit_cost_fen")
        .agg(F.sum(F.when(_is_treated(), F.col("unit_cost_fen")).otherwise(0)).alias("treated_cost"))
        .collect()
    )
    cutting = {
        row.campaign_id: row.remaining_budget_fen // row.unit_cost_fen
        for row in totals
        if row.treated_cost + row.unit_cost_fen > row.remaining_budget_fen
    }
    cut_rules = [
        (
            (F.col("campaign_id") == campaign) & (F.lit(True) if cutoff is None else _after(_budget_score(), cutoff)),
            BUDGET,
        )
        for campaign, cutoff in sorted(budget_cutoffs(frame, cutting).items())
    ]
    if cut_rules:
        frame = _exclude(frame, *cut_rules)
    return frame.withColumn("cost_fen", F.when(_is_treated(), F.col("unit_cost_fen")).otherwise(F.lit(0)))


# What the budget step and the two outputs read of each decided pair (the rest is dropped before materialising).
DECIDED_COLUMNS = (
    "campaign_id",
    "one_id",
    "reason",
    "variant",
    "open_channels",
    "channel",
    "contact_ref",
    "send_at",
    "benefit_id",
    "salt",
    "unit_cost_fen",
    "remaining_budget_fen",
    "recent_contacts",
)


def decide(
    membership: DataFrame,
    profile: DataFrame,
    history: DataFrame,
    campaigns: DataFrame,
    policy: Policy,
    run_date: date,
    known_timezones: Iterable[str],
) -> DataFrame:
    """All steps in the documented order: one row per (campaign, candidate) with `reason` null for the audience.

    Steps 0-6 run in one keyed pass per person; the result is materialised once (a local checkpoint) before the
    budget, whose cut is a comparison on each row: read the returned frame as often as needed."""
    frame = working_frame(membership, campaigns, profile, history, policy, run_date)
    frame = apply_suppression(frame, policy)
    frame = apply_frequency_caps(frame)
    frame = apply_arbitration(frame)
    frame = assign_variants(frame)
    frame = select_channel(frame)
    frame = schedule(frame, run_date, policy.default_timezone, known_timezones)
    frame = frame.select(*DECIDED_COLUMNS)
    return apply_budget(frame.localCheckpoint())


def audience_rows(decided: DataFrame, run_date: date) -> DataFrame:
    """`audience.campaign_audience` rows: treated and holdout people (holdout: channel '', never exported), each
    with its contact_id."""
    key = contact_id_column(F.col("campaign_id"), F.lit(run_date), F.col("one_id"), F.col("channel"))
    return decided.where(F.col("reason").isNull()).select(
        F.lit(run_date).alias("run_date"),
        "campaign_id",
        "one_id",
        key.alias("contact_id"),
        "variant",
        "channel",
        F.coalesce(F.col("contact_ref"), F.lit("")).alias("contact_ref"),
        "send_at",
        "benefit_id",
        F.col("cost_fen").cast("long").alias("cost_fen"),
    )


def exclusion_rows(decided: DataFrame, run_date: date) -> DataFrame:
    """`audience.exclusions` rows: one per (campaign, person) left out, with the first step's reason, the arm
    the person's draw puts them in, and the first channel still open to them when they left ('' when none):
    the channel they would have been planned on had they stayed."""
    return decided.where(F.col("reason").isNotNull()).select(
        F.lit(run_date).alias("run_date"),
        "campaign_id",
        "one_id",
        "reason",
        "variant",
        F.coalesce(F.get("open_channels", 0), F.lit("")).alias("channel"),
    )


def stopped_rows(membership: DataFrame, campaigns: DataFrame, run_date: date, reason: str) -> DataFrame:
    """`audience.exclusions` rows for campaigns that may not plan anybody tonight (a circuit breaker is open):
    every candidate of theirs, with `reason` and their arm; no channel (no step ran). They take no part in
    arbitration, so they take nobody from others."""
    return (
        candidates(membership, campaigns)
        .join(F.broadcast(campaigns), on="campaign_id", how="inner")
        .select(
            F.lit(run_date).alias("run_date"),
            "campaign_id",
            "one_id",
            F.lit(reason).alias("reason"),
            experiment_group().alias("variant"),
            F.lit("").alias("channel"),
        )
    )


def spark_timezones(spark: SparkSession) -> set[str]:
    """IANA zones both Python and the JVM know (a zone unknown to Spark would fail the conversion)."""
    from zoneinfo import available_timezones

    jvm_zones = set(spark.sparkContext._jvm.java.time.ZoneId.getAvailableZoneIds())
    return available_timezones() & jvm_zones


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--master", default=None, help="Spark master (default: spark-submit's)")
    parser.add_argument("--run-date", required=True, type=date.fromisoformat)
    parser.add_argument("--profile", required=True, help="Parquet of marts.user_profile")
    parser.add_argument("--membership", required=True, help="Parquet of (segment, one_id)")
    parser.add_argument("--history", default="", help="Parquet of earlier audience rows (optional)")
    parser.add_argument("--plans", required=True, help="directory of campaign plan YAML files")
    parser.add_argument("--policy", required=True, help="policy YAML file")
    parser.add_argument("--spent", default="{}", help='JSON {"campaign_id": fen spent before the run date}')
    parser.add_argument("--audience-out", required=True)
    parser.add_argument("--exclusions-out", required=True)
    args = parser.parse_args(argv)

    from pathlib import Path

    from nightshift.campaigns.plans import load_plans, load_policy

    builder = SparkSession.builder.appName("nightshift-audience").config("spark.sql.session.timeZone", "UTC")
    spark = (builder.master(args.master) if args.master else builder).getOrCreate()
    membership = spark.read.parquet(args.membership)
    profile = spark.read.parquet(args.profile)
    policy = load_policy(Path(args.policy), known_columns=set(profile.columns))
    segments = {row.segment for row in membership.select("segment").distinct().collect()}
    plans = load_plans(Path(args.plans), segments, known_columns=set(profile.columns), policy=policy)
    for error in plans.errors:
        print(f"skipped: {error}")
    history = spark.read.parquet(args.history) if args.history else spark.createDataFrame([], HISTORY_SCHEMA)
    campaigns = campaign_frame(spark, plans.active(args.run_date), policy, json.loads(args.spent))
    decided = decide(membership, profile, history, campaigns, policy, args.run_date, spark_timezones(spark))
    audience_rows(decided, args.run_date).write.mode("overwrite").parquet(args.audience_out)
    exclusion_rows(decided, args.run_date).write.mode("overwrite").parquet(args.exclusions_out)
    spark.stop()


if __name__ == "__main__":
    main()
