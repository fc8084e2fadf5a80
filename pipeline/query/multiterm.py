"""Multi-term matching: which tokens a wildcard, fuzzy or regular-expression leaf accepts.

One definition for every backend that matches tokens itself: the in-memory evaluator tests a
document's own tokens, the SQLite index expands a leaf against its term dictionary
(:func:`expand`). Elasticsearch runs its native ``wildcard``, ``fuzzy`` and ``regexp`` queries on the
same tokens.

- Wildcard: ``*`` any run, ``?`` one character, ``\\`` escapes; the whole token must match.
- Fuzzy: Lucene's edit distance with transpositions (optimal string alignment: insert, delete,
  substitute, swap two neighbours, computed by rapidfuzz), at most 2; expanded to the :data:`MAX_FUZZY_EXPANSIONS`
  nearest terms (then alphabetical), as Lucene keeps its top terms.
- Regexp: Lucene's syntax translated to Python's :mod:`re` (:func:`lucene_regex`): ``.``, ``?``,
  ``+``, ``*``, ``{n}``, ``{n,}``, ``{n,m}``, ``|``, groups, character classes, ``"literal"`` strings,
  ``@`` (any string) and ``#`` (the empty language); every other character is literal (``^``, ``$``
  and ``\\d`` too, as in Lucene). Intersection ``&``, complement ``~`` and numeric intervals
  ``<1-10>`` are refused with a :class:`QuerySyntaxError`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

from pipeline.query.ast import MAX_FUZZY_EXPANSIONS, Fuzzy, MultiTerm, QuerySyntaxError, Regexp, Wildcard

__all__ = ["accepts", "expand", "edit_distance", "wildcard_regex", "lucene_regex", "MAX_EXPANSIONS"]

MAX_EXPANSIONS = 4096  # terms a wildcard or regexp may expand to on an index before it is refused


def accepts(node: MultiTerm, token: str) -> bool:
    """Whether ``node`` matches this one (analysed) token."""
    if isinstance(node, Fuzzy):
        return edit_distance(node.term, token, node.max_edits) is not None
    return _compiled(node).fullmatch(token) is not None


def expand(node: MultiTerm, terms: Iterable[str]) -> list[str]:
    """The terms of a dictionary that ``node`` matches: for a fuzzy leaf the nearest
    :data:`MAX_FUZZY_EXPANSIONS`; for a wildcard or regexp all of them, refused with a
    QuerySyntaxError beyond :data:`MAX_EXPANSIONS`."""
    if isinstance(node, Fuzzy):
        near = process.extract(node.term, list(terms), scorer=OSA.distance, score_cutoff=node.max_edits, limit=None)
        nearest = sorted((distance, term) for term, distance, _ in near)[:MAX_FUZZY_EXPANSIONS]
        return [term for _, term in nearest]
    pattern = _compiled(node)
    found = [term for term in terms if pattern.fullmatch(term)]
    if len(found) > MAX_EXPANSIONS:
        shown = node.pattern if isinstance(node, Wildcard) else f"/{node.pattern}/"
        raise QuerySyntaxError(f"invalid query: {shown!r} matches more than {MAX_EXPANSIONS} words;"
                               " make it more specific")
    return found


def edit_distance(a: str, b: str, limit: int) -> int | None:
    """The optimal-string-alignment distance of ``a`` and ``b`` when it is at most ``limit``, else None."""
    distance = OSA.distance(a, b, score_cutoff=limit)
    return distance if distance <= limit else None


def _compiled(node: Wildcard | Regexp) -> re.Pattern[str]:
    return wildcard_regex(node.pattern) if isinstance(node, Wildcard) else lucene_regex(node.pattern)


@functools.lru_cache(maxsize=256)
def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """``*`` and ``?`` as wildcards, ``\\x`` as a literal ``x``, everything else literal."""
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        out.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.DOTALL)


_REFUSED = {"&": "intersection (&)", "~": "complement (~)", "<": "numeric intervals (<n-m>)"}
_PASSED = set(".?+*|()")


@functools.lru_cache(maxsize=256)
def lucene_regex(pattern: str) -> re.Pattern[str]:
    """Lucene's regular expression syntax as a Python pattern (see the module docstring)."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(re.escape(pattern[index + 1:index + 2]))
            index += 2
        elif char == '"':
            end = pattern.find('"', index + 1)
            if end < 0:
                raise QuerySyntaxError(f"invalid query: unclosed string in regular expression /{pattern}/")
            out.append(re.escape(pattern[index + 1:end]))
            index = end + 1
        elif char == "[":
            index = _character_class(pattern, index, out)
        elif char == "{":
            end = pattern.find("}", index)
            if end < 0 or not re.fullmatch(r"\d+(,\d*)?", pattern[index + 1:end]):
                raise QuerySyntaxError(f"invalid query: bad repetition in regular expression /{pattern}/")
            out.append(pattern[index:end + 1])
            index = end + 1
        elif char in _REFUSED:
            raise QuerySyntaxError(f"invalid query: {_REFUSED[char]} in regular expressions is not supported")
        else:
            out.append(char if char in _PASSED else ".*" if char == "@" else "(?!)" if char == "#" else re.escape(char))
            index += 1
    try:
        return re.compile("".join(out), re.DOTALL)
    except (re.error, OverflowError, RecursionError) as exc:
        raise QuerySyntaxError(f"invalid query: bad regular expression /{pattern}/ ({exc})") from None


def _character_class(pattern: str, start: int, out: list[str]) -> int:
    """Translate ``[...]`` starting at ``start``; returns the index after it."""
    index, parts = start + 1, ["["]
    if pattern[index:index + 1] == "^":
        parts.append("^")
        index += 1
    while index < len(pattern) and pattern[index] != "]":
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(char if char == "-" else re.escape(char))
        index += 1
    if index >= len(pattern) or parts[-1] in ("[", "^"):
        raise QuerySyntaxError(f"invalid query: unclosed or empty [ ] in regular expression /{pattern}/")
    out.append("".join(parts) + "]")
    return index + 1
