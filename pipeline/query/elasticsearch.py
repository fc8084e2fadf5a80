"""Translation of a parsed query to Elasticsearch Query DSL (a plain dict; no client library needed).

The result is the clause to put under ``"query"`` of a search request. It assumes the newsmon mapping:
keyword fields are ``keyword`` with a lowercase normalizer (values are sent lower-cased), ``scores.*``
are numbers, date fields are ``date``, and ``title``/``summary``/``body`` are ``text``.

Text clauses send the tokens produced by :func:`pipeline.query.analysis.tokens` (lower-cased, without
diacritics, split like SQLite FTS5), joined by spaces, so they mean exactly what they mean for the
other backends when the text fields are analysed like FTS5. With the plain ``standard`` analyzer there
are differences on the document side: it keeps diacritics (``café`` is not ``cafe``), and it does not
split ``Pakistan’s`` or ``3.5`` (UAX#29 word rules). An analyzer that matches FTS5 is: tokenizer
``pattern`` with pattern ``[^\\p{L}\\p{N}\\p{Co}]+``, filters ``lowercase`` and ``asciifolding``.

Proximity ``"a b"~N`` is ``match_phrase`` with ``slop`` N, which is the definition the other
backends implement (Lucene's sloppy phrase); wildcard, fuzzy and regexp leaves are Elasticsearch's
own queries. Keyword values are lower-cased here but case-folded by the other backends (``ß`` vs
``ss``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.query.ast import (
    MAX_FUZZY_EXPANSIONS,
    Bool,
    DateRange,
    Fuzzy,
    Keyword,
    MatchAll,
    MultiTerm,
    Node,
    NumberRange,
    Query,
    Regexp,
    Text,
    Wildcard,
)
from pipeline.query.datemath import date_interval, format_bound

__all__ = ["to_elasticsearch", "MAX_PREFIX_EXPANSIONS"]

MAX_PREFIX_EXPANSIONS = 1024  # match_phrase_prefix: words tried for the final prefix

_Clause = dict[str, Any]


def to_elasticsearch(query: Query, now: datetime) -> _Clause:
    """Translate ``query`` to a Query DSL clause; date math is resolved against ``now``."""
    return _clause(query.root, now)


def _clause(node: Node, now: datetime) -> _Clause:
    if isinstance(node, MatchAll):
        return {"match_all": {}}
    if isinstance(node, Bool):
        return _bool(node, now)
    if isinstance(node, Text):
        return _text(node)
    if isinstance(node, Keyword):
        return _keyword(node)
    if isinstance(node, DateRange):
        return _date_range(node, now)
    if isinstance(node, NumberRange):
        return _number_range(node)
    if isinstance(node, (Wildcard, Fuzzy, Regexp)):
        return _multi_term(node)
    return {"exists": {"field": node.field}}


def _bool(node: Bool, now: datetime) -> _Clause:
    body: _Clause = {}
    for key, children in (("must", node.must), ("should", node.should), ("must_not", node.must_not)):
        if children:
            body[key] = [_clause(child, now) for child in children]
    if node.should and not node.must:
        body["minimum_should_match"] = 1
    return {"bool": body}


def _text(node: Text) -> _Clause:
    text = " ".join(node.tokens)
    fields = list(node.fields)
    if node.prefix and len(node.tokens) == 1:
        prefixes = [{"prefix": {field: {"value": text}}} for field in fields]
        return prefixes[0] if len(prefixes) == 1 else {"bool": {"should": prefixes, "minimum_should_match": 1}}
    options: _Clause = {}
    if node.prefix:
        options["max_expansions"] = MAX_PREFIX_EXPANSIONS
    if node.slop is not None:
        options["slop"] = node.slop
    kind = "phrase_prefix" if node.prefix else "phrase"
    if len(fields) == 1:
        return {f"match_{kind}": {fields[0]: {"query": text, **options}}}
    return {"multi_match": {"query": text, "fields": fields, "type": kind, **options}}


def _multi_term(node: MultiTerm) -> _Clause:
    """Elasticsearch's own ``wildcard``, ``fuzzy`` (transpositions on, no common prefix, at most
    :data:`MAX_FUZZY_EXPANSIONS` terms) and ``regexp`` (Lucene syntax, without the ``&``, ``~`` and
    ``<n-m>`` operators the parser refuses) queries on the analysed pattern, per field."""
    clauses: list[_Clause] = []
    for field in node.fields:
        if isinstance(node, Wildcard):
            clauses.append({"wildcard": {field: {"value": node.pattern}}})
        elif isinstance(node, Fuzzy):
            clauses.append({"fuzzy": {field: {"value": node.term, "fuzziness": node.max_edits, "prefix_length": 0,
                                              "max_expansions": MAX_FUZZY_EXPANSIONS, "transpositions": True}}})
        else:
            clauses.append({"regexp": {field: {"value": node.pattern, "flags": "NONE|ANYSTRING|EMPTY"}}})
    return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses, "minimum_should_match": 1}}


def _keyword(node: Keyword) -> _Clause:
    if node.wildcard:
        return {"wildcard": {node.field: {"value": node.value.lower()}}}
    return {"term": {node.field: {"value": node.value.lower()}}}


def _range(field: str, low: Any, low_inclusive: bool, high: Any, high_inclusive: bool,
           **extra: Any) -> _Clause:
    bounds: _Clause = {}
    if low is not None:
        bounds["gte" if low_inclusive else "gt"] = low
    if high is not None:
        bounds["lte" if high_inclusive else "lt"] = high
    return {"range": {field: {**bounds, **extra}}}


def _date_range(node: DateRange, now: datetime) -> _Clause:
    interval = date_interval(node.low, node.high, node.include_low, node.include_high, now)
    return _range(
        node.field,
        None if interval.low is None else format_bound(interval.low), interval.low_inclusive,
        None if interval.high is None else format_bound(interval.high), interval.high_inclusive,
        format="strict_date_optional_time",
    )


def _number_range(node: NumberRange) -> _Clause:
    if node.low is not None and node.low == node.high:
        return {"term": {node.field: {"value": node.low}}}
    return _range(node.field, node.low, node.include_low, node.high, node.include_high)
