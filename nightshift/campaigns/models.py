"""Campaign plans and the global contact policy, as pydantic models.

A plan (`segments/campaigns/<id>.yml`) says who (include/exclude segments), when (dates, weekdays, send window
in the person's local time), how (channel preference list, template with parameters from profile columns),
what it costs (benefit, total budget), how it is measured (experiment) and how it ranks against other campaigns
(priority). The policy (`segments/policy.yml`) holds the rules every campaign obeys: per-channel frequency caps,
quiet hours and suppression rules.

Checks that need only the file itself live here (weights sum to 1, end before start, unknown channel, ...);
checks against the outside world (segments that exist, profile columns, the policy) are in `plans.py`.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from nightshift.contracts import CHANNELS
from nightshift.segments.sampling import Sample

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOLDOUT = "holdout"
Purpose = Literal["service", "marketing"]
# Ad platforms a campaign's treated audience can be uploaded to as a hashed customer audience (retargeting).
AdPlatform = Literal["tencent_ads", "ocean_engine"]
# Channels whose rules allow service notices only: WeChat forbids marketing content in Official Account template
# messages. A marketing plan may not list them.
SERVICE_ONLY_CHANNELS: frozenset[str] = frozenset({"wechat_oa_template"})
# Budget trimming keeps first the people contacted least in this many days (spark_jobs.audience, budget step).
BUDGET_FATIGUE_DAYS = 30
# Shares are floats written by people ("0.1"); this tolerance accepts their rounding, not real mistakes.
WEIGHT_TOLERANCE = 1e-6


class _Strict(BaseModel):
    # A misspelt key ("budjet_fen") must fail loudly instead of silently taking the default.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; channels are: {', '.join(CHANNELS)}")
    return channel


class MiniProgramLink(_Strict):
    appid: str = Field(min_length=1)
    pagepath: str = ""


class TemplateLink(_Strict):
    """`template.link`: a per-person short link (`<NIGHTSHIFT_SHORTLINK_BASE_URL>/<code>`, see nightshift.shortcodes)
    put into the template parameter `param`; `nightshift shortlinks serve` redirects it to `landing_url` with UTM
    parameters and logs the click."""

    param: Identifier
    landing_url: str = Field(min_length=1, max_length=2000)

    @field_validator("landing_url")
    @classmethod
    def _https_url(cls, url: str) -> str:
        parsed = urlsplit(url)
        if parsed.scheme != "https" or not parsed.hostname or any(character.isspace() for character in url):
            raise ValueError(
                f"landing_url must be an https URL with a host and no spaces, e.g. https://shop.example/winback; "
                f"got {url!r}"
            )
        if parsed.fragment:
            raise ValueError(f"landing_url must not have a #fragment (UTM parameters go before it), got {url!r}")
        return url


class Template(_Strict):
    id: Identifier
    # template parameter name -> profile column whose value fills it (checked against the profile columns)
    params: dict[Identifier, str] = Field(default_factory=dict)
    # SMS signature (签名) the vendor shows before the text; required when the plan may send SMS
    sign_name: str = ""
    # where a WeChat template message opens: a web page, a mini program page, or neither
    url: str = ""
    miniprogram: MiniProgramLink | None = None
    # WeCom corp tag id (et...) put on each contact; empty: the template id names the tag
    wecom_tag_id: str = ""
    # a per-person short link in one template parameter: a new parameter, or one of `params` it then fills instead
    # of the profile column
    link: TemplateLink | None = None

    def param_names(self) -> list[str]:
        """Every template parameter, sorted by name (the export's column order): `params` and the link's."""
        return sorted({*self.params, *([self.link.param] if self.link else [])})


class Benefit(_Strict):
    id: Identifier
    unit_cost_fen: int = Field(ge=0)
    # how many times one person may receive this benefit over the campaign's lifetime (one unit per send)
    per_user_cap: int = Field(default=1, ge=1)


class Variant(_Strict):
    name: Identifier
    weight: float = Field(gt=0, le=1)


class Experiment(_Strict):
    salt: str = Field(min_length=1)
    holdout_share: float = Field(default=0.0, ge=0, lt=1)
    variants: list[Variant] = Field(min_length=1)

    @field_validator("variants")
    @classmethod
    def _weights_sum_to_one(cls, variants: list[Variant]) -> list[Variant]:
        names = [variant.name for variant in variants]
        if HOLDOUT in names:
            raise ValueError(f"{HOLDOUT!r} is reserved for the holdout group; set holdout_share instead")
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique, got {names}")
        total = math.fsum(variant.weight for variant in variants)
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            raise ValueError(
                f"variant weights must sum to 1 (they are shares of the non-holdout audience), got {total:g}"
            )
        return variants

    def cumulative_upper_bounds(self) -> list[float]:
        """Upper bound of each variant's bucket in [0, 1); the last is exactly 1 so rounding loses nobody."""
        bounds, running = [], 0.0
        for variant in self.variants:
            running += variant.weight
            bounds.append(running)
        bounds[-1] = 1.0
        return bounds


class PilotSample(_Strict):
    """`sample:` in a plan: plan only a deterministic sample of the candidates (a pilot), N people or x%.

    The same hash as segment samples (nightshift.segments.sampling): stable across nights and as the candidates
    grow; the salt defaults to the campaign id."""

    size: int | None = Field(default=None, ge=1)
    percent: float | None = Field(default=None, gt=0, le=100)
    salt: str = ""

    @model_validator(mode="after")
    def _one_amount(self) -> PilotSample:
        if (self.size is None) == (self.percent is None):
            raise ValueError("give either `size` (people) or `percent`, e.g. `sample: {percent: 10}`")
        return self

    def for_campaign(self, campaign_id: str) -> Sample:
        return Sample(self.salt or campaign_id, size=self.size, percent=self.percent)


class SendWindow(_Strict):
    start: time
    end: time

    @model_validator(mode="after")
    def _start_before_end(self) -> SendWindow:
        if self.start >= self.end:
            raise ValueError(f"send window start {self.start} must be before its end {self.end} (same local day)")
        return self


class FrequencyCap(_Strict):
    max_contacts: int = Field(ge=1)
    days: int = Field(ge=1, le=366)


DEFAULT_CONVERSION_WINDOW_DAYS = 7  # dbt_project/macros/conversion_window.sql keeps the same default


class Measurement(_Strict):
    """How the campaign is measured (marts.campaign_measurement, `nightshift campaign measure`)."""

    conversion_window_days: int = Field(default=DEFAULT_CONVERSION_WINDOW_DAYS, ge=1, le=90)


class CampaignPlan(_Strict):
    id: Identifier
    name: str = Field(min_length=1)
    description: str = ""
    owner: str = ""
    include_segments: list[str] = Field(min_length=1)
    exclude_segments: list[str] = Field(default_factory=list)
    start_date: date
    end_date: date
    days_of_week: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    channels: list[str] = Field(min_length=1, description="preference order: first reachable channel is used")
    template: Template
    benefit: Benefit | None = None
    budget_fen: int | None = Field(default=None, ge=0)
    priority: int = Field(ge=0)
    # what the message is: a service notice (account, order, security) or marketing; some channels take only
    # service notices, so a plan that does not say is held to the stricter rule
    purpose: Purpose = "marketing"
    ad_audiences: list[AdPlatform] = Field(default_factory=list)
    experiment: Experiment
    send_window: SendWindow
    frequency_cap: FrequencyCap | None = None
    allow_internal_test_accounts: bool = False
    sample: PilotSample | None = None
    measurement: Measurement = Field(default_factory=Measurement)

    @field_validator("channels")
    @classmethod
    def _known_unique_channels(cls, channels: list[str]) -> list[str]:
        for channel in channels:
            _check_channel(channel)
        if len(set(channels)) != len(channels):
            raise ValueError(f"channels must not repeat, got {channels}")
        return channels

    @model_validator(mode="after")
    def _consistent(self) -> CampaignPlan:
        if self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        overlap = sorted(set(self.include_segments) & set(self.exclude_segments))
        if overlap:
            raise ValueError(f"segments {overlap} are both included and excluded")
        service_only = [channel for channel in self.channels if channel in SERVICE_ONLY_CHANNELS]
        if self.purpose == "marketing" and service_only:
            fitting = [channel for channel in CHANNELS if channel not in SERVICE_ONLY_CHANNELS]
            raise ValueError(
                f"channels {service_only} carry service notices only (WeChat forbids marketing in Official Account "
                f"template messages) and this plan's purpose is marketing; for marketing use {', '.join(fitting)}, "
                "or set `purpose: service` if the message is a service notice"
            )
        if "sms" in self.channels and not self.template.sign_name:
            raise ValueError(
                "the plan may send SMS but template.sign_name is empty; SMS vendors need the approved signature "
                "(签名), e.g. `sign_name: 夜班商城` under `template:`"
            )
        if self.budget_fen is not None and self.benefit is None:
            raise ValueError("budget_fen is set but there is no benefit to spend it on; add `benefit:`")
        return self

    def is_active(self, run_date: date) -> bool:
        """Plans an audience on the run date: within its dates, on one of its weekdays."""
        return self.is_running(run_date) and WEEKDAYS[run_date.weekday()] in self.days_of_week

    def is_running(self, run_date: date) -> bool:
        """Within its dates: make-up orders and resends of earlier contacts go out any day, not only on its days."""
        return self.start_date <= run_date <= self.end_date

    @property
    def unit_cost_fen(self) -> int:
        return self.benefit.unit_cost_fen if self.benefit else 0


class QuietHours(_Strict):
    """Local times when nobody is contacted; may wrap midnight (21:00 -> 08:00)."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


class PersonSuppression(_Strict):
    """A profile flag that removes a person from every campaign, recorded as exclusion `reason`."""

    reason: Identifier
    column: str


class Suppression(_Strict):
    person: list[PersonSuppression] = Field(default_factory=list)
    # channel -> profile flags that forbid that channel (on top of `can_receive_<channel>`)
    channel: dict[str, list[str]] = Field(default_factory=dict)
    internal_test_account_column: str = "is_internal_test_account"

    @field_validator("channel")
    @classmethod
    def _known_channels(cls, rules: dict[str, list[str]]) -> dict[str, list[str]]:
        for channel in rules:
            _check_channel(channel)
        return rules


class Reconciliation(_Strict):
    """How long answers may take, and when money is at risk (`reconciliation:` in segments/policy.yml)."""

    # A key with no grant or receipt is `pending` for this many days after its business date, then final.
    lag_days: int = Field(default=3, ge=1, le=30)
    budget_warning_share: float = Field(default=0.8, gt=0)
    budget_critical_share: float = Field(default=1.0, gt=0)
    duplicate_critical_keys: int = Field(default=10, ge=1)
    unplanned_critical_keys: int = Field(default=10, ge=1)
    peak_factor: float = Field(default=5.0, gt=1)
    peak_baseline_days: int = Field(default=7, ge=1)


class Policy(_Strict):
    frequency_caps: dict[str, FrequencyCap] = Field(default_factory=dict)
    reconciliation: Reconciliation = Field(default_factory=Reconciliation)
    quiet_hours: QuietHours | None = None
    # used when a profile's timezone is empty or not a known IANA zone
    default_timezone: str = "Asia/Shanghai"
    suppression: Suppression = Field(default_factory=Suppression)

    @field_validator("frequency_caps")
    @classmethod
    def _known_cap_channels(cls, caps: dict[str, FrequencyCap]) -> dict[str, FrequencyCap]:
        for channel in caps:
            _check_channel(channel)
        return caps

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, zone: str) -> str:
        from zoneinfo import available_timezones

        if zone not in available_timezones():
            raise ValueError(f"unknown IANA time zone {zone!r}, e.g. Asia/Shanghai")
        return zone


SEND_STEP = timedelta(minutes=1)


def first_send_time(window: SendWindow, quiet: QuietHours | None) -> time | None:
    """The earliest local time inside the send window and outside quiet hours (None if there is none).

    Both are local wall-clock times, so the answer is the same for everyone in a campaign; only its UTC instant
    differs per time zone. Minute resolution is what send windows are written in.
    """
    moment = datetime.combine(date.min, window.start)
    end = datetime.combine(date.min, window.end)
    while moment < end:
        if quiet is None or not quiet.contains(moment.time()):
            return moment.time()
        moment += SEND_STEP
    return None
