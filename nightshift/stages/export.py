"""Export stage: every file that leaves Nightshift for the run date, each with a manifest, under
NIGHTSHIFT_EXPORTS/<date>/. This stage is the only writer of that folder.

- Segment files (`<segment>.csv`, for analysts): the members' `one_id`s and nothing else. A segment is not a
  contact list: it has no suppression, consent or holdout applied, so it never carries a phone or any other contact
  data. Contact lists come only out of campaigns.
- Campaign files (`campaign__<id>__<channel>.csv`, what delivery channels send): the campaign's audience on that
  channel without holdout, one row per person, keyed by its `contact_id` (the contact's idempotency key, the same on
  every re-run of the date), with the message template's parameters filled from the profile.
- Make-up files (`replenishment__<id>__<benefit_id>.csv`, for the benefit system): the make-up orders the reconcile
  stage decided on the run date (`audience.replenishment`), in the campaign files' columns, with an empty channel:
  a make-up is a grant, not a message. Each row's `contact_id` is the make-up's own idempotency key.
- Resend files (`resend__<id>__<channel>.csv`, what delivery channels send): contacts whose delivery failed, sent
  once more on the campaign's next fallback channel (`audience.resends`, decided by the reconcile stage), in the
  campaign files' columns with the original contact's variant and no benefit. Each row's `contact_id` is the
  resend's own idempotency key.
- Channel-native payloads (`<campaign>/<channel>/part-NNNNN.<ext>`, what each vendor takes as it is): beside each
  campaign file, the same rows rendered by the channel's writer (`nightshift.deliveries`): Aliyun SendBatchSms
  bodies and a Chuanglan import for SMS, JPush pushes, WeChat template messages, WeCom mark_tag bodies, the call
  list. A plan's `ad_audiences` add hashed customer-audience zips of its treated people per ad platform
  (`<campaign>/tencent_ads/`, `<campaign>/ocean_engine/`). A contact a writer cannot address (a number that is not
  an 11-digit mainland mobile, a WeCom contact without its staff owner) is left out of the payload and counted in
  the summary; it stays in the campaign file, which remains the record of what was handed over.
- Short links: a plan with `template.link` gets one row per treated contact in `audience.short_links` (code per
  campaign and person, `nightshift.deliveries.short_links`, with a lake copy the redirect service reads), written
  before the files; every file and payload of the plan fills the link parameter with
  `<NIGHTSHIFT_SHORTLINK_BASE_URL>/<code>` (JPush batch bodies carry no per-person parameters at all).
- Before any campaign file is written, the quality gate (`nightshift.deliveries.gate`, a Great Expectations
  checkpoint per campaign) checks the rows the campaign's files would carry; a campaign that fails is withheld like
  one whose breaker is open, and the reason is in the summary, `audience.quality_gate` and the report.
- A campaign whose circuit breaker is open (`nightshift.reconciliation.breaker`) gets no file at all: its rows stay
  in the plan, are not handed over and so are not recorded as contacted; the summary says so.
- `audience.contact_history`: one row per contact in those files, written from the same rows each file was
  written from (source 'plan'). Frequency caps, fatigue and budgets read it, so a contact counts once it has been
  handed over, never merely because it was planned.

Each channel-native delivery folder is sealed (`nightshift.deliveries.manifest`): parts, then `manifest.json` (row
and file counts, sha256 per file, plan version, cost, and the diff of its people against the previous night),
then `_SUCCESS`; a rerun withdraws `_SUCCESS` before it rewrites a part. With NIGHTSHIFT_EXPORT_TARGET set (an SFTP
server, an S3-compatible store), the night's folder is then published there (`nightshift.deliveries.publish`):
retried file by file, `_SUCCESS` last, deliveries already there skipped.

Every file is one query written by `export_with_manifest`: sorted by one_id and free of timestamps, so re-running
the same date writes identical bytes. The date's folder and its contact_history partition are emptied first, so a
segment or campaign that disappeared leaves no stale file and a re-run never records a contact twice.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from nightshift.audiences.contacts import HISTORY, HISTORY_COLUMNS, HISTORY_SELECT, PLAN_SOURCE, ensure_contact_tables
from nightshift.audiences.history import spent_before
from nightshift.campaigns.models import HOLDOUT, CampaignPlan
from nightshift.campaigns.plans import CAMPAIGNS_DIR, POLICY_PATH, load_plans, load_policy
from nightshift.contracts import CHANNELS, USER_PROFILE_COLUMNS
from nightshift.deliveries import AD_PROFILE_COLUMNS, AD_WRITERS, PROFILE_COLUMNS, WRITERS, Payload, write_parts
from nightshift.deliveries.gate import run_gate
from nightshift.deliveries.manifest import AudienceDiff, plan_version, seal, unseal
from nightshift.deliveries.publish import publish
from nightshift.deliveries.short_links import SHORT_LINKS, write_short_links
from nightshift.errors import NightshiftError
from nightshift.files import write_with_manifest
from nightshift.lake import dataset_path
from nightshift.reconciliation.breaker import open_breakers
from nightshift.segments.schema import warehouse_schema
from nightshift.settings import Settings
from nightshift.stages.context import StageContext, StageResult
from nightshift.warehouse.partitions import reset_partitions, table_exists

STAGE = "export"

SEGMENT_EXPORT_SQL = """
SELECT one_id
FROM audience.segment_membership
WHERE run_date = {d:Date} AND segment = {segment:String}
ORDER BY one_id
"""
SEGMENT_EXPORT_COLUMNS = ["one_id"]

CAMPAIGN_BASE_COLUMNS = [
    "one_id",
    "contact_id",
    "variant",
    "contact_ref",
    "send_at",
    "template_id",
    "benefit_id",
    "cost_fen",
]
REPLENISHMENT_GROUPS_SQL = """
SELECT campaign_id, benefit_id, sum(planned_fen) FROM audience.replenishment
WHERE run_date = {d:Date} AND campaign_id NOT IN {withheld:Array(String)}
GROUP BY campaign_id, benefit_id ORDER BY campaign_id, benefit_id
"""
REPLENISHMENT_FILE_ROWS = (
    "r.run_date = {d:Date} AND r.campaign_id = {campaign:String} AND r.benefit_id = {benefit:String}"
)
REPLENISHMENT_EXPORT_SQL = f"""
SELECT toUInt64(r.one_id) AS one_id, r.contact_id AS contact_id, 'replenishment' AS variant, '' AS contact_ref,
       '' AS send_at, '' AS template_id, r.benefit_id AS benefit_id, r.planned_fen AS cost_fen
FROM audience.replenishment AS r
WHERE {REPLENISHMENT_FILE_ROWS}
ORDER BY one_id, contact_id
"""
RECORD_REPLENISHMENT_SQL = f"""
INSERT INTO {HISTORY} ({HISTORY_COLUMNS}, replenishes)
SELECT r.run_date, r.campaign_id, toUInt64(r.one_id), '', r.contact_id, 'replenishment', toDateTime(r.run_date, 'UTC'),
       r.benefit_id, r.planned_fen, 'replenishment', r.replenishes
FROM audience.replenishment AS r
WHERE {REPLENISHMENT_FILE_ROWS}
"""
RESEND_GROUPS_SQL = """
SELECT campaign_id, channel FROM audience.resends
WHERE run_date = {d:Date} AND campaign_id NOT IN {withheld:Array(String)}
GROUP BY campaign_id, channel ORDER BY campaign_id, channel
"""
RESEND_FILE_ROWS = "a.run_date = {d:Date} AND a.campaign_id = {campaign:String} AND a.channel = {channel:String}"
RECORD_RESENDS_SQL = f"""
INSERT INTO {HISTORY} ({HISTORY_COLUMNS}, replenishes)
SELECT a.run_date, a.campaign_id, toUInt64(a.one_id), a.channel, a.contact_id, a.variant, a.send_at, '', 0, 'resend',
       a.replenishes
FROM audience.resends AS a
WHERE {RESEND_FILE_ROWS}
"""
CAMPAIGN_GROUPS_SQL = """
SELECT campaign_id, channel, sum(cost_fen) AS cost_fen FROM audience.campaign_audience
WHERE run_date = {d:Date} AND variant != {holdout:String} AND channel != ''
    AND campaign_id NOT IN {withheld:Array(String)}
GROUP BY campaign_id, channel ORDER BY campaign_id, channel
"""
# The rows of one campaign-channel file; its contact_history rows are recorded from exactly the same rows.
CAMPAIGN_FILE_ROWS = """a.run_date = {d:Date} AND a.campaign_id = {campaign:String} AND a.channel = {channel:String}
    AND a.variant != {holdout:String}"""
RECORD_CONTACTS_SQL = f"""
INSERT INTO {HISTORY} ({HISTORY_COLUMNS})
SELECT {HISTORY_SELECT}, {{source:String}}
FROM audience.campaign_audience AS a
WHERE {CAMPAIGN_FILE_ROWS}
"""


# Tonight's people against the last earlier night with any, for one campaign on one channel ('' = any channel):
# plan rows of contact_history (what was handed over), as bitmaps.
AUDIENCE_DIFF_SQL = """
WITH
    (SELECT maxOrNull(run_date) FROM audience.contact_history
     WHERE campaign_id = {campaign:String} AND source = 'plan' AND run_date < {d:Date}
         AND ({channel:String} = '' OR channel = {channel:String})) AS previous_date,
    (SELECT groupBitmapState(one_id) FROM audience.contact_history
     WHERE campaign_id = {campaign:String} AND source = 'plan' AND run_date = {d:Date}
         AND ({channel:String} = '' OR channel = {channel:String})) AS tonight,
    (SELECT groupBitmapState(one_id) FROM audience.contact_history
     WHERE campaign_id = {campaign:String} AND source = 'plan' AND run_date = previous_date
         AND ({channel:String} = '' OR channel = {channel:String})) AS previous
SELECT previous_date, bitmapAndnotCardinality(tonight, previous), bitmapAndnotCardinality(previous, tonight),
       bitmapAndCardinality(tonight, previous)
"""


# A plan's `template.link` parameter: the person's short link, from tonight's audience.short_links (written first by
# nightshift.deliveries.short_links). The base URL is a query parameter (`shortlink_base`), never spliced in.
SHORT_LINK_JOIN = """
LEFT JOIN audience.short_links AS s ON s.run_date = a.run_date AND s.campaign_id = a.campaign_id
    AND s.one_id = toUInt64(a.one_id) AND s.channel = a.channel"""
SHORT_LINK_SELECT = "if(s.code = '', '', concat({shortlink_base:String}, '/', s.code))"


def export_with_manifest(client, sql: str, parameters: dict, path: Path, manifest: dict) -> tuple[int, Path]:
    """Write one query's result as CSV (with a header) to `path`, and its manifest beside it. Returns the data rows
    and the manifest's path."""
    data = client.raw_query(sql, parameters=parameters, fmt="CSVWithNames")
    rows = max(data.count(b"\n") - 1, 0)
    return rows, write_with_manifest(path, data, rows, manifest)


def _quoted(identifier: str) -> str:
    return "`" + identifier.replace("`", "") + "`"


def _profile_select(columns: list[str], names: list[str], known: set[str] | None) -> str:
    """`, toString(p.<column>) AS <name>` per column; '' for a column the profile lacks (when `known` is given)."""
    return "".join(
        f",\n    toString(p.{_quoted(column)}) AS {name}"
        if known is None or column in known
        else f",\n    '' AS {name}"
        for column, name in zip(columns, names, strict=True)
    )


def campaign_export_sql(
    plan: CampaignPlan | None,
    profile_extras: tuple[str, ...] = (),
    known_columns: set[str] | None = None,
    resends: bool = False,
) -> tuple[str, list[str]]:
    """The SELECT of one campaign-channel file (or, with `resends`, one resend file), and its column names.
    `profile_extras` appends profile columns by their own names (what a channel's payload writer reads besides the
    file's columns); the file uses none."""
    names = plan.template.param_names() if plan else []
    link = plan.template.link if plan else None
    param_columns = [f"param_{name}" for name in names]
    param_select = "".join(
        f",\n    {SHORT_LINK_SELECT} AS {column}"
        if link is not None and name == link.param
        else _profile_select([plan.template.params[name]], [column], None)
        for name, column in zip(names, param_columns, strict=True)
    )
    param_select += _profile_select(list(profile_extras), list(profile_extras), known_columns)
    source, rows = (
        ("audience.resends", RESEND_FILE_ROWS) if resends else ("audience.campaign_audience", CAMPAIGN_FILE_ROWS)
    )
    benefit = (
        "'' AS benefit_id,\n    0 AS cost_fen" if resends else "a.benefit_id AS benefit_id,\n    a.cost_fen AS cost_fen"
    )
    sql = f"""
SELECT
    toUInt64(a.one_id) AS one_id,
    a.contact_id AS contact_id,
    a.variant AS variant,
    a.contact_ref AS contact_ref,
    formatDateTime(a.send_at, '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS send_at,
    {{template_id:String}} AS template_id,
    {benefit}{param_select}
FROM {source} AS a
LEFT JOIN marts.user_profile AS p ON p.one_id = toUInt64(a.one_id){SHORT_LINK_JOIN if link is not None else ""}
WHERE {rows}
ORDER BY one_id, contact_id
"""
    return sql, CAMPAIGN_BASE_COLUMNS + param_columns + list(profile_extras)


def ad_audience_sql(known_columns: set[str]) -> str:
    """The treated people of one campaign (every channel, no holdout) with the ids an ad audience is hashed from."""
    ids = _profile_select(list(AD_PROFILE_COLUMNS), list(AD_PROFILE_COLUMNS), known_columns)
    return f"""
SELECT a.one_id AS one_id, a.contact_id AS contact_id{ids}
FROM audience.campaign_audience AS a
LEFT JOIN marts.user_profile AS p ON p.one_id = a.one_id
WHERE a.run_date = {{d:Date}} AND a.campaign_id = {{campaign:String}} AND a.variant != {{holdout:String}}
    AND a.channel != ''
ORDER BY one_id
"""


def audience_diff(client, run_date: date, campaign_id: str, channel: str) -> AudienceDiff:
    """The people handed over tonight against the previous night the campaign handed people over, on `channel`
    ('' = on any channel: an ad audience holds every treated person). Both sides from contact_history."""
    row = client.query(
        AUDIENCE_DIFF_SQL, parameters={"d": run_date, "campaign": campaign_id, "channel": channel}
    ).result_rows[0]
    previous_date, added, removed, unchanged = row
    return AudienceDiff(previous_date, int(added), int(removed), int(unchanged))


def _record_payload(
    client, result: StageResult, plan: CampaignPlan, target: str, directory: Path, payload: Payload, delivery: dict
) -> None:
    """Put one delivery on disk sealed: `_SUCCESS` withdrawn, parts, manifest (with the diff), `_SUCCESS`."""
    unseal(directory)
    write_parts(directory, payload.parts)
    run_date = delivery["run_date"]
    seal(
        directory, run_date=run_date, campaign_id=plan.id, target=target,
        plan_version=plan_version(plan.model_dump_json()), contacts=payload.contacts,
        left_out=len(payload.rejected), cost_fen=delivery["cost_fen"],
        diff=audience_diff(client, run_date, plan.id, delivery["channel"]),
    )  # fmt: skip
    result.rows[f"{plan.id}/{target}"] = payload.contacts
    result.outputs[f"{plan.id} {target} payloads"] = str(directory)
    if payload.rejected:
        result.rows[f"{plan.id}/{target} left out"] = len(payload.rejected)


def export_payloads(
    client,
    plan: CampaignPlan,
    channel: str,
    parameters: dict,
    out_dir: Path,
    result: StageResult,
    known: set[str],
    cost_fen: int,
) -> int:
    """The channel-native files of one campaign-channel file's rows; returns how many contacts were left out."""
    sql, _ = campaign_export_sql(plan, PROFILE_COLUMNS.get(channel, ()), known)
    # Arrow columns straight from the warehouse: the writers build their files column by column
    audience = client.query_arrow(sql, parameters=parameters, use_strings=True)
    payload = WRITERS[channel](audience, plan)
    delivery = {"run_date": parameters["d"], "channel": channel, "cost_fen": cost_fen}
    _record_payload(client, result, plan, channel, out_dir / plan.id / channel, payload, delivery)
    return len(payload.rejected)


def export_ad_audiences(
    client, plan: CampaignPlan, run_date: date, out_dir: Path, result: StageResult, known: set[str]
) -> None:
    if not plan.ad_audiences:
        return
    parameters = {"d": run_date, "campaign": plan.id, "holdout": HOLDOUT}
    rows = list(client.query(ad_audience_sql(known), parameters=parameters).named_results())
    delivery = {"run_date": run_date, "channel": "", "cost_fen": 0}  # an ad audience costs no benefit
    for platform in plan.ad_audiences:
        payload = AD_WRITERS[platform](rows, plan)
        _record_payload(client, result, plan, platform, out_dir / plan.id / platform, payload, delivery)


def export_segments(client, run_date: date, out_dir: Path, result: StageResult) -> str:
    segments = [
        segment
        for (segment,) in client.query(
            "SELECT DISTINCT segment FROM audience.segment_membership WHERE run_date = {d:Date} ORDER BY segment",
            parameters={"d": run_date},
        ).result_rows
    ]
    for segment in segments:
        path = out_dir / f"{segment}.csv"
        rows, manifest = export_with_manifest(
            client,
            SEGMENT_EXPORT_SQL,
            {"d": run_date, "segment": segment},
            path,
            {"segment": segment, "run_date": run_date.isoformat(), "columns": SEGMENT_EXPORT_COLUMNS, "format": "csv"},
        )
        result.rows[path.name] = rows
        result.outputs[f"{segment} csv"] = str(path)
        result.outputs[f"{segment} manifest"] = str(manifest)
    return f"{len(segments)} segment files in {out_dir}" if segments else "no segment members on this date"


def _recorded_contacts(client, run_date: date, exported: int) -> int:
    """The run date's contact_history rows, checked against the campaign files' rows (one each, no more)."""
    recorded = client.query(
        f"SELECT count(), uniqExact(contact_id) FROM {HISTORY} WHERE run_date = {{d:Date}}", parameters={"d": run_date}
    ).result_rows[0]
    if tuple(recorded) != (exported, exported):
        raise NightshiftError(
            f"The export of {run_date} wrote {exported:,} campaign rows but {HISTORY} holds {recorded[0]:,} rows "
            f"with {recorded[1]:,} distinct contact_ids for that date: audience.campaign_audience has duplicate "
            "keys, marts.user_profile duplicate one_ids, or a table changed during the export. Re-run "
            f"`nightshift run --date {run_date} --stages audiences,export`."
        )
    return int(recorded[0])


def export_replenishments(client, run_date: date, out_dir: Path, result: StageResult, withheld: list[str]) -> int:
    """Make-up files of the run date, recorded in contact_history as source 'replenishment'. Returns their rows."""
    if not table_exists(client, "audience.replenishment"):
        return 0
    exported = 0
    groups = client.query(REPLENISHMENT_GROUPS_SQL, parameters={"d": run_date, "withheld": withheld}).result_rows
    for campaign_id, benefit_id, cost_fen in groups:
        parameters = {"d": run_date, "campaign": campaign_id, "benefit": benefit_id}
        path = out_dir / f"replenishment__{campaign_id}__{benefit_id}.csv"
        manifest_fields = {"campaign_id": campaign_id, "benefit_id": benefit_id, "run_date": run_date.isoformat(),
                           "columns": CAMPAIGN_BASE_COLUMNS, "format": "csv", "cost_fen": int(cost_fen)}  # fmt: skip
        rows, manifest = export_with_manifest(client, REPLENISHMENT_EXPORT_SQL, parameters, path, manifest_fields)
        client.command(RECORD_REPLENISHMENT_SQL, parameters=parameters)
        result.rows[path.name] = rows
        result.outputs[f"{campaign_id} {benefit_id} replenishment csv"] = str(path)
        result.outputs[f"{campaign_id} {benefit_id} replenishment manifest"] = str(manifest)
        exported += rows
    return exported


def export_resends(
    client, run_date: date, out_dir: Path, result: StageResult, plans: dict, withheld: list[str], shortlink_base: str
) -> int:
    """Resend files of the run date, recorded in contact_history as source 'resend'. Returns their rows."""
    if not table_exists(client, "audience.resends"):
        return 0
    exported = 0
    for campaign_id, channel in client.query(
        RESEND_GROUPS_SQL, parameters={"d": run_date, "withheld": withheld}
    ).result_rows:
        plan = plans.get(campaign_id)
        sql, columns = campaign_export_sql(plan, resends=True)
        parameters = {"d": run_date, "campaign": campaign_id, "channel": channel,
                      "template_id": plan.template.id if plan else "", "shortlink_base": shortlink_base}  # fmt: skip
        path = out_dir / f"resend__{campaign_id}__{channel}.csv"
        manifest_fields = {"campaign_id": campaign_id, "channel": channel, "run_date": run_date.isoformat(),
                           "columns": columns, "format": "csv", "resend": True, "cost_fen": 0}  # fmt: skip
        rows, manifest = export_with_manifest(client, sql, parameters, path, manifest_fields)
        client.command(RECORD_RESENDS_SQL, parameters=parameters)
        result.rows[path.name] = rows
        result.outputs[f"{campaign_id} {channel} resend csv"] = str(path)
        result.outputs[f"{campaign_id} {channel} resend manifest"] = str(manifest)
        exported += rows
    return exported


def gate_campaigns(
    client,
    run_date: date,
    plans: dict[str, CampaignPlan],
    profile_columns: set[str],
    settings: Settings,
    withheld: list[str],
) -> dict[str, list[str]]:
    """The quality gate (nightshift.deliveries.gate) over every campaign not already withheld; returns the
    campaigns that failed, with the expectations they failed."""
    policy = load_policy(POLICY_PATH, known_columns=profile_columns | set(USER_PROFILE_COLUMNS))
    gated = [plan for campaign_id, plan in sorted(plans.items()) if campaign_id not in withheld]
    profile = dataset_path(settings.lake_root, "user_profile", run_date)  # what the audiences stage planned from
    outcome = run_gate(client, run_date, gated, policy, profile, settings.reports_dir, spent_before(client, run_date))
    return outcome.failed


def export_campaigns(
    client,
    run_date: date,
    out_dir: Path,
    result: StageResult,
    plans_dir: Path,
    withheld: list[str],
    settings: Settings,
) -> str:
    profile_columns = set(warehouse_schema(client).get("user_profile", {}))
    plans = {plan.id: plan for plan in load_plans(plans_dir, None, profile_columns).plans}
    failed_gate: dict[str, list[str]] = {}
    if table_exists(client, "audience.campaign_audience") and profile_columns:
        failed_gate = gate_campaigns(client, run_date, plans, profile_columns, settings, withheld)
        withheld = sorted({*withheld, *failed_gate})
    replenished = export_replenishments(client, run_date, out_dir, result, withheld)
    if not table_exists(client, "audience.campaign_audience"):
        result.rows[HISTORY] = _recorded_contacts(client, run_date, replenished)
        return "no campaign audiences yet"
    shortlink_base = settings.shortlink_base_url.rstrip("/")
    links = write_short_links(client, run_date, plans, settings.lake_root)
    if links:
        result.rows[SHORT_LINKS] = links
    resent = export_resends(client, run_date, out_dir, result, plans, withheld, shortlink_base)
    groups = client.query(
        CAMPAIGN_GROUPS_SQL, parameters={"d": run_date, "holdout": HOLDOUT, "withheld": withheld}
    ).result_rows
    missing_plans, exported, left_out = set(), replenished + resent, 0
    for campaign_id, channel, cost_fen in groups:
        plan = plans.get(campaign_id)
        if plan is None:  # the plan changed since the audiences stage: export without template parameters
            missing_plans.add(campaign_id)
        template_id = plan.template.id if plan else ""
        sql, columns = campaign_export_sql(plan)
        parameters = {"d": run_date, "campaign": campaign_id, "channel": channel, "holdout": HOLDOUT,
                      "template_id": template_id, "shortlink_base": shortlink_base}  # fmt: skip
        path = out_dir / f"campaign__{campaign_id}__{channel}.csv"
        manifest_fields = {
            "campaign_id": campaign_id,
            "channel": channel,
            "run_date": run_date.isoformat(),
            "columns": columns,
            "format": "csv",
            "template_id": template_id,
            "cost_fen": int(cost_fen),
        }
        rows, manifest = export_with_manifest(client, sql, parameters, path, manifest_fields)
        client.command(RECORD_CONTACTS_SQL, parameters={**parameters, "source": PLAN_SOURCE})
        if plan is not None:  # without its plan a channel's payload lacks its template, sign name and tag
            left_out += export_payloads(
                client, plan, channel, parameters, out_dir, result, profile_columns, int(cost_fen)
            )
        result.rows[path.name] = rows
        result.outputs[f"{campaign_id} {channel} csv"] = str(path)
        result.outputs[f"{campaign_id} {channel} manifest"] = str(manifest)
        exported += rows
    for campaign_id in sorted({campaign_id for campaign_id, _, _ in groups} - missing_plans):
        export_ad_audiences(client, plans[campaign_id], run_date, out_dir, result, profile_columns)
    result.rows[HISTORY] = _recorded_contacts(client, run_date, exported)
    summary = f"{len(groups)} campaign files" if groups else "no campaign audience on this date"
    if left_out:
        summary += f" ({left_out} contacts left out of channel payloads: no address the channel takes)"
    if replenished:
        summary += f", {replenished} make-up orders"
    if resent:
        summary += f", {resent} resends on a fallback channel"
    by_breaker = [campaign_id for campaign_id in withheld if campaign_id not in failed_gate]
    if by_breaker:
        summary += f"; withheld (circuit breaker open): {', '.join(by_breaker)}"
    if failed_gate:
        failures = "; ".join(f"{c}: {', '.join(why)}" for c, why in sorted(failed_gate.items()))
        summary += f"; withheld by the quality gate (see the report's data quality section): {failures}"
    if missing_plans:
        summary += f" (no valid plan for {', '.join(sorted(missing_plans))}: template parameters left out)"
    return summary


def channel_deliveries(result: StageResult) -> dict[str, dict]:
    """Per delivery channel with anything tonight: the run date, contacts and delivery folders (the extra of the
    channel's Airflow Asset, dags/nightly_marketing.py)."""
    deliveries: dict[str, dict] = {}
    for key, contacts in sorted(result.rows.items()):
        campaign_id, _, channel = key.partition("/")
        if channel not in CHANNELS:  # "<campaign>/<channel> left out", ad platforms, files, tables
            continue
        entry = deliveries.setdefault(channel, {"run_date": result.run_date.isoformat(), "contacts": 0, "folders": []})
        entry["contacts"] += contacts
        entry["folders"].append(result.outputs[f"{campaign_id} {channel} payloads"])
    return deliveries


def run(ctx: StageContext, plans_dir: Path = CAMPAIGNS_DIR) -> StageResult:
    client = ctx.client
    out_dir = ctx.settings.exports_dir / ctx.run_date.isoformat()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    result = StageResult(STAGE, ctx.run_date)
    ensure_contact_tables(client)  # an installation older than contact_id and contact_history gains them here
    reset_partitions(client, ctx.run_date, [HISTORY])  # the date's contacts are exactly this run's file rows
    if not table_exists(client, "audience.segment_membership"):
        result.summary = "no segment membership yet: nothing exported"
        return result
    segments = export_segments(client, ctx.run_date, out_dir, result)
    withheld = sorted(open_breakers(client, ctx.run_date))  # tonight's critical alerts stop tonight's files too
    campaigns = export_campaigns(client, ctx.run_date, out_dir, result, plans_dir, withheld, ctx.settings)
    result.summary = f"{segments}; {campaigns}"
    if ctx.settings.export_target:
        published = publish(out_dir, ctx.settings.export_target, ctx.settings.export_target_options)
        result.outputs["published to"] = published.target
        result.rows["files published"] = len(published.uploaded)
        result.summary += f"; {published.summary}"
    return result
