"""The searchable fields of an index document, one registry shared by every index backend and the query language.

An index document is a classified item (as a dict) plus ``@timestamp`` and ``indexed_at``. Each
field has a kind that decides how it is stored and matched:

- ``text``: analysed full text (tokenised, lower-cased, diacritics folded); matched by terms and phrases.
- ``keyword``: exact values (one or many per document), compared case-insensitively;
  ``feedback.<topic>`` (an analyst's ``yes`` or ``no``) is one per topic with a verdict.
- ``date``: RFC 3339 timestamps, matched by ranges.
- ``number``: floats, matched by ranges; ``scores.<topic>`` is one per configured topic.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

__all__ = [
    "FieldKind", "TEXT_FIELDS", "KEYWORD_FIELDS", "DATE_FIELDS", "DEFAULT_TEXT_FIELDS",
    "field_kind", "keyword_fields", "keyword_values", "text_value", "date_value", "number_value",
]


class FieldKind(str, Enum):
    TEXT = "text"
    KEYWORD = "keyword"
    DATE = "date"
    NUMBER = "number"


TEXT_FIELDS: tuple[str, ...] = ("title", "summary", "body")
DEFAULT_TEXT_FIELDS = TEXT_FIELDS  # what a bare term (no field) searches

KEYWORD_FIELDS: tuple[str, ...] = (
    "id", "url", "guid", "source", "feed.id", "feed.title", "language", "authors", "tags",
    "topics", "countries", "story_id", "model_version",
    "entities.persons", "entities.organizations", "entities.places", "entities.groups",
    "locations.name",
)

DATE_FIELDS: tuple[str, ...] = ("@timestamp", "published", "fetched_at", "classified_at", "indexed_at")


def field_kind(name: str) -> FieldKind | None:
    """The kind of a field name as typed in a query, or None when the field does not exist."""
    if name in TEXT_FIELDS:
        return FieldKind.TEXT
    if name in KEYWORD_FIELDS:
        return FieldKind.KEYWORD
    if name in DATE_FIELDS:
        return FieldKind.DATE
    if name.startswith("scores.") and len(name) > len("scores."):
        return FieldKind.NUMBER
    if name.startswith("feedback.") and len(name) > len("feedback."):
        return FieldKind.KEYWORD  # an analyst's verdict per topic: feedback.counterterrorism:no
    return None


def keyword_fields(doc: dict[str, Any]) -> tuple[str, ...]:
    """The keyword fields a document has values for: the fixed ones and ``feedback.<topic>``."""
    feedback = doc.get("feedback")
    extra = tuple(f"feedback.{topic}" for topic in feedback) if isinstance(feedback, dict) else ()
    return KEYWORD_FIELDS + extra


def _lookup(doc: dict[str, Any], dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        if isinstance(value, list):
            value = [v.get(part) for v in value if isinstance(v, dict)]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def keyword_values(doc: dict[str, Any], name: str) -> list[str]:
    """Every value of a keyword field, as stored (callers fold case when comparing)."""
    value = _lookup(doc, name)
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v is not None and v != ""]
    return [str(value)] if value != "" else []


def text_value(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    return value if isinstance(value, str) else ""


def date_value(doc: dict[str, Any], name: str) -> str | None:
    value = doc.get(name)
    return value if isinstance(value, str) and value else None


def number_value(doc: dict[str, Any], name: str) -> float | None:
    value = _lookup(doc, name)
    return float(value) if isinstance(value, (int, float)) else None
