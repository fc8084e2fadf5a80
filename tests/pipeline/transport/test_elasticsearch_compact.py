"""Which monthly indices have ended, and which of them still hold more than one segment (pure parts)."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.transport.elasticsearch_compact import _unmerged, ended_months

NOW = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def test_ended_months_are_the_alias_own_months_before_the_current_one():
    names = ["newsmon-items-2026.03", "newsmon-items-2026.02", "newsmon-items-2025.12", "newsmon-items-2027.01",
             "newsmon-items-test-2025.01", "other-2025.01", "newsmon-items-2025.1", "newsmon-items-2025.12-old"]
    assert ended_months(names, "newsmon-items", NOW) == ["newsmon-items-2025.12", "newsmon-items-2026.02"]


def test_an_alias_with_pattern_characters_is_taken_literally():
    assert ended_months(["a.b-2025.01", "axb-2025.01"], "a.b", NOW) == ["a.b-2025.01"]


def shard(primary: bool, count: int) -> dict:
    return {"routing": {"primary": primary}, "segments": {"count": count}}


def test_an_index_is_unmerged_when_a_primary_shard_has_more_than_one_segment():
    stats = {"indices": {
        "merged": {"shards": {"0": [shard(True, 1), shard(False, 4)]}},  # a replica catches up on its own
        "split": {"shards": {"0": [shard(True, 1)], "1": [shard(True, 2)]}},
        "fresh": {"shards": {"0": [shard(True, 7)]}},
        "empty": {"shards": {"0": [shard(True, 0)]}},
    }}
    assert _unmerged(stats) == ["fresh", "split"]
