"""Finding a person in stored text, and erasing them from it (data-protection requests).

A `PersonMatcher` is built from what identifies someone: their names, e-mail addresses
and phone numbers. It finds them as whole words and whole values, never as parts of
other words: "Li" is not in "Public library", "06 12 34 56 78" is not in a longer
number. Names match whatever their case and accents (`storage.search.fold`), with any
apostrophe (' ’ ʼ, or none: O'Brien, OBrien) and hyphens and spaces alike (Jean-Pierre,
jean pierre, Jean–Pierre); e-mail addresses whole, in any case; phone numbers by their
digits (+33 6 12 34 56 78, 06.12.34.56.78 and 0612345678 are one number).

It works on plain text, on HTML (what is between tags and inside attribute values,
across escaping: O&#39;Brien is O'Brien) and on JSON values (every string of them), and
gives the LIKE patterns with which the database narrows the rows worth reading.

Pure text handling, with no database in it.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from storage.search import fold

APOSTROPHES = "'’ʼ‘`′"
# Hyphens and dashes that join the parts of a name, as a regular expression's class
# (folding makes the non-breaking hyphen U+2010, the full-width one "-").
HYPHENS = r"\-‐‑‒–—―−"
_SPACE = rf"[\s{HYPHENS}]+"  # between the words of a name: spaces and hyphens alike
_DOTTED = rf"[\s.{HYPHENS}]+"  # the same, for a name written with dots ("J.-P. Roux")
_APOSTROPHE = rf"(?:\s*[{APOSTROPHES}]\s*|\s?)"  # O'Brien, O’Brien, OBrien, O Brien
# A name starts and ends a word: not glued to letters, nor to a word by a hyphen
# (Jean-Pierre is not Pierre); an apostrophe before it is French elision (d'Anne).
_NAME_BEFORE = rf"(?<!\w)(?<!\w[{HYPHENS}])"
_NAME_AFTER = rf"(?!\w)(?![{HYPHENS}]\w)"
_EMAIL_BEFORE = r"(?<![\w.+\-])"
_EMAIL_AFTER = r"(?![\w\-]|\.[\w\-])"
_PHONE_SEPARATOR = r"[ \t.\-/]{0,3}"
_PHONE_BEFORE = r"(?<![\w+])(?<!\d[ .\-/])"
_PHONE_AFTER = r"(?!\d)(?![ .\-/]\d)"
_FRENCH_PREFIX = r"(?:(?:\+|00)\s?33\s?(?:\(0\)\s?|0\s?)?|\(\+33\)\s?(?:0\s?)?|0)"
_INTERNATIONAL_PREFIX = r"(?:\+|00)\s?"

EMAIL = re.compile(r"[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[^@\s<>(),;:\".]{2,}")
PHONE = re.compile(r"\+?[0-9 .\-()/]+")
_WORD = re.compile(r"\w+")
_ASCII_RUN = re.compile(r"[A-Za-z0-9]+")

# What `redact_json` reads as HTML by default: Matrix's formatted bodies.
HTML_KEYS = frozenset({"formatted_body"})

_TAG = re.compile(r"<!--.*?-->|<[^>]*>", re.DOTALL)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?")
_ATTRIBUTE = re.compile(r"""(\s[^\s=/>]+\s*=\s*)("[^"]*"|'[^']*'|[^\s"'>]+)""")


def is_email(text: str) -> bool:
    return bool(EMAIL.fullmatch(text.strip()))


def is_phone(text: str) -> bool:
    """A phone number as people write it: digits and separators, 6 to 15 digits."""
    text = text.strip()
    return bool(PHONE.fullmatch(text)) and 6 <= sum(c.isdigit() for c in text) <= 15


def phone_key(value: str) -> str:
    """A phone number reduced to what identifies it: "fr:612345678" for a French number
    however written (+33 6 12 34 56 78, 0612345678, 0033 6..., +33 (0)6...), else its
    digits, "+" first when international."""
    text = value.strip()
    digits = "".join(c for c in text if c.isdigit())
    international = text.startswith("+") or (digits.startswith("00") and len(digits) > 10)
    if digits.startswith("00") and international and not text.startswith("+"):
        digits = digits[2:]
    if international and digits.startswith("33"):
        national = digits[2:]
        if national.startswith("0") and len(national) == 10:
            national = national[1:]  # +33 (0)6 ...
        return f"fr:{national}"
    if not international and digits.startswith("0") and len(digits) == 10:
        return f"fr:{digits[1:]}"
    return f"+{digits}" if international else digits


def email_key(value: str) -> str:
    return fold(value.strip())


def name_key(value: str) -> str:
    """A name as matching sees it: its folded words (so "Jean-Pierre O'Brien" and
    "jean pierre o brien" are the same)."""
    return " ".join(_WORD.findall(fold(value)))


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_regex(patterns: Iterable[str]) -> str:
    """LIKE patterns (ESCAPE '\\') as one regular expression matching what any of them
    matches: PostgreSQL reads a text once with it (~*), three times faster than ILIKE
    once per pattern."""
    alternatives: list[str] = []
    for pattern in patterns:
        parts = [p for p in re.split(r"(\\.|%|_)", pattern) if p]
        regex = "".join(
            ".*" if p == "%" else "." if p == "_" else re.escape(p[-1] if p[0] == "\\" else p)
            for p in parts
        )
        head = "" if pattern.startswith("%") else "^"
        tail = "" if pattern.endswith("%") and not pattern.endswith("\\%") else "$"
        core = regex.removeprefix(".*") if not head else regex
        core = core.removesuffix(".*") if not tail else core
        alternatives.append(f"{head}{core}{tail}")
    return "|".join(alternatives)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # "name", "email" or "phone"


def _name_pattern(name: str) -> str | None:
    folded = fold(name)
    words = list(_WORD.finditer(folded))
    if not words:
        return None
    parts = [re.escape(words[0].group())]
    for before, word in itertools.pairwise(words):
        between = folded[before.end() : word.start()]
        if any(c in APOSTROPHES for c in between):
            joint = _APOSTROPHE
        else:
            joint = _DOTTED if "." in between else _SPACE
        parts += [joint, re.escape(word.group())]
    return _NAME_BEFORE + "".join(parts) + _NAME_AFTER


def _phone_pattern(value: str) -> tuple[str, str] | None:
    """The regular expression of a phone number in its usual spellings, and its
    significant digits (for the database's prefilter)."""
    key = phone_key(value)
    if key.startswith("fr:"):
        prefix, digits = _FRENCH_PREFIX, key[3:]
    elif key.startswith("+"):
        prefix, digits = _INTERNATIONAL_PREFIX, key[1:]
    else:
        prefix, digits = "", key
    if len(digits) < 4:
        return None
    body = _PHONE_SEPARATOR.join(digits)
    return _PHONE_BEFORE + prefix + body + _PHONE_AFTER, digits


def _folded(text: str) -> tuple[str, list[int] | None]:
    """The folded text, and where each of its characters comes from in `text` (None
    when it is character for character the same: plain ASCII)."""
    if text.isascii():
        return text.lower(), None
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        part = fold(char)
        chars.append(part)
        origin.extend([index] * len(part))
    return "".join(chars), origin


class PersonMatcher:
    """Where a person is mentioned in a text, and the text without them."""

    def __init__(
        self,
        *,
        names: Iterable[str] = (),
        emails: Iterable[str] = (),
        phones: Iterable[str] = (),
    ) -> None:
        self.names = sorted({" ".join(n.split()) for n in names if _WORD.search(fold(n))})
        self.emails = sorted({email_key(e) for e in emails if e.strip()})
        self.phones = sorted({p.strip() for p in phones if p.strip()})
        # E-mails first: an address is taken whole, before a name finds itself in it.
        groups: list[str] = []
        if self.emails:
            alternatives = "|".join(re.escape(e) for e in sorted(self.emails, key=len)[::-1])
            groups.append(f"(?P<email>{_EMAIL_BEFORE}(?:{alternatives}){_EMAIL_AFTER})")
        name_patterns = {p for p in map(_name_pattern, self.names) if p}
        if name_patterns:
            ordered = sorted(name_patterns, key=len, reverse=True)
            groups.append("(?P<name>" + "|".join(ordered) + ")")
        self._phone_digits: list[str] = []
        phone_patterns: set[str] = set()
        for phone in self.phones:
            found = _phone_pattern(phone)
            if found is not None:
                phone_patterns.add(found[0])
                self._phone_digits.append(found[1])
        if phone_patterns:
            ordered = sorted(phone_patterns, key=len, reverse=True)
            groups.append("(?P<phone>" + "|".join(ordered) + ")")
        self._regex = re.compile("|".join(groups)) if groups else None

    @property
    def empty(self) -> bool:
        return self._regex is None

    # --- Plain text.

    def spans(self, text: str) -> list[Span]:
        """Where the person is in `text`, in order, not overlapping."""
        if self._regex is None or not text:
            return []
        folded, origin = _folded(text)
        found: list[Span] = []
        for match in self._regex.finditer(folded):
            start, end = match.span()
            if start == end:
                continue
            if origin is not None:
                start, end = origin[start], origin[end - 1] + 1
            if found and start < found[-1].end:
                continue
            found.append(Span(start, end, match.lastgroup or "name"))
        return found

    def mentions(self, text: str) -> bool:
        if self._regex is None or not text:
            return False
        return self._regex.search(_folded(text)[0]) is not None

    def redact(self, text: str, marker: str) -> str:
        """`text` with every mention of the person replaced by `marker`; the rest of it
        is kept exactly as it was written."""
        spans = self.spans(text)
        if not spans:
            return text
        out: list[str] = []
        position = 0
        for span in spans:
            out += [text[position : span.start], marker]
            position = span.end
        out.append(text[position:])
        return "".join(out)

    # --- HTML.

    def redact_html(self, markup: str, marker: str) -> str:
        """HTML with the person taken out of its text and attribute values (a mailto:
        link), across escaping; tags and the rest are kept as they were."""
        if self._regex is None or not markup:
            return markup
        if "<" not in markup and "&" not in markup:
            return self.redact(markup, html.escape(marker))
        if not self.mentions(_html_text(markup)):
            return markup
        replacements: list[tuple[int, int, str]] = []
        view, where = _html_view(markup)
        escaped_marker = html.escape(marker)
        for span in self.spans(view):
            # A mention across tags: the marker where it starts, its other parts removed.
            for index, (start, end) in enumerate(_runs(where[span.start : span.end])):
                replacements.append((start, end, escaped_marker if index == 0 else ""))
        for tag in _TAG.finditer(markup):
            for attribute in _ATTRIBUTE.finditer(tag.group()):
                raw = attribute.group(2)
                quoted = raw[:1] in "\"'"
                value = raw[1:-1] if quoted else raw
                plain = html.unescape(value)
                redacted = self.redact(plain, marker)
                if redacted != plain:
                    start = tag.start() + attribute.start(2) + (1 if quoted else 0)
                    replacements.append(
                        (start, start + len(value), html.escape(redacted, quote=True))
                    )
        if not replacements:
            return markup
        out: list[str] = []
        position = 0
        for start, end, text in sorted(replacements):
            out += [markup[position:start], text]
            position = end
        out.append(markup[position:])
        return "".join(out)

    def mentions_html(self, markup: str) -> bool:
        if self._regex is None or not markup:
            return False
        if self.mentions(_html_text(markup)):
            return True
        return any(
            self.mentions(html.unescape(a.group(2).strip("\"'")))
            for tag in _TAG.finditer(markup)
            for a in _ATTRIBUTE.finditer(tag.group())
        )

    # --- JSON values.

    def redact_json(self, value: Any, marker: str, *, html_keys: frozenset[str] = HTML_KEYS) -> Any:
        """A JSON value (dicts, lists, strings...) with the person taken out of every
        string; keys are kept, and strings under `html_keys` are read as HTML."""
        if isinstance(value, str):
            return self.redact(value, marker)
        if isinstance(value, list):
            return [self.redact_json(v, marker, html_keys=html_keys) for v in value]
        if isinstance(value, dict):
            return {
                k: (
                    self.redact_html(v, marker)
                    if k in html_keys and isinstance(v, str)
                    else self.redact_json(v, marker, html_keys=html_keys)
                )
                for k, v in value.items()
            }
        return value

    def texts(self, value: Any, *, html_keys: frozenset[str] = HTML_KEYS) -> Iterator[str]:
        """The strings of a JSON value that mention the person, HTML ones as their text."""
        if isinstance(value, str):
            if self.mentions(value):
                yield value
        elif isinstance(value, list):
            for item in value:
                yield from self.texts(item, html_keys=html_keys)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key in html_keys and isinstance(item, str):
                    if self.mentions_html(item):
                        yield _html_text(item)
                else:
                    yield from self.texts(item, html_keys=html_keys)

    def mentions_json(self, value: Any, *, html_keys: frozenset[str] = HTML_KEYS) -> bool:
        return next(self.texts(value, html_keys=html_keys), None) is not None

    # --- Showing where they are, without showing them.

    def excerpt(self, text: str, *, width: int = 90) -> str | None:
        """A short piece of `text` around the first mention of the person, every mention
        in it shortened to initials ("Z. O."), an e-mail to its first letter ("z…@…"), a
        phone number to its last two digits ("••78"); None when the person is not in it."""
        spans = self.spans(text)
        if not spans:
            return None
        first = spans[0]
        room = max(0, width - (first.end - first.start)) // 2
        start = max(0, first.start - room)
        end = min(len(text), first.end + room)
        # Whole words at the edges: the window starts after a space, ends before one.
        if start > 0:
            space = text.find(" ", start, first.start)
            start = space + 1 if space >= 0 else start
        if end < len(text):
            space = text.rfind(" ", first.end, end)
            end = space if space >= 0 else end
        for span in spans:  # a mention cut by the window is taken whole (then masked)
            if span.start < start < span.end:
                start = span.start
            if span.start < end < span.end:
                end = span.end
        out: list[str] = []
        position = start
        for span in spans:
            if span.end <= start or span.start >= end:
                continue
            out += [text[position : span.start], mask(text[span.start : span.end], span.kind)]
            position = span.end
        out.append(text[position:end])
        shown = " ".join("".join(out).split())
        return ("…" if start > 0 else "") + shown + ("…" if end < len(text) else "")

    # --- What the database looks for first.

    def like_patterns(self) -> list[str]:
        """LIKE patterns (case-insensitive, ESCAPE '\\') that every stored text mentioning
        the person matches, in plain text, HTML or JSON (where anything but ASCII is
        written \\uXXXX): the ASCII parts of each known spelling of a name in order,
        an e-mail's local part, a phone number's significant digits in order.

        A name is looked for as it is known (what was typed, what the records hold, in
        any case, with or without their accents); a text that writes it with accents
        none of these spellings has is not found. An empty list means "read everything"
        (a name with no ASCII letter at all).
        """
        patterns: set[str] = set()
        for name in self.names:
            runs = _ASCII_RUN.findall(name)
            if not runs:
                return []
            patterns.add("%" + "%".join(r.lower() for r in runs) + "%")
        for email in self.emails:
            local = email.split("@", 1)[0]
            patterns.add(f"%{like_escape(local)}@%" if local else f"%{like_escape(email)}%")
        for digits in self._phone_digits:
            patterns.add("%" + "%".join(digits) + "%")
        return sorted(patterns)

    def folded_like_patterns(self) -> list[str]:
        """LIKE patterns for a column that holds the folded text (`fold`): the words of
        each name in order, e-mails whole, phones' digits in order. Exact: every text
        the matcher finds matches one of them."""
        patterns: set[str] = set()
        for name in self.names:
            words = _WORD.findall(fold(name))
            patterns.add("%" + "%".join(like_escape(w) for w in words) + "%")
        for email in self.emails:
            patterns.add(f"%{like_escape(email)}%")
        for digits in self._phone_digits:
            patterns.add("%" + "%".join(digits) + "%")
        return sorted(patterns)


def mask(text: str, kind: str) -> str:
    """A mention shortened so that it shows where the person was, not who: initials
    for a name, the first letter of an e-mail, the last two digits of a number."""
    if kind == "email":
        return f"{text[:1]}…@…"
    if kind == "phone":
        digits = [c for c in text if c.isdigit()]
        return "••" + "".join(digits[-2:])
    initials = [w[0].upper() + "." for w in re.split(rf"[\s{HYPHENS}]+", text) if w[:1].strip()]
    return " ".join(initials) or "…"


def _html_text(markup: str) -> str:
    """The text of HTML, a space for each tag, entities decoded."""
    return html.unescape(_TAG.sub(" ", markup))


def _html_view(markup: str) -> tuple[str, list[tuple[int, int] | None]]:
    """The text of HTML with, for each of its characters, the part of `markup` it
    comes from (None for the space that stands for a tag)."""
    chars: list[str] = []
    where: list[tuple[int, int] | None] = []

    def add_text(start: int, end: int) -> None:
        index = start
        while index < end:
            if markup[index] == "&":
                entity = _ENTITY.match(markup, index, end)
                if entity is not None:
                    for char in html.unescape(entity.group()):
                        chars.append(char)
                        where.append(entity.span())
                    index = entity.end()
                    continue
            chars.append(markup[index])
            where.append((index, index + 1))
            index += 1

    position = 0
    for tag in _TAG.finditer(markup):
        add_text(position, tag.start())
        chars.append(" ")
        where.append(None)
        position = tag.end()
    add_text(position, len(markup))
    return "".join(chars), where


def _runs(where: list[tuple[int, int] | None]) -> list[tuple[int, int]]:
    """The contiguous stretches of markup that some characters come from (a tag
    between two of them starts a new stretch)."""
    runs: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for place in where:
        if place is None:
            if current is not None:
                runs.append(current)
            current = None
        elif current is not None and place[0] <= current[1]:
            current = (current[0], max(current[1], place[1]))
        else:
            if current is not None:
                runs.append(current)
            current = place
    if current is not None:
        runs.append(current)
    return runs
