"""The words of dates and durations typed in a room, French and English, for
`timeparse`: units, weekdays, number words, ordinals and the parts of a month, and
`as_digits`, which turns counts in words into digits before anything else reads
the text.

Month names are not here: dateparser reads them, abbreviations and missing accents
included.
"""

from __future__ import annotations

import re

# Units of a duration, in days or in seconds: '3d', '2 semaines', '1h', '10 mn'.
DAY_UNITS = dict.fromkeys(
    ("w", "wk", "wks", "week", "weeks", "sem", "semaine", "semaines"), 7
) | dict.fromkeys(("d", "day", "days", "j", "jour", "jours"), 1)
SECOND_UNITS = dict.fromkeys(
    ("h", "hr", "hrs", "hour", "hours", "heure", "heures"), 3600
) | dict.fromkeys(("m", "mn", "min", "mins", "minute", "minutes"), 60)
# Months and years have no fixed length: only dateparser counts them ('dans 2 mois').
CALENDAR_UNITS = ("mois", "month", "months", "an", "ans", "année", "années", "year", "years")

# Monday first, as `date.weekday()` counts.
WEEKDAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# One to twenty; the twenties are built on the first nine.
# fmt: off
_ONE_TO_TWENTY_FR = (
    "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze",
    "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf", "vingt",
)
_ONE_TO_TWENTY_EN = (
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
    "twenty",
)
# fmt: on


def _numbers() -> dict[str, int]:
    """Number words from one to thirty, hyphenated ('vingt-et-un', 'twenty-one');
    a count of one may also be an article ('une heure', 'a week', 'an hour')."""
    numbers = {"une": 1, "a": 1, "an": 1, "vingt-et-une": 21, "trente": 30, "thirty": 30}
    for words, twenty, twenty_one in (
        (_ONE_TO_TWENTY_FR, "vingt", "vingt-et-un"),
        (_ONE_TO_TWENTY_EN, "twenty", "twenty-one"),
    ):
        numbers |= {word: value for value, word in enumerate(words, start=1)}
        numbers[twenty_one] = 21
        numbers |= {f"{twenty}-{word}": 20 + value for value, word in enumerate(words[1:9], 2)}
    return numbers


NUMBERS = _numbers()

# 'le premier lundi', 'the 2nd tuesday', 'le dernier vendredi': -1 is the last one.
ORDINALS = {
    "premier": 1,
    "première": 1,
    "premiere": 1,
    "first": 1,
    "deuxième": 2,
    "deuxieme": 2,
    "second": 2,
    "seconde": 2,
    "troisième": 3,
    "troisieme": 3,
    "third": 3,
    "quatrième": 4,
    "quatrieme": 4,
    "fourth": 4,
    "cinquième": 5,
    "cinquieme": 5,
    "fifth": 5,
    "dernier": -1,
    "dernière": -1,
    "derniere": -1,
    "last": -1,
}
# The same written with a digit: '1er', '1re', '2e', '2ème', '3rd', '5th'.
ORDINAL_SUFFIXES = ("er", "re", "ère", "ere", "e", "ème", "eme", "st", "nd", "rd", "th")

# The day of the month a part of a month means: 'mi-janvier', 'early june', 'fin du
# mois'. 31 is the last day: dateutil's relativedelta(day=31) stops at the month's end.
MONTH_PARTS = (
    dict.fromkeys(("mi", "mid"), 15)
    | dict.fromkeys(("début", "debut", "early", "beginning", "start"), 1)
    | dict.fromkeys(("fin", "end", "late"), 31)
)

# Idioms rewritten first. French counts a week as eight days and two as fifteen
# ('dans huit jours', 'sous quinzaine', 'mardi en huit' for a week after next
# Tuesday); digits are taken literally, as someone typing 8 means 8.
_IDIOMS = (
    # Anchored: unanchored, the lazy day would be retried from every position.
    (re.compile(r"^(.+?)\s+en\s+huit\b(?!\s+jours)(.*)"), r"1 semaine après \1\2"),
    (re.compile(r"^(.+?)\s+en\s+quinze\b(?!\s+jours)(.*)"), r"2 semaines après \1\2"),
    (re.compile(r"\b(?:huit\s+jours|(?:une\s+)?huitaine(?:\s+de\s+jours)?)\b"), "1 semaine"),
    (re.compile(r"\b(?:quinze\s+jours|(?:une\s+)?quinzaine(?:\s+de\s+jours)?)\b"), "2 semaines"),
    (re.compile(r"\b(?:(?:une\s+)?demi[-\s]heure|(?:an?\s+)?half\s+(?:an\s+)?hour)\b"), "30 min"),
    (re.compile(r"\b(?:un\s+quart\s+d'heure|a\s+quarter\s+(?:of\s+an\s+)?hour)\b"), "15 min"),
)
# A number word before a unit: 'deux jours', 'a week', 'vingt et un jours'. Only
# before a unit, so that 'sept' (September) or 'a partir' stay words.
_UNIT_WORDS = sorted(
    {unit for unit in (*DAY_UNITS, *SECOND_UNITS) if len(unit) > 1} | set(CALENDAR_UNITS),
    key=len,
    reverse=True,
)
_NUMBER_WORD = re.compile(
    r"\b(?P<word>"
    + "|".join(word.replace("-", r"[-\s]") for word in sorted(NUMBERS, key=len, reverse=True))
    + rf")\s+(?=(?:{'|'.join(_UNIT_WORDS)})\b)"
)


def as_digits(text: str) -> str:
    """Idioms and number words as digits and units, in cleaned (lower case, single
    spaced) text: 'dans huit jours' -> 'dans 1 semaine', 'deux jours' -> '2 jours',
    'a week' -> '1 week', 'une demi-heure' -> '30 min'."""
    for pattern, replacement in _IDIOMS:
        text = pattern.sub(replacement, text)
    return _NUMBER_WORD.sub(lambda found: f"{NUMBERS[found['word'].replace(' ', '-')]} ", text)
