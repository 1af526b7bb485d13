"""How stored text is made searchable: folded keys, words, trigrams, and redaction.

Kept in `storage/` because the repositories maintain their search tables with it;
it is pure text handling, with no database in it.
"""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"\w+")
TERM_LENGTH = 64  # longer words are indexed (and looked up) by their first 64 characters
MIN_TERM = 2  # one-letter words are not worth an index row


# Characters that show nothing by themselves although they are not of category Cf
# (Unicode's other "default ignorable" ones): the combining grapheme joiner, the Hangul
# fillers, Khmer inherent vowels, variation selectors.
_IGNORABLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0"
    + "".join(map(chr, range(0x180B, 0x1810)))
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)


def invisible(char: str) -> bool:
    """Whether a character shows nothing by itself: the format characters (category Cf:
    zero-width spaces and joiners, direction controls, the soft hyphen, the BOM) and the
    other default-ignorable ones. Text differing only by them looks the same."""
    return char in _IGNORABLE or unicodedata.category(char) == "Cf"


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a text (names, tags, commands, search).

    Invisible characters are left out, so that "Ac\u200bme" cannot pass for another
    name than "Acme", nor hide from a search.
    """
    if text.isascii():  # no accent, no invisible character: the common case, made cheap
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c) and not invisible(c))


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
