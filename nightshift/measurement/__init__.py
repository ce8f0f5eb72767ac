"""Campaign measurement (度量中心): did a campaign work, and what did it cost.

`marts.campaign_measurement` (dbt) counts, per campaign, send date, variant and channel, the people planned,
exported, delivered and converted, their GMV and the benefits they redeemed. This package turns those counts into
uplift against the holdout with 95% intervals, the minimum detectable effect and ROI (`statistics`), and reads a
campaign's rows for `nightshift campaign measure` (`results`). A report renders every campaign with
`[measure(client, c) for c in campaigns_measured(client)]`, flat records with `as_record`.
"""

from nightshift.measurement.results import ALL_CHANNELS, MeasurementRow, as_record, campaigns_measured, measure
from nightshift.measurement.statistics import Arm, Comparison, conversion_uplift, gmv_uplift, roi

__all__ = [
    "ALL_CHANNELS",
    "Arm",
    "Comparison",
    "MeasurementRow",
    "as_record",
    "campaigns_measured",
    "conversion_uplift",
    "gmv_uplift",
    "measure",
    "roi",
]
