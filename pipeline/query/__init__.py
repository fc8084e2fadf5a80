"""newsmon's search query language: Lucene / Kibana query syntax, parsed once, run on three backends.

A query is parsed once with :func:`parse_query` (luqum's Lucene parser, then newsmon's own immutable
AST in :mod:`pipeline.query.ast`) and then

1. evaluated in memory against an index document with :func:`matches` (the alerter, test doubles);
2. translated to SQL for the SQLite FTS5 index with :func:`to_sqlite`;
3. translated to Elasticsearch Query DSL with :func:`to_elasticsearch`.

All three give the same answer for the same query and documents (the parity tests run tables of
queries through the evaluator, a real SQLite FTS5 database, and an interpreter of the generated DSL).

Syntax and semantics
--------------------
The meaning is that of Elasticsearch's ``query_string`` (Lucene's classic parser, Kibana's Lucene
mode); docs/search.md gives the table and ``tests/integration/test_lucene_parity.py`` the proof.

- Boolean operators ``AND`` / ``&&``, ``OR`` / ``||``, ``NOT`` / ``!`` (upper case only; ``and`` is a
  word), ``+clause`` (must), ``-clause`` (must not), parentheses, field groups ``title:(a OR b)``.
- One level of clauses is read left to right as the classic parser reads it, with the **default
  operator OR** (:func:`pipeline.query.parser.lucene_occurs`): ``+x`` and a clause after ``AND`` are
  required, and ``AND`` also makes the clause before it required; ``-x`` and ``NOT x`` are
  prohibited; every other clause is optional and only ranks when something is required. So
  ``a OR b AND c`` is ``a +b +c``, ``a AND b OR c`` is ``+a +b c``, ``a OR NOT b`` is ``a -b``. A
  query or group with only prohibited clauses matches every document without them.
  :attr:`Query.mixed_operators` flags a level that mixes ``AND`` with ``OR`` or juxtaposition, and
  :attr:`Query.hints` says how it was read (:func:`describe`).
- A bare term or phrase searches the default text fields ``title``, ``summary``, ``body``
  (:data:`pipeline.fields.DEFAULT_TEXT_FIELDS`); it matches when any one field matches.
- Text is matched on tokens of the SQLite FTS5 ``unicode61 remove_diacritics 2`` analyser
  (:func:`pipeline.query.analysis.tokens`): split on anything not a letter or digit, lower-cased,
  Latin diacritics removed. A word that analyses to several tokens (``rare-earth``, ``US-Pakistan``,
  ``Pakistan’s``) is the **OR** of those tokens, as Lucene reads it; quoted, it is the phrase. A
  term with no letter or digit (``&``) is ignored, like a stop word (a query left with nothing
  searchable is an error).
- ``"a b"`` is a phrase: consecutive tokens, within one field.
- ``"a b"~N`` is Lucene's sloppy phrase: the tokens in one field at most N moves from the phrase
  (:func:`pipeline.query.evaluate.sloppy_distance`): one token between costs 1, two neighbours
  reversed 2; ``~0`` is the phrase.
- ``miner*`` is a prefix search (``US-Pak*`` is ``us`` OR a word starting ``pak``). ``*stan``,
  ``kash*r``, ``nucl?ar`` are wildcards on one token, ``talib~1`` / ``Taliban~`` fuzzy terms (edit
  distance with transpositions, at most 2; ``~`` alone: 0 up to 2 letters, 1 up to 5, else 2),
  ``/talib[a-z]n/`` a regular expression over one token (:mod:`pipeline.query.multiterm`); a
  regular expression is not analysed, as in Lucene.
- Keyword fields (:data:`pipeline.fields.KEYWORD_FIELDS`): the whole value, case-insensitively; ``*``
  and ``?`` are wildcards (escape them with ``\\`` to match them literally); a quoted value is literal.
- Date fields (:data:`pipeline.fields.DATE_FIELDS`): ``[a TO b]`` (inclusive), ``{a TO b}``
  (exclusive), mixed brackets, ``>``, ``>=``, ``<``, ``<=``, ``*`` for an open end. Values are ISO
  dates / datetimes (UTC unless an offset is given; quote values with an offset) or date math
  ``now``, ``now-7d``, ``now-24h``, ``now-30m``, ``now/d``, ``2025-01-01||+1M``. A value is the
  period its last written field names, rounded like Elasticsearch: ``published:2025-01-02`` is that
  UTC day, ``[2025-01-01 TO 2025-01-31]`` includes all of January 31, ``>2025-01-31`` starts on
  February 1; ``2025`` and ``2025-03`` are their first day only (Elasticsearch fills in the time,
  not the month or day; ``2025||/y`` is the year). Evaluation takes an explicit ``now`` (truncated
  to milliseconds); there is no clock.
- Number fields ``scores.<topic>``: exact values and ranges as for dates.
- ``_exists_:field`` and ``field:*``: the field has a value (a non-empty text, a keyword value, a
  valid date, a number). ``field:[* TO *]`` is the same.
- An empty query, ``*`` and ``*:*`` match everything. A boost ``^2`` is accepted and ignored (there
  is no relevance ranking beyond FTS5's bm25 on the positive text clauses).
- Errors (unknown field, bad date or number, empty range, unbalanced parentheses or quotes,
  unsupported syntax) raise :class:`QuerySyntaxError`, a :class:`pipeline.errors.UserInputError`,
  with a one-line message naming the problem and, when known, the field and position. Queries
  nested more than 64 levels deep are rejected.

Known differences between backends
----------------------------------
The evaluator and SQLite agree exactly (tested on a query table, random queries and random texts).
Elasticsearch (:mod:`pipeline.query.elasticsearch`) differs in these documented ways:

- A fuzzy term keeps the 50 nearest terms of each field in Elasticsearch, of all text fields
  together in SQLite (the same unless a field has more than 50 candidates).
- Text must be analysed like FTS5 on the Elasticsearch side too: the plain ``standard`` analyzer
  keeps diacritics and does not split ``Pakistan’s`` or ``3.5`` (see the module for an equivalent
  analyzer). Keywords are lower-cased there but case-folded here (``ß`` vs ``ss``).
- ``_exists_`` on a text field holding an empty or whitespace-only string: the index writer should
  omit such fields, as Elasticsearch may index them as present or absent.
"""

from __future__ import annotations

from pipeline.query.ast import Query, QuerySyntaxError, describe, highlight_terms
from pipeline.query.elasticsearch import to_elasticsearch
from pipeline.query.evaluate import PreparedDocument, matches, matches_prepared, prepare
from pipeline.query.parser import parse_query
from pipeline.query.sqlite import SqlFilter, to_sqlite

__all__ = [
    "Query", "QuerySyntaxError", "SqlFilter", "parse_query", "matches", "prepare", "matches_prepared",
    "PreparedDocument", "to_sqlite",
    "to_elasticsearch", "highlight_terms", "describe",
]
