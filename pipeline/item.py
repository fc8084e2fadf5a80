"""The item model of ``newsmon.raw`` and ``newsmon.classified``, with JSON (de)serialisation and validation.

Validation errors are :class:`~pipeline.errors.SchemaError` and name the offending field, so a bad
record can be dead-lettered with a useful reason.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import Field, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from pipeline.errors import LimitExceeded, SchemaError

MAX_ID_BYTES = 512  # Elasticsearch refuses a longer _id (the whole bulk request, with 400)

__all__ = [
    "FeedRef", "RawItem", "ClassifiedItem", "Location",
    "item_id_for", "format_time", "MAX_ID_BYTES", "parse_time", "utc_now", "decode_json",
    "TRUNCATION_MARKER", "bound_text",
]


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix and second precision."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str, field_name: str) -> datetime:
    """Parse an RFC 3339 timestamp; naive values are taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        raise SchemaError(f"field '{field_name}': not an RFC 3339 timestamp: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is past the last representable moment
        raise SchemaError(f"field '{field_name}': out of range: {text!r}") from None


def item_id_for(canonical_url: str | None, guid: str | None) -> str:
    """Stable item id: hash of the canonical URL, else of the feed GUID."""
    basis = canonical_url or guid
    if not basis:
        raise SchemaError("field 'url': an item needs a URL or a GUID to get an id")
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


def decode_json(data: bytes | str, what: str = "record") -> dict[str, Any]:
    """Decode one JSON object or raise SchemaError saying why."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, a 4,300-digit number, deep nesting
        raise SchemaError(f"{what}: invalid JSON: {type(exc).__name__}: {exc}") from None
    if not isinstance(value, dict):
        raise SchemaError(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class FeedRef:
    id: str
    url: str
    title: str = ""


@dataclass(frozen=True)
class Location:
    name: str
    lat: float
    lon: float
    country: str


def _string(data: dict, name: str, *, required: bool = True, nullable: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if nullable or not required:
            return None if nullable else ""
        raise SchemaError(f"field '{name}': required")
    if not isinstance(value, str):
        raise SchemaError(f"field '{name}': expected a string, got {type(value).__name__}")
    return value


def _string_list(data: dict, name: str) -> tuple[str, ...]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SchemaError(f"field '{name}': expected a list of strings")
    return tuple(value)


def _time(data: dict, name: str, *, nullable: bool) -> str | None:
    value = _string(data, name, nullable=nullable)
    if value is None:
        return None
    return format_time(parse_time(value, name))


def _plain(value: Any) -> Any:
    """``value`` as JSON values in fresh containers: a dataclass (FeedRef, Location) as a dict, a tuple as a list."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return {f.name: _plain(getattr(value, f.name)) for f in _fields_of(type(value))}


_FIELDS: dict[type, tuple[Field, ...]] = {}


def _fields_of(cls: type) -> tuple[Field, ...]:
    """The dataclass' fields, looked up once per class."""
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = fields(cls)
    return found


@dataclass(frozen=True)
class RawItem:
    """A normalised feed item as the producer publishes it to ``newsmon.raw``."""

    id: str
    url: str
    guid: str
    source: str
    feed: FeedRef
    title: str
    summary: str
    fetched_at: str
    published: str | None = None
    body: str | None = None
    language: str = "en"
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RawItem:
        return cls(**_raw_fields(data))

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON values (nested items as objects, tuples as lists), in fresh
        containers: ``dataclasses.asdict`` with lists for tuples, built without its deep copies (a
        third of the time; the classifier publishes every item through it)."""
        return {f.name: _plain(getattr(self, f.name)) for f in _fields_of(type(self))}

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8")

    @property
    def text(self) -> str:
        """Title, summary and body as one text, for classification."""
        return "\n".join(part for part in (self.title, self.summary, self.body or "") if part)


def _scores(data: dict[str, Any]) -> dict[str, float]:
    """The ``scores`` field: topic -> a number that fits a float."""
    scores = data.get("scores") or {}
    if not isinstance(scores, dict) or not all(isinstance(v, (int, float)) for v in scores.values()):
        raise SchemaError("field 'scores': expected an object of topic -> number")
    try:
        return {k: float(v) for k, v in scores.items()}
    except OverflowError:
        raise SchemaError("field 'scores': a number too large for a score") from None


def _lists_by_name(data: dict[str, Any], name: str) -> dict[str, list[Any]]:
    """An object of name -> list (``evidence`` by topic, ``entities`` by kind)."""
    value = data.get(name) or {}
    if not isinstance(value, dict) or not all(isinstance(v, list) or v is None for v in value.values()):
        raise SchemaError(f"field '{name}': expected an object of name -> list")
    return {k: list(v or []) for k, v in value.items()}


def _item_id(data: dict[str, Any]) -> str:
    """The ``id`` field: a non-empty string of at most :data:`MAX_ID_BYTES` in UTF-8 (the producer's
    ids are 32 hex digits), so no stage passes on an id the search index would refuse."""
    item_id = _string(data, "id")
    if not item_id:
        raise SchemaError("field 'id': must not be empty")
    try:
        size = len(item_id.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800") is not text
        raise SchemaError("field 'id': not valid Unicode text") from None
    if size > MAX_ID_BYTES:
        raise LimitExceeded(f"field 'id': {size} bytes, longer than the {MAX_ID_BYTES} allowed",
                            field="id", size=size, limit=MAX_ID_BYTES)
    return item_id


def _raw_fields(data: dict[str, Any]) -> dict[str, Any]:
    feed = data.get("feed")
    if not isinstance(feed, dict):
        raise SchemaError("field 'feed': expected an object {id, url, title}")
    return {
        "id": _item_id(data),
        "url": _string(data, "url"),
        "guid": _string(data, "guid", required=False),
        "source": _string(data, "source"),
        "feed": FeedRef(
            id=_string(feed, "id") or "", url=_string(feed, "url", required=False) or "",
            title=_string(feed, "title", required=False) or "",
        ),
        "title": _string(data, "title"),
        "summary": _string(data, "summary", required=False),
        "body": _string(data, "body", nullable=True),
        "language": _string(data, "language", required=False) or "en",
        "authors": _string_list(data, "authors"),
        "tags": _string_list(data, "tags"),
        "published": _time(data, "published", nullable=True),
        "fetched_at": _time(data, "fetched_at", nullable=False),
    }


_ENTITY_KINDS = ("persons", "organizations", "places", "groups")


@dataclass(frozen=True)
class ClassifiedItem(RawItem):
    """A raw item plus the classifier's judgement, as published to ``newsmon.classified``."""

    topics: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, list[str]] = field(default_factory=dict)
    entities: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in _ENTITY_KINDS})
    countries: tuple[str, ...] = ()
    locations: tuple[Location, ...] = ()
    story_id: str = ""
    model_version: str = ""
    classified_at: str = ""

    @classmethod
    def from_raw(cls, raw: RawItem, **judgement: Any) -> ClassifiedItem:
        base = {f.name: getattr(raw, f.name) for f in fields(RawItem)}
        return cls(**base, **judgement)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifiedItem:
        entities = _lists_by_name(data, "entities")
        try:
            locations = tuple(Location(**loc) for loc in data.get("locations") or [])
        except TypeError:
            raise SchemaError("field 'locations': expected a list of {name, lat, lon, country}") from None
        return cls(
            **_raw_fields(data),
            topics=_string_list(data, "topics"),
            scores=_scores(data),
            evidence=_lists_by_name(data, "evidence"),
            entities={k: entities.get(k, []) for k in _ENTITY_KINDS},
            countries=_string_list(data, "countries"),
            locations=locations,
            story_id=_string(data, "story_id", required=False) or "",
            model_version=_string(data, "model_version", required=False) or "",
            classified_at=_string(data, "classified_at", required=False) or "",
        )



#: Appended where :func:`bound_text` cut a text, so a reader sees that the article goes on.
TRUNCATION_MARKER = " […]"


def bound_text(text: str, limit: int, marker: str = TRUNCATION_MARKER) -> str:
    """``text`` unchanged when it has at most ``limit`` characters, else cut at the last word boundary
    before the limit (mid-word only when there is none in its second half) with ``marker`` appended;
    the result never exceeds ``limit`` characters. The producer and the classifier bound what they
    publish with it, so one long article fits a log record."""
    if len(text) <= limit:
        return text
    room = max(0, limit - len(marker))
    head = text[: room + 1]  # one more: a space right after the cut keeps the last word whole
    cut = head.rfind(" ")
    kept = head[:cut] if cut > room // 2 else text[:room]
    return kept.rstrip() + marker if room else marker[:limit]
