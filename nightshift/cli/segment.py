"""`nightshift segment ...`: validate, preview, diff, explain and show analysts' segment definitions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from nightshift.segments.files import SEGMENTS_DIR
from nightshift.segments.schema import MARTS

segment_app = typer.Typer(
    help="Segments (segments/<name>.sql, rule segments segments/<name>.yml): validate, preview, diff, explain, show.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()

DirectoryOption = Annotated[Path, typer.Option("--dir", help="Directory of segment files.")]
DatabaseOption = Annotated[str, typer.Option(help="Database holding the marts tables.", hidden=True)]


def _client():
    from nightshift.settings import get_settings
    from nightshift.warehouse import get_client

    return get_client(get_settings())


def _report(directory: Path, database: str, client=None):
    from nightshift.segments.validate import validate_all

    return validate_all(directory, client if client is not None else _client(), database)


def _valid(directory: Path, database: str, client, name: str):
    """The valid definitions; fails with the segment's own validation error when `name` is invalid."""
    report = _report(directory, database, client)
    for error in report.errors:
        if error.segment == name:
            raise error
    return report.valid


@segment_app.command()
def validate(
    name: Annotated[str | None, typer.Argument(help="Only this segment (default: all).")] = None,
    directory: DirectoryOption = SEGMENTS_DIR,
    database: DatabaseOption = MARTS,
) -> None:
    """Check segment files: one read-only SELECT over existing marts columns that returns one_id."""
    from nightshift.segments.validate import validate_all

    report = validate_all(directory, _client(), database, names=[name] if name else None)
    for definition in report.valid:
        console.print(f"[green]✓[/] {definition.name:<34} {definition.file.header.get('description', '')}")
    for error in report.errors:
        console.print(f"[red]✗[/] {error}", soft_wrap=True)
    console.print(f"{len(report.valid)} valid, {len(report.errors)} invalid")
    if report.errors:
        raise typer.Exit(1)


@segment_app.command()
def preview(
    name: Annotated[str | None, typer.Argument(help="Segment name (omit with --rule).")] = None,
    rule: Annotated[
        str | None,
        typer.Option(help="An unsaved rule, in YAML: '{all: [{device_os: ios}, {rfm_m_score: {\">=\": 4}}]}'."),
    ] = None,
    sample: Annotated[int, typer.Option(min=0, max=1000, help="How many one_ids to show.")] = 10,
    tag: Annotated[list[str] | None, typer.Option(help="Tag to show the distribution of (repeatable).")] = None,
    cache: Annotated[
        bool, typer.Option("--cache/--no-cache", help="Reuse other segments' bitmaps while the marts are unchanged.")
    ] = True,
    directory: DirectoryOption = SEGMENTS_DIR,
    database: DatabaseOption = MARTS,
) -> None:
    """Size, share of all people, overlap with every other segment, a sample and the key tag mix."""
    from nightshift.segments.inspect import preview_segment

    if (name is None) == (rule is None):
        raise typer.BadParameter("give a segment name or --rule, not both")
    client = _client()
    definitions = _valid(directory, database, client, name)
    if rule is not None:
        from nightshift.segments.rules import parse_rule_text
        from nightshift.segments.schema import marts_schema
        from nightshift.segments.validate import validate_segment

        unsaved = validate_segment(parse_rule_text(rule), marts_schema(client, database))
        definitions = [definition for definition in definitions if definition.name != unsaved.name] + [unsaved]
        name = unsaved.name
    uploads = _upload_plans(client, directory / "uploads", {d.name for d in definitions})
    try:
        result = preview_segment(
            client, name, definitions, database, sample, tag, use_cache=cache, extra_plans=[plan for plan, _ in uploads]
        )
    finally:
        for _, scratch in uploads:
            client.command(f"DROP TABLE IF EXISTS {scratch}")
    console.print(
        f"[bold]{result.segment}[/]: {result.size:,} people = {result.share:.2%} of {result.people:,} "
        f"(computed with {result.method} in {result.seconds * 1000:.0f} ms)"
    )
    overlaps = Table("other segment", "overlap", f"share of {name}", title="Overlap")
    for other, count in sorted(result.overlaps.items(), key=lambda item: -item[1]):
        overlaps.add_row(other, f"{count:,}", f"{count / result.size:.1%}" if result.size else "-")
    console.print(overlaps)
    for code, values in result.tag_distribution.items():
        table = Table(code, "people", "share", title=f"Tag {code}")
        for value, count in values.items():
            table.add_row(repr(value), f"{count:,}", f"{count / result.size:.1%}" if result.size else "-")
        console.print(table)
    console.print(f"sample one_ids: {', '.join(map(str, result.sample)) or '(none)'}")


def _upload_plans(client, directory: Path, taken: set[str]):
    from nightshift.uploads.preview import upload_plans

    plans, problems = upload_plans(client, directory, taken)
    for problem in problems:
        console.print(f"[yellow]upload left out:[/] {problem}", soft_wrap=True)
    return plans


@segment_app.command()
def upload(
    name: Annotated[str, typer.Argument(help="Upload name: segments/uploads/<name>.csv.")],
    file: Annotated[Path | None, typer.Option(help="Check this file instead (e.g. before copying it in).")] = None,
    show: Annotated[int, typer.Option(min=0, max=1000, help="How many unmatched rows to list.")] = 20,
    directory: DirectoryOption = SEGMENTS_DIR,
) -> None:
    """Match an uploaded list through the current identity map: match rate, reasons, the unmatched rows."""
    from nightshift.errors import NightshiftError
    from nightshift.uploads.matching import match_upload
    from nightshift.uploads.reading import read_upload
    from nightshift.warehouse.partitions import table_exists

    path = file or directory / "uploads" / f"{name}.csv"
    if not path.exists():
        raise typer.BadParameter(f"{path} does not exist; uploads live in {directory / 'uploads'}/<name>.csv")
    upload = read_upload(path, name)  # a broken file fails here, before the warehouse is opened
    client = _client()
    if not table_exists(client, "identity.identity_map"):
        raise NightshiftError("identity.identity_map does not exist yet: run the identity stage, then match uploads.")
    result = match_upload(client, upload)
    console.print(
        f"[bold]{name}[/]: {result.matched_rows:,} of {result.rows:,} rows matched ({result.match_rate:.1%}), "
        f"{len(result.members):,} people"
    )
    reasons = Table("reason", "rows", title="Unmatched rows")
    for reason, count in result.reason_counts.items():
        reasons.add_row(reason, f"{count:,}")
    console.print(reasons)
    for row in result.unmatched[:show]:
        console.print(f"  line {row.line}: {row.values or '(no id)'}: {row.reason}", markup=False, soft_wrap=True)


@segment_app.command()
def expand(
    seed: Annotated[str, typer.Argument(help="Seed segment name.")],
    to: Annotated[int, typer.Option("--to", min=1, help="How many lookalikes (people outside the seed).")],
    output: Annotated[
        Path | None, typer.Option(help="Write every lookalike (one_id, score, drivers) to this CSV.")
    ] = None,
    show: Annotated[int, typer.Option(min=0, max=1000, help="How many lookalikes to list.")] = 10,
    directory: DirectoryOption = SEGMENTS_DIR,
    database: DatabaseOption = MARTS,
) -> None:
    """Lookalike expansion: the people outside SEED who look most like it (per-tag lift, explained by tag)."""
    import csv

    from nightshift.segments.inspect import find_definition
    from nightshift.segments.lookalike import expand_segment

    client = _client()
    definition = find_definition(_valid(directory, database, client, seed), seed)
    result = expand_segment(client, definition, to, database)
    console.print(
        f"[bold]{seed}[/]: seed {result.seed_size:,} of {result.people:,} people; "
        f"{len(result.lookalikes):,} lookalikes (method: per-tag lift, see nightshift/segments/lookalike.py)"
    )
    weights = Table("tag value", "in seed", "outside", "weight (ln lift)", title="Tags that drive the score")
    for weight in result.weights[:10]:
        weights.add_row(f"{weight.tag_code}={weight.tag_value}", f"{weight.in_seed:,}", f"{weight.outside:,}",
                        f"{weight.weight:+.2f}")  # fmt: skip
    console.print(weights)
    for lookalike in result.lookalikes[:show]:
        drivers = ", ".join(f"{tag} ({weight:+.2f})" for tag, weight in lookalike.drivers)
        console.print(f"  {lookalike.one_id}: score {lookalike.score:.2f}: {drivers}", markup=False)
    if output is not None:
        with output.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["one_id", "score", "drivers"])
            for lookalike in result.lookalikes:
                drivers = "; ".join(f"{tag} {weight:+.3f}" for tag, weight in lookalike.drivers)
                writer.writerow([lookalike.one_id, f"{lookalike.score:.6f}", drivers])
        console.print(f"written: {output}")


@segment_app.command()
def diff(
    name: Annotated[str, typer.Argument(help="Segment name.")],
    run_date: Annotated[str, typer.Option("--date", help="Run date, YYYY-MM-DD.")],
    sample: Annotated[int, typer.Option(min=0, max=1000, help="How many one_ids to show per side.")] = 10,
    table: Annotated[str, typer.Option(help="Membership table.", hidden=True)] = "audience.segment_membership",
) -> None:
    """Who entered and who exited the segment since its previous run (audience.segment_membership)."""
    from nightshift.segments.inspect import diff_segment
    from nightshift.stages.context import parse_run_date

    result = diff_segment(_client(), name, parse_run_date(run_date), table=table, sample_size=sample)
    since = result.previous_date.isoformat() if result.previous_date else "no previous run"
    console.print(
        f"[bold]{name}[/] on {result.run_date.isoformat()}: {result.current:,} people ({since}: {result.previous:,})"
    )
    console.print(f"[green]+ entered {result.entered:,}[/]: {', '.join(map(str, result.entered_sample))}")
    console.print(f"[red]- exited  {result.exited:,}[/]: {', '.join(map(str, result.exited_sample))}")


@segment_app.command()
def explain(
    name: Annotated[str, typer.Argument(help="Segment name.")],
    one_id: Annotated[int, typer.Option("--one-id", help="The person to explain.")],
    directory: DirectoryOption = SEGMENTS_DIR,
    database: DatabaseOption = MARTS,
) -> None:
    """For one person, which conditions of the segment held and which failed."""
    from nightshift.segments.inspect import explain_segment, find_definition

    client = _client()
    definition = find_definition(_valid(directory, database, client, name), name)
    result = explain_segment(client, definition, one_id, database)
    verdict = "[green]is a member[/]" if result.is_member else "[red]is not a member[/]"
    console.print(f"one_id {one_id} {verdict} of [bold]{name}[/]")
    if not result.found:
        console.print("The person has no row in the segment's source (not in the profile, or removed by a join).")
    marks = {True: "[green]✓ held[/]  ", False: "[red]✗ failed[/]", None: "[yellow]∅ NULL[/]  "}
    for condition in result.conditions:
        console.print(f"{marks[condition.held]} {'  ' * condition.depth}{condition.condition}", soft_wrap=True)
    if result.values:
        console.print("values: " + ", ".join(f"{column}={value!r}" for column, value in result.values.items()))


@segment_app.command()
def show(
    name: Annotated[str, typer.Argument(help="Segment name.")],
    sql: Annotated[bool, typer.Option("--sql", help="Print only the ClickHouse SQL (a rule's compiled SQL).")] = False,
    directory: DirectoryOption = SEGMENTS_DIR,
    database: DatabaseOption = MARTS,
) -> None:
    """The segment's ClickHouse SQL (compiled, for a rule), the Spark SQL it runs as, and how preview computes it."""
    from nightshift.segments.inspect import find_definition, preview_method
    from nightshift.segments.schema import tag_codes
    from nightshift.segments.spark_sql import to_spark_sql

    client = _client()
    definition = find_definition(_valid(directory, database, client, name), name)
    if sql:
        typer.echo(definition.sql)  # plain text, for piping into `nightshift sql`
        return
    source = f"compiled from the rule in {definition.path}" if definition.file.kind == "rule" else definition.path
    console.print(f"[bold]ClickHouse[/] ({source}):")
    console.print(f"{definition.sql}\n", markup=False)
    console.print(f"[bold]Spark[/]:\n{to_spark_sql(definition.expression, definition.schema)}\n")
    console.print(f"preview computes it with: {preview_method(definition, tag_codes(client, database), database)}")
