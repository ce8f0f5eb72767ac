"""Channel-native deliveries: each channel's files as the vendor takes them, from a campaign's audience rows.

One module per channel, each a pure writer `(audience, plan) -> Payload` (see `common.py`); `WRITERS` maps a
channel of `nightshift.contracts.CHANNELS` to its writer and `AD_WRITERS` an ad platform of a plan's
`ad_audiences` to its writer. A channel writer takes the audience as a pyarrow Table (what the export stage reads
with `client.query_arrow`; rows as dicts work too) and builds its files column by column (`columnar.py`); the ad
writers hash ids row by row. `PROFILE_COLUMNS` says which profile columns, beyond the campaign file's, each writer
reads. The export stage runs them; `write_parts` puts a payload on disk as `part-NNNNN.<ext>`.
"""

from __future__ import annotations

from collections.abc import Callable

from nightshift.campaigns.models import CampaignPlan
from nightshift.deliveries.ad_audiences import ocean_engine_payload, tencent_ads_payload
from nightshift.deliveries.app_push import app_push_payload
from nightshift.deliveries.columnar import Audience
from nightshift.deliveries.common import Payload, Row, write_parts
from nightshift.deliveries.outbound_call import outbound_call_payload
from nightshift.deliveries.sms import sms_payload
from nightshift.deliveries.wechat_oa import wechat_oa_payload
from nightshift.deliveries.wecom import wecom_payload

Writer = Callable[[Audience, CampaignPlan], Payload]

WRITERS: dict[str, Writer] = {
    "sms": sms_payload,
    "app_push": app_push_payload,
    "wechat_oa_template": wechat_oa_payload,
    "wecom": wecom_payload,
    "outbound_call": outbound_call_payload,
}
AD_WRITERS: dict[str, Writer] = {
    "tencent_ads": tencent_ads_payload,
    "ocean_engine": ocean_engine_payload,
}
# Profile columns each channel's writer reads besides the campaign file's columns.
PROFILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "app_push": ("device_os",),
    "wecom": ("wecom_owner_userid",),
    "outbound_call": ("timezone",),
}
# Profile columns an ad audience is hashed from (besides one_id and contact_id).
AD_PROFILE_COLUMNS: tuple[str, ...] = ("phone", "unionid")

__all__ = [
    "AD_PROFILE_COLUMNS",
    "AD_WRITERS",
    "Audience",
    "PROFILE_COLUMNS",
    "WRITERS",
    "Payload",
    "Row",
    "write_parts",
]
