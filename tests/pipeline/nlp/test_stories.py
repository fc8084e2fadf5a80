"""Story clustering: deterministic MinHash bands, earliest member wins, same answer across processes and replays."""

import multiprocessing

from consumers.classifier import StoryAssigner
from pipeline.nlp.stories import MemoryStoryStore, MinHasher, StoryCandidate, assign_story
from pipeline.nlp.story_store import SqliteStoryStore

WIRE = ("Suicide bomber kills 12 at police checkpoint in Quetta, officials say",
        "A suicide bomber struck a police checkpoint on the outskirts of Quetta on Monday, killing 12 people.")
REWRITE = ("Suicide bomber kills 12 at police checkpoint in Quetta",
           "A suicide bomber struck a police checkpoint on the outskirts of Quetta on Monday, killing 12 people, police said.")
OTHER = ("Reko Diq financing agreed", "Lenders agreed to finance the copper and gold mine in Chagai.")


def keys(pair):
    return MinHasher().band_keys("\n".join(pair))


def test_band_keys_are_deterministic_and_near_duplicates_share_bands():
    assert keys(WIRE) == keys(WIRE)
    assert set(keys(WIRE)) & set(keys(REWRITE))
    assert not set(keys(WIRE)) & set(keys(OTHER))
    assert MinHasher().band_keys("") == []


def test_earliest_candidate_wins_then_smallest_id():
    assert assign_story("x", []) == "x"
    assert assign_story("x", [StoryCandidate("b", 5.0), StoryCandidate("a", 5.0), StoryCandidate("c", 9.0)]) == "a"


def test_memory_store_groups_near_duplicates_within_the_window():
    store = MemoryStoryStore()
    out = store.assign_many([("a", keys(WIRE), 100.0), ("b", keys(REWRITE), 200.0), ("c", keys(OTHER), 300.0)], 3600)
    assert out == ["a", "a", "c"]
    assert store.assign_many([("d", keys(REWRITE), 100.0 + 7200)], 3600) == ["d"]  # outside the window


def test_sqlite_store_agrees_across_connections_and_replays(tmp_path):
    url = f"sqlite:///{tmp_path}/state.db"
    first, second = SqliteStoryStore(url), SqliteStoryStore(url)
    assert first.assign_many([("a", keys(WIRE), 100.0)], 3600) == ["a"]
    assert second.assign_many([("b", keys(REWRITE), 150.0), ("c", keys(OTHER), 160.0)], 3600) == ["a", "c"]
    restarted = SqliteStoryStore(url)
    assert restarted.assign_many([("b", keys(REWRITE), 150.0), ("a", keys(WIRE), 100.0)], 3600) == ["a", "a"]


def _assign_in_process(url, item_id, pair, seen_at, queue):
    queue.put((item_id, SqliteStoryStore(url).assign_many([(item_id, keys(pair), seen_at)], 3600)[0]))


def test_parallel_processes_put_near_duplicates_in_one_story(tmp_path):
    url = f"sqlite:///{tmp_path}/state.db"
    SqliteStoryStore(url).close()
    queue = multiprocessing.get_context("spawn").Queue()
    procs = [multiprocessing.get_context("spawn").Process(target=_assign_in_process, args=(url, i, p, 100.0 + n, queue))
             for n, (i, p) in enumerate([("a", WIRE), ("b", REWRITE)])]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    stories = dict(queue.get(timeout=10) for _ in procs)
    assert stories["a"] == stories["b"] and stories["a"] in {"a", "b"}


def test_story_assigner_uses_title_and_summary(tmp_path):
    from tests.factories import make_raw
    assigner = StoryAssigner(SqliteStoryStore(f"sqlite:///{tmp_path}/s.db"))
    one = make_raw(title=WIRE[0], summary=WIRE[1])
    two = make_raw(id="item-2", title=REWRITE[0], summary=REWRITE[1])
    assert assigner.assign([one, two]) == [one.id, one.id]
