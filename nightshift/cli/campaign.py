"""`nightshift campaign ...`: validate plans and preview a campaign's funnel."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # the preview module pulls in Spark helpers; keep `nightshift --help` fast
    from nightshift.audiences.preview import Preview

campaign_app = typer.Typer(
    name="campaign",
    help="Campaign plans (segments/campaigns/*.yml): validate them, preview a campaign's audience funnel.",
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
