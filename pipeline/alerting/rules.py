"""Alert rules as configuration: :class:`RuleSpec`, typed and frozen, and its validation.

Rules come from the ``rules:`` list of the configuration file and from every ``*.yaml``/``*.yml``
file of ``rules_dir`` (a file holds one rule, a list of rules, or ``{rules: [...]}``). Every
error is one line naming the file, the rule and the field, e.g.
``rules.d/ct.yaml: rules[1] (ct-kp).realert: not a duration: 'soon'``. A rule's ``kind`` says what it
alerts on; each kind is a module of :mod:`pipeline.alerting.kinds` that declares the keys it takes
besides the common ones (any other is an error) and reads them. Each action names a channel of
:mod:`pipeline.alerting.channels`, which reads its own keys (:func:`pipeline.alerting.actions.parse_action`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.alerting.actions import ActionSpec, parse_action
from pipeline.alerting.kinds import KINDS
from pipeline.alerting.values import fail, flag, number, strings
from pipeline.errors import ConfigError
from pipeline.setting_values import country_code, typed

__all__ = ["SEVERITIES", "ENTITY_KINDS", "RuleSpec", "parse_rules", "read_rules_dir", "check_unique_names",
           "missing_secrets", "require_secrets"]

SEVERITIES = ("info", "warning", "critical")
ENTITY_KINDS = ("persons", "organizations", "places", "groups")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_COMMON_RULE_KEYS = {"name", "kind", "query", "topics", "min_score", "countries", "sources", "entities", "severity",
                     "enabled", "actions", "title_template", "body_template"}


@dataclass(frozen=True)
class RuleSpec:
    """A saved alert rule. ``realert`` None: a story alerts once; else again after that many seconds.
    ``digest`` None: one message per story; else one message per rule per window of that many seconds.

    ``kind`` other than ``item`` (:mod:`pipeline.alerting.kinds`): ``window`` seconds long windows on event time, open
    for ``grace`` seconds after they end; ``spike`` fires when a key's distinct stories in a window
    reach ``min_stories`` and ``ratio`` times the trailing average of the previous ``baseline_windows``
    (at least ``baseline_floor``); ``frequency`` when they reach ``min_stories``; ``flatline`` when a
    closed window holds fewer than ``min_stories``; ``new_term`` on the first story in ``lookback``
    naming a value of ``term_field``, after ``warmup`` from the rule's first story."""

    name: str
    query: str = "*"
    topics: tuple[str, ...] = ()
    min_score: float = 0.0
    countries: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    entities: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    severity: str = "warning"
    realert: float | None = None
    digest: float | None = None
    enabled: bool = True
    actions: tuple[ActionSpec, ...] = (ActionSpec(type="log"),)
    feed_health: bool = False  # also send "feed-health" alerts (a feed turned broken or stale) to the actions
    skip_marked_no: bool = True  # no alert for a story an analyst marked not about the rule's topics
    origin: str = ""  # the file it was defined in, for messages
    kind: str = "item"
    window: float | None = None  # seconds; spike, frequency and flatline
    grace: float = 600.0  # seconds a window stays open for late items after it ends
    baseline_windows: int = 24
    min_stories: int = 3
    ratio: float = 3.0
    baseline_floor: float = 1.0
    group_by: str | None = None  # one of KEY_FIELDS; None = the rule's stories counted together
    term_field: str | None = None  # new_term: the field whose values are watched (one of KEY_FIELDS)
    lookback: float = 30 * 86400.0
    warmup: float = 0.0
    title_template: str | None = None  # Jinja2 over the alert document (pipeline.alerting.templates)
    body_template: str | None = None


def _entities(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise fail(where, f"expected a mapping of {', '.join(ENTITY_KINDS)} to lists of names")
    for kind in raw:
        if kind not in ENTITY_KINDS:
            raise fail(f"{where}.{kind}", f"unknown entity kind (known: {', '.join(ENTITY_KINDS)})")
    return {kind: strings(names, f"{where}.{kind}") for kind, names in raw.items() if names}


def _query(raw: Any, where: str) -> str:
    from pipeline.query import parse_query  # the query package is heavier; keep settings importable alone

    if not isinstance(raw, str):
        raise fail(where, "expected a string")
    try:
        parse_query(raw)
    except ConfigError:
        raise
    except Exception as exc:  # QuerySyntaxError and friends carry a one-line reason
        raise fail(where, str(exc)) from None
    return raw


def _countries(raw: Any, where: str) -> tuple[str, ...]:
    return tuple(typed(country_code, code, where) for code in strings(raw, where))


def _topics(raw: Any, where: str, topic_names: set[str]) -> tuple[str, ...]:
    topics = strings(raw, where)
    for topic in topics:
        if topic not in topic_names:
            raise fail(where, f"unknown topic {topic!r} (known: {', '.join(sorted(topic_names))})")
    return topics


def _kind(raw: Mapping[str, Any], where: str) -> str:
    """The rule's kind, once its keys are known to belong to it."""
    kind = raw.get("kind", "item")
    if kind not in KINDS:
        raise fail(f"{where}.kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")
    known = _COMMON_RULE_KEYS | KINDS[kind].KEYS
    unknown = set(raw) - known
    if unknown:
        of = "" if kind == "item" else f" for a {kind} rule"
        raise fail(f"{where}.{sorted(unknown)[0]}", f"unknown key{of} (known: {', '.join(sorted(known))})")
    for key in KINDS[kind].REQUIRED:
        if raw.get(key) is None:
            raise fail(f"{where}.{key}", f"required for a {kind} rule")
    return str(kind)


def _templates(raw: Mapping[str, Any], where: str, kind: str, feed_health: bool) -> dict[str, Any]:
    """The rule's title and body templates, each checked against the fields of the alerts it sends."""
    from pipeline.alerting.templates import check, fields_for  # Jinja2 loads only for rules that use it

    names = fields_for(kind, raw.get("digest") is not None, feed_health)
    return {key: check(raw[key], f"{where}.{key}", names) for key in ("title_template", "body_template")
            if raw.get(key) is not None}


def _rule(raw: Any, where: str, origin: str, env: Mapping[str, str], topic_names: set[str]) -> RuleSpec:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise fail(f"{where}.name", "required string")
    if not _NAME.match(raw["name"]):
        raise fail(f"{where}.name", f"use letters, digits, '-', '_' and '.', got {raw['name']!r}")
    where = f"{where} ({raw['name']})"
    kind = _kind(raw, where)
    severity = raw.get("severity", "warning")
    if severity not in SEVERITIES:
        raise fail(f"{where}.severity", f"expected one of {', '.join(SEVERITIES)}, got {severity!r}")
    enabled = flag(raw.get("enabled", True), where, "enabled")
    options = KINDS[kind].options(raw, where)
    feed_health = bool(options.get("feed_health", False))
    actions = raw.get("actions") or [{"type": "log"}]
    if not isinstance(actions, list):
        raise fail(f"{where}.actions", "expected a list")
    return RuleSpec(
        name=raw["name"], query=_query(raw.get("query", "NOT *" if feed_health else "*"), f"{where}.query"),
        topics=_topics(raw.get("topics"), f"{where}.topics", topic_names),
        min_score=number(float, raw.get("min_score", 0.0), f"{where}.min_score", 0.0, 1.0),
        countries=_countries(raw.get("countries"), f"{where}.countries"),
        sources=strings(raw.get("sources"), f"{where}.sources"),
        entities=_entities(raw.get("entities"), f"{where}.entities"), severity=severity, enabled=enabled,
        actions=tuple(parse_action(a, f"{where}.actions[{i}]", env) for i, a in enumerate(actions)),
        origin=origin, kind=kind, **options, **_templates(raw, where, kind, feed_health),
    )


def parse_rules(raw: Any, origin: str, env: Mapping[str, str], topic_names: set[str]) -> tuple[RuleSpec, ...]:
    """Validate a list of rules from ``origin`` (a file name); errors read ``origin: rules[i] (name).field``."""
    if raw is None:
        return ()
    if isinstance(raw, Mapping):
        raw = raw["rules"] if set(raw) == {"rules"} else [raw]
    if not isinstance(raw, list):
        raise fail(f"{origin}: rules", "expected a list of rules")
    return tuple(_rule(r, f"{origin}: rules[{i}]", origin, env, topic_names) for i, r in enumerate(raw))


def read_rules_dir(directory: Path) -> list[tuple[str, Any]]:
    """The parsed YAML of every rule file in ``directory``, sorted by name, as (file, document)."""
    if not directory.is_dir():
        raise ConfigError(f"{directory}: rules_dir is not a directory")
    documents = []
    for path in sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()):
        try:
            documents.append((str(path), yaml.safe_load(path.read_text(encoding="utf-8"))))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read rule file: {exc}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" line {mark.line + 1}:" if mark is not None else ""
            reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"{path}:{line} invalid YAML: {reason}") from None
    return documents


def check_unique_names(rules: tuple[RuleSpec, ...]) -> None:
    seen: dict[str, RuleSpec] = {}
    for rule in rules:
        if rule.name in seen:
            raise ConfigError(f"{rule.origin}: rule {rule.name!r}: name already used in {seen[rule.name].origin}")
        seen[rule.name] = rule


def missing_secrets(rules: Sequence[RuleSpec]) -> list[str]:
    """The one-line error of every environment variable an enabled rule's action names and that is
    not set."""
    return [message for rule in rules if rule.enabled for action in rule.actions for message in action.missing]


def require_secrets(rules: Sequence[RuleSpec]) -> None:
    """For the commands that send alerts: a ConfigError (exit 2) naming the first variable not set."""
    missing = missing_secrets(rules)
    if missing:
        raise ConfigError(missing[0] + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
