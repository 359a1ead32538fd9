"""Make text that came from an audited stack safe to display: one line, only visible characters.

Resource names, logical ids, tag values, messages quoting them: a stack author controls all of
it, and whoever reads the output (a terminal, a mail client, a chat window) must see exactly
what is there and nothing more. So:

- control characters go (C0 and C1: an ANSI escape starts with ESC and can recolour, retitle or
  clear a terminal, or hide a hyperlink; NUL; DEL), and so do format characters (bidi overrides
  and isolates that display text in another order, zero-width characters, invisible Unicode
  tags), surrogates, private-use and unassigned code points;
- every kind of line break (``\\n``, ``\\r``, U+2028/U+2029, NEL, vertical tab, form feed) and
  other whitespace becomes one space, so a name cannot start a forged line of its own;
- the result is capped, with an ellipsis, so one name cannot push everything else away.

Markup is the renderer's business: the alert neutralises mail and chat syntax (``alert.clean``),
the terminal table never parses markup in data (rich ``Text``).
"""

from __future__ import annotations

import re

ELLIPSIS = "\u2026"
_SPACES = re.compile(r" {2,}")


def visible(text: str) -> str:
    """``text`` without invisible or reordering characters; whitespace runs become one space."""
    if not text.isprintable():  # fast path: most names and messages are plain
        text = "".join(ch if ch.isprintable() else " " if ch.isspace() else "" for ch in text)
    return _SPACES.sub(" ", text)


def one_line(text: object, limit: int) -> str:
    """Untrusted text -> one visible line of at most ``limit`` characters."""
    # Cut first: filtering a 4 MB value character by character takes seconds.
    value = visible(str(text)[: limit * 4 + 16]).strip()
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS
