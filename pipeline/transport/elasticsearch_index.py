"""The at-scale search index: Elasticsearch 9 through the official client (the only module importing it).

``index: http(s)://host:port[,host:port...]``; options under ``elasticsearch:`` in the settings,
credentials only from the environment (``NEWSMON_ES_API_KEY``, or ``NEWSMON_ES_USERNAME`` and
``NEWSMON_ES_PASSWORD``). The index layout, the document shape and the query translation are in
:mod:`pipeline.transport.elasticsearch_mapping`.

Construction checks that the cluster answers and accepts the credentials, and raises ConfigError
(one line, exit code 2) when it does not. :meth:`ElasticsearchIndex.setup` installs the index
template, the current month's index and the read alias, idempotently; ``newsmon setup`` calls it,
and so does the first flush of every process, so an indexer never writes into an unmapped index.
Setting up, and creating the index of a new month, also starts a merge of the indices of months that
have ended (:mod:`pipeline.transport.elasticsearch_compact`).

Writing (:meth:`flush`), in order:

1. look the queued ids up through the alias, so an item already indexed stays in its index (in a
   second thread, while this one shapes the documents with
   :func:`~pipeline.transport.elasticsearch_mapping.to_source`, so the two overlap);
2. send the documents with ``helpers.streaming_bulk`` in chunks bounded by ``bulk_docs`` and
   ``bulk_bytes``, ``_id`` = item id (re-indexing replaces); documents rejected with 429 are
   retried alone, ``bulk_retries`` times with capped exponential backoff;
3. a document rejected with 400 (the mapping refuses a value) is returned as a
   :class:`~pipeline.transport.base.Rejection` and leaves the queue (the indexer dead-letters it);
4. a whole bulk request refused for its content (400, e.g. ``action_request_validation_exception``
   for an ``_id`` over 512 bytes, or 413, too large) is split in halves, recursively down to single
   documents: the halves that are taken are indexed, a single document still refused is a
   Rejection, so one document cannot stop the rest;
5. anything else (cluster down, timeouts, 5xx, 429 after the retries) raises RetryLater, keeping only
   the documents not yet acknowledged queued: the consume loop backs off, commits nothing and
   flushes again until the cluster is back, without a restart.

:meth:`ready` is the cheap probe the consume loop calls while it waits to flush again: it asks the
cluster for the health of the alias' indices, so the indexer resumes within about a second of the
cluster being back instead of at the end of its backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    Elasticsearch,
    TransportError,
    UnsupportedProductError,
    helpers,
)

from pipeline.errors import ConfigError, RetryLater, SchemaError, UserInputError
from pipeline.item import format_time, utc_now
from pipeline.query import Query
from pipeline.settings import ElasticsearchSettings, Settings
from pipeline.transport.base import Hit, Rejection, SearchFilters, SearchResult, check_facets, check_interval
from pipeline.transport.elasticsearch_aggs import facets_body, histogram_body, read_facets, read_histogram
from pipeline.transport.elasticsearch_answers import (
    bulk_item,
    item_reason,
    refused_document,
    refused_for_content,
    request_reason,
    retry_after,
)
from pipeline.transport.elasticsearch_compact import merge_ended_months
from pipeline.transport.elasticsearch_mapping import (
    TEMPLATE_FILE,
    from_source,
    load_template,
    monthly_index,
    parse_hosts,
    search_body,
    to_source,
)

__all__ = ["ElasticsearchIndex"]

logger = logging.getLogger(__name__)

Json = dict[str, Any]
_LOOKUP_CHUNK = 1000  # ids per lookup request (well under index.max_result_window)
_PROBE_TIMEOUT = 1.0  # seconds for the readiness probe (no retries)


def _quiet_transport_log() -> None:
    """The client logs every request at INFO and each failed attempt with a traceback; newsmon logs
    one key=value line per retry itself, so keep the client's lines for ``--log-level debug`` only."""
    transport = logging.getLogger("elastic_transport")
    if transport.level == logging.NOTSET and logging.getLogger().level > logging.DEBUG:
        transport.setLevel(logging.ERROR)


def _client(hosts: list[str], es: ElasticsearchSettings) -> Elasticsearch:
    options: Json = {"request_timeout": es.request_timeout, "max_retries": 2, "retry_on_timeout": True}
    if es.api_key:
        options["api_key"] = es.api_key
    elif es.username:
        options["basic_auth"] = (es.username, es.password)
    if es.ca_file:
        if not Path(es.ca_file).is_file():
            raise ConfigError(f"elasticsearch.ca_file: {es.ca_file}: no such file")
        options["ca_certs"] = es.ca_file
    return Elasticsearch(hosts, **options)


def _check(client: Elasticsearch, hosts: list[str]) -> None:
    """One request at start-up, so a wrong URL, a dead cluster or bad credentials fail in one line."""
    where = ", ".join(hosts)
    try:
        client.info()
    except AuthenticationException:
        raise ConfigError(f"index: Elasticsearch at {where} rejected the credentials (401): check"
                          " NEWSMON_ES_API_KEY or NEWSMON_ES_USERNAME/NEWSMON_ES_PASSWORD") from None
    except AuthorizationException:
        return  # authenticated, only not allowed to read cluster info: writes may still be allowed
    except UnsupportedProductError as exc:
        raise ConfigError(f"index: {where} is not Elasticsearch: {exc}") from None
    except ApiError as exc:
        raise ConfigError(f"index: Elasticsearch at {where} answered {exc.status_code}: {exc.message}") from None
    except TransportError as exc:
        raise ConfigError(f"index: cannot connect to Elasticsearch at {where}: {exc.message}") from None


class ElasticsearchIndex:
    """:class:`~pipeline.transport.base.SearchIndex` (writer and reader) on Elasticsearch: monthly indices
    behind an alias."""

    concurrent_reads = True  # the client is thread-safe and reads keep no state

    def __init__(self, url: str, settings: Settings | None = None) -> None:
        self.options = settings.elasticsearch if settings is not None else ElasticsearchSettings()
        self.alias = self.options.alias
        self.hosts = parse_hosts(url)
        self._template = Path(self.options.template_file) if self.options.template_file else TEMPLATE_FILE
        _quiet_transport_log()
        self._client = _client(self.hosts, self.options)
        _check(self._client, self.hosts)
        self._pending: dict[str, Json] = {}
        self._rejected: list[Rejection] = []  # kept across a failed flush, returned by the next good one
        self._known: set[str] = set()  # indices known to exist
        self._ready = False
        self._throttled = False  # the last flush failed with 429: let the loop's backoff run its course

    # -- setup ---------------------------------------------------------------------------------

    def setup(self) -> str:
        """Install the template (when missing or older), this month's index and the alias; idempotent.
        Raises ConfigError naming what failed (``newsmon setup`` reports it in one line)."""
        try:
            return self._setup()
        except AuthorizationException as exc:
            raise ConfigError(f"index: not allowed to set up {self.alias!r} (template, index, alias): {exc.message};"
                              " run `newsmon setup` as a user that may") from None
        except ApiError as exc:
            raise ConfigError(f"index: setting up {self.alias!r} failed: {exc.status_code} {exc.message}") from None
        except TransportError as exc:
            where = ", ".join(self.hosts)
            raise ConfigError(f"index: cannot connect to Elasticsearch at {where}: {exc.message}") from None

    def _setup(self) -> str:
        es = self.options
        template = load_template(self._template, self.alias, es.shards, es.replicas)
        version = template.get("version", 0)
        installed = self._installed_version()
        if installed is None or installed < version:
            self._client.indices.put_index_template(name=self.alias, body=template)
            logger.info("event=template_installed name=%s version=%s previous=%s", self.alias, version, installed)
            if installed is not None:  # the indices made from the older template learn the fields added since
                self._client.indices.put_mapping(index=f"{self.alias}-*", allow_no_indices=True,
                                                 **template["template"]["mappings"])
        now = utc_now()
        first = monthly_index(self.alias, format_time(now))
        self._ensure_index(first)
        self._client.indices.put_alias(index=f"{self.alias}-*", name=self.alias)
        self._ready = True
        merging = merge_ended_months(self._client, self.alias, now)
        state = "up to date" if installed is not None and installed >= version else "installed"
        merged = f", merging {len(merging)} ended month(s) to one segment" if merging else ""
        return f"template {self.alias} v{version} {state}, index {first}, alias {self.alias}{merged}"

    def _setup_for_writing(self) -> None:
        """The first flush of a process sets up too; a writer without the privilege to manage templates
        relies on an earlier ``newsmon setup`` (its documents are still written)."""
        try:
            self._setup()
        except AuthorizationException as exc:
            logger.warning("event=setup_skipped index=%s reason=%r hint='run newsmon setup as a user that may'",
                           self.alias, exc.message)
            self._ready = True

    def _installed_version(self) -> int | None:
        found = self._client.options(ignore_status=404).indices.get_index_template(name=self.alias)
        templates = found.body.get("index_templates") or []
        return templates[0]["index_template"].get("version", 0) if templates else None

    def _ensure_index(self, name: str) -> bool:
        """Create the index unless known to exist; whether this call created it."""
        if name in self._known:
            return False
        created = True
        try:
            self._client.indices.create(index=name)
            logger.info("event=index_created index=%s", name)
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
            created = False
        self._known.add(name)
        return created

    # -- writing -------------------------------------------------------------------------------

    def index(self, docs: Sequence[Json]) -> None:
        for doc in docs:
            self._pending[doc["id"]] = doc

    def flush(self) -> list[Rejection]:
        if self._pending:
            try:
                if not self._ready:
                    self._setup_for_writing()
                self._write()
            except RetryLater:
                self._known.clear()  # an index may have been deleted meanwhile: check again next time
                raise
            except (ApiError, TransportError) as exc:
                self._known.clear()
                self._throttled = isinstance(exc, ApiError) and exc.status_code == 429
                raise RetryLater(f"Elasticsearch unavailable: {type(exc).__name__}: {exc}",
                                 retry_after=retry_after(exc)) from exc
        self._throttled = False
        rejected, self._rejected = self._rejected, []
        return rejected

    def ready(self) -> bool:
        """Whether flushing again is worth trying now, asked by the consume loop about once a second
        while it waits after a failed flush: True when the cluster answers within a second and the
        alias' indices are not red (for a writer not allowed to read the health: when it answers at
        all). False after a 429, so an overloaded cluster gets the loop's full backoff."""
        if self._throttled:
            return False
        probe = self._client.options(request_timeout=_PROBE_TIMEOUT, max_retries=0)
        try:
            health = probe.cluster.health(index=f"{self.alias}-*", timeout="0s")
        except AuthorizationException:
            return True
        except (ApiError, TransportError):
            return False
        return health.get("status") in ("green", "yellow")

    def _targets(self, found: dict[str, str]) -> dict[str, str]:
        """The index of every queued document: where it already is (``found`` by :meth:`_locate`), else
        its @timestamp month."""
        targets = {}
        for doc_id, doc in list(self._pending.items()):
            try:
                targets[doc_id] = found.get(doc_id) or monthly_index(self.alias, doc.get("@timestamp"))
            except SchemaError as exc:
                self._reject(doc_id, str(exc))
        now = utc_now()
        current = monthly_index(self.alias, format_time(now))
        for name in set(targets.values()):
            if self._ensure_index(name) and name == current:
                merge_ended_months(self._client, self.alias, now)  # a new month: the last one has ended
        return targets

    def _locate(self, ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            chunk = ids[start:start + _LOOKUP_CHUNK]
            response = self._client.search(index=self.alias, query={"ids": {"values": chunk}}, size=len(chunk),
                                           source=False, ignore_unavailable=True, allow_no_indices=True)
            found.update((hit["_id"], hit["_index"]) for hit in response["hits"]["hits"])
        return found

    def _write(self) -> None:
        """Shape the queued documents here while a second thread waits for the id lookup (the client
        is thread-safe), so the shaping overlaps the lookup's round trip; then send them."""
        queued = list(self._pending.items())
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsmon-es-lookup") as lookup:
            found = lookup.submit(self._locate, [doc_id for doc_id, _ in queued])
            shaped = [(doc_id, to_source(doc)) for doc_id, doc in queued]
            targets = self._targets(found.result())
        self._send(targets, shaped)

    @staticmethod
    def _actions(targets: dict[str, str], shaped: list[tuple[str, Json]]) -> Iterator[Json]:
        for doc_id, source in shaped:
            if doc_id in targets:  # not rejected on the way
                yield {"_op_type": "index", "_index": targets[doc_id], "_id": doc_id, "_source": source}

    def _send(self, targets: dict[str, str], shaped: list[tuple[str, Json]]) -> None:
        failed: dict[str, Json] = {}
        self._bulk(list(self._actions(targets, shaped)), failed)
        if failed:
            self._throttled = any(item.get("status") == 429 for item in failed.values())
            doc_id, item = next(iter(failed.items()))
            raise RetryLater(f"Elasticsearch did not take {len(failed)} documents, first {doc_id}:"
                             f" {item.get('status')} {item_reason(item)}")

    def _bulk(self, actions: list[Json], failed: dict[str, Json]) -> None:
        """Send ``actions``; when Elasticsearch refuses a whole request for its content, split the
        documents not yet taken in halves and send each, down to single documents, which are then
        rejected. Other errors propagate (the flush turns them into RetryLater)."""
        try:
            self._stream(actions, failed)
        except ApiError as exc:
            if not refused_for_content(exc):
                raise
            left = [action for action in actions if action["_id"] in self._pending and action["_id"] not in failed]
            if len(left) == 1:
                self._reject(left[0]["_id"], request_reason(exc))
                return
            logger.info("event=bulk_split index=%s documents=%d status=%s", self.alias, len(left), exc.status_code)
            half = len(left) // 2
            for part in (left[:half], left[half:]):
                if part:
                    self._bulk(part, failed)

    def _stream(self, actions: list[Json], failed: dict[str, Json]) -> None:
        """One ``streaming_bulk`` pass: taken documents leave the queue, per-document 400s become
        Rejections, other per-document failures are added to ``failed`` (id → the bulk item)."""
        es = self.options
        for ok, info in helpers.streaming_bulk(
                self._client, actions, chunk_size=es.bulk_docs, max_chunk_bytes=es.bulk_bytes,
                raise_on_error=False, max_retries=es.bulk_retries, initial_backoff=es.bulk_backoff_initial,
                max_backoff=es.bulk_backoff_max):
            item = bulk_item(info)
            doc_id = str(item.get("_id"))
            if ok:
                self._pending.pop(doc_id, None)
            elif refused_document(item):
                self._reject(doc_id, item_reason(item))
            else:
                failed[doc_id] = item

    def _reject(self, doc_id: str, reason: str) -> None:
        logger.warning("event=document_rejected index=%s id=%s reason=%r", self.alias, doc_id, reason)
        self._pending.pop(doc_id, None)
        self._rejected.append(Rejection(doc_id, reason))

    # -- reading -------------------------------------------------------------------------------

    def search(self, query: Query, filters: SearchFilters, *, limit: int = 20, offset: int = 0,
               sort: str = "relevance", now: datetime | None = None) -> SearchResult:
        hits = self._search(search_body(query, filters, now or utc_now(), limit=limit, offset=offset,
                                        sort=sort))["hits"]
        return SearchResult(hits["total"]["value"], [
            Hit(from_source(hit["_source"]), None if hit.get("_score") is None else round(hit["_score"], 4))
            for hit in hits["hits"]])

    def facets(self, query: Query, filters: SearchFilters, fields: Sequence[str], *, size: int = 10,
               now: datetime | None = None) -> dict[str, list[tuple[str, int]]]:
        """Top values per field (terms aggregations; see :mod:`pipeline.transport.elasticsearch_aggs`)."""
        check_facets(fields, size)
        wanted = list(dict.fromkeys(fields))
        return read_facets(self._search(facets_body(query, filters, now or utc_now(), wanted, size)), wanted)

    def histogram(self, query: Query, filters: SearchFilters, *, interval: str,
                  now: datetime | None = None) -> list[tuple[datetime, dict[str, int]]]:
        """Distinct stories per bucket: exact up to 10,000 stories per bucket, approximate above
        (``cardinality``; see :mod:`pipeline.transport.elasticsearch_aggs`)."""
        check_interval(interval)
        return read_histogram(self._search(histogram_body(query, filters, now or utc_now(), interval)))

    def get(self, item_id: str) -> Json | None:
        response = self._read(lambda: self._client.search(
            index=self.alias, query={"ids": {"values": [item_id]}}, size=1, ignore_unavailable=True,
            allow_no_indices=True))
        hits = response["hits"]["hits"]
        return from_source(hits[0]["_source"]) if hits else None

    def count(self) -> int:
        response = self._read(lambda: self._client.count(index=self.alias, ignore_unavailable=True,
                                                         allow_no_indices=True))
        return int(response["count"])

    def refresh(self) -> None:
        """Make everything written so far searchable now (tests, benchmarks; normally within 1 s)."""
        self._read(lambda: self._client.indices.refresh(index=self.alias, ignore_unavailable=True,
                                                        allow_no_indices=True))

    def _search(self, body: Json) -> Json:
        """One search request on the alias (no index yet: an empty answer)."""
        return self._read(lambda: self._client.search(index=self.alias, body=body, ignore_unavailable=True,
                                                      allow_no_indices=True))

    def _read(self, request: Any) -> Any:
        try:
            return request()
        except BadRequestError as exc:
            raise UserInputError(f"Elasticsearch refused the search: {exc.message}") from None
        except (ApiError, TransportError) as exc:
            raise RetryLater(f"Elasticsearch unavailable: {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        self._client.close()
