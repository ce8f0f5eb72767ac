"""The redirect service as a Starlette app: `GET /<code>` -> 302 to the landing page with UTM parameters.

Only a code `nightshift.shortcodes.decode` accepts (canonical, at most 32 characters of the alphabet) that the
index knows is redirected and logged. Everything else (unknown or malformed codes, other paths, other methods,
an unexpected error) gets the same small page with no trace and no echo of what was asked for, so the service
never reflects input back into a page. Redirects are `Cache-Control: no-store`, so every click reaches the log.
The index is re-read in the background when the lake's partitions change (a new night's links), never on the
request path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from nightshift.shortcodes import decode
from nightshift.shortlinks.clicklog import ClickLog
from nightshift.shortlinks.index import LinkIndex

log = logging.getLogger(__name__)

UTM_SOURCE = "nightshift"
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content")
NOT_FOUND_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Link not found</title>"
    "<p>This link does not exist or has expired.</p></html>"
)
NO_STORE = {"Cache-Control": "no-store"}
DEFAULT_REFRESH_SECONDS = 60.0


@lru_cache(maxsize=4096)  # one URL per campaign, channel and variant
def landing_with_utm(landing_url: str, campaign_id: str, channel: str, variant: str) -> str:
    """The landing URL with our UTM parameters (replacing any it already had), its own parameters kept."""
    parts = urlsplit(landing_url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in UTM_KEYS]
    query += [("utm_source", UTM_SOURCE), ("utm_medium", channel), ("utm_campaign", campaign_id)]
    if variant:
        query.append(("utm_content", variant))
    return urlunsplit(parts._replace(query=urlencode(query)))


def not_found(_request: Request | None = None, _error: Exception | None = None) -> Response:
    return HTMLResponse(NOT_FOUND_PAGE, status_code=404, headers=NO_STORE)


def create_app(
    index: LinkIndex,
    clicks: ClickLog,
    reload_index: Callable[[LinkIndex], LinkIndex] | None = None,
    refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
) -> Starlette:
    """The app over `index`; `reload_index(current)` returns a new index when the links changed (run in a thread
    every `refresh_seconds`)."""
    state = {"index": index}

    async def redirect(request: Request) -> Response:
        code = request.path_params["code"]
        if decode(code) is None:
            return not_found()
        link = state["index"].get(code)
        if link is None:
            return not_found()
        user_agent = request.headers.get("user-agent", "")
        ip = request.client.host if request.client else ""
        clicks.record(code, user_agent, ip)
        target = landing_with_utm(link.landing_url, link.campaign_id, link.channel, link.variant)
        return RedirectResponse(target, status_code=302, headers=NO_STORE)

    async def refresh_forever() -> None:
        while True:
            await asyncio.sleep(refresh_seconds)
            try:
                state["index"] = await asyncio.to_thread(reload_index, state["index"])
            except Exception:  # a half-written partition: keep serving the links we have, try again later
                log.exception("short links: reloading the index failed; still serving the previous one")

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(refresh_forever()) if reload_index is not None else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
            clicks.close()

    async def server_error(_request: Request, error: Exception) -> Response:
        log.error("short links: unexpected error %s", type(error).__name__)
        return HTMLResponse(NOT_FOUND_PAGE, status_code=500, headers=NO_STORE)

    return Starlette(
        debug=False,
        routes=[Route("/{code}", redirect, methods=["GET"])],
        exception_handlers={404: not_found, 405: not_found, Exception: server_error},
        lifespan=lifespan,
    )
