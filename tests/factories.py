"""Item factories for tests."""

from __future__ import annotations

from pipeline.item import ClassifiedItem, FeedRef, RawItem


def make_raw(**overrides) -> RawItem:
    values = dict(
        id="item-1", url="https://example.test/news/1", guid="guid-1", source="Example Daily",
        feed=FeedRef("example", "https://example.test/feed", "Example"), title="A headline",
        summary="A summary.", fetched_at="2026-01-02T03:04:05Z", published="2026-01-02T01:00:00Z",
    )
    values.update(overrides)
    return RawItem(**values)


def make_classified(**overrides) -> ClassifiedItem:
    judgement = {k: overrides.pop(k) for k in list(overrides) if k not in RawItem.__dataclass_fields__}
    return ClassifiedItem.from_raw(make_raw(**overrides), **judgement)
