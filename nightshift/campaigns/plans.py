"""Loading and validating campaign plans and the global policy.

Every problem is reported as `<file>: <field>: <what is wrong and what to do>`. A bad plan is set aside with its
errors and never stops the valid ones; a bad policy stops everything, because every campaign depends on it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from nightshift.campaigns.models import CampaignPlan, Policy, first_send_time
from nightshift.contracts import USER_PROFILE_COLUMNS
from nightshift.errors import NightshiftError
from nightshift.segments.catalogue import TAG_CATALOGUE
from nightshift.settings import PROJECT_ROOT

CAMPAIGNS_DIR = PROJECT_ROOT / "segments" / "campaigns"
POLICY_PATH = PROJECT_ROOT / "segments" / "policy.yml"


def documented_profile_columns() -> set[str]:
    """Profile columns known without a warehouse: the data contract plus every tag code of the catalogue (the
    profile has one column per catalogue tag besides the contract's columns)."""
    import csv

    columns = set(USER_PROFILE_COLUMNS)
    if TAG_CATALOGUE.exists():
        with TAG_CATALOGUE.open(encoding="utf-8", newline="") as catalogue:
            columns |= {row["code"] for row in csv.DictReader(catalogue) if row.get("code")}
    return columns


@dataclass(frozen=True)
class PlanError:
    path: Path
    field: str
    message: str

    def __str__(self) -> str:
        return f"{_display(self.path)}: {self.field}: {self.message}"


@dataclass
class PlanSet:
    plans: list[CampaignPlan] = field(default_factory=list)
    errors: list[PlanError] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)  # campaign id -> file

    def active(self, run_date: date) -> list[CampaignPlan]:
        return [plan for plan in self.plans if plan.is_active(run_date)]

    def get(self, campaign_id: str) -> CampaignPlan:
        for plan in self.plans:
            if plan.id == campaign_id:
                return plan
        problems = [str(error) for error in self.errors if error.path.stem == campaign_id]
        if problems:
            raise NightshiftError(f"Campaign {campaign_id!r} is invalid:\n  " + "\n  ".join(problems))
        known = ", ".join(sorted(plan.id for plan in self.plans)) or "none"
        raise NightshiftError(f"No campaign {campaign_id!r} in {_display(CAMPAIGNS_DIR)}; valid campaigns: {known}")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _read_yaml(path: Path) -> tuple[object, list[PlanError]]:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")), []
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        return None, [PlanError(path, where, f"not valid YAML: {getattr(error, 'problem', error)}")]


def _pydantic_errors(path: Path, error: ValidationError) -> list[PlanError]:
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field; the fields are those of CampaignPlan in nightshift/campaigns/models.py"
        elif item["type"] == "missing":
            message = "required field is missing"
        problems.append(PlanError(path, location, message))
    return problems


def _parse(model: type[BaseModel], path: Path) -> tuple[BaseModel | None, list[PlanError]]:
    data, problems = _read_yaml(path)
    if problems:
        return None, problems
    if not isinstance(data, dict):
        return None, [PlanError(path, "(top level)", "expected a YAML mapping of field: value")]
    try:
        return model.model_validate(data), []
    except ValidationError as error:
        return None, _pydantic_errors(path, error)


def _unknown(name: str, known: Iterable[str], what: str) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what} {name!r}{hint}"


def check_plan(
    plan: CampaignPlan, path: Path, known_segments: set[str] | None, known_columns: set[str], policy: Policy
) -> list[PlanError]:
    """Checks of a well-formed plan against the outside world: file name, segments, profile columns, policy.

    `known_segments=None` skips the segment check (for readers that only need a plan's template or benefit).
    """
    problems = []
    if plan.id != path.stem:
        problems.append(PlanError(path, "id", f"id {plan.id!r} must match the file name {path.stem!r}"))
    for key in ("include_segments", "exclude_segments"):
        for index, segment in enumerate(getattr(plan, key)):
            if known_segments is not None and segment not in known_segments:
                problems.append(PlanError(path, f"{key}.{index}", _unknown(segment, known_segments, "segment")))
    for param, column in plan.template.params.items():
        if column not in known_columns:
            message = (
                _unknown(column, known_columns, "profile column")
                + " (see nightshift/contracts.py and dbt_project/seeds/tag_catalogue.csv)"
            )
            problems.append(PlanError(path, f"template.params.{param}", message))
    if first_send_time(plan.send_window, policy.quiet_hours) is None:
        quiet = policy.quiet_hours
        problems.append(
            PlanError(
                path,
                "send_window",
                f"{plan.send_window.start}-{plan.send_window.end} lies entirely inside the quiet hours "
                f"{quiet.start}-{quiet.end} of segments/policy.yml; move the window",
            )
        )
    return problems


def load_policy(path: Path = POLICY_PATH, known_columns: set[str] | None = None) -> Policy:
    """The global policy; raises NightshiftError listing every problem (no campaign runs under a bad policy)."""
    known_columns = known_columns or documented_profile_columns()
    if not path.exists():
        raise NightshiftError(f"{_display(path)}: the global campaign policy file is missing; create it")
    policy, problems = _parse(Policy, path)
    if policy is not None:
        rules = policy.suppression
        columns = [(f"suppression.person.{i}.column", rule.column) for i, rule in enumerate(rules.person)]
        columns += [
            (f"suppression.channel.{channel}.{i}", column)
            for channel, flags in rules.channel.items()
            for i, column in enumerate(flags)
        ]
        columns.append(("suppression.internal_test_account_column", rules.internal_test_account_column))
        problems += [
            PlanError(path, where, _unknown(column, known_columns, "profile column"))
            for where, column in columns
            if column not in known_columns
        ]
    if problems:
        raise NightshiftError("Invalid campaign policy:\n  " + "\n  ".join(str(problem) for problem in problems))
    return policy


def load_plans(
    directory: Path = CAMPAIGNS_DIR,
    known_segments: Iterable[str] | None = (),
    known_columns: Iterable[str] | None = None,
    policy: Policy | None = None,
) -> PlanSet:
    """Every `*.yml` plan in `directory`, split into valid plans and per-file errors."""
    known_segments = set(known_segments) if known_segments is not None else None
    known_columns = set(known_columns) if known_columns is not None else documented_profile_columns()
    policy = policy or Policy()
    result = PlanSet()
    for path in sorted(directory.glob("*.yml")):
        plan, problems = _parse(CampaignPlan, path)
        if plan is not None:
            problems = check_plan(plan, path, known_segments, known_columns, policy)
        if problems:
            result.errors.extend(problems)
        else:
            result.plans.append(plan)
            result.paths[plan.id] = path
    return result


def known_segment_names() -> set[str]:
    """Names of the segments defined in the repository (what plans may include or exclude): SQL and rule segment
    files and uploaded lists (`segments/uploads/<name>.csv`). Names come from file names (a segment's header must
    match its file), so one broken segment does not hide the others from plan validation."""
    from nightshift.segments.files import SEGMENTS_DIR
    from nightshift.segments.loading import segment_paths

    uploads = SEGMENTS_DIR / "uploads"
    return {path.stem for path in segment_paths()} | {path.stem for path in uploads.glob("*.csv")}
