"""A rule's own title and body for its alerts: Jinja2 templates rendered in Jinja2's sandbox.

A rule may set ``title_template`` and ``body_template``, written over the fields of the alert document
(docs/alert-payload.schema.json): ``{{ item.title }}``, ``{{ count }}``, ``{{ key }}``,
``{% for s in stories %}...{% endfor %}``. The rendered text is plain: every channel escapes it for
its own markup as it does feed text (Slack mrkdwn, Teams markdown, HTML in e-mail), so a template
cannot add markup, and neither can the feed text it pulls in. The title replaces the headline of
every message (Slack header and notification text, Teams heading, e-mail subject), on one line;
the body comes first, above the stories. Both are stored on the alert document as ``title`` and ``body``, so the
generic webhook receives them too.

:func:`check` runs when the configuration loads: a syntax error, a name that is not a field of the
rule's alerts, or a trial rendering the sandbox refuses (``{{ ''.__class__ }}``) is a one-line
:class:`~pipeline.errors.ConfigError`. :func:`render` never raises: a template that fails on a real
alert (say, arithmetic on a missing value) leaves the alert with its default headline, logged.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from pipeline.errors import ConfigError

__all__ = ["MAX_TITLE", "MAX_BODY", "fields_for", "check", "render", "with_text"]

logger = logging.getLogger(__name__)

MAX_TITLE, MAX_BODY = 300, 3000  # characters kept of a rendered title and body

_ENVELOPE = {"schema", "id", "kind", "rule", "severity", "query", "created_at"}
_STORY = {"story_id", "seq", "matched_at", "item", "story_url"}
_FIELDS = {
    "story": _STORY,
    "digest": {"window", "stories"},
    "feed-health": {"story_id", "seq", "matched_at", "item", "feed"},
    "window": {"window", "group_by", "key", "count", "baseline", "threshold", "stories"},
    "new_term": _STORY | {"field", "term", "first_seen"},
}
_ENV = ImmutableSandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True)


def fields_for(kind: str, digest: bool, feed_health: bool) -> frozenset[str]:
    """The top-level fields of the alerts a rule of ``kind`` sends (an item rule: story alerts, or
    digests with ``digest`` set, and feed-health alerts with ``feed_health``)."""
    if kind in ("spike", "frequency", "flatline"):
        names = _FIELDS["window"]
    elif kind == "new_term":
        names = _FIELDS["new_term"]
    else:
        names = _FIELDS["digest"] if digest else _FIELDS["story"]
        names = names | (_FIELDS["feed-health"] if feed_health else set())
    return frozenset(_ENVELOPE | names)


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    return _ENV.from_string(source)


def _sample(names: frozenset[str]) -> dict[str, Any]:
    """An alert document with every field the rule's alerts may carry, for the trial rendering."""
    brief = {"id": "i1", "title": "Sample title", "summary": "Sample summary", "url": "https://example.org/a",
             "source": "Sample", "published": "2026-01-02T10:00:00Z", "fetched_at": "2026-01-02T10:00:00Z",
             "topics": ["counterterrorism"], "scores": {"counterterrorism": 0.9}, "countries": ["PK"],
             "entities": {"groups": ["Sample group"]}, "locations": [{"name": "Quetta"}]}
    window = {"start": "2026-01-02T10:00:00Z", "end": "2026-01-02T11:00:00Z"}
    values: dict[str, Any] = {
        "schema": "newsmon.alert/1", "id": "r/story/s1/0", "kind": "story", "rule": "r", "severity": "warning",
        "query": "*", "created_at": window["end"], "story_id": "s1", "seq": 0, "matched_at": window["end"],
        "item": brief, "story_url": "https://newsmon.example.org/story/s1", "window": window,
        "stories": [{"story_id": "s1", "seq": 0, "matched_at": window["end"], "event_at": window["start"],
                     "item": brief, "story_url": "https://newsmon.example.org/story/s1"}],
        "group_by": "locations.name", "key": "Quetta", "count": 5, "baseline": 1.5,
        "threshold": {"min_stories": 3, "ratio": 3.0}, "field": "entities.groups", "term": "Sample group",
        "first_seen": window["start"], "feed": {"id": "f", "url": "https://example.org/feed", "status": "broken",
                                                 "reason": "3 errors in a row", "error_streak": 3},
    }
    return {name: value for name, value in values.items() if name in names}


def check(source: Any, where: str, names: frozenset[str]) -> str:
    """``source`` when it is a template that compiles, names only ``names`` and renders a sample alert
    in the sandbox; else a ConfigError naming ``where``."""
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(f"{where}: expected a non-empty template string")
    try:
        unknown = sorted(meta.find_undeclared_variables(_ENV.parse(source)) - names)
        if unknown:
            raise ConfigError(f"{where}: {unknown[0]!r} is not a field of this rule's alerts"
                              f" (fields: {', '.join(sorted(names))})")
        _compiled(source).render(_sample(names))
    except TemplateError as exc:
        lineno = getattr(exc, "lineno", None)  # a TemplateSyntaxError's
        line = f" line {lineno}" if lineno else ""
        raise ConfigError(f"{where}: template error{line}: {exc.message or type(exc).__name__}") from None
    except ConfigError:
        raise
    except Exception as exc:  # what the sample data provokes: TypeError, ZeroDivisionError...
        raise ConfigError(f"{where}: template fails on a sample alert: {type(exc).__name__}: {exc}") from None
    return source


def render(source: str, alert: Mapping[str, Any], limit: int) -> str | None:
    """The template rendered over ``alert``, whitespace-trimmed and cut to ``limit`` characters; None
    (logged) when it fails on this alert or renders nothing."""
    try:
        text = _compiled(source).render(dict(alert)).strip()
    except Exception as exc:  # never lose an alert to its template
        logger.warning("event=alert_template_failed alert=%s error=%s: %s", alert.get("id"), type(exc).__name__, exc)
        return None
    return text[:limit] if text else None


def with_text(alert: dict[str, Any], title_template: str | None, body_template: str | None) -> dict[str, Any]:
    """``alert`` with ``title`` and ``body`` rendered from the rule's templates (each only when set and
    it rendered)."""
    for name, source, limit in (("title", title_template, MAX_TITLE), ("body", body_template, MAX_BODY)):
        text = render(source, alert, limit) if source else None
        if text is not None:
            alert[name] = " ".join(text.split()) if name == "title" else text
    return alert
