"""Feed text escaped for a channel's markup, and cut only where a cut is safe, by the receiver's measure.

A :class:`Markup` is a run of *atoms*: pieces of the output that must never be split. Text becomes one
atom per user-perceived character (a grapheme cluster: an emoji with its modifiers and joiners, a letter
with its combining marks, as in Urdu), each already escaped, so ``&amp;`` or ``\\[`` is whole or absent;
a link or a formatting mark is one atom too. :meth:`Markup.clip` keeps whole atoms up to a limit measured
as the receiver measures (:func:`code_points`, :func:`utf16_units`, :func:`utf8_bytes`) and ends with
an ellipsis when it cut. Pure: no I/O.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["Measure", "ELLIPSIS", "code_points", "utf16_units", "utf8_bytes", "graphemes", "Markup"]

Measure = Callable[[str], int]
ELLIPSIS = "…"

_ZWJ = "\u200d"


def code_points(text: str) -> int:
    return len(text)


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units, as JavaScript counts: an emoji outside the BMP counts 2."""
    return len(text.encode("utf-16-le")) // 2


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _extends(char: str) -> bool:
    """Whether ``char`` belongs to the cluster before it (combining mark, joiner, selector, modifier, tag)."""
    code = ord(char)
    return (unicodedata.category(char) in ("Mn", "Me", "Mc") or char == _ZWJ or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F or 0xE0100 <= code <= 0xE01EF)


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def graphemes(text: str) -> list[str]:
    """``text`` split into user-perceived characters (an approximation of Unicode's extended grapheme
    clusters good for cutting: never between a base and its marks, inside a ZWJ emoji sequence or a flag)."""
    clusters: list[str] = []
    for char in text:
        previous = clusters[-1] if clusters else ""
        joined = previous.endswith(_ZWJ) or _extends(char)
        flag = _regional(char) and len(previous) == 1 and _regional(previous)
        if previous and (joined or flag):
            clusters[-1] += char
        else:
            clusters.append(char)
    return clusters


@dataclass(frozen=True)
class Markup:
    """Escaped output as atoms that are never split; ``str()`` gives the markup."""

    atoms: tuple[str, ...] = ()

    @classmethod
    def text(cls, raw: str, escape: Callable[[str], str]) -> Markup:
        """Feed text, whitespace collapsed, one escaped atom per grapheme cluster."""
        return cls(tuple(escape(cluster) for cluster in graphemes(" ".join(str(raw).split()))))

    @classmethod
    def literal(cls, markup: str) -> Markup:
        """Markup written by newsmon (a link, ``*``, a line break): one atom, kept or dropped whole."""
        return cls((markup,) if markup else ())

    @classmethod
    def join(cls, separator: Markup, parts: Iterable[Markup]) -> Markup:
        atoms: list[str] = []
        for part in (p for p in parts if p.atoms):
            atoms += [*separator.atoms, *part.atoms] if atoms else part.atoms
        return cls(tuple(atoms))

    def __add__(self, other: Markup) -> Markup:
        return Markup(self.atoms + other.atoms)

    def __str__(self) -> str:
        return "".join(self.atoms)

    def __bool__(self) -> bool:
        return bool(self.atoms)

    def measure(self, measure: Measure) -> int:
        return sum(measure(atom) for atom in self.atoms)

    def clip(self, limit: int, measure: Measure = code_points) -> Markup:
        """At most ``limit`` by ``measure``: whole atoms, then an ellipsis when anything was cut."""
        if self.measure(measure) <= limit:
            return self
        budget, kept = limit - measure(ELLIPSIS), []
        for atom in self.atoms:
            budget -= measure(atom)
            if budget < 0:
                break
            kept.append(atom)
        while kept and not kept[-1].strip():
            kept.pop()
        return Markup((*kept, ELLIPSIS)) if limit >= measure(ELLIPSIS) else Markup()
