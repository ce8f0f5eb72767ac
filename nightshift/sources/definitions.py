"""Imports every source declaration module so that each registers itself in the catalog."""

# Simulated sources, produced by `nightshift generate` (nightshift/generate/).
from nightshift.sources import (  # noqa: F401
    app,
    benefits,
    consent,
    douyin,
    miniprogram,
    orders,
    receipts,
    wechat_oa,
    wecom,
    xiaoe,
)

# isort: split
# Real data sources (not generated).
from nightshift.sources import cdnow  # noqa: F401
