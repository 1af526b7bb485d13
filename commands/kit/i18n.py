"""The message catalog: every user-visible string, in French and English.

Messages are Jinja2 templates kept in a YAML file beside each domain's code (and the
runtime's), each key holding an `fr` and an `en` text. A template renders once, from
data, to HTML (autoescaped); the plain body is derived from that same HTML, so the
two can never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup, escape

from storage.search import fold, invisible

LOCALES = ("fr", "en")

# The C loader when PyYAML was built with it: the catalog is a few thousand lines.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Rendered:
    """One message, as Matrix wants it: a plain body and its HTML form."""

    plain: str
    html: str


ROOM_PING = "@room"
# What keeps `@room` from being read as one word: the word joiner, which shows nothing.
_JOINER = "\u2060"
# The characters that fold to "@" (see `storage.search.fold`): "@", "﹫" and "＠".
_AT_SIGNS = frozenset("@\ufe6b\uff20")


def _defuse(value: Any) -> Any:
    """Keep user text from pinging the whole room through the bot: `@room` in any case or
    width (`@ROOM`, `＠ｒｏｏｍ`), even with invisible characters inside, becomes `@` and
    the word joiner before the rest, as it was typed less those invisible characters."""
    if not isinstance(value, str) or isinstance(value, Markup):
        return value
    if value.isascii():
        if ROOM_PING not in value.lower():
            return value
    elif not _AT_SIGNS.intersection(value):
        return value
    return _defuse_text(value)


def _defuse_text(text: str) -> str:
    # The folded text, one folded character at a time, remembering where each came from.
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for part in fold(char):
            folded.append(part)
            origin.append(index)
    haystack = "".join(folded)
    out: list[str] = []
    position = 0
    start = haystack.find(ROOM_PING)
    while start >= 0:
        end = start + len(ROOM_PING)
        first, last = origin[start], origin[end - 1] + 1
        rest = (c for c in text[first + 1 : last] if not invisible(c))
        out += [text[position:first], text[first], _JOINER, *rest]
        position = last
        start = haystack.find(ROOM_PING, end)
    out.append(text[position:])
    return "".join(out)


# A tag as the templates write them (attribute values are escaped, so hold no ">"), or
# a comment. What lies between is text, character references included.
_TAG = re.compile(r"<!--.*?-->|<(/?)([a-zA-Z][a-zA-Z0-9]*)(?:\s[^>]*)?/?>", re.DOTALL)
_BLOCKS = frozenset({"p", "div", "ul", "ol", "pre", "blockquote", "h1", "h2", "h3", "h4"})


def html_to_plain(html: str) -> str:
    """HTML (as our templates write it) to the plain text body: blocks and line breaks
    start lines, list items are bullets, runs of spaces are one, empty lines go."""
    parts: list[str] = []
    position = 0
    for match in _TAG.finditer(html):
        if match.start() > position:
            parts.append(unescape(html[position : match.start()]))
        position = match.end()
        closing, tag = match.group(1), (match.group(2) or "").lower()
        if not tag:
            continue  # a comment
        if closing:
            if tag in _BLOCKS:
                parts.append("\n")
        elif tag == "br":
            parts.append("\n")
        elif tag == "li":
            parts.append("\n• ")
        elif tag in _BLOCKS:
            parts.append("\n")
    parts.append(unescape(html[position:]))
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


class Catalog:
    """All messages of the bot; load once at start-up and share."""

    def __init__(self, messages: dict[str, dict[str, str]]) -> None:
        self.messages = messages
        self.env = Environment(autoescape=True, finalize=_defuse, undefined=StrictUndefined)
        self.env.filters["when"] = _format_when
        self.env.filters["pill"] = pill
        self._compiled: dict[tuple[str, str], Template] = {}
        # Messages with no template syntax and no markup (labels: "intéressé") render to
        # themselves: rendered once, then served from here (lists render dozens of them).
        self._static: dict[tuple[str, str], Rendered] = {}

    @classmethod
    def load(cls, files: Sequence[Path]) -> Catalog:
        """The catalog made of these message files (a key may be defined once only)."""
        messages: dict[str, dict[str, str]] = {}
        for path in files:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}  # noqa: S506
            for key, texts in data.items():
                if key in messages:
                    raise ValueError(f"{path.name}: message {key!r} defined twice")
                messages[key] = texts
        return cls(messages)

    def has(self, key: str) -> bool:
        return key in self.messages

    def template(self, locale: str, key: str) -> Template:
        cached = self._compiled.get((locale, key))
        if cached is None:
            try:
                source = self.messages[key][locale]
            except KeyError as exc:
                raise KeyError(f"message {key!r} has no {locale!r} text") from exc
            cached = self._compiled[(locale, key)] = self.env.from_string(source)
        return cached

    def render(self, locale: str, key: str, /, **data: Any) -> Rendered:
        static = self._static.get((locale, key))
        if static is not None:
            return static
        html = self.render_html(locale, key, **data)
        rendered = Rendered(html_to_plain(html), html)
        if not any(c in self.messages[key][locale] for c in "{}<>&"):
            self._static[(locale, key)] = rendered
        return rendered

    def render_html(self, locale: str, key: str, /, **data: Any) -> str:
        """Only the HTML form (for a message rendered inside another one)."""
        static = self._static.get((locale, key))
        if static is not None:
            return static.html
        html = self.template(locale, key).render(
            {"locale": locale, **data, "t": Translator(self, locale)}
        )
        return html.strip()

    def for_locale(self, locale: str) -> Translator:
        return Translator(self, locale)


class Translator:
    """The catalog seen in one language."""

    def __init__(self, catalog: Catalog, locale: str) -> None:
        self.catalog = catalog
        self.locale = locale

    def __call__(self, key: str, /, **data: Any) -> Rendered:
        return self.catalog.render(self.locale, key, **data)

    def text(self, key: str, /, **data: Any) -> str:
        """A short plain string (a label, a name), for use inside other messages."""
        return self(key, **data).plain

    def html(self, key: str, /, **data: Any) -> Markup:
        """A message's HTML, safe to insert in another message: `{{ t.html('x.line', l=l) }}`."""
        return Markup(self.catalog.render_html(self.locale, key, **data))  # noqa: S704

    def has(self, key: str) -> bool:
        return self.catalog.has(key)

    def long_date(self, value: datetime, timezone: str, *, clock: bool = True) -> str:
        """A date in full, as people say it ("mardi 8 décembre 2026 à 14:00"), so that a
        misreading shows at once."""
        local = value.astimezone(ZoneInfo(timezone))
        return self.text(
            "time.long",
            weekday=self.text(f"time.weekday.{local.weekday()}"),
            day=local.day,
            month=self.text(f"time.month.{local.month}"),
            year=local.year,
            clock=local.strftime("%H:%M") if clock else "",
        )


def pill(user_id: str) -> Markup:
    """A user as Element shows a mention (a pill); the plain body keeps the user id."""
    escaped = escape(user_id)
    return Markup(f'<a href="https://matrix.to/#/{escaped}">{escaped}</a>')  # noqa: S704


def _format_when(value: datetime, timezone: str, locale: str) -> str:
    """A datetime as the room reads it: its time zone, its habits."""
    local = value.astimezone(ZoneInfo(timezone))
    if locale == "fr":
        return local.strftime("%d/%m/%Y %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")
