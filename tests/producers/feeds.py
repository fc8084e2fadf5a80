"""Invented feed documents for producer tests (written here, never copied from a corpus)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from email.utils import format_datetime
from xml.sax.saxutils import escape

__all__ = ["Story", "rss", "STORIES"]


@dataclass(frozen=True)
class Story:
    slug: str
    title: str
    summary: str
    published: float  # Unix seconds


def rss(stories: list[Story], base: str = "https://frontier.example", title: str = "Frontier Desk",
        ttl: int | None = None) -> bytes:
    items = "".join(
        f"<item><title>{escape(s.title)}</title><link>{base}/{s.slug}</link>"
        f"<description>{escape(s.summary)}</description>"
        f"<pubDate>{format_datetime(datetime.fromtimestamp(s.published, UTC), usegmt=True)}</pubDate></item>"
        for s in stories)
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
            f"<link>{base}/</link>{ttl_tag}{items}</channel></rss>").encode()


_T0 = 1_780_000_000.0  # a fixed moment in 2026

STORIES = [
    Story("security/kurram-convoy", "Convoy attacked near Parachinar as Kurram talks stall",
          "Gunmen opened fire on a convoy of passenger vehicles on the Thall-Parachinar road on Tuesday,"
          " officials said, as a jirga on reopening the route adjourned without agreement.", _T0 - 3 * 3600),
    Story("business/reko-diq-financing", "Lenders sign financing terms for Reko Diq copper project",
          "A group of international lenders signed term sheets for the first phase of the Reko Diq copper"
          " and gold mine in Chagai district, the project company said in a statement.", _T0 - 2 * 3600),
    Story("security/ctd-arrests", "CTD arrests three suspects in Quetta raid",
          "The Counter Terrorism Department said it arrested three suspects and seized explosives during"
          " an intelligence-based operation on the outskirts of Quetta late on Monday.", _T0 - 3600),
]
