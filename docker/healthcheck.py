"""Container healthcheck: exit 0 when every URL given answers with HTTP 2xx, 1 otherwise (stdlib only).

The image is python:slim, which has neither curl nor wget; this keeps healthchecks free of extra packages.
Usage: python /opt/nightshift/docker/healthcheck.py http://localhost:8080/api/v2/monitor/health
"""

from __future__ import annotations

import sys
import urllib.request

TIMEOUT_SECONDS = 5


def check(url: str) -> str | None:
    """None when the URL is healthy, otherwise why not."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            if 200 <= response.status < 300:
                return None
            return f"HTTP {response.status}"
    except OSError as error:
        return str(error)


def main(urls: list[str]) -> int:
    if not urls:
        print("usage: healthcheck.py URL [URL ...]", file=sys.stderr)
        return 2
    failures = {url: reason for url in urls if (reason := check(url)) is not None}
    for url, reason in failures.items():
        print(f"unhealthy: {url}: {reason}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
