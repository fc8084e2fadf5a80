"""The markdown of Adaptive Cards (Teams) for feed text: escaping and links. Pure.

A TextBlock's ``text`` and a FactSet's values are rendered as a subset of markdown: ``**bold**``,
``_italic_``, ``[label](url)`` links, and ``-``/``1.`` lists at the start of a line. Feed text has
every character that this markdown (or the CommonMark that Teams' renderers build on) reads as syntax
escaped with a backslash: ``\\ * _ ~ ` [ ] ( ) < > #`` anywhere (``_`` not inside a word, where it
starts no emphasis), and a leading ``-``, ``+``, or the ``.`` after leading digits. So
``[click here](https://evil.example)`` shows as typed, not as a link: CommonMark renderers drop the
backslashes, and a renderer that ignores them still finds no ``](`` to start a link. A link newsmon
writes has its URL percent-encoded where markdown would end it (spaces, parentheses, ``<``, ``>``)
and is not written when the URL is longer than :data:`MAX_URL`.
"""

from __future__ import annotations

from pipeline.alerting.render.markup import Markup

__all__ = ["MAX_URL", "escape", "text", "link"]

MAX_URL = 2000

_SPECIAL = set("\\*_~`[]()<>#")
_DIGITS = set("0123456789")


def escape(raw: str) -> str:
    return "".join("\\" + char if char in _SPECIAL else char for char in raw)


def text(raw: str) -> Markup:
    """Feed text as card-markdown atoms; a leading list marker is escaped too."""
    atoms = list(Markup.text(raw, escape).atoms)
    digits = next((i for i, atom in enumerate(atoms) if not (len(atom) == 1 and atom in _DIGITS)), len(atoms))
    for i in range(1, len(atoms) - 1):  # an underscore inside a word (minerals_cooperation) starts no emphasis
        if atoms[i] == "\\_" and atoms[i - 1].isalnum() and atoms[i + 1].isalnum():
            atoms[i] = "_"
    if atoms and atoms[0] in ("-", "+"):
        atoms[0] = "\\" + atoms[0]
    elif 0 < digits < len(atoms) and atoms[digits] == ".":
        atoms[digits] = "\\."
    return Markup(tuple(atoms))


def _url(url: str) -> str:
    return "".join(f"%{ord(char):02X}" if char in " ()<>" or ord(char) < 0x20 else char for char in url)


def link(url: str, label: Markup) -> Markup:
    """``[label](url)`` as one atom; ``label`` alone when there is no URL or it is too long."""
    safe = _url(url)
    if not url or len(safe) > MAX_URL:
        return label
    return Markup.literal(f"[{label}]({safe})")
