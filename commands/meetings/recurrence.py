"""Recurring meetings: a rule typed in words read into an iCalendar RRULE, and the dates
it gives.

The words are read with small tables of French and English ("tous les premiers mardis
du mois", "un jeudi sur deux", "toutes les deux semaines", "every other thursday", "the
last friday of the month", "monthly"); the dates are computed by dateutil's `rrule` on
the room's local calendar, so that a meeting at 18:00 stays at 18:00 across a change of
summer time. A series is anchored on its first meeting: "every other week" counts its
weeks from there.

In a rule, as people say it, eight days are a week and fifteen days two, even in
digits ("tous les 15 jours").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr  # type: ignore[import-untyped]

from commands.kit.text import fold
from commands.kit.timewords import NUMBERS, WEEKDAYS_EN, WEEKDAYS_FR, as_digits

CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MAX_INTERVAL = {"DAILY": 31, "WEEKLY": 52, "MONTHLY": 12}

# The nth weekday of a month: 'premier', '1er', '2e', 'third', '3rd', 'dernier', 'last'.
_ORDINAL_WORDS: dict[int, tuple[str, ...]] = {
    1: ("premier", "premiere", "1er", "1re", "1ere", "first", "1st"),
    2: ("deuxieme", "2e", "2eme", "second", "seconde", "2nd"),
    3: ("troisieme", "3e", "3eme", "third", "3rd"),
    4: ("quatrieme", "4e", "4eme", "fourth", "4th"),
    5: ("cinquieme", "5e", "5eme", "fifth", "5th"),
    -1: ("dernier", "derniere", "last"),
}
ORDINALS = {
    spelling: position
    for position, words in _ORDINAL_WORDS.items()
    for word in words
    for spelling in (word, f"{word}s")
}
WEEKDAYS = {
    spelling: index
    for names in (WEEKDAYS_FR, WEEKDAYS_EN)
    for index, name in enumerate(names)
    for spelling in (name, f"{name}s")
}
# A unit of a rule ('semaines', 'month', 'jour'), and the frequency it gives.
UNITS = {
    **dict.fromkeys(("jour", "jours", "day", "days"), "DAILY"),
    **dict.fromkeys(("semaine", "semaines", "week", "weeks"), "WEEKLY"),
    **dict.fromkeys(("mois", "month", "months"), "MONTHLY"),
}
# A rule in one word: 'hebdomadaire', 'monthly', 'fortnightly'.
ADJECTIVES = {
    **dict.fromkeys(("quotidien", "quotidienne", "daily"), ("DAILY", 1)),
    **dict.fromkeys(("hebdomadaire", "hebdo", "weekly"), ("WEEKLY", 1)),
    **dict.fromkeys(("biweekly", "fortnightly"), ("WEEKLY", 2)),
    **dict.fromkeys(("mensuel", "mensuelle", "monthly"), ("MONTHLY", 1)),
}


def _alternation(words: object) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))  # type: ignore[call-overload]


_WD = _alternation(WEEKDAYS)
_ORD = _alternation(ORDINALS)
_AND = r"(?: et | and | )"
_WDS = rf"(?P<wds>(?:{_WD})(?:{_AND}(?:{_WD}))*)"
_ORDS = rf"(?P<ords>(?:{_ORD})(?:{_AND}(?:{_ORD}))*)"
_COUNT = r"(?P<n>\d+|[a-z]+)"
# 'tous les', 'chaque', 'every', 'on the'... before a rule; each optional.
_EVERY = r"(?:(?:tous les|toutes les|chaque|les|le|every|each|on the|on|the) )?"
_OF_MONTH = (
    r"(?: (?:du|de chaque|de tous les|par) mois"
    r"| (?:of|in) (?:the|every|each) month| (?:every|each|a) month| monthly| mensuel(?:le)?)"
)
_MONTHLY_ON = r"(?:(?:monthly|tous les mois|chaque mois|every month) (?:on |le |les )?(?:the )?)"

# 'tous les premiers mardis du mois', 'le dernier vendredi du mois', 'the first and third
# tuesday of every month', 'monthly on the first tuesday'.
_NTH = re.compile(rf"(?:{_MONTHLY_ON}|{_EVERY}){_ORDS} {_WDS}(?P<month>{_OF_MONTH})?")
# 'tous les mardis', 'le jeudi', 'every thursday', 'mondays and thursdays'.
_WEEKDAYS = re.compile(rf"{_EVERY}{_WDS}")
# 'un mardi sur deux', 'tous les deux mardis', 'every other thursday', 'every 3 fridays'.
_WEEKDAY_EVERY_N = (
    re.compile(rf"une? {_WDS} sur {_COUNT}"),
    re.compile(rf"(?:tous|toutes) les {_COUNT} {_WDS}"),
    re.compile(rf"every {_COUNT} {_WDS}"),
)
# A frequency and weekdays, either way round: 'toutes les deux semaines le jeudi', 'every
# other week on tuesday', 'le mardi, toutes les 3 semaines'.
_FREQ_THEN_DAYS = re.compile(rf"(?P<freq>.+?) (?:et |and )?(?:le |les |on |on the )?{_WDS}")
_DAYS_THEN_FREQ = re.compile(rf"(?:le |les |on )?{_WDS} (?:et |and )?(?P<freq>.+)")
# A frequency alone: 'toutes les 2 semaines', 'chaque mois', 'une semaine sur deux',
# 'every other week', 'every 3 months', 'weekly'.
_FREQ = (
    re.compile(rf"(?:tous|toutes) les (?:{_COUNT} )?(?P<unit>[a-z]+)"),
    re.compile(r"(?:chaque|every|each) (?P<unit>[a-z]+)"),
    re.compile(rf"(?:un|une|1) (?P<unit>[a-z]+) sur {_COUNT}"),
    re.compile(rf"every {_COUNT} (?P<unit>[a-z]+)"),
)


@dataclass(frozen=True)
class Rule:
    """A recurrence: every `interval` days, weeks or months (`freq`), on some weekdays
    (Monday is 0), or on the nth of them in the month (`positions`: 1 to 5, -1 last)."""

    freq: str
    interval: int = 1
    weekdays: tuple[int, ...] = ()
    positions: tuple[int, ...] = ()

    def rrule(self) -> str:
        """The rule as an iCalendar RRULE ("FREQ=MONTHLY;BYDAY=+1TU")."""
        parts = [f"FREQ={self.freq}"]
        if self.interval > 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.weekdays:
            if self.positions:
                days = [f"{p:+d}{CODES[w]}" for p in self.positions for w in self.weekdays]
            else:
                days = [CODES[w] for w in self.weekdays]
            parts.append("BYDAY=" + ",".join(days))
        return ";".join(parts)


def _normal(text: str) -> str:
    """Lower case, number words as digits, no accents, single spaces, no punctuation."""
    text = " ".join(text.replace("’", "'").lower().split())
    text = fold(as_digits(text))
    text = re.sub(r"[,;]", " et ", text)
    text = re.sub(r"[.!?:()\"«»]", " ", text).replace("'", " ").replace("-", " ")
    return " ".join(text.split())


def _count(word: str | None) -> int | None:
    """'2', 'deux', 'two', 'other' (every other week); None for no number."""
    if word is None:
        return 1
    if word.isdigit():
        return int(word)
    if word in ("other", "autre"):
        return 2
    return NUMBERS.get(word)


def _weekdays(text: str) -> tuple[int, ...]:
    return tuple(dict.fromkeys(WEEKDAYS[w] for w in re.split(r" et | and | ", text) if w))


def _positions(text: str) -> tuple[int, ...]:
    return tuple(dict.fromkeys(ORDINALS[w] for w in re.split(r" et | and | ", text) if w))


def _frequency(text: str) -> tuple[str, int] | None:
    """A frequency alone: ('WEEKLY', 2) for 'toutes les deux semaines'."""
    if text in ADJECTIVES:
        return ADJECTIVES[text]
    if text in ("every fortnight", "toutes les quinzaines"):
        return "WEEKLY", 2
    for pattern in _FREQ:
        found = pattern.fullmatch(text)
        if found is None:
            continue
        freq = UNITS.get(found["unit"])
        count = _count(found.groupdict().get("n"))
        if freq is None or count is None:
            return None
        if freq == "DAILY" and count in (7, 8, 14, 15):
            # 'tous les 15 jours' is every two weeks, 'tous les 8 jours' every week.
            return "WEEKLY", 1 if count <= 8 else 2
        return freq, count
    return None


def _checked(rule: Rule) -> Rule | None:
    if not 1 <= rule.interval <= MAX_INTERVAL[rule.freq]:
        return None
    return rule


def parse_rule(text: str) -> Rule | None:
    """The recurrence a rule in words means, in French or English; None when the words
    are not a rule this understands."""
    words = _normal(text)
    if not words or len(words) > 200:
        return None
    every_other = re.fullmatch(rf"every (?:other|second|2nd) {_WDS}", words)
    if every_other:
        return Rule("WEEKLY", 2, _weekdays(every_other["wds"]))
    nth = _NTH.fullmatch(words)
    if nth:
        return Rule("MONTHLY", 1, _weekdays(nth["wds"]), _positions(nth["ords"]))
    plain = _WEEKDAYS.fullmatch(words)
    if plain:
        return Rule("WEEKLY", 1, _weekdays(plain["wds"]))
    for pattern in _WEEKDAY_EVERY_N:
        spaced = pattern.fullmatch(words)
        if spaced:
            count = _count(spaced["n"])
            if count is None:
                return None
            return _checked(Rule("WEEKLY", count, _weekdays(spaced["wds"])))
    for pattern in (_FREQ_THEN_DAYS, _DAYS_THEN_FREQ):
        both = pattern.fullmatch(words)
        if both:
            frequency = _frequency(both["freq"])
            if frequency is not None and frequency[0] == "WEEKLY":
                return _checked(Rule("WEEKLY", frequency[1], _weekdays(both["wds"])))
    frequency = _frequency(words)
    if frequency is not None:
        return _checked(Rule(*frequency))
    return None


def _local(when: datetime, zone: ZoneInfo) -> datetime:
    return when.astimezone(zone).replace(tzinfo=None)


def next_date(
    rule: str, *, anchor: datetime, after: datetime, tz: str, inclusive: bool = False
) -> datetime | None:
    """The first date of the series that starts at `anchor` after `after` (or at it,
    `inclusive`), in UTC; None when the series has no more dates."""
    zone = ZoneInfo(tz)
    series = rrulestr(rule, dtstart=_local(anchor, zone))
    found = series.after(_local(after, zone), inc=inclusive)
    if found is None:
        return None
    local: datetime = found.replace(tzinfo=zone)
    return local.astimezone(UTC)
