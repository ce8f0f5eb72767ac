"""`nightshift shortlinks serve`: the short-link redirect service (nightshift.shortlinks)."""

from __future__ import annotations

from typing import Annotated

import typer

from nightshift.cli.common import console, current_settings

DEFAULT_PORT = 8710  # the default NIGHTSHIFT_SHORTLINK_BASE_URL points here

shortlinks_app = typer.Typer(
    help="Short links in campaign messages: the redirect service that logs clicks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@shortlinks_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
    refresh_seconds: Annotated[
        float, typer.Option(help="How often to look for a new night's links in the lake.")
    ] = 60.0,
) -> None:
    """Answer GET /<code> with a 302 to the plan's landing page (UTM parameters added) and log each click to
    NIGHTSHIFT_LANDING/clicks/<day>/; unknown codes get a 404 page."""
    import uvicorn

    from nightshift.errors import ConfigurationError
    from nightshift.shortlinks.app import create_app
    from nightshift.shortlinks.clicklog import ClickLog
    from nightshift.shortlinks.index import load_index, refreshed

    settings = current_settings()
    if not settings.shortlink_ip_salt:
        raise ConfigurationError(
            "NIGHTSHIFT_SHORTLINK_IP_SALT is not set: the click log hashes each IP with this secret salt. Set it "
            "(e.g. `export NIGHTSHIFT_SHORTLINK_IP_SALT=$(python -c 'import secrets; print(secrets.token_hex(16))')`)"
            " and keep it the same across restarts"
        )
    lake = settings.lake_root
    index = load_index(lake)
    clicks = ClickLog(settings.landing_dir, settings.shortlink_ip_salt)
    app = create_app(index, clicks, lambda current: refreshed(current, lake), refresh_seconds)
    console.print(
        f"Short links: {len(index):,} codes from {lake}/short_links; clicks to {clicks.folder}/<day>/; "
        f"listening on http://{host}:{port}",
        soft_wrap=True,
        highlight=False,
    )
    # No access log: it would write every visitor's IP address, which the click log deliberately hashes.
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", server_header=False)
