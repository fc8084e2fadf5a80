"""A small invented newsroom for the search page's browser tests and screenshots: a SQLite index
with stories from several outlets (one item carrying hostile markup), an alert log and feed states;
and an archive whose stories are all from 2023."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from consumers.alert_store import AlertStore
from pipeline.document import index_document
from pipeline.item import ClassifiedItem, format_time
from pipeline.settings import Settings, settings_from_mapping
from pipeline.transport.sqlite_index import SqliteIndex
from producers.state import FeedState, FeedStateStore

__all__ = ["HOSTILE_TITLE", "HOSTILE_SUMMARY", "HOSTILE_URL", "CT_STORY", "ARCHIVE_DATES", "build_site",
           "build_archive"]

HOSTILE_TITLE = "<script>window.__pwned=1</script>"
HOSTILE_SUMMARY = '<img src=x onerror="window.__pwned=2"> Officials in Quetta describe the attack'
HOSTILE_URL = "javascript:window.__pwned=3"
CT_STORY = "story-waziristan"

_CT, _MIN = "counterterrorism", "minerals_cooperation"


def _item(n: int, hours_ago: float, now: datetime, **fields: Any) -> dict[str, Any]:
    moment = format_time(now - timedelta(hours=hours_ago))
    base: dict[str, Any] = {
        "id": f"item-{n:02d}", "url": f"https://news.example.test/{n}", "guid": f"guid-{n}",
        "feed": {"id": fields.get("feed_id", "example"), "url": "https://news.example.test/rss", "title": "Example"},
        "summary": "", "published": moment, "fetched_at": moment, "language": "en", "authors": [], "tags": [],
        "topics": [], "scores": {}, "evidence": {}, "countries": [], "locations": [],
        "entities": {"persons": [], "organizations": [], "places": [], "groups": []},
        "story_id": f"story-{n:02d}", "model_version": "test", "classified_at": moment,
    }
    base.update({k: v for k, v in fields.items() if k != "feed_id"})
    return index_document(ClassifiedItem.from_dict(base), now)


def _ct(score: float, model: float, *phrases: str) -> dict[str, Any]:
    return {"topics": [_CT], "scores": {_CT: score, _MIN: 0.04}, "evidence": {_CT: [*phrases, f"model:{model}"]}}


def _minerals(score: float, model: float, *phrases: str) -> dict[str, Any]:
    return {"topics": [_MIN], "scores": {_MIN: score, _CT: 0.03}, "evidence": {_MIN: [*phrases, f"model:{model}"]}}


def _documents(now: datetime) -> list[dict[str, Any]]:
    waziristan = {"persons": [], "organizations": ["ISPR"], "places": ["North Waziristan"], "groups": ["TTP"]}
    return [
        _item(1, 3, now, source="Frontier Post", title="Security forces kill eight militants in North Waziristan operation",
              summary="The military said troops raided a TTP hideout near Mir Ali after an attack on a checkpoint.",
              entities=waziristan, countries=["PK"], story_id=CT_STORY,
              **_ct(0.94, 0.91, "militant", "TTP", "operation", "attack")),
        _item(2, 5, now, source="Daily Ledger", title="Eight militants killed in Waziristan raid, military says",
              summary="An intelligence-based operation targeted fighters of the TTP.", entities=waziristan,
              countries=["PK"], story_id=CT_STORY, **_ct(0.9, 0.88, "militant", "TTP", "operation")),
        _item(3, 7, now, source="Capital Wire", title="Troops raid militant hideout near Mir Ali",
              summary="Officials reported an exchange of fire.", entities=waziristan, countries=["PK"],
              story_id=CT_STORY, **_ct(0.81, 0.76, "militant", "raid")),
        _item(4, 20, now, source="Mining Journal PK", title="Reko Diq copper project signs financing deal with US lenders",
              summary="The copper and gold project in Balochistan agreed terms with a US development bank.",
              entities={"persons": [], "organizations": ["Reko Diq Mining Company"], "places": ["Balochistan"],
                        "groups": []}, countries=["PK", "US"], story_id="story-rekodiq",
              **_minerals(0.92, 0.9, "copper", "project", "financing", "Reko Diq")),
        _item(5, 22, now, source="Daily Ledger", title="US lenders back Reko Diq copper mine",
              summary="Financing for the copper project was confirmed.", countries=["PK", "US"],
              story_id="story-rekodiq", **_minerals(0.86, 0.83, "copper", "Reko Diq")),
        _item(6, 30, now, source="Capital Wire", title="Suicide bomber attacks police post in Bannu",
              summary="Two policemen were killed when a suicide bomber struck a police post in Bannu district.",
              entities={"persons": [], "organizations": ["KP Police"], "places": ["Bannu"], "groups": []},
              countries=["PK"], **_ct(0.9, 0.86, "suicide bomber", "attack", "kill")),
        _item(7, 50, now, source="Frontier Post", title="Pakistan and US sign MoU on critical minerals exploration",
              summary="The memorandum covers lithium and antimony exploration licences.",
              entities={"persons": ["Ahmed Karim"], "organizations": ["Ministry of Energy"], "places": [],
                        "groups": []}, countries=["PK", "US"], **_minerals(0.88, 0.8, "MoU", "critical minerals",
                                                                          "exploration")),
        _item(8, 75, now, source="Capital Wire", title="Cricket board names squad for the home series",
              summary="Selectors picked two new fast bowlers to lead the attack.", countries=["PK"],
              scores={_CT: 0.12}, evidence={_CT: ["attack", "-cricket", "model:0.1"]}),  # evidence, no topic
        _item(9, 100, now, source="Daily Ledger", title="Attack on convoy near Balochistan mining site",
              summary="Gunmen fired on a convoy carrying workers of a copper exploration project.",
              topics=[_CT, _MIN], scores={_CT: 0.72, _MIN: 0.61},
              evidence={_CT: ["attack", "gunmen", "model:0.7"], _MIN: ["copper", "exploration", "model:0.58"]},
              entities={"persons": [], "organizations": [], "places": ["Chagai"], "groups": ["BLA"]},
              countries=["PK"]),
        _item(10, 160, now, source="Capital Wire", title="Counterterrorism dialogue between Pakistan and US opens in Islamabad",
              summary="Delegations discussed terror financing and intelligence sharing.", countries=["PK", "US"],
              **_ct(0.89, 0.9, "counterterrorism dialogue", "terror financing")),
        _item(12, 130, now, source="Frontier Post", title="Earthquake relief convoy attacked in Awaran",
              summary="Gunmen fired on trucks carrying tents after the earthquake.", countries=["PK"],
              entities={"persons": [], "organizations": [], "places": ["Awaran"], "groups": []},
              **_ct(0.7, 0.62, "attack", "gunmen", "-earthquake")),
        _item(11, 2, now, source="Hostile Feed", title=HOSTILE_TITLE, summary=HOSTILE_SUMMARY, url=HOSTILE_URL,
              countries=["PK"], **_ct(0.6, 0.55, "attack")),
    ]


def _alerts(store: AlertStore, now: float) -> None:
    def queue(alert_id: str, rule: str, kind: str, story: str, title: str, target: str) -> None:
        payload = {"id": alert_id, "rule": rule, "kind": kind, "story_id": story, "item": {"title": title}}
        with store.transaction() as tx:
            tx.add_outbox(payload, [(0, target)], now - 3600)

    queue("a1", "ct-kp", "story", CT_STORY, "Security forces kill eight militants in North Waziristan operation",
          "webhook:https://hooks.example.test/newsmon")
    queue("a2", "minerals", "story", "story-rekodiq", "Reko Diq copper project signs financing deal with US lenders",
          "slack:hooks.slack.example")
    queue("a3", "ct-kp", "story", "story-06", "Suicide bomber attacks police post in Bannu", "email:desk@example.test")
    queue("a4", "feeds", "feed-health", "feed:geo-rss:broken:2026-01-01", "Feed geo-rss is broken: 6 errors in a row",
          "log")
    rows = {r.alert_id: r.id for r in store.records(limit=10)}
    store.mark_sent(rows["a1"], now - 3500)
    store.mark_failed(rows["a2"], "HTTP 500 Internal Server Error")
    store.mark_sent(rows["a4"], now - 3400)


def _feeds(store: FeedStateStore, now: float) -> None:
    day = 86400.0
    store.save_many([
        FeedState("frontier-post", "https://frontier.example.test/rss", last_attempt=now - 600,
                  last_success=now - 600, usual_gap=3 * 3600, latest_item=now - 3 * 3600, first_attempt=now - 30 * day,
                  items_published=412, last_status="ok", moved_to="https://frontier.example.test/feed/rss.xml"),
        FeedState("daily-ledger", "https://ledger.example.test/feed", last_attempt=now - 900, last_success=now - 900,
                  usual_gap=6 * 3600, latest_item=now - 4 * day, first_attempt=now - 60 * day, items_published=230,
                  last_status="ok"),
        FeedState("geo-rss", "https://geo.example.test/rss", last_attempt=now - 300, last_success=now - 2 * day,
                  error_count=6, last_error="HTTP 503 Service Unavailable", usual_gap=2 * 3600,
                  latest_item=now - 2 * day, first_attempt=now - 90 * day, items_published=1200, last_status="error"),
        FeedState("capital-wire", "https://wire.example.test/atom", last_attempt=now - 200, last_success=now - 4000,
                  error_count=1, last_error="timed out after 20 s", usual_gap=3600, latest_item=now - 7 * 3600,
                  first_attempt=now - 10 * day, items_published=95, last_status="error"),
    ])


_FEEDS = [
    {"id": "frontier-post", "url": "https://frontier.example.test/rss", "source": "Frontier Post"},
    {"id": "daily-ledger", "url": "https://ledger.example.test/feed", "source": "Daily Ledger"},
    {"id": "geo-rss", "url": "https://geo.example.test/rss", "source": "Geo Example"},
    {"id": "capital-wire", "url": "https://wire.example.test/atom", "source": "Capital Wire"},
    {"id": "new-outlet", "url": "https://new.example.test/rss", "source": "New Outlet"},
]


ARCHIVE_DATES = tuple(datetime(2023, month, day, 9, tzinfo=UTC) for month, day in ((3, 8), (6, 14), (8, 2)))


def build_archive(folder: Path) -> Settings:
    """An index in ``folder`` holding only three stories of 2023, and its settings."""
    index_url = f"sqlite:///{folder / 'index.db'}"
    index = SqliteIndex(index_url)
    index.index([_item(20 + n, 0, moment, source="Archive Desk", title=f"Flood report {n + 1}")
                 for n, moment in enumerate(ARCHIVE_DATES)])
    index.flush()
    index.close()
    settings = settings_from_mapping({"index": index_url, "state": f"sqlite:///{folder / 'state.db'}",
                                      "web": {"port": 0}}, "<test>", {})
    return replace(settings, web=replace(settings.web, port=0))


def build_site(folder: Path, now: datetime | None = None, token: str = "", hostile: bool = True) -> Settings:
    """Fill ``folder`` with the index and state databases and return settings pointing at them."""
    now = now or datetime.now(UTC)
    index_url, state_url = f"sqlite:///{folder / 'index.db'}", f"sqlite:///{folder / 'state.db'}"
    index = SqliteIndex(index_url)
    index.index([d for d in _documents(now) if hostile or d["source"] != "Hostile Feed"])
    index.flush()
    index.close()
    alerts = AlertStore(state_url)
    _alerts(alerts, now.timestamp())
    alerts.close()
    feeds = FeedStateStore(state_url)
    _feeds(feeds, now.timestamp())
    feeds.close()
    env = {"NEWSMON_WEB_TOKEN": token} if token else {}
    settings = settings_from_mapping({"log": f"sqlite:///{folder / 'log.db'}", "index": index_url, "state": state_url,
                                      "feeds": _FEEDS, "web": {"port": 0, "refresh_seconds": 1}}, "<test>", env)
    return replace(settings, web=replace(settings.web, port=0))
