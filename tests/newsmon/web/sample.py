"""Index documents shared by the web API tests: three outlets on one story, a second story, and
items outside the topics and outside the last week; apart, three stories from two years before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from pipeline.item import format_time

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TOPICS = ["counterterrorism", "minerals_cooperation"]


def doc(n: int, hours_ago: float, source: str, title: str, story: str | None = None, topics=(), **extra) -> dict:
    stamp = format_time(NOW - timedelta(hours=hours_ago))
    return {
        "id": f"i{n}", "url": f"https://example.test/{n}", "source": source, "title": title,
        "summary": extra.pop("summary", ""), "@timestamp": stamp, "published": stamp, "fetched_at": stamp,
        "indexed_at": stamp, "story_id": story or f"i{n}", "topics": list(topics),
        "scores": {t: 0.9 for t in topics}, "evidence": {t: ["attack", "model:0.81"] for t in topics},
        "countries": extra.pop("countries", ["PK"]),
        "entities": {"persons": [], "organizations": [], "places": [], "groups": extra.pop("groups", [])},
        **extra,
    }


DOCS = [
    doc(1, 1, "Dawn", "Militants attack checkpoint in Bannu", "s-bannu", ["counterterrorism"], groups=["TTP"],
        summary="Police said the attackers fled."),
    doc(2, 2, "Geo", "Checkpoint attacked in Bannu", "s-bannu", ["counterterrorism"], groups=["TTP"]),
    doc(3, 3, "Tribune", "Bannu checkpoint attack leaves two dead", "s-bannu", ["counterterrorism"]),
    doc(4, 30, "Dawn", "Copper deal signed for Reko Diq", "s-reko", ["minerals_cooperation"], countries=["PK", "US"]),
    doc(5, 50, "Geo", "Cricket squad named", None, []),
    doc(6, 24 * 9, "Tribune", "Old attack report from Quetta", None, ["counterterrorism"]),
]

OLD_DOCS = [doc(21, 24 * 700, "Dawn", "Old flood report"), doc(22, 24 * 690, "Geo", "Old flood follow-up"),
            doc(23, 24 * 680, "Dawn", "Old flood inquiry")]
