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
- Boolean operators ``AND`` / ``&&``, ``OR`` / ``||``, ``NOT`` / ``!`` (upper case only; ``and`` is a
  word), ``+clause`` (must), ``-clause`` (must not), parentheses, field groups ``title:(a OR b)``.
  ``AND`` binds tighter than ``OR``, which binds tighter than juxtaposition.
- Clauses side by side use the **default operator OR**, with Lucene's clause rules: ``a b`` matches
  either; ``+a b -c`` requires ``a``, excludes ``c``, and ``b`` only ranks; ``Balochistan
  -topics:counterterrorism`` is Balochistan without that topic. A query or group with only negative
  clauses (``NOT a``, ``-a``) matches every document without ``a``. Inside explicit ``AND``/``OR``,
  ``NOT x`` and ``-x`` are logical negation: ``a OR NOT b`` is "a, or anything without b".
- A bare term or phrase searches the default text fields ``title``, ``summary``, ``body``
  (:data:`pipeline.fields.DEFAULT_TEXT_FIELDS`); it matches when any one field matches.
- Text is matched on tokens of the SQLite FTS5 ``unicode61 remove_diacritics 2`` analyser
  (:func:`pipeline.query.analysis.tokens`): split on anything not a letter or digit, lower-cased,
  Latin diacritics removed. A term that analyses to several tokens (``rare-earth``, ``US-Pakistan``,
  ``Pakistan’s``) is the **phrase** of those tokens; a term with no letter or digit (``&``) is
  ignored, like a stop word (a query left with nothing searchable is an error).
- ``"a b"`` is a phrase: consecutive tokens, within one field.
- ``"a b"~N`` is proximity with SQLite FTS5 ``NEAR`` semantics (the evaluator implements the same):
  every word occurs in one field, in any order, with at most N tokens (other query words included)
  between the first and the last of them: ``"a b"~0`` is adjacent in either order, ``"a b c"~1``
  is the three words consecutive in any order.
- ``miner*`` is a prefix search on the last token (``US-Pak*`` is the phrase ``us`` then a word
  starting ``pak``). Other wildcards in text (``mi*er``, ``min?``), fuzzy ``word~`` and regular
  expressions are rejected with :class:`QuerySyntaxError`.
- Keyword fields (:data:`pipeline.fields.KEYWORD_FIELDS`): the whole value, case-insensitively; ``*``
  and ``?`` are wildcards (escape them with ``\\`` to match them literally); a quoted value is literal.
- Date fields (:data:`pipeline.fields.DATE_FIELDS`): ``[a TO b]`` (inclusive), ``{a TO b}``
  (exclusive), mixed brackets, ``>``, ``>=``, ``<``, ``<=``, ``*`` for an open end. Values are ISO
  dates / datetimes (UTC unless an offset is given; quote values with an offset) or date math
  ``now``, ``now-7d``, ``now-24h``, ``now-30m``, ``now/d``, ``2025-01-01||+1M``. A date without time,
  or a rounded value, is a whole period, rounded like Elasticsearch: ``published:2025-01-02`` is that
  UTC day, ``[2025-01-01 TO 2025-01-31]`` includes all of January 31, ``>2025-01-31`` starts on
  February 1. Evaluation takes an explicit ``now`` (truncated to milliseconds); there is no clock.
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

- Proximity runs as ``match_phrase`` with ``slop`` N: it agrees for two words in document order;
  words out of order need a larger slop (``"a b"~0`` does not match ``b a``, ``~2`` does), and for
  three or more words Lucene counts total displacement rather than the NEAR window.
- A prefix after a phrase (``US-Pak*``) is ``match_phrase_prefix``, which tries at most
  ``MAX_PREFIX_EXPANSIONS`` words for the prefix.
- Text must be analysed like FTS5 on the Elasticsearch side too: the plain ``standard`` analyzer
  keeps diacritics and does not split ``Pakistan’s`` or ``3.5`` (see the module for an equivalent
  analyzer). Keywords are lower-cased there but case-folded here (``ß`` vs ``ss``).
- ``_exists_`` on a text field holding an empty or whitespace-only string: the index writer should
  omit such fields, as Elasticsearch may index them as present or absent.
"""

from __future__ import annotations

from pipeline.query.ast import Query, QuerySyntaxError, highlight_terms
from pipeline.query.elasticsearch import to_elasticsearch
from pipeline.query.evaluate import matches
from pipeline.query.parser import parse_query
from pipeline.query.sqlite import SqlFilter, to_sqlite

__all__ = [
    "Query", "QuerySyntaxError", "SqlFilter", "parse_query", "matches", "to_sqlite",
    "to_elasticsearch", "highlight_terms",
]
