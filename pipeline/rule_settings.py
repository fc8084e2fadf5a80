"""Alert rules and their actions as configuration: typed, frozen specs and their validation.

Rules come from the ``rules:`` list of the configuration file and from every ``*.yaml``/``*.yml``
file of ``rules_dir`` (a file holds one rule, a list of rules, or ``{rules: [...]}``). Every
error is one line naming the file, the rule and the field, e.g.
``rules.d/ct.yaml: rules[1] (ct-kp).realert: not a duration: 'soon'``. A rule's ``kind`` (:data:`KINDS`)
says what it alerts on: ``item`` (the default: each matching story), ``spike``, ``frequency`` and
``flatline`` (counts of stories per event-time window) or ``new_term`` (the first mention of a name);
each kind accepts its own keys besides the common ones (:data:`KIND_KEYS`), any other is an error. Secrets (webhook
signing secrets, SMTP credentials, URLs that embed a token) are read only from the environment
variables the action names (``url_env``, ``secret_env``, ``username_env``, ``password_env``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.durations import parse_duration
from pipeline.errors import ConfigError
from pipeline.setting_values import country_code, typed

__all__ = [
    "SEVERITIES", "ACTION_TYPES", "ENTITY_KINDS", "KINDS", "WINDOW_KINDS", "KEY_FIELDS", "KIND_KEYS",
    "PATH_HASH_DIGITS", "EmailSpec", "ActionSpec", "RuleSpec",
    "masked_url", "parse_rules", "read_rules_dir", "check_unique_names", "missing_secrets", "require_secrets",
]

SEVERITIES = ("info", "warning", "critical")
ACTION_TYPES = ("log", "webhook", "slack", "teams", "email")
ENTITY_KINDS = ("persons", "organizations", "places", "groups")
_HTTP_TYPES = ("webhook", "slack", "teams")
PATH_HASH_DIGITS = 8  # of the SHA-256 of a webhook URL's path, in the shown and stored target
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

KINDS = ("item", "spike", "frequency", "flatline", "new_term")
WINDOW_KINDS = ("spike", "frequency", "flatline")  # count distinct stories per event-time window
KEY_FIELDS = ("countries", "locations.name", "entities.groups", "entities.places", "entities.organizations",
              "entities.persons", "source", "topics")  # what group_by and a new_term field may name
_COMMON_RULE_KEYS = {"name", "kind", "query", "topics", "min_score", "countries", "sources", "entities", "severity",
                     "enabled", "actions", "title_template", "body_template"}
KIND_KEYS: dict[str, set[str]] = {
    "item": {"realert", "digest", "feed_health", "skip_marked_no"},
    "spike": {"window", "grace", "baseline_windows", "min_stories", "ratio", "baseline_floor", "group_by"},
    "frequency": {"window", "grace", "min_stories", "group_by"},
    "flatline": {"window", "grace", "min_stories"},
    "new_term": {"field", "lookback", "warmup"},
}
_REQUIRED_KEYS = {"spike": ("window",), "frequency": ("window", "min_stories"),
                  "flatline": ("window", "min_stories"), "new_term": ("field",)}
_COMMON_ACTION_KEYS = {"type", "timeout", "max_attempts"}
_ACTION_KEYS = {
    "log": set(),
    "webhook": {"url", "url_env", "secret_env"},
    "slack": {"url", "url_env", "secret_env"},
    "teams": {"url", "url_env", "secret_env"},
    "email": {"host", "port", "from", "to", "starttls", "username_env", "password_env"},
}


@dataclass(frozen=True)
class EmailSpec:
    """SMTP delivery: ``starttls`` upgrades the connection before any credentials are sent."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool = True
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class ActionSpec:
    """Where an alert goes: ``log``, ``webhook`` (generic JSON), ``slack``, ``teams`` or ``email``."""

    type: str
    url: str = field(default="", repr=False)  # may embed a token (Slack, Teams): never logged whole
    secret: str = field(default="", repr=False)
    timeout: float = 10.0
    max_attempts: int = 10
    email: EmailSpec | None = None
    missing: tuple[str, ...] = ()  # one-line errors: environment variables named and not set
    unset: tuple[str, ...] = ()  # those variables' names

    @property
    def target(self) -> str:
        """Who receives it, safe to show, log and store: ``<type>:<scheme>://<host[:port]>/~<hash>``
        (:func:`masked_url`: no credentials, no query, the path only as a short hash), the
        recipients of an e-mail, or the type alone."""
        if self.type == "email" and self.email is not None:
            return "email:" + ",".join(self.email.recipients)
        if self.type in _HTTP_TYPES:
            return f"{self.type}:{masked_url(self.url)}"
        return self.type


@dataclass(frozen=True)
class RuleSpec:
    """A saved alert rule. ``realert`` None: a story alerts once; else again after that many seconds.
    ``digest`` None: one message per story; else one message per rule per window of that many seconds.

    ``kind`` other than ``item`` (:data:`KINDS`): ``window`` seconds long windows on event time, open
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
    title_template: str | None = None  # Jinja2 over the alert document (pipeline.alert_templates)
    body_template: str | None = None


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].split("@")[-1]


def masked_url(url: str) -> str:
    """``url`` without what may carry a secret: ``https://hooks.slack.com/~1a2b3c4d`` for
    ``https://hooks.slack.com/services/T0/B0/XXXX``. The scheme and host (and port) stay; user and
    password, query and fragment go; a path other than ``/`` becomes ``~`` and the first
    :data:`PATH_HASH_DIGITS` hex digits of its SHA-256, so two webhooks on one host stay apart."""
    scheme, _, rest = url.partition("://")
    path = "/" + rest.split("?", 1)[0].split("#", 1)[0].partition("/")[2]
    hashed = "" if path == "/" else "~" + hashlib.sha256(path.encode("utf-8")).hexdigest()[:PATH_HASH_DIGITS]
    return f"{scheme.lower()}://{_host(url).lower()}/{hashed}"


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}")


def _strings(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(v, str) and v.strip() for v in raw):
        raise _fail(where, "expected a list of non-empty strings")
    return tuple(v.strip() for v in raw)


def _duration(raw: Any, where: str, minimum: float, optional: bool = True) -> float | None:
    if raw is None:
        return None
    try:
        seconds = parse_duration(raw)
    except ValueError as exc:
        raise _fail(where, str(exc)) from None
    if seconds < minimum:
        raise _fail(where, f"must be at least {minimum:g}s" + (" (omit the key to turn it off)" if optional else ""))
    return seconds


def _number(convert: Callable[[Any], Any], raw: Any, where: str, low: float, high: float) -> Any:
    if isinstance(raw, bool):
        raise _fail(where, f"expected a number, got {raw!r}")
    try:
        value = convert(raw)
    except (TypeError, ValueError):
        raise _fail(where, f"expected a number, got {raw!r}") from None
    if not low <= value <= high:
        raise _fail(where, f"expected a value from {low:g} to {high:g}, got {raw!r}")
    return value


def _flag(raw: Any, where: str, key: str) -> bool:
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    if not isinstance(raw, bool):
        raise _fail(f"{where}.{key}", f"expected true or false, got {raw!r}")
    return raw


class _Secrets:
    """Reads the variables an action names; an unset one is recorded (the one-line error a command
    that sends will raise), not raised: searching, listing or backtesting needs no secret."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.missing: list[str] = []
        self.unset: list[str] = []

    def get(self, name: Any, where: str) -> str:
        value = self.env.get(str(name), "")
        if not value:
            self.missing.append(str(_fail(where, f"environment variable {name} is not set")))
            self.unset.append(str(name))
        return value


def _http_action(raw: Mapping[str, Any], where: str, secrets: _Secrets) -> dict[str, Any]:
    url = raw.get("url") or ""
    if raw.get("url_env"):
        url = secrets.get(raw["url_env"], f"{where}.url_env")
        if not url:
            url = f"https://{raw['url_env']}.unset.invalid/"  # the .invalid domain never resolves
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise _fail(f"{where}.url", f"a {raw['type']} action needs an http(s) url or url_env")
    secret = secrets.get(raw["secret_env"], f"{where}.secret_env") if raw.get("secret_env") else ""
    return {"url": url, "secret": secret}


def _email_action(raw: Mapping[str, Any], where: str, secrets: _Secrets) -> EmailSpec:
    for key in ("host", "from"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise _fail(f"{where}.{key}", "required string")
    recipients = _strings(raw.get("to"), f"{where}.to")
    if not recipients or not all("@" in r for r in (*recipients, raw["from"])):
        raise _fail(f"{where}.to", "expected one or more e-mail addresses (and an address in 'from')")
    starttls = _flag(raw.get("starttls", True), where, "starttls")
    port = _number(int, raw.get("port", 587 if starttls else 25), f"{where}.port", 1, 65535)
    username = secrets.get(raw["username_env"], f"{where}.username_env") if raw.get("username_env") else ""
    password = secrets.get(raw["password_env"], f"{where}.password_env") if raw.get("password_env") else ""
    if bool(raw.get("username_env")) != bool(raw.get("password_env")):
        raise _fail(where, "username_env and password_env go together")
    return EmailSpec(raw["host"].strip(), port, raw["from"].strip(), recipients, starttls, username, password)


def _action(raw: Any, where: str, env: Mapping[str, str]) -> ActionSpec:
    if not isinstance(raw, Mapping) or raw.get("type") not in ACTION_TYPES:
        raise _fail(f"{where}.type", f"expected one of {', '.join(ACTION_TYPES)}")
    kind = raw["type"]
    unknown = set(raw) - _COMMON_ACTION_KEYS - _ACTION_KEYS[kind]
    if unknown:
        raise _fail(f"{where}.{sorted(unknown)[0]}", f"unknown key for a {kind} action")
    common: dict[str, Any] = {
        "timeout": _duration(raw.get("timeout", 10), f"{where}.timeout", 0.001),
        "max_attempts": _number(int, raw.get("max_attempts", 10), f"{where}.max_attempts", 1, 1000),
    }
    secrets = _Secrets(env)
    if kind in _HTTP_TYPES:
        common.update(_http_action(raw, where, secrets))
    elif kind == "email":
        common["email"] = _email_action(raw, where, secrets)
    return ActionSpec(type=kind, missing=tuple(secrets.missing), unset=tuple(secrets.unset), **common)


def _entities(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _fail(where, f"expected a mapping of {', '.join(ENTITY_KINDS)} to lists of names")
    for kind in raw:
        if kind not in ENTITY_KINDS:
            raise _fail(f"{where}.{kind}", f"unknown entity kind (known: {', '.join(ENTITY_KINDS)})")
    return {kind: _strings(names, f"{where}.{kind}") for kind, names in raw.items() if names}


def _query(raw: Any, where: str) -> str:
    from pipeline.query import parse_query  # the query package is heavier; keep settings importable alone

    if not isinstance(raw, str):
        raise _fail(where, "expected a string")
    try:
        parse_query(raw)
    except ConfigError:
        raise
    except Exception as exc:  # QuerySyntaxError and friends carry a one-line reason
        raise _fail(where, str(exc)) from None
    return raw


def _countries(raw: Any, where: str) -> tuple[str, ...]:
    return tuple(typed(country_code, code, where) for code in _strings(raw, where))


def _topics(raw: Any, where: str, topic_names: set[str]) -> tuple[str, ...]:
    topics = _strings(raw, where)
    for topic in topics:
        if topic not in topic_names:
            raise _fail(where, f"unknown topic {topic!r} (known: {', '.join(sorted(topic_names))})")
    return topics


def _count(raw: Any, where: str, low: int, high: int) -> int:
    if isinstance(raw, float) and not raw.is_integer():
        raise _fail(where, f"expected a whole number, got {raw!r}")
    value: int = _number(int, raw, where, low, high)
    return value


def _key_field(raw: Any, where: str) -> str:
    if raw not in KEY_FIELDS:
        raise _fail(where, f"expected one of {', '.join(KEY_FIELDS)}, got {raw!r}")
    return str(raw)


def _kind(raw: Mapping[str, Any], where: str) -> str:
    """The rule's kind, once its keys are known to belong to it."""
    kind = raw.get("kind", "item")
    if kind not in KINDS:
        raise _fail(f"{where}.kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")
    known = _COMMON_RULE_KEYS | KIND_KEYS[kind]
    unknown = set(raw) - known
    if unknown:
        of = "" if kind == "item" else f" for a {kind} rule"
        raise _fail(f"{where}.{sorted(unknown)[0]}", f"unknown key{of} (known: {', '.join(sorted(known))})")
    for key in _REQUIRED_KEYS.get(kind, ()):
        if raw.get(key) is None:
            raise _fail(f"{where}.{key}", f"required for a {kind} rule")
    return str(kind)


def _kind_options(raw: Mapping[str, Any], where: str, kind: str) -> dict[str, Any]:
    """The RuleSpec fields of a kind other than ``item``."""
    if kind == "item":
        return {}
    if kind == "new_term":
        return {"term_field": _key_field(raw["field"], f"{where}.field"),
                "lookback": _duration(raw.get("lookback", "30d"), f"{where}.lookback", 3600.0, False),
                "warmup": _duration(raw.get("warmup", 0), f"{where}.warmup", 0.0)}
    options: dict[str, Any] = {
        "window": _duration(raw["window"], f"{where}.window", 60.0, False),
        "grace": _duration(raw.get("grace", "10m"), f"{where}.grace", 0.0),
        "min_stories": _count(raw.get("min_stories", 3), f"{where}.min_stories", 1, 1_000_000),
    }
    if "group_by" in raw:
        options["group_by"] = _key_field(raw["group_by"], f"{where}.group_by")
    if kind == "spike":
        options["baseline_windows"] = _count(raw.get("baseline_windows", 24), f"{where}.baseline_windows", 1, 1000)
        options["ratio"] = _number(float, raw.get("ratio", 3.0), f"{where}.ratio", 1.0, 1000.0)
        options["baseline_floor"] = _number(float, raw.get("baseline_floor", 1.0), f"{where}.baseline_floor",
                                            0.01, 1_000_000.0)
    return options


def _templates(raw: Mapping[str, Any], where: str, kind: str, feed_health: bool) -> dict[str, Any]:
    """The rule's title and body templates, each checked against the fields of the alerts it sends."""
    from pipeline.alert_templates import check, fields_for  # Jinja2 loads only for rules that use it

    names = fields_for(kind, raw.get("digest") is not None, feed_health)
    return {key: check(raw[key], f"{where}.{key}", names) for key in ("title_template", "body_template")
            if raw.get(key) is not None}


def _rule(raw: Any, where: str, origin: str, env: Mapping[str, str], topic_names: set[str]) -> RuleSpec:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise _fail(f"{where}.name", "required string")
    if not _NAME.match(raw["name"]):
        raise _fail(f"{where}.name", f"use letters, digits, '-', '_' and '.', got {raw['name']!r}")
    where = f"{where} ({raw['name']})"
    kind = _kind(raw, where)
    severity = raw.get("severity", "warning")
    if severity not in SEVERITIES:
        raise _fail(f"{where}.severity", f"expected one of {', '.join(SEVERITIES)}, got {severity!r}")
    enabled = _flag(raw.get("enabled", True), where, "enabled")
    feed_health = _flag(raw.get("feed_health", False), where, "feed_health")
    skip_marked_no = _flag(raw.get("skip_marked_no", True), where, "skip_marked_no")
    actions = raw.get("actions") or [{"type": "log"}]
    if not isinstance(actions, list):
        raise _fail(f"{where}.actions", "expected a list")
    return RuleSpec(
        name=raw["name"], query=_query(raw.get("query", "NOT *" if feed_health else "*"), f"{where}.query"),
        topics=_topics(raw.get("topics"), f"{where}.topics", topic_names),
        min_score=_number(float, raw.get("min_score", 0.0), f"{where}.min_score", 0.0, 1.0),
        countries=_countries(raw.get("countries"), f"{where}.countries"),
        sources=_strings(raw.get("sources"), f"{where}.sources"),
        entities=_entities(raw.get("entities"), f"{where}.entities"), severity=severity,
        realert=_duration(raw.get("realert"), f"{where}.realert", 1.0),
        digest=_duration(raw.get("digest"), f"{where}.digest", 60.0), enabled=enabled,
        actions=tuple(_action(a, f"{where}.actions[{i}]", env) for i, a in enumerate(actions)),
        feed_health=feed_health, skip_marked_no=skip_marked_no, origin=origin, kind=kind,
        **_kind_options(raw, where, kind), **_templates(raw, where, kind, feed_health),
    )


def parse_rules(raw: Any, origin: str, env: Mapping[str, str], topic_names: set[str]) -> tuple[RuleSpec, ...]:
    """Validate a list of rules from ``origin`` (a file name); errors read ``origin: rules[i] (name).field``."""
    if raw is None:
        return ()
    if isinstance(raw, Mapping):
        raw = raw["rules"] if set(raw) == {"rules"} else [raw]
    if not isinstance(raw, list):
        raise _fail(f"{origin}: rules", "expected a list of rules")
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
