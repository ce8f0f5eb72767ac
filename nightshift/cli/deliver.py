"""`nightshift deliver`: send a night's sealed payloads through the channels' APIs, with a progress bar."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from nightshift.cli.common import console, current_settings, parse_date


class RateColumn(ProgressColumn):
    """Contacts handled per second (rich's own speed columns count bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "-/s", style="progress.data.speed")


def deliver(
    run_date: Annotated[str, typer.Option("--date", help="Run date whose exports to send, YYYY-MM-DD.")],
    channel: Annotated[
        list[str] | None, typer.Option(help="Only this channel (repeatable): sms, app_push, wechat_oa_template, wecom.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be sent; call nothing.")] = False,
) -> None:
    """Send the date's sealed payloads through each configured channel's API (NIGHTSHIFT_DELIVERY_ENDPOINTS),
    exactly once per contact: a rerun resumes with what is left. Outcomes go to audience.delivery_results."""
    from nightshift.errors import NightshiftError
    from nightshift.pipeline import run_stage
    from nightshift.stages import deliver as deliver_stage
    from nightshift.stages.context import StageContext

    settings = current_settings()
    day = parse_date(run_date)
    unknown = [name for name in channel or [] if name not in deliver_stage.CLIENTS]
    if unknown:
        raise NightshiftError(
            f"--channel {unknown[0]!r}: channels with an API client are {sorted(deliver_stage.CLIENTS)}"
        )
    columns = [
        TextColumn("{task.description:<20}"),
        BarColumn(),
        TextColumn("sent {task.fields[sent]:,}  failed {task.fields[failed]:,}  remaining {task.fields[remaining]:,}"),
        RateColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def on_progress(name: str, tally) -> None:
            to_send = tally.planned - tally.done_before
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=to_send or 1, sent=0, failed=0, remaining=to_send)
            handled = tally.accepted + tally.failed + tally.gave_up
            bar.update(tasks[name], completed=handled if to_send else 1, sent=tally.accepted,
                       failed=tally.failed + tally.gave_up, remaining=tally.remaining)  # fmt: skip

        if dry_run:
            ctx = StageContext(run_date=day, settings=settings)
            report = deliver_stage.deliver(ctx.client, settings, day, channel, on_progress, dry_run=True)
            summary = deliver_stage.summary(report, dry_run=True)
        else:
            function = partial(deliver_stage.run, channels=channel, progress=on_progress)
            summary = run_stage("deliver", day, settings=settings, function=function).summary
    console.print(summary, soft_wrap=True)
