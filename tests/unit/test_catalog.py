"""The message catalog: both languages everywhere, escaping, plain and HTML from one source."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app import build_registry, default_catalog
from commands.kit.i18n import LOCALES, html_to_plain
from tests.botkit import TestBot

CATALOG = default_catalog()
KEY_USE = re.compile(
    r"""\b(?:reply|notice|say|CommandError|ArgError|PermissionDenied|render|t|text)\(\s*"([a-z][a-z0-9_]*\.[a-z0-9_.]+)\"""",
)


def _code_files() -> list[Path]:
    root = Path(__file__).resolve().parents[2]
    return [p for d in ("bot", "commands", "storage") for p in (root / d).rglob("*.py")]


@pytest.mark.parametrize("key", sorted(CATALOG.messages))
def test_every_message_has_french_and_english(key: str) -> None:
    assert set(CATALOG.messages[key]) == set(LOCALES)
    for locale in LOCALES:
        assert CATALOG.messages[key][locale].strip(), f"{key} is empty in {locale}"
        CATALOG.template(locale, key)  # compiles


def test_every_key_used_in_code_exists() -> None:
    used = {m.group(1) for path in _code_files() for m in KEY_USE.finditer(path.read_text())}
    assert used, "the scan found no keys at all"
    missing = sorted(k for k in used if not CATALOG.has(k))
    assert missing == []


def test_every_command_has_help_in_both_languages() -> None:
    registry = build_registry()
    for entry in registry.top_level():
        commands = [entry] if not hasattr(entry, "subcommands") else list(entry.commands())  # type: ignore[union-attr]
        for command in commands:
            assert CATALOG.has(command.help_key), command.help_key
        assert CATALOG.has(f"domain.{entry.domain}")


def test_user_text_is_escaped_and_cannot_ping_the_room() -> None:
    rendered = CATALOG.render(
        "en", "core.error.unknown_command", name="<b>@room</b>", suggestions=[]
    )
    assert "<b>@room" not in rendered.html
    assert "&lt;b&gt;@\u2060room&lt;/b&gt;" in rendered.html
    assert "<b>@\u2060room</b>" in rendered.plain
    assert "@room" not in rendered.plain


def test_plain_body_follows_the_html() -> None:
    assert html_to_plain("<b>Title</b><ul><li>one</li><li>two &amp; three</li></ul>end") == (
        "Title\n• one\n• two & three\nend"
    )


class _Reference(HTMLParser):
    """The standard library's HTML parser doing what `html_to_plain` does, slower."""

    BLOCKS = frozenset({"p", "div", "ul", "ol", "pre", "blockquote", "h1", "h2", "h3", "h4"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n• ")
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def plain(self, html: str) -> str:
        self.feed(html)
        self.close()
        lines = (" ".join(line.split()) for line in "".join(self.parts).split("\n"))
        return "\n".join(line for line in lines if line)


# What the templates write: their tags, escaped text, character references, comments.
PIECES = [
    *("<b>", "</b>", "<br>", "<br/>", "<br />", "<p>", "</p>", "<ul>", "</ul>", "<li>"),
    *("</li>", '<a href="https://matrix.to/#/@a:b?x=1&amp;y=2">', "</a>", "<code>"),
    *("</code>", "<h3>", "</h3>", "<blockquote>", "</blockquote>", "<pre>", "</pre>"),
    *('<span data-mx-pill="x">', "</span>", '<font color="#ff0000">', "</font>", "<!-- c -->"),
    *("&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&nbsp;", " ", "  ", "\n", "\t"),
    *("Relance", "é", "→", "x&y", "1 < 2", "a>b"),
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_plain_body_as_the_standard_parser_reads_it(pieces: list[str]) -> None:
    html = "".join(pieces)
    assert html_to_plain(html) == _Reference().plain(html)


async def test_escaping_through_the_bot(bot: TestBot) -> None:
    [answer] = await bot.say("!zz<img src=x>@room")
    assert "&lt;img" in answer.html
    assert "<img" not in answer.html
    assert "@room" not in answer.body
