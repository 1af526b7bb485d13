"""How stored text is made searchable: folded keys, words, trigrams, and redaction.

Kept in `storage/` because the repositories maintain their search tables with it;
it is pure text handling, with no database in it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

WORD = re.compile(r"\w+")
TERM_LENGTH = 64  # longer words are indexed (and looked up) by their first 64 characters
MIN_TERM = 2  # one-letter words are not worth an index row


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a text (names, tags, commands, search)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def squash(text: str) -> str:
    """A folded key with runs of spaces made one and the ends trimmed."""
    return " ".join(fold(text).split())


def words(text: str) -> list[str]:
    """The folded words of a text, as the search index keeps them (in order, repeated)."""
    return [w[:TERM_LENGTH] for w in WORD.findall(fold(text)) if len(w) >= MIN_TERM]


def trigrams(text: str) -> set[str]:
    """Trigrams of each folded word, padded with a space at both ends ("kidi" -> " ki", ...)."""
    grams: set[str] = set()
    for word in WORD.findall(fold(text)):
        padded = f" {word[:TERM_LENGTH]} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def like_pattern(text: str, *, anywhere: bool = True) -> str:
    """`%text%` (or `text%`) for LIKE ... ESCAPE '\\', the wildcards in `text` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%" if anywhere else f"{escaped}%"


def prefix_range(prefix: str) -> tuple[str, str]:
    """Bounds of every string starting with `prefix`, in byte order."""
    return prefix, prefix + "\U0010ffff"


def redact(text: str, needles: Iterable[str], marker: str) -> str:
    """`text` with every occurrence of the (folded) needles replaced by `marker`.

    Matching ignores case and accents, like the rest of the search; what is kept of
    the text is kept exactly as it was written.
    """
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for part in fold(char):
            folded.append(part)
            origin.append(index)
    haystack = "".join(folded)
    spans: list[tuple[int, int]] = []
    for needle in needles:
        if not needle:
            continue
        start = 0
        while (found := haystack.find(needle, start)) >= 0:
            end = found + len(needle)
            spans.append((origin[found], origin[end - 1] + 1))
            start = end
    if not spans:
        return text
    out: list[str] = []
    position = 0
    for begin, end in sorted(spans):
        if end <= position:
            continue
        out.append(text[position : max(begin, position)])
        if begin >= position:
            out.append(marker)
        position = end
    out.append(text[position:])
    return "".join(out)
