"""From query text to newsmon's AST: luqum's Lucene parser, then a conversion that checks every
field, value and range and turns each user mistake into a one-line :class:`QuerySyntaxError`."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from luqum import tree
from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.thread import parse as luqum_parse

from pipeline.fields import DEFAULT_TEXT_FIELDS, FieldKind, field_kind
from pipeline.query.analysis import fold_pattern, tokens
from pipeline.query.ast import (
    Bool,
    DateRange,
    Exists,
    Fuzzy,
    Keyword,
    MatchAll,
    Node,
    NumberRange,
    Query,
    QuerySyntaxError,
    Regexp,
    Text,
    Wildcard,
    describe,
)
from pipeline.query.datemath import DateValue, Interval, date_interval, parse_date
from pipeline.query.multiterm import lucene_regex

__all__ = ["parse_query"]

_Chars = list[tuple[str, bool]]  # unescaped characters of a value, each with whether it was escaped
_End = TypeVar("_End", DateValue, float)  # a converted range end


def parse_query(text: str) -> Query:
    """Parse a Lucene/Kibana query string; raises :class:`QuerySyntaxError`."""
    if not text.strip():
        return Query(text=text, root=MatchAll())
    rewritten, origin = _rewrite_operators(text)
    converter = _Converter(origin)
    try:
        root = converter.convert(luqum_parse(rewritten), None)
    except ParseError as exc:
        raise QuerySyntaxError(_describe_parse_error(exc, origin)) from None
    except (ValueError, ArithmeticError):  # luqum converting the number of ~N or ^N
        raise QuerySyntaxError("invalid query: '~' and '^' must be followed by a number") from None
    except RecursionError:
        root = _TOO_DEEP
    if root is None:
        raise QuerySyntaxError(f"invalid query: nothing searchable in {text.strip()!r}")
    if root is _TOO_DEEP or _depth(root) > _MAX_DEPTH:
        raise QuerySyntaxError(f"invalid query: nested more than {_MAX_DEPTH} levels deep")
    hints = list(converter.hints)
    if converter.mixed_operators:
        hints.insert(0, f"AND mixed with OR or juxtaposition without parentheses is read as Lucene reads it:"
                        f" {describe(root)} (+ required, - excluded, others optional); add parentheses to say"
                        " what you mean")
    return Query(text=text, root=root, mixed_operators=converter.mixed_operators, hints=tuple(hints))


_MAX_DEPTH = 64
_TOO_DEEP = MatchAll()


def _depth(root: Node) -> int:
    deepest, pending = 0, [(root, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        if isinstance(node, Bool):
            pending.extend((child, depth + 1) for child in (*node.must, *node.should, *node.must_not))
    return deepest


# ---- &&, ||, ! (luqum only knows AND, OR, NOT) ------------------------------------------------

_BOUNDARY = frozenset(" \t\r\n()\"")
_SPELLED = {"&&": " AND ", "||": " OR ", "!": " NOT "}


def _rewrite_operators(text: str) -> tuple[str, list[int]]:
    """Spell ``&&``, ``||`` and a leading ``!`` as words outside phrases; map positions back."""
    out: list[str] = []
    origin: list[int] = []
    index, in_phrase = 0, False
    while index < len(text):
        step = 2 if text[index] == "\\" else 1
        symbol = _operator_at(text, index) if not in_phrase else None
        if symbol:
            out.append(_SPELLED[symbol])
            origin.extend([index] * len(_SPELLED[symbol]))
            index += len(symbol)
            continue
        in_phrase ^= text[index] == '"'
        out.append(text[index:index + step])
        origin.extend(range(index, min(index + step, len(text))))
        index += step
    origin.append(len(text))
    return "".join(out), origin


def _operator_at(text: str, index: int) -> str | None:
    before = text[index - 1] if index else " "
    if before not in _BOUNDARY:
        return None
    for symbol in ("&&", "||"):
        after = text[index + 2:index + 3] or " "
        if text.startswith(symbol, index) and after in _BOUNDARY:
            return symbol
    return "!" if text[index] == "!" else None


def _describe_parse_error(exc: ParseError, origin: list[int]) -> str:
    message = str(exc)
    found = re.search(r"position (\d+)", message)
    where = f" at position {origin[min(int(found.group(1)), len(origin) - 1)]}" if found else ""
    if isinstance(exc, IllegalCharacterError):
        bad = re.search(r"character '(.)", message, re.DOTALL)
        char = bad.group(1) if bad else "?"
        if char == '"':
            return f"invalid query: unclosed quote{where}"
        if char == "\\":
            return f"invalid query: dangling escape '\\'{where}"
        return f"invalid query: unexpected character {char!r}{where} (quote or escape it with '\\')"
    if "end of expression" in message:
        return "invalid query: unexpected end (unbalanced parentheses or brackets, or an operator without a term)"
    token = re.search(r"unexpected\s+'(.*)' at", message)
    return f"invalid query: unexpected {token.group(1)!r}{where}" if token else f"invalid query{where}"


# ---- luqum tree -> AST -----------------------------------------------------------------------------

def _unescape(raw: str) -> list[tuple[str, bool]]:
    """The characters of a luqum value as (char, was_escaped)."""
    return [(escaped or plain, bool(escaped)) for escaped, plain in re.findall(r"\\(.)|(.)", raw, re.DOTALL)]


def _plain(chars: list[tuple[str, bool]]) -> str:
    return "".join(char for char, _ in chars)


def _value_chars(item: tree.Item) -> tuple[list[tuple[str, bool]], bool]:
    """The unescaped characters of a Word or Phrase, and whether it was a phrase."""
    if isinstance(item, tree.Phrase):
        return [(char, True) for char, _ in _unescape(item.value[1:-1])], True
    if isinstance(item, tree.Word):
        return _unescape(item.value), False
    if isinstance(item, tree.Prohibit) and isinstance(item.a, (tree.Word, tree.Phrase)):
        chars, _ = _value_chars(item.a)
        return [("-", True), *chars], False
    raise QuerySyntaxError(f"invalid query: expected a value, got {str(item).strip()!r}")


def _bool(must: Iterable[Node | None] = (), should: Iterable[Node | None] = (),
          must_not: Iterable[Node | None] = ()) -> Node | None:
    """A Bool without empty (None) clauses, flattened and simplified; None when nothing is left."""
    musts = [node for node in must if node is not None]
    shoulds = [node for node in should if node is not None]
    must_nots = [node for node in must_not if node is not None]
    if not musts and not shoulds and not must_nots:
        return None
    if len(musts) + len(shoulds) == 1 and not must_nots:
        return (musts or shoulds)[0]
    flat_must: list[Node] = []
    for node in musts:
        if isinstance(node, Bool) and not node.should:
            flat_must.extend(node.must)
            must_nots.extend(node.must_not)
        else:
            flat_must.append(node)
    if musts and not flat_must and shoulds:
        flat_must.append(MatchAll())  # keep the should clauses optional, as they were
    if not flat_must and not must_nots:
        shoulds = [part for node in shoulds for part in
                   (node.should if isinstance(node, Bool) and not node.must and not node.must_not else (node,))]
    return Bool(tuple(flat_must), tuple(shoulds), tuple(must_nots))


def _sequence(item: tree.Item) -> list[tuple[str | None, tree.Item]]:
    """The operands of one level of AND / OR / juxtaposition in text order, each with the operator
    written before it (None for the first and for juxtaposition). luqum nests the operations by
    precedence; Lucene's classic parser reads them flat, left to right."""
    if not isinstance(item, (tree.AndOperation, tree.OrOperation, tree.UnknownOperation)):
        return [(None, item)]
    conj = "AND" if isinstance(item, tree.AndOperation) else "OR" if isinstance(item, tree.OrOperation) else None
    out: list[tuple[str | None, tree.Item]] = []
    for index, operand in enumerate(item.operands):
        part = _sequence(operand)
        if index:
            part[0] = (conj, part[0][1])
        out.extend(part)
    return out


def _modifier(item: tree.Item) -> str | None:
    if isinstance(item, (tree.Not, tree.Prohibit)):
        return "-"
    return "+" if isinstance(item, tree.Plus) else None


def lucene_occurs(clauses: list[tuple[str | None, str | None]]) -> list[str]:
    """``must`` / ``should`` / ``must_not`` for each (operator before it, modifier) of one level, by
    the rules of Lucene's classic query parser with the default operator OR: ``+x`` and a clause
    after AND are required, and AND also makes the clause before it required; ``-x`` and ``NOT x``
    are prohibited; every other clause is optional (``should``). So ``a OR b AND c`` is
    ``a +b +c`` and ``a AND b OR c`` is ``+a +b c``."""
    occurs: list[str] = []
    for conj, modifier in clauses:
        if occurs and conj == "AND" and occurs[-1] != "must_not":
            occurs[-1] = "must"
        if modifier == "-":
            occurs.append("must_not")
        else:
            occurs.append("must" if modifier == "+" or conj == "AND" else "should")
    return occurs


_MAX_SLOP = 100_000  # Elasticsearch needs a 32-bit slop; no field is this long


class _Converter:
    """Walks luqum's tree; ``field`` is the field in scope (None: the default text fields)."""

    def __init__(self, origin: list[int]) -> None:
        self._origin = origin
        self.mixed_operators = False  # some level mixes AND with OR or juxtaposition, unparenthesised
        self.hints: list[str] = []

    def _at(self, item: tree.Item) -> str:
        position = getattr(item, "pos", None)
        if position is None:
            return ""
        return f" at position {self._origin[min(position, len(self._origin) - 1)]}"

    def _fail(self, message: str, item: tree.Item) -> QuerySyntaxError:
        return QuerySyntaxError(f"invalid query: {message}{self._at(item)}")

    def convert(self, item: tree.Item, field: str | None) -> Node | None:
        if isinstance(item, (tree.Group, tree.FieldGroup, tree.Boost)):
            return self.convert(item.expr, field)  # a boost only ranks: ignored
        if isinstance(item, tree.SearchField):
            return self._search_field(item, field)
        if isinstance(item, (tree.AndOperation, tree.OrOperation, tree.UnknownOperation)):
            return self._clauses(item, field)
        if isinstance(item, (tree.Not, tree.Prohibit)):
            return _bool(must_not=[self.convert(item.a, field)])
        if isinstance(item, tree.Plus):
            return self.convert(item.a, field)
        if isinstance(item, (tree.Word, tree.Phrase)):
            return self._value(item, field)
        if isinstance(item, tree.Proximity):
            return self._proximity(item, field)
        if isinstance(item, (tree.Range, tree.From, tree.To)):
            return self._range(item, field)
        if isinstance(item, tree.Fuzzy):
            return self._fuzzy(item, field)
        if isinstance(item, tree.Regex):
            return self._regexp(item, field)
        raise self._fail(f"unsupported syntax {str(item).strip()!r}", item)

    def _clauses(self, item: tree.BaseOperation, field: str | None) -> Node | None:
        """One level of clauses, read as Lucene's classic query parser reads them (default operator
        OR; see :func:`lucene_occurs`)."""
        sequence = _sequence(item)
        operators = {conj for conj, _ in sequence[1:]}
        self.mixed_operators |= "AND" in operators and len(operators) > 1
        occurs = lucene_occurs([(conj, _modifier(operand)) for conj, operand in sequence])
        must: list[Node | None] = []
        should: list[Node | None] = []
        must_not: list[Node | None] = []
        for occur, (_, operand) in zip(occurs, sequence, strict=True):
            inner = operand.a if isinstance(operand, (tree.Not, tree.Prohibit, tree.Plus)) else operand
            {"must": must, "should": should, "must_not": must_not}[occur].append(self.convert(inner, field))
        return _bool(must, should, must_not)

    def _search_field(self, item: tree.SearchField, field: str | None) -> Node | None:
        name = _plain(_unescape(item.name))
        if field is not None:
            raise self._fail(f"field {name!r} inside field {field!r} (quote or escape a value containing ':')", item)
        if name == "_exists_":
            if not isinstance(item.expr, (tree.Word, tree.Phrase)):
                raise self._fail("_exists_ needs a field name, e.g. _exists_:body", item)
            target = _plain(_value_chars(item.expr)[0])
            if field_kind(target) is None:
                raise self._fail(f"unknown field {target!r} in _exists_", item)
            return Exists(target)
        if name == "*":
            if isinstance(item.expr, tree.Word) and item.expr.value == "*":
                return MatchAll()
            raise self._fail("unknown field '*' (only *:* is allowed)", item)
        if field_kind(name) is None:
            raise self._fail(f"unknown field {name!r}", item)
        return self.convert(item.expr, name)

    def _value(self, item: tree.Term, field: str | None) -> Node | None:
        chars, phrase = _value_chars(item)
        if chars == [("*", False)]:
            return MatchAll() if field is None else Exists(field)
        if field is None or field_kind(field) is FieldKind.TEXT:
            if phrase:
                words = tokens(_plain(chars))
                return Text(DEFAULT_TEXT_FIELDS if field is None else (field,), tuple(words)) if words else None
            return self._text(chars, field, item)
        kind = field_kind(field)
        if kind is FieldKind.KEYWORD:
            return self._keyword(chars, phrase, field, item)
        if kind is FieldKind.DATE:
            value = self._date(chars, field, item)
            return DateRange(field, value, value)
        number = self._number(chars, field, item)
        return NumberRange(field, number, number)

    def _text(self, chars: list[tuple[str, bool]], field: str | None, item: tree.Item) -> Node | None:
        """A word: its tokens, each a term; a word the analyser splits (``US-Pakistan``) is the OR of
        its tokens, as Lucene reads it (quote it for the phrase). A trailing ``*`` makes the last
        token a prefix; other wildcards make a :class:`Wildcard` of one token."""
        fields = DEFAULT_TEXT_FIELDS if field is None else (field,)
        wild = [index for index, (char, escaped) in enumerate(chars) if char in "*?" and not escaped]
        prefix = wild == [len(chars) - 1] and chars[-1][0] == "*"
        if wild and not prefix:
            return self._wildcard(chars, fields, item)
        body = _plain(chars[:-1] if prefix else chars)
        words = tokens(body)
        if prefix and (not words or tokens(body + "a")[-1] != words[-1] + "a"):
            raise self._fail(f"'*' in {_plain(chars)!r} must directly follow a letter or digit", item)
        if not words:
            return None
        last = len(words) - 1
        return _bool(should=[Text(fields, (word,), prefix=prefix and n == last) for n, word in enumerate(words)])

    def _wildcard(self, chars: list[tuple[str, bool]], fields: tuple[str, ...], item: tree.Item) -> Node:
        """``*stan``, ``kash*r``, ``nucl?ar``: one token matching the pattern (escapes kept)."""
        pattern = "".join(("\\" + char if escaped and char in "*?\\" else char) for char, escaped in chars)
        literal = "".join("a" if char in "*?" and not escaped else char for char, escaped in chars)
        if len(tokens(literal)) != 1 or tokens(literal)[0] != fold_pattern(literal):
            raise self._fail(f"wildcard pattern {_plain(chars)!r} must be one word (letters and digits"
                             " with * and ?)", item)
        folded = fold_pattern(pattern)
        if folded.strip("*") == "":
            return MatchAll()
        return Wildcard(fields, folded)

    def _fuzzy(self, item: tree.Fuzzy, field: str | None) -> Node:
        """``word~`` (edits by length, as Elasticsearch's AUTO: 0 up to 2 characters, 1 up to 5,
        else 2) and ``word~N``, N from 0 to 2, on text fields."""
        fields = self._text_fields(field, "fuzzy search (word~)", item)
        if not isinstance(item.term, tree.Word):
            raise self._fail("fuzzy search applies to one word (use \"...\"~N for proximity)", item)
        words = tokens(_plain(_unescape(item.term.value)))
        if len(words) != 1:
            raise self._fail(f"fuzzy search applies to one word, not {item.term.value!r}", item)
        text = str(item).strip()
        if text.endswith("~"):
            edits = 0 if len(words[0]) <= 2 else 1 if len(words[0]) <= 5 else 2
        elif item.degree != int(item.degree) or not 0 <= item.degree <= 2:
            raise self._fail(f"fuzzy edits must be 0, 1 or 2, got ~{item.degree}", item)
        else:
            edits = int(item.degree)
        return Fuzzy(fields, words[0], edits)

    def _regexp(self, item: tree.Regex, field: str | None) -> Node:
        """``/talib[a-z]n/``: one token matching the expression whole. As in Lucene the expression is
        not analysed, so upper-case letters or diacritics never match a token: a hint says so."""
        fields = self._text_fields(field, "regular expressions (/.../)", item)
        pattern = item.value[1:-1]
        lucene_regex(pattern)  # refuse what it cannot translate now, with the position
        if fold_pattern(pattern) != pattern:
            self.hints.append(f"/{pattern}/ is not analysed and tokens are lower-case without diacritics:"
                              f" it can only match as /{fold_pattern(pattern)}/")
        return Regexp(fields, pattern)

    def _text_fields(self, field: str | None, what: str, item: tree.Item) -> tuple[str, ...]:
        if field is None:
            return DEFAULT_TEXT_FIELDS
        if field_kind(field) is not FieldKind.TEXT:
            raise self._fail(f"field {field!r}: {what} only applies to text fields", item)
        return (field,)

    def _keyword(self, chars: list[tuple[str, bool]], phrase: bool, field: str, item: tree.Item) -> Node:
        if not chars:
            raise self._fail(f"field {field!r}: empty value", item)
        wildcard = not phrase and any(char in "*?" and not escaped for char, escaped in chars)
        if not wildcard:
            return Keyword(field, _plain(chars))
        pattern = "".join(
            char if char in "*?" and not escaped else ("\\" + char if char in "*?\\" else char)
            for char, escaped in chars
        )
        return Keyword(field, pattern, wildcard=True)

    def _date(self, chars: list[tuple[str, bool]], field: str, item: tree.Item) -> DateValue:
        try:
            return parse_date(_plain(chars))
        except ValueError as exc:
            raise self._fail(f"field {field!r}: {exc}", item) from None

    def _number(self, chars: list[tuple[str, bool]], field: str, item: tree.Item) -> float:
        text = _plain(chars)
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise self._fail(f"field {field!r}: not a number: {text!r}", item)
        return number

    def _proximity(self, item: tree.Proximity, field: str | None) -> Node | None:
        if field is not None and field_kind(field) is not FieldKind.TEXT:
            raise self._fail(f"field {field!r}: proximity (\"...\"~N) only applies to text fields", item)
        words = tokens(_plain(_value_chars(item.term)[0]))
        if int(item.degree) > _MAX_SLOP:
            raise self._fail(f"proximity ~{item.degree} is too large (at most ~{_MAX_SLOP})", item)
        if not words:
            return None
        fields = DEFAULT_TEXT_FIELDS if field is None else (field,)
        return Text(fields, tuple(words), slop=int(item.degree) if len(words) > 1 else None)

    def _range(self, item: tree.Item, field: str | None) -> Node:
        if isinstance(item, tree.Range):
            low, high, include_low, include_high = item.low, item.high, item.include_low, item.include_high
        elif isinstance(item, tree.From):
            low, high, include_low, include_high = item.a, None, item.include, True
        else:
            low, high, include_low, include_high = None, item.a, True, item.include
        if not field:
            raise self._fail("a range needs a field: ranges only apply to date and number fields", item)
        kind = field_kind(field)
        if kind is None:  # not reached: _search_field only converts known fields
            raise self._fail(f"unknown field {field!r}", item)
        node: DateRange | NumberRange
        if kind is FieldKind.DATE:
            node = DateRange(field, *self._ends(low, high, self._date, field, item), include_low, include_high)
        elif kind is FieldKind.NUMBER:
            node = NumberRange(field, *self._ends(low, high, self._number, field, item), include_low, include_high)
        else:
            raise self._fail(f"field {field!r} is {kind.value}: ranges only apply to date and number fields", item)
        if node.low is None and node.high is None:
            return Exists(field)
        if _is_empty(node):
            raise self._fail(f"field {field!r}: empty range (the low end is above the high end)", item)
        return node

    @staticmethod
    def _ends(low: tree.Item | None, high: tree.Item | None, convert: Callable[[_Chars, str, tree.Item], _End],
              field: str, item: tree.Item) -> tuple[_End | None, _End | None]:
        """The converted ends of a range, low first; None for an open end (absent or ``*``)."""
        def end(bound: tree.Item | None) -> _End | None:
            return None if bound is None or _is_star(bound) else convert(_value_chars(bound)[0], field, item)
        return end(low), end(high)


def _is_star(item: tree.Item) -> bool:
    return isinstance(item, tree.Word) and item.value == "*"


def _is_empty(node: DateRange | NumberRange) -> bool:
    if isinstance(node, DateRange):
        if node.low is None or node.high is None or node.low.anchor is None or node.high.anchor is None:
            return False
        return date_interval(node.low, node.high, node.include_low, node.include_high, node.low.anchor).is_empty()
    return Interval(node.low, node.include_low, node.high, node.include_high).is_empty()
