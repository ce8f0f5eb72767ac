"""`clicks`: the short-link click log, written by Nightshift's own redirect service (`nightshift shortlinks serve`).

`clicks*.jsonl`, one file per service process and Beijing day (`<landing>/clicks/<day>/clicks-<host>-<pid>.jsonl`),
one JSON object per click, `clicked_at` ISO-8601 in UTC (`...T06:43:12.123Z`). `click_id` is a random id per
click: the deduplication key, so a file delivered twice or a line read twice is loaded once (identical lines are
duplicates). A line that is not JSON, lacks a field or has a timestamp that does not read is quarantined with
its reason. `code` is the short code as clicked (nightshift.shortcodes); dbt resolves it to the campaign and
person through `audience.short_links`. The IP address is never delivered, only its salted hash.
"""

from nightshift.sources.model import Entity, Field, Source

CLICKS = Entity(
    source="clicks",
    name="clicks",
    file_glob="clicks*.jsonl",
    format="jsonl",
    event_time_field="clicked_at",
    description="One line per click on a short link that the redirect service answered with a redirect.",
    fields=(
        Field("click_id", "string", required=True, description="random id of the click (the deduplication key)"),
        Field("code", "string", required=True, description="the short code clicked"),
        Field("clicked_at", "timestamp", required=True, description="when the click was answered (UTC)"),
        Field("user_agent", "string", description="the browser's User-Agent, cut at 512 characters"),
        Field("ip_hash", "string", required=True, description="sha256 hex of NIGHTSHIFT_SHORTLINK_IP_SALT + IP"),
    ),
)

SOURCE = Source(
    name="clicks",
    description="Short-link clicks logged by the redirect service (nightshift shortlinks serve).",
    entities=(CLICKS,),
    simulated=False,
)
