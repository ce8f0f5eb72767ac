"""`nightshift simulate channels`: the channel simulator (Aliyun SMS, JPush, WeChat, WeCom) on a local port."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nightshift.cli.common import console

simulate_app = typer.Typer(
    help="Local stand-ins for outside systems (tests and demos).", no_args_is_help=True, pretty_exceptions_enable=False
)


@simulate_app.command("channels")
def channels(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8900,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    ledger: Annotated[Path, typer.Option(help="Directory for sends.jsonl and calls.jsonl.")] = Path(
        ".nightshift/channel_ledger"
    ),
    fail_rate: Annotated[float, typer.Option(help="Share of calls answered 503.")] = 0.0,
    slow_rate: Annotated[float, typer.Option(help="Share of calls answered late (client timeouts).")] = 0.0,
    slow_seconds: Annotated[float, typer.Option(help="How late a slow answer comes.")] = 2.0,
    throttle_rate: Annotated[float, typer.Option(help="Share of calls throttled although under the limit.")] = 0.0,
    invalid_rate: Annotated[float, typer.Option(help="Share of addresses refused for good (by hash).")] = 0.0,
    rate_limit: Annotated[
        list[str] | None, typer.Option(help="CHANNEL=PER_SECOND, repeatable (0: unlimited), e.g. sms=50.")
    ] = None,
    token_ttl: Annotated[float, typer.Option(help="Seconds a WeChat/WeCom access token lasts.")] = 7200.0,
) -> None:
    """Serve the channel simulator until Ctrl-C; point NIGHTSHIFT_DELIVERY_ENDPOINTS at the printed URL."""
    from nightshift.errors import NightshiftError
    from nightshift.generate.channels import CHANNELS, ChannelSimulator, SimulatorConfig
    from nightshift.generate.channels.config import DEFAULT_RATE_LIMITS

    limits = dict(DEFAULT_RATE_LIMITS)
    for item in rate_limit or []:
        channel, _, value = item.partition("=")
        if channel not in CHANNELS or not value:
            raise NightshiftError(f"--rate-limit {item!r}: expected CHANNEL=PER_SECOND with CHANNEL one of {CHANNELS}")
        limits[channel] = float(value)
    config = SimulatorConfig(
        rate_limits=limits, unavailable_share=fail_rate, slow_share=slow_rate, slow_seconds=slow_seconds,
        throttle_share=throttle_rate, invalid_share=invalid_rate, token_ttl_seconds=token_ttl,
    )  # fmt: skip
    simulator = ChannelSimulator(config, ledger, host=host, port=port)
    base = f"http://{host}:{port}"
    console.print(f"Channel simulator on {base} (ledger in {ledger.resolve()}); limits per second: {limits}")
    endpoints = ",".join(f'"{channel}":"{base}"' for channel in CHANNELS)
    console.print(f"NIGHTSHIFT_DELIVERY_ENDPOINTS='{{{endpoints}}}'", soft_wrap=True)
    simulator.serve_forever()
