"""Merging the monthly indices of months that have ended down to one segment per shard.

A monthly index that was written for a whole month is left by Elasticsearch's merge policy with
tens of segments per shard, and a search over the alias pays for every one of them (the scale
section of bench/RESULTS.md measures the search page's request over monthly indices as loaded and
after this merge). Once a month is over its index takes only late items and re-indexed ones (story
or feedback updates), so a force merge to one segment is done once, takes seconds to a minute per
million documents on one node, and pays back on every search.

:func:`ended_months` (pure) picks, among the alias' index names, those of months before the
current one; :func:`merge_ended_months` asks Elasticsearch to merge those with more segments than
shards, without waiting for the merge (it runs in the node's force-merge thread pool). The index
writer calls it when it sets up (``newsmon setup``, the first flush of every process) and when it
creates the index of a new month, so a month is merged at the turn of the month and a backfill of
past months at the next setup. A few late items after the merge add small segments, which the
merge policy handles as usual (monthly indices stay far below its 5 GB maximum segment size).
A failure (no ``maintenance`` privilege, the cluster busy) is logged and never stops a write.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

__all__ = ["ended_months", "merge_ended_months"]

logger = logging.getLogger(__name__)


def ended_months(names: Iterable[str], alias: str, now: datetime) -> list[str]:
    """The names of ``alias``'s monthly indices (``<alias>-YYYY.MM``) for months before ``now``'s, sorted."""
    pattern = re.compile(rf"{re.escape(alias)}-(\d{{4}})\.(\d{{2}})")
    current = (now.year, now.month)
    ended = []
    for name in names:
        match = pattern.fullmatch(name)
        if match and (int(match.group(1)), int(match.group(2))) < current:
            ended.append(name)
    return sorted(ended)


def _unmerged(shard_stats: dict[str, Any]) -> list[str]:
    """The indices in an ``indices.stats(level="shards", metric="segments")`` answer with more than
    one segment in some primary shard."""
    unmerged = []
    for name, stats in shard_stats.get("indices", {}).items():
        copies = [copy for shard in stats.get("shards", {}).values() for copy in shard]
        if any(copy["routing"]["primary"] and copy["segments"]["count"] > 1 for copy in copies):
            unmerged.append(name)
    return sorted(unmerged)


def merge_ended_months(client: Elasticsearch, alias: str, now: datetime) -> list[str]:
    """Start a merge to one segment per shard of every ended month's index of ``alias`` that has more;
    the indices whose merge was asked for (none when the cluster refused or failed: logged)."""
    try:
        found = client.indices.get(index=f"{alias}-*", allow_no_indices=True, ignore_unavailable=True).body
        ended = ended_months(found, alias, now)
        if not ended:
            return []
        stats = client.indices.stats(index=",".join(ended), metric="segments", level="shards").body
        unmerged = _unmerged(stats)
        if unmerged:
            client.indices.forcemerge(index=",".join(unmerged), max_num_segments=1, wait_for_completion=False)
            logger.info("event=months_merging alias=%s indices=%s", alias, ",".join(unmerged))
        return unmerged
    except (ApiError, TransportError) as exc:
        logger.warning("event=months_merge_skipped alias=%s reason=%r", alias, str(exc))
        return []
