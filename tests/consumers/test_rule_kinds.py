"""The spike, frequency, flatline and new_term rule kinds in the alerter stage, with a fake clock:
a generated burst fires once per window, restarts neither repeat nor lose it, two stages (and three
processes) on one state database fire once, late items are not counted, a quiet window fires with
no item arriving, and a new name alerts on its first mention only."""

import multiprocessing
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from consumers.alert_store import AlertStore
from consumers.alerter import AlerterStage
from pipeline.alerting.actions import ActionSpec
from pipeline.alerting.rules import RuleSpec
from pipeline.item import Location, format_time
from pipeline.transport.base import Record
from tests.factories import make_classified

HOUR = 3600.0
T0 = 1_700_000_000.0 - 1_700_000_000.0 % HOUR  # an hour boundary (UTC)
HOOK = ActionSpec(type="webhook", url="https://hooks.test/ct")
SPIKE = RuleSpec(name="ct-spike", kind="spike", topics=("counterterrorism",), window=HOUR, grace=600.0,
                 baseline_windows=24, min_stories=5, ratio=3.0, baseline_floor=1.0, group_by="locations.name",
                 actions=(HOOK,))
PLACES = {"Balochistan": (28.5, 65.1, "PK"), "Punjab": (31.2, 72.3, "PK")}


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now


class Sender:
    def __init__(self):
        self.sent = []

    def __call__(self, action, payload):
        self.sent.append(payload)


def story(n, at, place="Balochistan", groups=(), title=None, published=True):
    """A counterterrorism item of its own story ``s<n>`` published at ``at`` about ``place``."""
    lat, lon, country = PLACES.get(place, (0.0, 0.0, "PK"))
    stamp = iso(at)
    return make_classified(id=f"i{n}", url=f"https://x.test/{n}", title=title or f"Attack {n} in {place}",
                           source="Dawn", published=stamp if published else None, fetched_at=stamp,
                           topics=("counterterrorism",), scores={"counterterrorism": 0.9}, story_id=f"s{n}",
                           locations=(Location(place, lat, lon, country),), countries=(country,),
                           entities={"persons": [], "organizations": [], "places": [place], "groups": list(groups)})


def iso(epoch):
    return format_time(datetime.fromtimestamp(epoch, UTC))


def record(item, offset=1):
    return Record("newsmon.classified", 0, offset, item.id, item.to_json(), 0.0)


def feed(stage, *items):
    for offset, item in enumerate(items, start=1):
        stage.handle(record(item, offset))
    stage.flush()


def spikes(sender):
    return [p for p in sender.sent if p["kind"] == "spike"]


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path}/state.db"


def baseline(stage, clock, windows=24, per_window=2, first=0):
    """``per_window`` stories about Balochistan in each of ``windows`` hours from T0, each hour closed
    (idle past its grace) as a running alerter would: a trailing average of ``per_window``."""
    n = first
    for w in range(windows):
        for _ in range(per_window):
            clock.now = T0 + w * HOUR + 300 + n % 7
            feed(stage, story(n, clock.now))
            n += 1
        clock.now = T0 + (w + 1) * HOUR + 601
        stage.idle()
    return n


def burst(stage, clock, hour, count=12, first=10_000, place="Balochistan"):
    """``count`` stories about ``place`` spread over the hour ``hour`` (from T0), fed as they arrive."""
    items = []
    for k in range(count):
        clock.now = T0 + hour * HOUR + 60 + k * 250
        items.append(story(first + k, clock.now, place))
        feed(stage, items[-1])
        stage.idle()
    return items


def test_a_burst_against_a_trailing_average_of_two_fires_once_per_window(url):
    clock, sender = Clock(), Sender()
    stage = AlerterStage([SPIKE], AlertStore(url), sender, clock)
    baseline(stage, clock)
    assert spikes(sender) == []  # 2 a window is the usual
    burst(stage, clock, 24)
    burst(stage, clock, 24, count=2, first=20_000, place="Punjab")  # a province without a spike
    clock.now = T0 + 25 * HOUR + 601
    stage.idle()  # the window closes: nothing more to send
    [alert] = spikes(sender)
    assert alert["id"] == f"ct-spike/spike/balochistan/{int(T0 + 24 * HOUR)}"
    assert (alert["key"], alert["group_by"], alert["count"], alert["baseline"]) == ("Balochistan", "locations.name",
                                                                                    6, 2.0)
    assert alert["window"] == {"start": iso(T0 + 24 * HOUR), "end": iso(T0 + 25 * HOUR)}
    assert [s["item"]["title"] for s in alert["stories"]] == [f"Attack {10_000 + k} in Balochistan" for k in range(6)]
    assert {(s["item"]["source"], s["item"]["url"][:15]) for s in alert["stories"]} == {("Dawn", "https://x.test/")}
    burst(stage, clock, 25, first=30_000)  # the next hour bursts too: its own alert
    assert [a["window"]["start"] for a in spikes(sender)] == [iso(T0 + 24 * HOUR),
                                                              iso(T0 + 25 * HOUR)]
    assert spikes(sender)[1]["count"] == 8 and spikes(sender)[1]["baseline"] == pytest.approx(58 / 24, abs=1e-3)


def test_a_restart_mid_window_neither_repeats_nor_loses_the_spike(url):
    clock, sender = Clock(), Sender()
    first = AlerterStage([SPIKE], AlertStore(url), sender, clock)
    baseline(first, clock)
    items = [story(10_000 + k, T0 + 24 * HOUR + 60 + k * 250) for k in range(12)]
    clock.now = T0 + 24 * HOUR + 1200
    feed(first, *items[:4])  # four of the burst, then the process stops
    first.store.close()
    second = AlerterStage([SPIKE], AlertStore(url), sender, clock)
    second.handle(record(items[4], 5))
    second.handle(record(items[5], 6))  # the sixth crosses: claimed and queued, then the process dies
    second.store.close()
    assert spikes(sender) == []
    third = AlerterStage([SPIKE], AlertStore(url), sender, clock)
    feed(third, *items[4:])  # the uncommitted records replay, the rest of the burst follows
    third.idle()
    fourth = AlerterStage([SPIKE], AlertStore(url), sender, clock)
    feed(fourth, *items)  # a full replay after another restart
    clock.now = T0 + 25 * HOUR + 601
    fourth.idle()
    [alert] = spikes(sender)
    assert alert["count"] == 6 and alert["key"] == "Balochistan"
    assert [s["item"]["id"] for s in alert["stories"]] == [item.id for item in items[:6]]  # across the restarts
    assert fourth.store.counts() == {"sent": 1}


def test_two_stages_on_one_database_fire_once(url):
    clock, sender_a, sender_b = Clock(), Sender(), Sender()
    a = AlerterStage([SPIKE], AlertStore(url), sender_a, clock)
    b = AlerterStage([SPIKE], AlertStore(url), sender_b, clock)
    baseline(a, clock)
    for k in range(12):  # the burst's stories reach one process or the other, both look at every window
        clock.now = T0 + 24 * HOUR + 60 + k * 250
        feed(a if k % 2 else b, story(10_000 + k, clock.now))
        a.idle()
        b.idle()
    assert len(spikes(sender_a)) + len(spikes(sender_b)) == 1
    assert a.store.counts() == {"sent": 1}


def _race(url, worker, results):
    """One process of three: every story of the burst reaches each of them as another item."""
    clock = Clock(T0 + 24 * HOUR + 1000)
    stage = AlerterStage([SPIKE], AlertStore(url), Sender(), clock)
    for k in range(12):
        item = story(10_000 + k, T0 + 24 * HOUR + 60 + k * 250)
        stage.handle(record(make_copy(item, f"i{10_000 + k}-w{worker}")))
    results.put(stage.alerts)
    stage.store.close()


def make_copy(item, item_id):
    """Another outlet's item of the same story."""
    return replace(item, id=item_id, url=f"https://y.test/{item_id}")


def test_processes_racing_on_one_window_claim_it_once(url):
    clock = Clock()
    seed = AlerterStage([SPIKE], AlertStore(url), Sender(), clock)
    baseline(seed, clock)
    seed.store.close()
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_race, args=(url, w, results)) for w in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
    assert sum(results.get(timeout=5) for _ in workers) == 1
    store = AlertStore(url)
    [row] = store.records()
    assert row.kind == "spike" and row.title == "spike locations.name=Balochistan: 6 stories"


def test_an_item_later_than_the_grace_is_not_counted(url):
    clock, sender = Clock(), Sender()
    rule = RuleSpec(name="often", kind="frequency", window=HOUR, grace=600.0, min_stories=2, actions=(HOOK,))
    stage = AlerterStage([rule], AlertStore(url), sender, clock)
    clock.now = T0 + 10
    stage.idle()  # the first close: the rule watches from here
    clock.now = T0 + HOUR + 300  # the first hour ended, its grace has not
    feed(stage, story(1, T0 + 100), story(2, T0 + 200))
    assert [p["count"] for p in sender.sent] == [2]  # a late item within the grace counts
    clock.now = T0 + 2 * HOUR + 700
    stage.idle()  # closes the second hour
    feed(stage, story(3, T0 + HOUR + 100), story(4, T0 + HOUR + 200))  # later than the grace: not counted
    assert len(sender.sent) == 1
    assert stage.store.verdict_counts("often") == {"fired": 1, "counted": 1, "late": 2}
    assert stage.store.kinds().count("often", "", T0 + HOUR) == 0


def test_frequency_groups_by_key_and_fires_once_per_key_and_window(url):
    clock, sender = Clock(), Sender()
    rule = RuleSpec(name="by-place", kind="frequency", window=HOUR, min_stories=3, group_by="entities.places",
                    actions=(HOOK,))
    stage = AlerterStage([rule], AlertStore(url), sender, clock)
    clock.now = T0 + 900
    feed(stage, *(story(n, T0 + 60 * n, "Punjab" if n % 2 else "Balochistan") for n in range(1, 9)))
    copy = make_copy(story(2, T0 + 120, "Balochistan"), "other-outlet")  # the same story again adds nothing
    feed(stage, copy)
    assert sorted((p["key"], p["count"]) for p in sender.sent) == [("Balochistan", 3), ("Punjab", 3)]


FLAT = RuleSpec(name="quiet", kind="flatline", topics=("counterterrorism",), window=HOUR, grace=600.0, min_stories=3,
                actions=(HOOK,))


def test_flatline_fires_on_a_quiet_window_without_any_item_arriving(url):
    clock, sender = Clock(T0 - 60), Sender()
    stage = AlerterStage([FLAT], AlertStore(url), sender, clock)
    stage.idle()  # the first close: flatline watches the windows that start after it
    clock.now = T0 + 200
    feed(stage, *(story(n, T0 + 100 + n) for n in range(3)))  # hour 0: three stories, enough
    clock.now = T0 + HOUR + 601
    stage.idle()
    assert sender.sent == []
    clock.now = T0 + HOUR + 900
    feed(stage, story(10, clock.now))  # hour 1: one story
    clock.now = T0 + 2 * HOUR + 601
    stage.idle()
    clock.now = T0 + 3 * HOUR + 601  # hour 2: nothing arrives at all
    stage.idle()
    assert [(p["kind"], p["count"], len(p["stories"])) for p in sender.sent] == [("flatline", 1, 1),
                                                                                ("flatline", 0, 0)]
    assert sender.sent[0]["window"]["start"] == iso(T0 + HOUR) and sender.sent[0]["key"] is None
    stage.idle()
    again = AlerterStage([FLAT], AlertStore(url), sender, clock)  # a restart, and a second process
    again.idle()
    stage.idle()
    assert len(sender.sent) == 2


def test_flatline_after_a_downtime_counts_the_backlog_before_judging(url):
    clock, sender = Clock(T0 - 60), Sender()
    stage = AlerterStage([FLAT], AlertStore(url), sender, clock)
    stage.idle()
    stage.store.close()
    clock.now = T0 + 5 * HOUR  # down for five hours; the log kept what was published meanwhile
    later = AlerterStage([FLAT], AlertStore(url), sender, clock)
    feed(later, *(story(n, T0 + HOUR * (n % 4) + 100 + n) for n in range(12)))  # three an hour, hours 0 to 3
    later.idle()
    assert sender.sent == []


GROUPS = RuleSpec(name="new-groups", kind="new_term", term_field="entities.groups", lookback=30 * 86400.0,
                  actions=(HOOK,))


def test_new_term_fires_on_the_first_mention_only(url):
    clock, sender = Clock(T0 + 60), Sender()
    stage = AlerterStage([GROUPS], AlertStore(url), sender, clock)
    first = story(1, T0, groups=["Lashkar-e-Jhangvi"])
    feed(stage, first)
    feed(stage, story(2, T0 + 600, groups=["lashkar-e-jhangvi"]))  # another story, another spelling
    feed(stage, story(3, T0 + 900, groups=["Lashkar-e-Jhangvi", "Zainabiyoun Brigade"]))
    feed(stage, first)  # a replay
    assert [(p["kind"], p["term"], p["item"]["id"]) for p in sender.sent] == [
        ("new_term", "Lashkar-e-Jhangvi", "i1"), ("new_term", "Zainabiyoun Brigade", "i3")]
    assert sender.sent[0]["field"] == "entities.groups" and sender.sent[0]["first_seen"] == iso(T0)
    restarted = AlerterStage([GROUPS], AlertStore(url), sender, clock)
    other = AlerterStage([GROUPS], AlertStore(url), sender, clock)
    feed(restarted, story(4, T0 + 20 * 86400, groups=["Lashkar-e-Jhangvi"]))  # seen 20 days before
    feed(other, story(5, T0 + 20 * 86400 + 60, groups=["TTP"]), story(6, T0 + 20 * 86400 + 90, groups=["ttp"]))
    feed(restarted, story(7, T0 + 20 * 86400 + 120, groups=["TTP"]))
    clock.now = T0 + 51 * 86400
    feed(restarted, story(8, clock.now - 60, groups=["Lashkar-e-Jhangvi"]))  # unseen for 31 days: new again
    assert [p["term"] for p in sender.sent] == ["Lashkar-e-Jhangvi", "Zainabiyoun Brigade", "TTP", "Lashkar-e-Jhangvi"]
    assert restarted.store.verdict_counts("new-groups") == {"fired": 4, "known": 4}


def test_new_term_learns_during_warmup_and_ignores_old_stories(url):
    rule = RuleSpec(name="new-places", kind="new_term", term_field="locations.name", lookback=30 * 86400.0,
                    warmup=86400.0, actions=(HOOK,))
    clock, sender = Clock(T0 + 60), Sender()
    stage = AlerterStage([rule], AlertStore(url), sender, clock)
    feed(stage, story(1, T0, "Punjab"), story(2, T0 + 3600, "Balochistan"))  # the first day: learned
    clock.now = T0 + 2 * 86400
    feed(stage, story(3, T0 - 40 * 86400, "Kurram"))  # back-dated past the lookback: learned, no alert
    feed(stage, story(4, clock.now - 60, "Punjab"), story(5, clock.now - 30, "Bajaur"))
    assert [p["term"] for p in sender.sent] == ["Bajaur"]
    assert stage.store.verdict_counts("new-places") == {"learned": 3, "known": 1, "fired": 1}


def test_a_silenced_rule_records_its_window_and_sends_nothing(url):
    clock, sender = Clock(), Sender()
    stage = AlerterStage([SPIKE, GROUPS], AlertStore(url), sender, clock)
    baseline(stage, clock)
    stage.store.silence("ct-spike", "", T0 + 24 * HOUR + 1800, "drill", clock.now)
    stage.store.silence("new-groups", "", T0 + 24 * HOUR + 1800, "drill", clock.now)
    clock.now = T0 + 24 * HOUR + 30
    feed(stage, story(40_000, clock.now, groups=["LeJ"]))  # a new name while silenced
    burst(stage, clock, 24)  # crosses (at its sixth story) while silenced; the silence ends mid-window
    clock.now = T0 + 24 * HOUR + 1900
    feed(stage, story(50_000, clock.now, groups=["TTP", "LeJ"]))  # after the silence: only TTP is new
    assert [(p["kind"], p.get("term")) for p in sender.sent] == [("new_term", "TTP")]
    assert stage.store.verdict_counts("ct-spike")["silenced"] == 1
    assert stage.store.verdict_counts("new-groups")["silenced"] == 1
    burst(stage, clock, 25, first=30_000)  # the next window is not silenced
    assert [p["kind"] for p in sender.sent] == ["new_term", "spike"]
