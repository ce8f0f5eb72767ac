"""Rule segments: `segments/<name>.yml`, a tree of tag conditions that compiles to the SQL every segment runs.

    name: ios_champions                      # the same header fields as a SQL segment
    owner: crm-ops
    description: iOS champions who are not coupon hunters
    refresh: daily                           # optional
    sample: 10%                              # optional: 10% or 1000 people, deterministic (sampling.py)
    rule:
      all:                                   # all / any: a list of rules; not: one rule
        - device_os: ios                     # tag = value
        - rfm_segment: [champion, loyal]     # tag in values
        - rfm_m_score: {">=": 4}             # =, !=, <, <=, >, >=, in, not in (ANDed when several)
        - not: {coupon_sensitivity: high}
        - had: {tag: lifecycle_stage, value: active, on: 2026-11-19}   # the tag history

Every tag and value is checked against the tag catalogue (`catalogue.py`); a problem is a SegmentError at the
file's line with a suggestion. The rule compiles to `SELECT one_id FROM marts.user_profile WHERE ...` over the
profile's tag columns (one column per catalogue tag), which then goes through the same validation, bitmap preview
and nightly Spark run as an analyst's SQL, so the two can never disagree. Conditions keep SQL's three-valued
logic: a person without the tag is in neither `tier: gold` nor `not: {tier: gold}`, exactly as the bitmap
preview counts. List tags (categories_browsed) compare by containment: `categories_browsed: phone` is
`has(categories_browsed, 'phone')`. `had` reads `marts.user_tag_periods` (the tag history, periods of run dates).
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path

import yaml
from sqlglot import exp

from nightshift.segments.catalogue import TagSpec, tag_catalogue
from nightshift.segments.files import (
    OPTIONAL_HEADER_KEYS,
    REFRESH_VALUES,
    REQUIRED_HEADER_KEYS,
    SEGMENT_NAME,
    SegmentError,
    SegmentFile,
    closest,
)
from nightshift.segments.sampling import parse_sample
from nightshift.segments.sql import DIALECT

RULE_SUFFIX = ".yml"
# YAML files in segments/ that are not segments
RESERVED_FILES = frozenset({"policy.yml"})
CONNECTIVES = ("all", "any", "not", "had")
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "in", "not in")
ORDER_OPERATORS = frozenset({"<", "<=", ">", ">="})
HISTORY_TABLE = "marts.user_tag_periods"
# tag types whose history values are plain text we can compare (decimals and lists are rendered, dates too)
HISTORY_VALUE_TYPES = frozenset({"enum", "boolean", "integer", "string"})
INDENT = "    "
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _quote(value: str) -> str:
    return exp.Literal.string(value).sql(DIALECT)


def _column(code: str) -> str:
    return exp.to_identifier(code).sql(DIALECT)


class _RuleCompiler:
    """Walks the YAML node tree (nodes keep their line and column) and writes the SQL condition."""

    def __init__(self, path: Path, catalogue: dict[str, TagSpec]) -> None:
        self.path = path
        self.catalogue = catalogue

    def error(self, node: yaml.Node, message: str, hint: str = "") -> SegmentError:
        mark = node.start_mark
        return SegmentError(self.path, mark.line + 1, mark.column + 1, message, hint)

    def scalar(self, node: yaml.Node, what: str) -> object:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, f"{what} must be a single value.", "Write it as `tag: value`.")
        return _CONSTRUCTOR.construct_object(node, deep=True)

    # -- the tree -------------------------------------------------------------------------------------------------
    def condition(self, node: yaml.Node, depth: int = 0) -> str:
        if not isinstance(node, yaml.MappingNode) or not node.value:
            raise self.error(
                node,
                "a rule is a mapping such as `device_os: ios` or `all: [...]`.",
                "Use `all:`, `any:`, `not:`, `had:` or a tag code from the tag catalogue.",
            )
        if len(node.value) != 1:
            keys = ", ".join(str(key.value) for key, _ in node.value)
            raise self.error(
                node, f"one condition per rule item, found {keys}.", "List several conditions under `all:` or `any:`."
            )
        key_node, value_node = node.value[0]
        key = str(key_node.value)
        if key in ("all", "any"):
            return self.connective(key, value_node, depth)
        if key == "not":
            return f"NOT ({self.condition(value_node, depth)})"
        if key == "had":
            return self.history(value_node)
        return self.tag_condition(key_node, value_node)

    def connective(self, key: str, node: yaml.Node, depth: int) -> str:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.error(node, f"`{key}:` needs a list of rules.", f"Write `{key}:` then lines `- tag: value`.")
        parts = [self.condition(child, depth + 1) for child in node.value]
        if len(parts) == 1:
            return parts[0]
        joiner = f"\n{INDENT * (depth + 1)}{'AND' if key == 'all' else 'OR'} "
        return f"(\n{INDENT * (depth + 1)}" + joiner.join(parts) + f"\n{INDENT * depth})"

    def tag(self, node: yaml.Node) -> TagSpec:
        code = str(node.value)
        spec = self.catalogue.get(code)
        if spec is None:
            guess = closest(code, set(self.catalogue) | set(CONNECTIVES))
            hint = f"Did you mean `{guess}`?" if guess else "See dbt_project/seeds/tag_catalogue.csv for tag codes."
            raise self.error(node, f"unknown tag `{code}`.", hint)
        return spec

    # -- tag conditions -------------------------------------------------------------------------------------------
    def tag_condition(self, key_node: yaml.Node, value_node: yaml.Node) -> str:
        spec = self.tag(key_node)
        if isinstance(value_node, yaml.MappingNode):
            if not value_node.value:
                raise self.error(value_node, f"no comparison given for `{spec.code}`.", 'Write e.g. `{">=": 4}`.')
            parts = []
            for operator_node, operand in value_node.value:
                operator = str(operator_node.value).strip().lower()
                if operator not in OPERATORS:
                    guess = closest(operator, OPERATORS)
                    hint = f"Did you mean `{guess}`?" if guess else f"Use one of {', '.join(OPERATORS)}."
                    raise self.error(operator_node, f"unknown comparison `{operator_node.value}`.", hint)
                parts.append(self.comparison(spec, operator, operator_node, operand))
            return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"
        operator = "in" if isinstance(value_node, yaml.SequenceNode) else "="
        return self.comparison(spec, operator, key_node, value_node)

    def comparison(self, spec: TagSpec, operator: str, at: yaml.Node, operand: yaml.Node) -> str:
        column = _column(spec.code)
        if operator in ORDER_OPERATORS and not spec.is_ordered:
            raise self.error(
                at,
                f"`{spec.code}` is a {spec.type} tag: it cannot be compared with {operator}.",
                "Use =, !=, in or not in (< and > need an integer, decimal or date tag).",
            )
        if operator in ("in", "not in"):
            if not isinstance(operand, yaml.SequenceNode) or not operand.value:
                raise self.error(operand, f"`{operator}` needs a list of values.", "Write e.g. `[champion, loyal]`.")
            literals = [self.literal(spec, item) for item in operand.value]
        else:
            literals = [self.literal(spec, operand)]
        negate = operator in ("!=", "not in")
        if spec.type == "boolean":
            if operator not in ("=", "!="):
                raise self.error(at, f"`{spec.code}` is true or false: use `{spec.code}: true` or `false`.")
            # the profile column is a 0/1 flag; a bare flag is a condition in both engines
            wanted = (literals[0] == "true") != negate
            return column if wanted else f"NOT {column}"
        if spec.type == "list":
            contains = [f"has({column}, {literal})" for literal in literals]
            either = contains[0] if len(contains) == 1 else "(" + " OR ".join(contains) + ")"
            return f"NOT {either}" if negate else either
        if operator in ("in", "not in"):
            return f"{column} {operator.upper()} ({', '.join(literals)})"
        return f"{column} {operator} {literals[0]}"

    def literal(self, spec: TagSpec, node: yaml.Node) -> str:
        """The SQL literal for one value of the tag, after checking it against the catalogue."""
        value = self.value(spec, node)
        if isinstance(value, dt.date):
            return f"toDate({_quote(value.isoformat())})"
        if isinstance(value, int | float) or spec.type == "boolean":
            return str(value) if not isinstance(value, float) else repr(value)
        return _quote(value)

    def value(self, spec: TagSpec, node: yaml.Node) -> str | int | float | dt.date:
        """One value of the tag, checked against the catalogue ('true'/'false' for boolean tags)."""
        value = self.scalar(node, f"a value of `{spec.code}`")
        if spec.type == "boolean":
            text = str(value).lower()
            if text not in ("true", "false"):
                raise self.error(node, f"`{spec.code}` is true or false, not {value!r}.")
            return text
        if spec.type in ("enum", "list"):
            text = str(value)
            if text not in spec.allowed_values:
                guess = next(iter(difflib.get_close_matches(text, spec.allowed_values, n=1, cutoff=0.6)), None)
                hint = f"Did you mean `{guess}`?" if guess else f"Allowed: {', '.join(spec.allowed_values)}."
                raise self.error(node, f"unknown value {text!r} for tag `{spec.code}`.", hint)
            return text
        if spec.type == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.error(node, f"`{spec.code}` is an integer tag, not {value!r}.", "Write a whole number.")
            outside = (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high)
            if outside:
                bounds = f"{spec.low if spec.low is not None else ''}..{spec.high if spec.high is not None else ''}"
                raise self.error(node, f"{value} is outside `{spec.code}`'s range {bounds}.", "No one could match it.")
            return value
        if spec.type == "decimal":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.error(node, f"`{spec.code}` is a number, not {value!r}.")
            return value
        if spec.type == "date":
            return self.date(node, value, spec.code)
        if isinstance(value, dt.date | bool) or value is None:
            raise self.error(node, f"`{spec.code}` is text: quote the value.", f"Write `{spec.code}: '{node.value}'`.")
        return str(value)

    def date(self, node: yaml.Node, value: object, what: str) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise self.error(node, f"{what}: {value!r} is not a date.", "Write it as YYYY-MM-DD.") from None

    # -- tag history ----------------------------------------------------------------------------------------------
    def history(self, node: yaml.Node) -> str:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, "`had:` needs `tag:` and `on:`.", "Write `had: {tag: X, value: V, on: 2026-11-19}`.")
        fields = {str(key.value): (key, value) for key, value in node.value}
        for key, (key_node, _) in fields.items():
            if key not in ("tag", "value", "on"):
                guess = closest(key, ("tag", "value", "on"))
                raise self.error(
                    key_node, f"unknown `had:` field `{key}`.", f"Did you mean `{guess}`?" if guess else ""
                )
        for required in ("tag", "on"):
            if required not in fields:
                raise self.error(node, f"`had:` is missing `{required}:`.", "Write `had: {tag: X, on: 2026-11-19}`.")
        spec = self.tag(fields["tag"][1])
        on_node = fields["on"][1]
        on = self.date(on_node, self.scalar(on_node, "`on:`"), "`on:`")
        conditions = [f"tag_code = {_quote(spec.code)}"]
        if "value" in fields:
            value_node = fields["value"][1]
            if spec.type not in HISTORY_VALUE_TYPES:
                raise self.error(
                    value_node, f"the history of `{spec.code}` ({spec.type}) can only be asked without `value:`."
                )
            items = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            # tag history holds values as text: 'true'/'false', '5', 'ios'
            texts = [str(self.value(spec, item)) for item in items]
            conditions.append(f"tag_value IN ({', '.join(_quote(text) for text in texts)})")
        else:
            conditions.append("tag_value IS NOT NULL")
        day = f"toDate({_quote(on.isoformat())})"
        conditions.append(f"valid_from_date <= {day} AND (valid_to_date > {day} OR valid_to_date IS NULL)")
        return f"one_id IN (SELECT one_id FROM {HISTORY_TABLE} WHERE {' AND '.join(conditions)})"


def compile_rule_node(node: yaml.Node, path: Path, catalogue: dict[str, TagSpec] | None = None) -> str:
    """The ClickHouse SELECT a rule tree stands for."""
    condition = _RuleCompiler(path, catalogue or tag_catalogue()).condition(node)
    return f"SELECT one_id\nFROM marts.user_profile\nWHERE {condition}"


def _compose(text: str, path: Path) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SegmentError(
            path, line, column, f"not valid YAML: {error.problem}.", "Check indentation and quotes."
        ) from None
    except yaml.YAMLError as error:
        raise SegmentError(path, 1, 1, f"not valid YAML: {error}.", "Check indentation and quotes.") from None


def _header(path: Path, fields: dict[str, tuple[yaml.Node, yaml.Node]], compiler: _RuleCompiler) -> dict[str, str]:
    allowed = (*REQUIRED_HEADER_KEYS, *OPTIONAL_HEADER_KEYS, "rule")
    for key, (key_node, _) in fields.items():
        if key not in allowed:
            guess = closest(key, allowed)
            hint = f"Did you mean `{guess}:`?" if guess else f"Allowed keys: {', '.join(allowed)}."
            raise compiler.error(key_node, f"unknown key {key!r}.", hint)
    header = {
        key: str(compiler.scalar(value, f"`{key}:`") or "") for key, (_, value) in fields.items() if key != "rule"
    }
    missing = [key for key in (*REQUIRED_HEADER_KEYS, "rule") if key not in fields or not header.get(key, "x")]
    if missing:
        raise SegmentError(
            path,
            1,
            1,
            f"rule segment is missing {', '.join(missing)}.",
            "Start the file with `name:`, `owner:`, `description:` lines and put the conditions under `rule:`.",
        )
    name_node = fields["name"][1]
    if not SEGMENT_NAME.match(header["name"]):
        raise compiler.error(name_node, f"segment name {header['name']!r} is not a lowercase identifier.")
    if header["name"] != path.stem:
        raise compiler.error(
            name_node,
            f"name {header['name']!r} does not match the file name {path.stem!r}.",
            f"Rename the file to {header['name']}{RULE_SUFFIX} or set `name: {path.stem}`.",
        )
    if header.get("sample"):
        try:
            parse_sample(header["sample"], header["name"])
        except ValueError as error:
            raise compiler.error(
                fields["sample"][1], f"{error}.", "Write e.g. `sample: 10%` or `sample: 1000`."
            ) from None
    if "refresh" in header and header["refresh"] not in REFRESH_VALUES:
        raise compiler.error(
            fields["refresh"][1], f"refresh {header['refresh']!r} is not one of {', '.join(REFRESH_VALUES)}."
        )
    return header


def parse_rule_file(path: Path, catalogue: dict[str, TagSpec] | None = None) -> SegmentFile:
    """A rule segment file as a SegmentFile whose SQL is the compiled rule; raises SegmentError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise SegmentError(path, 1, 1, f"the file is not UTF-8 ({error.reason}).", "Save it as UTF-8.") from None
    root = _compose(text, path)
    compiler = _RuleCompiler(path, catalogue or tag_catalogue())
    if not isinstance(root, yaml.MappingNode):
        raise SegmentError(path, 1, 1, "a rule segment is a YAML mapping.", "Start with `name: <file name>`.")
    fields = {str(key.value): (key, value) for key, value in root.value}
    header = _header(path, fields, compiler)
    rule_key, rule_node = fields["rule"]
    sql = compile_rule_node(rule_node, path, compiler.catalogue)
    return SegmentFile(header["name"], path, sql, rule_key.start_mark.line + 1, header, kind="rule")


def parse_rule_text(text: str, name: str = "unsaved_rule", catalogue: dict[str, TagSpec] | None = None) -> SegmentFile:
    """An unsaved rule (e.g. given on the command line: `{all: [{device_os: ios}, {gender: female}]}`)."""
    path = Path("<command line>")
    root = _compose(text, path)
    if root is None:
        raise SegmentError(path, 1, 1, "the rule is empty.", "Give e.g. `{all: [{device_os: ios}]}`.")
    sql = compile_rule_node(root, path, catalogue)
    header = {"name": name, "owner": "command line", "description": "unsaved rule"}
    return SegmentFile(name, path, sql, 1, header, kind="rule")
