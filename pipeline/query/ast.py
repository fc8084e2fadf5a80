"""newsmon's query AST (immutable): the nodes every backend translates.

Nodes: :class:`MatchAll`, :class:`Bool` (must / should / must_not, Lucene's boolean clause model),
and the leaves :class:`Text`, :class:`Keyword`, :class:`DateRange`, :class:`NumberRange`,
:class:`Exists`. :func:`pipeline.query.parser.parse_query` is the only way to build one; every user
mistake becomes a one-line :class:`QuerySyntaxError`. The semantics are documented in :mod:`pipeline.query`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from pipeline.errors import UserInputError
from pipeline.query.datemath import DateValue

__all__ = [
    "QuerySyntaxError", "Query", "Node", "MatchAll", "Bool", "Text", "Keyword", "DateRange",
    "NumberRange", "Exists", "positive_text_leaves", "highlight_terms",
]


class QuerySyntaxError(UserInputError):
    """The query text is not valid; the message is one line and names the problem."""


@dataclass(frozen=True)
class MatchAll:
    """Matches every document (empty query, ``*``, ``*:*``)."""


@dataclass(frozen=True)
class Bool:
    """All ``must``, none of ``must_not``, and at least one ``should`` unless there is a ``must``
    (then ``should`` clauses only rank). With only ``must_not`` it matches everything else."""

    must: tuple[Node, ...] = ()
    should: tuple[Node, ...] = ()
    must_not: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Text:
    """Analysed tokens in any of ``fields``: a phrase (consecutive tokens; one token is a term),
    with the last token a prefix when ``prefix``, or, when ``slop`` is set, all tokens within
    ``slop`` positions of each other (FTS5 NEAR)."""

    fields: tuple[str, ...]
    tokens: tuple[str, ...]
    prefix: bool = False
    slop: int | None = None


@dataclass(frozen=True)
class Keyword:
    """An exact keyword value, compared case-insensitively. When ``wildcard``, ``value`` is a
    pattern where ``*`` and ``?`` are wildcards and ``\\*``, ``\\?``, ``\\\\`` are literal."""

    field: str
    value: str
    wildcard: bool = False


@dataclass(frozen=True)
class DateRange:
    """Dates between two unresolved values (None: open); a bare date has ``low == high``."""

    field: str
    low: DateValue | None
    high: DateValue | None
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True)
class NumberRange:
    """Numbers between ``low`` and ``high`` (None: open); an exact value has ``low == high``."""

    field: str
    low: float | None
    high: float | None
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True)
class Exists:
    """The field has a value: non-empty text, a keyword value, a valid date, a number."""

    field: str


Node: TypeAlias = MatchAll | Bool | Text | Keyword | DateRange | NumberRange | Exists


@dataclass(frozen=True)
class Query:
    """A parsed query: the user's ``text`` and the AST ``root``."""

    text: str
    root: Node


def positive_text_leaves(root: Node) -> list[Text]:
    """The Text leaves not under a must_not, in query order, without duplicates."""
    found: list[Text] = []
    pending: list[Node] = [root]
    while pending:
        node = pending.pop(0)
        if isinstance(node, Text) and node not in found:
            found.append(node)
        elif isinstance(node, Bool):
            pending[:0] = [*node.must, *node.should]
    return found


def highlight_terms(query: Query) -> list[str]:
    """The positive text terms and phrases, analysed (``reko diq``; a prefix ends with ``*``)."""
    terms: list[str] = []
    for leaf in positive_text_leaves(query.root):
        term = " ".join(leaf.tokens) + ("*" if leaf.prefix else "")
        if term not in terms:
            terms.append(term)
    return terms
