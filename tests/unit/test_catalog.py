"""The message catalog: both languages everywhere, escaping, plain and HTML from one source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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


async def test_escaping_through_the_bot(bot: TestBot) -> None:
    [answer] = await bot.say("!zz<img src=x>@room")
    assert "&lt;img" in answer.html
    assert "<img" not in answer.html
    assert "@room" not in answer.body
