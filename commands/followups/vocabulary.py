"""What members type about follow-ups: due dates, snooze times, list filters, numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from commands.kit.args import NOBODY, ArgType, Integer, Opt, ParseContext, Text, User, Word
from commands.kit.errors import ArgError
from commands.kit.text import USER_ID, fold
from commands.kit.timeparse import parse_datetime, parse_duration

MAX_TEXT = 1000
NO_DATE = frozenset({"-", "aucune", "aucun", "none", "no", "non", "sans"})


class DueDate(ArgType[datetime | str]):
    """A due date in natural language, in the future; `-` for none (NOBODY: not chased)."""

    metavar = "date"

    def parse(self, raw: str, pctx: ParseContext) -> datetime | str:
        text = raw.strip()
        if fold(text) in NO_DATE:
            return NOBODY
        when = parse_datetime(text, now=pctx.now, tz=pctx.timezone, locale=pctx.locale)
        if when is None:
            raise ArgError("followups.arg.not_date", value=raw)
        if when <= pctx.now:
            raise ArgError("followups.arg.past", value=raw, when=when, tz=pctx.timezone)
        return when


def due_value(value: datetime | str | None) -> datetime | None:
    """The due date a `due=` option gives: None when absent or `-`."""
    return value if isinstance(value, datetime) else None


class Later(ArgType[datetime]):
    """Where a follow-up is snoozed to: a date ('lundi 14h') or a duration from now
    ('3d', 'dans 2 semaines')."""

    metavar = "when"

    def parse(self, raw: str, pctx: ParseContext) -> datetime:
        delta = parse_duration(raw, locale=pctx.locale)
        if delta is not None:
            return pctx.now + delta
        when = DueDate().parse(raw, pctx)
        if not isinstance(when, datetime):
            raise ArgError("followups.arg.not_date", value=raw)
        return when


@dataclass(frozen=True)
class Listing:
    """Which follow-ups `!followups` shows: `mine`, someone's, `overdue`, `week`,
    `all` (open ones of everybody), `done` (closed recently)."""

    kind: str
    user: str | None = None


FILTERS = {
    "mine": "mine",
    "moi": "mine",
    "mes": "mine",
    "miennes": "mine",
    "me": "mine",
    "overdue": "overdue",
    "late": "overdue",
    "retard": "overdue",
    "en-retard": "overdue",
    "enretard": "overdue",
    "week": "week",
    "semaine": "week",
    "cette-semaine": "week",
    "this-week": "week",
    "all": "all",
    "tout": "all",
    "toutes": "all",
    "tous": "all",
    "open": "all",
    "ouvertes": "all",
    "done": "done",
    "faites": "done",
    "fait": "done",
    "closed": "done",
    "terminees": "done",
    "fermees": "done",
}


class ListingArg(ArgType[Listing]):
    metavar = "filter"

    def parse(self, raw: str, pctx: ParseContext) -> Listing:
        text = raw.strip()
        if USER_ID.fullmatch(text.rstrip(",;:")):
            return Listing("user", User().parse(text, pctx))
        kind = FILTERS.get(fold(text).replace(" ", "-"))
        if kind is None:
            raise ArgError("followups.arg.not_filter", value=raw)
        return Listing(kind)


class Number(Integer):
    """A follow-up's number, as shown (`12` or `#12`)."""

    metavar = "number"

    def __init__(self) -> None:
        super().__init__(minimum=1, maximum=10**9)


class FollowupText(Text):
    metavar = "text"

    def __init__(self) -> None:
        super().__init__(MAX_TEXT)


O_DUE = Opt(
    "due",
    DueDate(),
    fr="echeance",
    aliases=("échéance", "pour", "avant", "deadline", "date", "quand", "when", "by"),
)
# A partner, as the partners domain resolves it (`Context.lookup`): name, prefix, number.
O_PARTNER = Opt("partner", Word(200, metavar="partner"), fr="partenaire")
O_TEXT = Opt("text", FollowupText(), fr="texte")
