"""`nightshift campaign ...`: validate plans, preview a campaign's funnel, measure what it did, resume it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from nightshift.cli.common import OutputFormat

if TYPE_CHECKING:  # the preview module pulls in Spark helpers; keep `nightshift --help` fast
    from nightshift.audiences.preview import Preview
    from nightshift.measurement import MeasurementRow
    from nightshift.measurement.responses import ArmResponse

campaign_app = typer.Typer(
    name="campaign",
    help="Campaign plans (segments/campaigns/*.yml): validate them, preview a campaign's audience funnel, "
    "measure its uplift against the holdout.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()


@campaign_app.command()
def validate(
    warehouse: Annotated[
        bool,
        typer.Option(
            "--warehouse/--no-warehouse",
            help="Also accept template parameters that name any column of the built marts.user_profile.",
        ),
    ] = False,
    plans_dir: Annotated[
        Path | None, typer.Option(help="Directory of plan files (default: segments/campaigns).")
    ] = None,
) -> None:
    """Check every plan and the global policy; list each problem with its file and field. Exit 1 if any."""
    from nightshift.campaigns.plans import (
        CAMPAIGNS_DIR,
        documented_profile_columns,
        known_segment_names,
        load_plans,
        load_policy,
    )

    plans_dir = plans_dir or CAMPAIGNS_DIR
    columns = documented_profile_columns()
    if warehouse:
        from nightshift.segments.schema import warehouse_schema
        from nightshift.settings import get_settings
        from nightshift.warehouse import get_client

        columns |= set(warehouse_schema(get_client(get_settings())).get("user_profile", {}))
    policy = load_policy(known_columns=columns)
    plans = load_plans(plans_dir, known_segment_names(), known_columns=columns, policy=policy)
    for plan in plans.plans:
        console.print(f"[green]ok[/]    {plans.paths[plan.id].name}: {plan.name} (priority {plan.priority})")
    for error in plans.errors:
        console.print(f"[red]error[/] {error}", soft_wrap=True)
    if not plans.plans and not plans.errors:
        console.print(f"no plans in {plans_dir}")
    if plans.errors:
        raise typer.Exit(1)


@campaign_app.command()
def preview(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id (the plan's file name without .yml).")],
    run_date: Annotated[
        str | None, typer.Option("--date", help="Run date, YYYY-MM-DD (default: latest segment membership).")
    ] = None,
) -> None:
    """The funnel from segment size to final audience, per step, reason, variant and channel. Writes nothing."""
    from nightshift.audiences.preview import preview_campaign
    from nightshift.stages.context import parse_run_date

    print_preview(preview_campaign(campaign_id, parse_run_date(run_date) if run_date else None), console)


def print_preview(result: Preview, out: Console) -> None:
    """The preview as two tables: the funnel (step, reason, lost, remaining) and the final audience."""
    status = "active" if result.is_active else "[yellow]NOT active[/] on this date (previewed as if it were)"
    out.print(f"Campaign [bold]{result.campaign_id}[/] on {result.run_date}: {status}")
    if result.competing:
        out.print(f"competing for the same people that day: {', '.join(result.competing)}")

    table = Table("step", "reason", "lost", "remaining", title="Funnel")
    for segment, size in result.segment_sizes.items():
        table.add_row("segment", segment, "", f"{size:,}")
    table.add_row("included", "any included segment", "", f"{result.included:,}")
    table.add_row(
        "segments", "in an excluded segment", f"{result.included - result.candidates:,}", f"{result.candidates:,}"
    )
    for step in result.steps:
        lost = f"{step.lost:,}" if step.reason else ""
        table.add_row(step.step, step.reason or "-", lost, f"{step.remaining:,}")
    out.print(table)

    table = Table("variant", "channel", "people", "cost (yuan)", title="Final audience")
    for variant, channel, people, cost_fen in result.breakdown:
        table.add_row(variant, channel or "(holdout: not contacted)", f"{people:,}", f"{cost_fen / 100:,.2f}")
    out.print(table)
    for problem in result.plan_problems:
        out.print(f"[yellow]skipped plan[/] {problem}", soft_wrap=True)


@campaign_app.command()
def resume(
    campaign_id: Annotated[str, typer.Argument(help="The campaign whose circuit breaker a loss alert opened.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it may go again (kept in ops.campaign_resumes).")],
) -> None:
    """Let a campaign stopped by a critical loss alert go again: its next exports and make-up orders resume."""
    from nightshift.reconciliation.breaker import resume as resume_campaign
    from nightshift.settings import get_settings
    from nightshift.warehouse import ensure_databases, get_client

    client = get_client(get_settings())
    ensure_databases(client)
    breaker = resume_campaign(client, campaign_id, reason)
    console.print(
        f"Campaign {campaign_id} resumed: its breaker opened on {breaker.tripped_on} ({breaker.monitor}); the next "
        "audiences, exports and make-up orders include it again."
    )


@campaign_app.command()
def measure(
    campaign_id: Annotated[str, typer.Argument(help="The campaign to measure (its plan id).")],
    send_date: Annotated[
        str | None, typer.Option("--date", help="Only this send date (YYYY-MM-DD); default: every send date.")
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table, or csv/json of every figure")] = (
        OutputFormat.table
    ),
) -> None:
    """Did the campaign work: per send date, variant and channel, people planned, exported, delivered, clicked
    and converted, GMV and benefit cost (marts.campaign_measurement); per variant, the uplift against the
    holdout on conversion rate and GMV per person with 95% intervals, the minimum detectable effect and ROI."""
    import csv
    import json
    import sys

    from nightshift.cli.common import parse_date
    from nightshift.measurement import measure as measure_campaign
    from nightshift.measurement.responses import arm_responses
    from nightshift.measurement.results import RECORD_COLUMNS, as_record
    from nightshift.settings import get_settings
    from nightshift.warehouse import get_client

    client = get_client(get_settings())
    rows = measure_campaign(client, campaign_id, parse_date(send_date) if send_date else None)
    if output is OutputFormat.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=RECORD_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(
            {key: "" if value is None else repr(value) if isinstance(value, float) else value for key, value in
             as_record(row).items()} for row in rows
        )  # fmt: skip
        return
    if output is OutputFormat.json:
        for row in rows:
            sys.stdout.write(json.dumps(as_record(row)) + "\n")
        return
    print_measurement(rows, console)
    through = max(row.send_date for row in rows)
    print_responses(
        [arm for arm in arm_responses(client, through, campaign_id) if send_date is None or arm.send_date == through],
        console,
    )


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:+.2f} pp"


def _yuan(fen: float | None, signed: bool = False) -> str:
    if fen is None:
        return ""
    return f"{fen / 100:+,.2f}" if signed else f"{fen / 100:,.2f}"


def print_measurement(rows: list[MeasurementRow], out: Console) -> None:
    """Two tables: reach and conversions per variant and channel, then each variant against the holdout."""
    from nightshift.measurement import ALL_CHANNELS

    first = rows[0]
    reach = Table(title=f"Campaign {first.campaign_id}: reach and conversions (planned people, intention to treat)")
    for column in ("send date", "variant", "channel", "window", "planned", "exported", "delivered", "clicked",
                   "converted", "conv. rate", "orders", "GMV (yuan)", "redeemed", "cost (yuan)"):  # fmt: skip
        reach.add_column(column, overflow="fold", justify="left" if column in ("variant", "channel") else "right")
    for row in rows:
        channel = "(holdout)" if row.is_holdout else row.channel
        reach.add_row(
            row.send_date.isoformat(), row.variant, f"[bold]{channel}[/]" if row.channel == ALL_CHANNELS else channel,
            f"{row.observed_days}/{row.conversion_window_days} d", f"{row.planned_people:,}",
            f"{row.exported_people:,}", f"{row.delivered_people:,}", f"{row.clicked_people:,}",
            f"{row.converted_people:,}", f"{row.conversion_rate * 100:.2f}%", f"{row.conversion_orders:,}",
            _yuan(row.gmv_fen), f"{row.benefits_redeemed:,}", _yuan(row.benefit_cost_fen),
        )  # fmt: skip
    out.print(reach)
    uplift = Table(title="Each variant against the holdout (all its channels; 95% intervals; MDE at 80% power)")
    for column in ("send date", "variant", "conv. uplift", "95% CI", "p", "MDE", "verdict", "GMV/person uplift",
                   "95% CI (yuan)", "p ", "MDE (yuan)", "verdict ", "ROI"):  # fmt: skip
        uplift.add_column(
            column, overflow="fold", justify="left" if column.startswith(("variant", "verdict")) else "right"
        )
    compared = [row for row in rows if row.conversion is not None and row.gmv_per_person is not None]
    for row in compared:
        conv, gmv = row.conversion, row.gmv_per_person
        uplift.add_row(
            row.send_date.isoformat(), row.variant,
            _percent(conv.uplift), f"{_percent(conv.ci_low)} .. {_percent(conv.ci_high)}", f"{conv.p_value:.3f}",
            _percent(conv.mde).lstrip("+"), conv.verdict,
            _yuan(gmv.uplift, signed=True), f"{_yuan(gmv.ci_low, True)} .. {_yuan(gmv.ci_high, True)}",
            f"{gmv.p_value:.3f}", _yuan(gmv.mde), gmv.verdict,
            "" if row.roi is None else f"{row.roi:.2f}",
        )  # fmt: skip
    if compared:
        out.print(uplift)
    else:
        out.print("No variant has a holdout to compare with (the plan's holdout_share is 0, or the holdout is empty).")
    out.print(
        "clicked counts short-link clicks (0 for plans without `template.link`); delivered follows the "
        "reconciliation, a night behind the "
        "receipts; a window shown as observed/total days can still grow.",
        soft_wrap=True,
    )


def print_responses(responses: list[ArmResponse], out: Console) -> None:
    """Each arm's funnel and retention curve (marts.campaign_funnel, marts.campaign_retention), if built."""
    if not responses:
        return
    table = Table(title="What the people did after the send: funnel in the conversion window, % active per day")
    for column in ("send date", "variant", "planned", "came back", "paid order",
                   *[f"day {day}" for day in range(1, len(responses[0].active_per_day) + 1)]):  # fmt: skip
        table.add_column(column, overflow="fold", justify="left" if column == "variant" else "right")
    for arm in responses:
        shares = [("" if share is None else f"{share * 100:.1f}%") for share in arm.retention]
        table.add_row(
            arm.send_date.isoformat(), arm.variant, f"{arm.planned:,}",
            f"{arm.came_back:,} ({(arm.share(arm.came_back) or 0) * 100:.1f}%)",
            f"{arm.paid_order:,} ({(arm.share(arm.paid_order) or 0) * 100:.1f}%)", *shares,
        )  # fmt: skip
    out.print(table)
