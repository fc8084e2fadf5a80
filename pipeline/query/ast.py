"""newsmon's query AST (immutable): the nodes every backend translates.

Nodes: :class:`MatchAll`, :class:`Bool` (must / should / must_not, Lucene's boolean clause model),
and the leaves :class:`Text`, :class:`Keyword`, :class:`DateRange`, :class:`NumberRange`,
:class:`Exists`, and the multi-term leaves on text fields :class:`Wildcard`, :class:`Fuzzy` and
:class:`Regexp` (each matches any one token, of any of its fields, that the pattern accepts).
:func:`pipeline.query.parser.parse_query` is the only way to build one; every user mistake becomes a
one-line :class:`QuerySyntaxError`. The semantics are documented in :mod:`pipeline.query`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from pipeline.errors import UserInputError
from pipeline.fields import DEFAULT_TEXT_FIELDS
from pipeline.query.datemath import DateValue

__all__ = [
    "QuerySyntaxError", "Query", "Node", "MatchAll", "Bool", "Text", "Keyword", "DateRange",
    "NumberRange", "Exists", "Wildcard", "Fuzzy", "Regexp", "MultiTerm", "MAX_FUZZY_EXPANSIONS",
    "positive_text_leaves", "highlight_terms", "describe",
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
    with the last token a prefix when ``prefix``, or, when ``slop`` is set, Lucene's sloppy phrase:
    the tokens at most ``slop`` moves from the phrase (see :func:`pipeline.query.evaluate.sloppy_distance`)."""

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


MAX_FUZZY_EXPANSIONS = 50  # a fuzzy term matches at most this many index terms (Lucene's default)


@dataclass(frozen=True)
class Wildcard:
    """One token of any of ``fields`` matching ``pattern`` whole: ``*`` any run of characters, ``?``
    one character, ``\\*``, ``\\?`` and ``\\\\`` literal. The pattern is analysed like a token
    (case-folded, Latin diacritics removed) and has no separator in it (``*stan``, ``kash*r``,
    ``nucl?ar``); a single trailing ``*`` is a :class:`Text` prefix instead."""

    fields: tuple[str, ...]
    pattern: str


@dataclass(frozen=True)
class Fuzzy:
    """One token of any of ``fields`` within ``max_edits`` (0-2) edits of ``term`` (an analysed
    token), an edit being an insertion, a deletion, a substitution or a transposition of two
    adjacent characters (Lucene's ``FuzzyQuery``). An index expands it to at most
    :data:`MAX_FUZZY_EXPANSIONS` terms, the nearest first."""

    fields: tuple[str, ...]
    term: str
    max_edits: int


@dataclass(frozen=True)
class Regexp:
    """One token of any of ``fields`` matching ``pattern`` whole, in Lucene's regular expression
    syntax (``.``, ``?``, ``+``, ``*``, ``{n,m}``, ``|``, ``( )``, ``[ ]`` and ``[^ ]``; anchored at both
    ends). As in Lucene the pattern is not analysed: tokens are lower-case, so ``/Taliban/`` matches
    none."""

    fields: tuple[str, ...]
    pattern: str


MultiTerm: TypeAlias = Wildcard | Fuzzy | Regexp

Node: TypeAlias = MatchAll | Bool | Text | Keyword | DateRange | NumberRange | Exists | Wildcard | Fuzzy | Regexp


@dataclass(frozen=True)
class Query:
    """A parsed query: the user's ``text`` and the AST ``root``. ``mixed_operators`` is True when
    one level mixes AND with OR or with juxtaposition without parentheses: Lucene's reading of that
    (``a OR b AND c`` is ``a +b +c``) is a known trap, so the commands show :func:`describe` and
    suggest parentheses."""

    text: str
    root: Node
    mixed_operators: bool = False
    hints: tuple[str, ...] = ()  # one line each: how a trap in the query was read (commands show them)


def describe(node: Node, nested: bool = False) -> str:
    """How the query was read, in Lucene's notation (``taliban +isis +pakistan``): ``+`` required,
    ``-`` prohibited, a bare clause optional; the default text fields are left out."""
    if isinstance(node, Bool):
        parts = ([f"+{describe(child, True)}" for child in node.must] + [describe(child, True) for child in node.should]
                 + [f"-{describe(child, True)}" for child in node.must_not])
        text = " ".join(parts)
        return f"({text})" if nested else text
    if isinstance(node, MatchAll):
        return "*:*"
    if isinstance(node, Exists):
        return f"_exists_:{node.field}"
    if isinstance(node, (Keyword, DateRange, NumberRange)):
        return f"{node.field}:{_describe_value(node)}"
    fields = "" if node.fields == DEFAULT_TEXT_FIELDS else "|".join(node.fields) + ":"
    if isinstance(node, Wildcard):
        return fields + node.pattern
    if isinstance(node, Fuzzy):
        return f"{fields}{node.term}~{node.max_edits}"
    if isinstance(node, Regexp):
        return f"{fields}/{node.pattern}/"
    words = " ".join(node.tokens) + ("*" if node.prefix else "")
    if len(node.tokens) == 1 and node.slop is None:
        return fields + words
    return f'{fields}"{words}"' + (f"~{node.slop}" if node.slop is not None else "")


def _describe_value(node: Keyword | DateRange | NumberRange) -> str:
    if isinstance(node, Keyword):
        return node.value
    low = "*" if node.low is None else node.low.text if isinstance(node, DateRange) else f"{node.low:g}"
    high = "*" if node.high is None else node.high.text if isinstance(node, DateRange) else f"{node.high:g}"
    if node.low is not None and node.low == node.high:
        return low
    return f"{'[' if node.include_low else '{'}{low} TO {high}{']' if node.include_high else '}'}"


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
