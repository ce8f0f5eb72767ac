"""`nightshift profile ONE_ID`: one person's identities, tags with history, and recent activity."""

from __future__ import annotations

from typing import Annotated

import typer

from nightshift.cli.common import console, current_settings


def profile(
    one_id: Annotated[int, typer.Argument(help="The person's one_id (see identity.identity_map).")],
    recent: Annotated[int, typer.Option(help="How many recent events and orders to show.")] = 10,
) -> None:
    """One person's identities, tags (with history) and recent activity."""
    from nightshift.profile_view import show_profile

    show_profile(one_id, current_settings(), console, recent=recent)
