"""What members type about meetings: names of people present, due dates, recurrence
rules, agenda numbers, export formats."""

from __future__ import annotations

import re
from datetime import datetime

from commands.kit.args import ArgType, Choice, Integer, Opt, ParseContext, Text, Word
from commands.kit.errors import ArgError
from commands.kit.text import USER_ID, name_text, tokenize
from commands.kit.timeparse import parse_datetime
from commands.meetings.recurrence import Rule, parse_rule

MAX_TEXT = 2000
MAX_NAME = 120
MAX_NAMES = 50


class ItemText(Text):
    metavar = "text"

    def __init__(self) -> None:
        super().__init__(MAX_TEXT)


class Number(Integer):
    """A meeting's or an agenda item's number, as shown (`3` or `#3`)."""

    metavar = "number"

    def __init__(self) -> None:
        super().__init__(minimum=1, maximum=10**6)


class Future(ArgType[datetime]):
    """A date in words, still to come: a meeting's date, an action's due date."""

    metavar = "date"

    def parse(self, raw: str, pctx: ParseContext) -> datetime:
        when = parse_datetime(raw, now=pctx.now, tz=pctx.timezone, locale=pctx.locale)
        if when is None:
            raise ArgError("meetings.arg.not_date", value=raw)
        if when <= pctx.now:
            raise ArgError("meetings.arg.past", value=raw, when=when, tz=pctx.timezone)
        return when


class RuleArg(ArgType[tuple[Rule, str]]):
    """A recurrence in words ('tous les premiers mardis du mois'), and those words."""

    metavar = "rule"

    def parse(self, raw: str, pctx: ParseContext) -> tuple[Rule, str]:
        rule = parse_rule(raw)
        if rule is None:
            raise ArgError("meetings.arg.not_rule", value=raw)
        return rule, " ".join(raw.split())


FORMAT = Choice(
    ("md", "html", "log"),
    {"markdown": "md", "journal": "log", "txt": "log", "texte": "log", "text": "log"},
    label="meetings.format",
    metavar="format",
)

O_DUE = Opt(
    "due",
    Future(),
    fr="echeance",
    aliases=("échéance", "pour", "avant", "deadline", "date", "quand", "when", "by"),
)
O_EVERY = Opt(
    "every",
    RuleArg(),
    fr="repeter",
    aliases=("répéter", "chaque", "recurrence", "récurrence", "frequence", "fréquence", "repeat"),
)
O_TITLE = Opt("title", Text(300, metavar="title"), fr="titre")
O_OWNER = Opt("owner", Word(MAX_NAME, metavar="someone"), fr="responsable", aliases=("qui", "who"))
O_DURATION_NAME = "duration"


def trailing_user(text: str) -> tuple[str | None, str]:
    """An agenda item's owner mentioned at its end (`Budget @bob:x`), and the rest."""
    words = text.rstrip().split(" ")
    if len(words) > 1 and USER_ID.fullmatch(words[-1].rstrip(",;:.")):
        return words[-1].rstrip(",;:."), " ".join(words[:-1]).strip()
    return None, text.strip()


_SEPARATORS = re.compile(r"\s*(?:[,;\n]|\bet\b|\band\b)\s*")


def split_names(text: str) -> list[tuple[str | None, str]]:
    """The people a `!present` line names: (user id, user id) for a mention, (None,
    name) for a name. Names are separated by commas, semicolons or "et"/"and":
    "Erwan, Alice et Christelle Bouquet" is three people, "Christelle Bouquet" one;
    "quoted names" (and mentions) may also follow each other with spaces."""
    found: list[tuple[str | None, str]] = []
    if any(q in text for q in '"«“') or (USER_ID.search(text) and not _SEPARATORS.search(text)):
        parts = [token.value for token in tokenize(text)]
    else:
        parts = [p for p in _SEPARATORS.split(text) if p.strip()]
    for part in parts:
        value = part.strip().rstrip(".")
        if not value:
            continue
        if USER_ID.fullmatch(value):
            found.append((value, value))
            continue
        name = name_text(value)
        if len(name) > MAX_NAME:
            raise ArgError("core.arg.too_long", limit=MAX_NAME)
        found.append((None, name))
    if len(found) > MAX_NAMES:
        raise ArgError("meetings.arg.too_many_names", limit=MAX_NAMES)
    return found
