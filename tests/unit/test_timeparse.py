"""Dates and durations as typed in a room, against a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from commands.kit.timeparse import parse_datetime, parse_duration

PARIS = ZoneInfo("Europe/Paris")
# A Friday morning in winter time.
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=PARIS).astimezone(UTC)


def paris(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def parse_fr(text: str, now: datetime = NOW) -> datetime | None:
    return parse_datetime(text, now=now, tz="Europe/Paris", locale="fr")


def parse_en(text: str, now: datetime = NOW) -> datetime | None:
    return parse_datetime(text, now=now, tz="Europe/Paris", locale="en")


FRENCH = [
    # Weekdays: the next one after today, 09:00 unless a time is given.
    ("vendredi prochain à 14h", paris(2026, 12, 4, 14)),
    ("vendredi prochain", paris(2026, 12, 4, 9)),
    ("vendredi", paris(2026, 12, 4, 9)),
    ("Vendredi 14h", paris(2026, 12, 4, 14)),
    ("lundi", paris(2026, 11, 30, 9)),
    ("lundi prochain", paris(2026, 11, 30, 9)),
    ("mardi prochain à 10h30", paris(2026, 12, 1, 10, 30)),
    ("jeudi", paris(2026, 12, 3, 9)),
    ("samedi 10h", paris(2026, 11, 28, 10)),
    ("dimanche prochain", paris(2026, 11, 29, 9)),
    # Relative days.
    ("demain 9h", paris(2026, 11, 28, 9)),
    ("demain à 9h", paris(2026, 11, 28, 9)),
    ("  Demain   9h  ", paris(2026, 11, 28, 9)),
    ("demain", paris(2026, 11, 28, 9)),
    ("après-demain", paris(2026, 11, 29, 9)),
    ("après-demain 10h", paris(2026, 11, 29, 10)),
    ("aujourd'hui à 18h", paris(2026, 11, 27, 18)),
    ("aujourd’hui à 18h15", paris(2026, 11, 27, 18, 15)),
    ("la semaine prochaine", paris(2026, 12, 4, 9)),
    # Offsets keep the time of day.
    ("dans 3 jours", paris(2026, 11, 30, 10)),
    ("dans 3j", paris(2026, 11, 30, 10)),
    ("dans 2 semaines", paris(2026, 12, 11, 10)),
    ("dans 2 heures", paris(2026, 11, 27, 12)),
    ("dans une heure", paris(2026, 11, 27, 11)),
    ("dans 1h30", paris(2026, 11, 27, 11, 30)),
    ("dans 10 minutes", paris(2026, 11, 27, 10, 10)),
    ("dans 1 mois", paris(2026, 12, 27, 10)),
    # A time alone: today if still ahead, else tomorrow.
    ("à 14h", paris(2026, 11, 27, 14)),
    ("14h30", paris(2026, 11, 27, 14, 30)),
    ("à 14 heures", paris(2026, 11, 27, 14)),
    ("à 9h", paris(2026, 11, 28, 9)),
    ("à midi", paris(2026, 11, 27, 12)),
    ("minuit", paris(2026, 11, 28, 0)),
    # Parts of the day.
    ("ce soir", paris(2026, 11, 27, 20)),
    ("ce soir à 21h", paris(2026, 11, 27, 21)),
    ("ce soir 8h", paris(2026, 11, 27, 20)),
    ("cet après-midi", paris(2026, 11, 27, 15)),
    ("demain matin", paris(2026, 11, 28, 9)),
    ("demain soir", paris(2026, 11, 28, 20)),
    ("demain après-midi à 3h", paris(2026, 11, 28, 15)),
    ("demain midi", paris(2026, 11, 28, 12)),
    ("vendredi soir", paris(2026, 12, 4, 20)),
    # Calendar dates, day first; without a year, the next one.
    ("15/06", paris(2027, 6, 15, 9)),
    ("07/12 14:30", paris(2026, 12, 7, 14, 30)),
    ("31/12", paris(2026, 12, 31, 9)),
    ("01/01/2027 10h", paris(2027, 1, 1, 10)),
    ("2026-12-07 09:00", paris(2026, 12, 7, 9)),
    ("le 1er septembre", paris(2027, 9, 1, 9)),
    ("1er décembre à 8h15", paris(2026, 12, 1, 8, 15)),
    ("le 15 juin", paris(2027, 6, 15, 9)),
    ("lundi 7 décembre", paris(2026, 12, 7, 9)),
    ("7 décembre 2026", paris(2026, 12, 7, 9)),
    # A day of the month alone: the next one after today.
    ("le 12", paris(2026, 12, 12, 9)),
    ("le 30", paris(2026, 11, 30, 9)),
    ("le 27", paris(2026, 12, 27, 9)),
    ("le 12 à 15h", paris(2026, 12, 12, 15)),
    ("le 27 à 14h", paris(2026, 11, 27, 14)),
    # Number words count like digits.
    ("dans deux jours", paris(2026, 11, 29, 10)),
    ("Dans Deux Jours", paris(2026, 11, 29, 10)),
    ("dans trois semaines", paris(2026, 12, 18, 10)),
    ("dans dix minutes", paris(2026, 11, 27, 10, 10)),
    ("dans vingt et un jours", paris(2026, 12, 18, 10)),
    ("dans vingt-et-un jours", paris(2026, 12, 18, 10)),
    ("dans deux mois", paris(2027, 1, 27, 10)),
    ("dans une demi-heure", paris(2026, 11, 27, 10, 30)),
    ("dans un quart d'heure", paris(2026, 11, 27, 10, 15)),
    # Eight days are a week, fifteen two; in digits, the count is literal.
    ("dans huit jours", paris(2026, 12, 4, 10)),
    ("DANS HUIT JOURS", paris(2026, 12, 4, 10)),
    ("dans quinze jours", paris(2026, 12, 11, 10)),
    ("d'ici huit jours", paris(2026, 12, 4, 10)),
    ("d'ici quinze jours", paris(2026, 12, 11, 10)),
    ("sous huitaine", paris(2026, 12, 4, 10)),
    ("sous quinzaine", paris(2026, 12, 11, 10)),
    ("dans une quinzaine de jours", paris(2026, 12, 11, 10)),
    ("dans 8 jours", paris(2026, 12, 5, 10)),
    ("dans 15 jours", paris(2026, 12, 12, 10)),
    ("mardi en huit", paris(2026, 12, 8, 9)),
    ("jeudi en huit à 14h", paris(2026, 12, 10, 14)),
    ("demain en huit", paris(2026, 12, 5, 9)),
    ("lundi en quinze", paris(2026, 12, 14, 9)),
    # An offset from a date keeps its time of day, 09:00 for a day.
    ("dans une semaine à partir d'aujourd'hui", paris(2026, 12, 4, 9)),
    ("dans une semaine a partir d'aujourd'hui", paris(2026, 12, 4, 9)),
    ("une semaine à partir de demain", paris(2026, 12, 5, 9)),
    ("dans 2 jours à partir de maintenant", paris(2026, 11, 29, 10)),
    ("3 jours après lundi", paris(2026, 12, 3, 9)),
    ("trois jours à compter de lundi", paris(2026, 12, 3, 9)),
    ("2 jours à compter du 15", paris(2026, 12, 17, 9)),
    # A deadline is its date; with a duration, an offset.
    ("d'ici vendredi", paris(2026, 12, 4, 9)),
    ("d’ici vendredi", paris(2026, 12, 4, 9)),
    ("D'ici Vendredi 17h", paris(2026, 12, 4, 17)),
    ("d'ici le 15", paris(2026, 12, 15, 9)),
    ("d'ici demain", paris(2026, 11, 28, 9)),
    ("d'ici ce soir", paris(2026, 11, 27, 20)),
    ("d'ici à lundi", paris(2026, 11, 30, 9)),
    ("avant vendredi", paris(2026, 12, 4, 9)),
    ("avant le 15", paris(2026, 12, 15, 9)),
    ("jusqu'au 15", paris(2026, 12, 15, 9)),
    ("jusqu'à vendredi", paris(2026, 12, 4, 9)),
    ("pour demain", paris(2026, 11, 28, 9)),
    ("vendredi au plus tard", paris(2026, 12, 4, 9)),
    ("au plus tard lundi", paris(2026, 11, 30, 9)),
    ("d'ici 3 jours", paris(2026, 11, 30, 10)),
    ("d'ici deux semaines", paris(2026, 12, 11, 10)),
    ("d'ici 2 mois", paris(2027, 1, 27, 10)),
    ("sous 48h", paris(2026, 11, 29, 10)),
    # A part of a month: the 15th, the 1st or the last day, the next one ahead.
    ("mi-janvier", paris(2027, 1, 15, 9)),
    ("mi janvier", paris(2027, 1, 15, 9)),
    ("à la mi-janvier", paris(2027, 1, 15, 9)),
    ("Mi-Janvier", paris(2027, 1, 15, 9)),
    ("mi-fevrier", paris(2027, 2, 15, 9)),
    ("MI-FÉVRIER", paris(2027, 2, 15, 9)),
    ("mi-décembre à 14h", paris(2026, 12, 15, 14)),
    ("mi-octobre", paris(2027, 10, 15, 9)),
    ("mi-novembre", paris(2027, 11, 15, 9)),
    ("mi-janvier 2028", paris(2028, 1, 15, 9)),
    ("mi-janvier prochain", paris(2027, 1, 15, 9)),
    ("début janvier", paris(2027, 1, 1, 9)),
    ("debut janvier", paris(2027, 1, 1, 9)),
    ("au début de mars", paris(2027, 3, 1, 9)),
    ("début novembre", paris(2027, 11, 1, 9)),
    ("début du mois prochain", paris(2026, 12, 1, 9)),
    ("fin janvier", paris(2027, 1, 31, 9)),
    ("fin janvier à 18h", paris(2027, 1, 31, 18)),
    ("à la fin de janvier", paris(2027, 1, 31, 9)),
    ("fin février", paris(2027, 2, 28, 9)),
    ("fin février 2028", paris(2028, 2, 29, 9)),
    ("fin aout", paris(2027, 8, 31, 9)),
    ("fin d'août", paris(2027, 8, 31, 9)),
    ("fin novembre", paris(2026, 11, 30, 9)),
    ("fin du mois", paris(2026, 11, 30, 9)),
    ("fin de mois", paris(2026, 11, 30, 9)),
    ("fin du mois prochain", paris(2026, 12, 31, 9)),
    ("d'ici la fin du mois", paris(2026, 11, 30, 9)),
    ("avant la fin du mois", paris(2026, 11, 30, 9)),
    ("d'ici fin janvier", paris(2027, 1, 31, 9)),
    ("d'ici la mi-décembre", paris(2026, 12, 15, 9)),
    # The nth weekday of a month. Today is the last Friday of November.
    ("le premier lundi de janvier", paris(2027, 1, 4, 9)),
    ("le 1er lundi de janvier", paris(2027, 1, 4, 9)),
    ("premier lundi de janvier", paris(2027, 1, 4, 9)),
    ("le premier lundi de janvier à 14h", paris(2027, 1, 4, 14)),
    ("le premier lundi du mois de janvier", paris(2027, 1, 4, 9)),
    ("le premier lundi de janvier 2028", paris(2028, 1, 3, 9)),
    ("le premier lundi de mars", paris(2027, 3, 1, 9)),
    ("le premier mercredi d'avril", paris(2027, 4, 7, 9)),
    ("le 2e mardi de février", paris(2027, 2, 9, 9)),
    ("le 2ème mardi de février", paris(2027, 2, 9, 9)),
    ("le deuxieme mardi de fevrier", paris(2027, 2, 9, 9)),
    ("le deuxième mardi du mois prochain", paris(2026, 12, 8, 9)),
    ("le premier lundi du mois", paris(2026, 12, 7, 9)),
    ("le dernier lundi du mois", paris(2026, 11, 30, 9)),
    ("le dernier vendredi du mois", paris(2026, 12, 25, 9)),
    ("le dernier vendredi du mois à 14h", paris(2026, 11, 27, 14)),
    ("le dernier vendredi du mois à 9h", paris(2026, 12, 25, 9)),
    ("le dernier vendredi de décembre", paris(2026, 12, 25, 9)),
    ("le dernier vendredi de novembre", paris(2027, 11, 26, 9)),
    ("le dernier jeudi du mois d'avril", paris(2027, 4, 29, 9)),
    ("le 5e dimanche du mois", paris(2026, 11, 29, 9)),
    ("le cinquième mardi de décembre", paris(2026, 12, 29, 9)),
    ("le 5e vendredi de janvier", paris(2027, 1, 29, 9)),
    ("le dernier jour du mois", paris(2026, 11, 30, 9)),
    ("le premier jour du mois prochain", paris(2026, 12, 1, 9)),
    ("d'ici le dernier vendredi du mois", paris(2026, 12, 25, 9)),
]

ENGLISH = [
    # Weekdays.
    ("next tuesday", paris(2026, 12, 1, 9)),
    ("tuesday", paris(2026, 12, 1, 9)),
    ("next friday", paris(2026, 12, 4, 9)),
    ("friday", paris(2026, 12, 4, 9)),
    ("next friday at 2pm", paris(2026, 12, 4, 14)),
    ("friday 2pm", paris(2026, 12, 4, 14)),
    ("Friday, 2pm", paris(2026, 12, 4, 14)),
    ("monday 10:30", paris(2026, 11, 30, 10, 30)),
    # Relative days.
    ("tomorrow 9am", paris(2026, 11, 28, 9)),
    ("tomorrow at 9am", paris(2026, 11, 28, 9)),
    ("tomorrow 9 am", paris(2026, 11, 28, 9)),
    ("tomorrow", paris(2026, 11, 28, 9)),
    ("tomorrow at 14:00", paris(2026, 11, 28, 14)),
    ("tomorrow noon", paris(2026, 11, 28, 12)),
    ("day after tomorrow", paris(2026, 11, 29, 9)),
    ("today 5pm", paris(2026, 11, 27, 17)),
    ("next week", paris(2026, 12, 4, 9)),
    # Offsets keep the time of day.
    ("in 2 weeks", paris(2026, 12, 11, 10)),
    ("in 3 days", paris(2026, 11, 30, 10)),
    ("in 3d", paris(2026, 11, 30, 10)),
    ("in 2 hours", paris(2026, 11, 27, 12)),
    ("in an hour", paris(2026, 11, 27, 11)),
    ("in a week", paris(2026, 12, 4, 10)),
    ("in 90 minutes", paris(2026, 11, 27, 11, 30)),
    ("in 1 month", paris(2026, 12, 27, 10)),
    # A time alone.
    ("at 3pm", paris(2026, 11, 27, 15)),
    ("3:30pm", paris(2026, 11, 27, 15, 30)),
    ("at 9am", paris(2026, 11, 28, 9)),
    ("noon", paris(2026, 11, 27, 12)),
    ("midnight", paris(2026, 11, 28, 0)),
    # Parts of the day.
    ("tonight", paris(2026, 11, 27, 20)),
    ("tonight at 8", paris(2026, 11, 27, 20)),
    ("tonight at 11pm", paris(2026, 11, 27, 23)),
    ("this afternoon at 4", paris(2026, 11, 27, 16)),
    ("tomorrow morning", paris(2026, 11, 28, 9)),
    ("tomorrow evening", paris(2026, 11, 28, 18)),
    ("tomorrow night at 9", paris(2026, 11, 28, 21)),
    # Calendar dates, day first as in the rest of the group.
    ("15/06", paris(2027, 6, 15, 9)),
    ("07/12 14:30", paris(2026, 12, 7, 14, 30)),
    ("2026-12-07 09:00", paris(2026, 12, 7, 9)),
    ("2026-12-07T09:00", paris(2026, 12, 7, 9)),
    ("2026-12-07", paris(2026, 12, 7, 9)),
    ("june 15", paris(2027, 6, 15, 9)),
    ("december 7", paris(2026, 12, 7, 9)),
    ("7 december", paris(2026, 12, 7, 9)),
    ("december 7 at 10am", paris(2026, 12, 7, 10)),
    ("monday, december 7", paris(2026, 12, 7, 9)),
    ("dec 1st", paris(2026, 12, 1, 9)),
    ("the 1st of december", paris(2026, 12, 1, 9)),
    ("the 12th", paris(2026, 12, 12, 9)),
    ("on the 12th", paris(2026, 12, 12, 9)),
    # Number words.
    ("in two weeks", paris(2026, 12, 11, 10)),
    ("In Two Weeks", paris(2026, 12, 11, 10)),
    ("in ten days", paris(2026, 12, 7, 10)),
    ("in twenty-one days", paris(2026, 12, 18, 10)),
    ("in thirty minutes", paris(2026, 11, 27, 10, 30)),
    ("in half an hour", paris(2026, 11, 27, 10, 30)),
    ("in two hours", paris(2026, 11, 27, 12)),
    # An offset from a date keeps its time of day, 09:00 for a day.
    ("a week from today", paris(2026, 12, 4, 9)),
    ("A week from today", paris(2026, 12, 4, 9)),
    ("3 weeks from today", paris(2026, 12, 18, 9)),
    ("a week from tomorrow", paris(2026, 12, 5, 9)),
    ("two weeks from friday", paris(2026, 12, 18, 9)),
    ("a week from monday at 2pm", paris(2026, 12, 7, 14)),
    ("a month from today", paris(2026, 12, 27, 9)),
    ("3 days after friday", paris(2026, 12, 7, 9)),
    ("2 days from now", paris(2026, 11, 29, 10)),
    ("two days from now", paris(2026, 11, 29, 10)),
    ("3 hours from now", paris(2026, 11, 27, 13)),
    # Deadlines.
    ("by friday", paris(2026, 12, 4, 9)),
    ("by next monday", paris(2026, 11, 30, 9)),
    ("before friday", paris(2026, 12, 4, 9)),
    ("by tomorrow 5pm", paris(2026, 11, 28, 17)),
    ("until monday", paris(2026, 11, 30, 9)),
    ("by friday at the latest", paris(2026, 12, 4, 9)),
    ("by the 15th", paris(2026, 12, 15, 9)),
    ("by a week from tomorrow", paris(2026, 12, 5, 9)),
    ("within a week", paris(2026, 12, 4, 10)),
    ("within 3 days", paris(2026, 11, 30, 10)),
    # Parts of a month.
    ("mid-january", paris(2027, 1, 15, 9)),
    ("mid january", paris(2027, 1, 15, 9)),
    ("Mid-January", paris(2027, 1, 15, 9)),
    ("in mid-january", paris(2027, 1, 15, 9)),
    ("mid-feb", paris(2027, 2, 15, 9)),
    ("mid-november", paris(2027, 11, 15, 9)),
    ("mid-december at 3pm", paris(2026, 12, 15, 15)),
    ("early january", paris(2027, 1, 1, 9)),
    ("the start of march", paris(2027, 3, 1, 9)),
    ("beginning of next month", paris(2026, 12, 1, 9)),
    ("end of january", paris(2027, 1, 31, 9)),
    ("the end of january", paris(2027, 1, 31, 9)),
    ("late january", paris(2027, 1, 31, 9)),
    ("at the end of the month", paris(2026, 11, 30, 9)),
    ("end of next month", paris(2026, 12, 31, 9)),
    ("by the end of the month", paris(2026, 11, 30, 9)),
    ("by mid-january", paris(2027, 1, 15, 9)),
    # The nth weekday of a month.
    ("the first monday of january", paris(2027, 1, 4, 9)),
    ("the 1st monday of january", paris(2027, 1, 4, 9)),
    ("on the first monday of january", paris(2027, 1, 4, 9)),
    ("the first monday in january", paris(2027, 1, 4, 9)),
    ("first monday of january at 2pm", paris(2027, 1, 4, 14)),
    ("the 2nd tuesday of february", paris(2027, 2, 9, 9)),
    ("the second tuesday of next month", paris(2026, 12, 8, 9)),
    ("the last friday of the month", paris(2026, 12, 25, 9)),
    ("the last friday of the month at 5pm", paris(2026, 11, 27, 17)),
    ("the last friday of december", paris(2026, 12, 25, 9)),
    ("the fifth tuesday of december", paris(2026, 12, 29, 9)),
    ("the last day of the month", paris(2026, 11, 30, 9)),
    ("the first day of next month", paris(2026, 12, 1, 9)),
    ("by the last friday of the month", paris(2026, 12, 25, 9)),
]

GARBAGE = [
    "",
    "   ",
    "???",
    "blabla",
    "jamais",
    "bonjour",
    "peut-être",
    "réunion partenaires",
    "32/13",
    "31/02",
    "15/13",
    "13/13",
    "lundi 32",
    "42",
    "2027",
    "juin",
    "le mois prochain",
    "dans",
    "never",
    "whenever",
    "soon",
    "later",
    "asdf",
    "next",
    "next month",
    "in december",
    "in a bit",
    # Deadlines, offsets from a date and parts of a month around no date.
    "d'ici là",
    "d'ici peu",
    "avant",
    "pour toujours",
    "by",
    "until",
    "before blabla",
    "a week from never",
    "2 days from blabla",
    "blabla from today",
    "sous",
    "mi-blabla",
    "mi-temps",
    "fin",
    "fin de la réunion",
    "the end",
    "le premier lundi",
    "le premier lundi de blabla",
    "le premier lundi de janvier blabla",
]

# A fifth weekday that the month does not have: November and December 2026 have
# four Fridays and Saturdays, February 2027 four Mondays and Thursdays.
NO_SUCH_DAY = [
    "le 5e lundi de février",
    "le 5e jeudi de février 2027",
    "le cinquième vendredi du mois",
    "the 5th monday of february",
    "the fifth saturday of next month",
]


@pytest.mark.parametrize(("text", "expected"), FRENCH)
def test_french(text: str, expected: datetime) -> None:
    assert parse_fr(text) == expected


@pytest.mark.parametrize(("text", "expected"), ENGLISH)
def test_english(text: str, expected: datetime) -> None:
    assert parse_en(text) == expected


@pytest.mark.parametrize("text", GARBAGE)
@pytest.mark.parametrize("locale", ["fr", "en"])
def test_not_a_date(text: str, locale: str) -> None:
    assert parse_datetime(text, now=NOW, tz="Europe/Paris", locale=locale) is None


@pytest.mark.parametrize("text", NO_SUCH_DAY)
@pytest.mark.parametrize("locale", ["fr", "en"])
def test_no_such_weekday(text: str, locale: str) -> None:
    assert parse_datetime(text, now=NOW, tz="Europe/Paris", locale=locale) is None


@pytest.mark.parametrize(
    "text",
    [
        "demain 9h",
        "dans 3 jours",
        "15/06",
        "à 14h",
        "a week from today",
        "d'ici vendredi",
        "mi-janvier",
        "le premier lundi de janvier à 14h",
    ],
)
def test_result_is_utc(text: str) -> None:
    result = parse_fr(text)
    assert result is not None
    assert result.tzinfo is UTC


def test_other_language_is_tried_next() -> None:
    assert parse_fr("tomorrow 9am") == paris(2026, 11, 28, 9)
    assert parse_en("demain 9h") == paris(2026, 11, 28, 9)


def test_now_in_any_zone() -> None:
    assert parse_fr("demain 9h", now=NOW.astimezone(PARIS)) == paris(2026, 11, 28, 9)


def test_room_time_zone() -> None:
    new_york = ZoneInfo("America/New_York")
    now = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 10:00 in New York
    parse = parse_datetime
    assert parse("tomorrow 9am", now=now, tz="America/New_York", locale="en") == datetime(
        2026, 11, 28, 9, tzinfo=new_york
    )
    assert parse("at 3pm", now=now, tz="America/New_York", locale="en") == datetime(
        2026, 11, 27, 15, tzinfo=new_york
    )


# Daylight saving, checked in UTC: Europe/Paris leaves summer time on
# 2026-10-25 at 03:00 (UTC+2 -> UTC+1) and enters it on 2027-03-28 at 02:00.
BEFORE_AUTUMN = datetime(2026, 10, 24, 8, 0, tzinfo=UTC)  # Saturday 10:00 CEST
BEFORE_SPRING = datetime(2027, 3, 27, 9, 0, tzinfo=UTC)  # Saturday 10:00 CET
IN_REPEATED_HOUR = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, first time
REPEATED_HOUR_AGAIN = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, second time

DAYLIGHT_SAVING = [
    (BEFORE_AUTUMN, "fr", "demain 9h", datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
    (BEFORE_AUTUMN, "en", "tomorrow 9am", datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
    (BEFORE_AUTUMN, "fr", "demain", datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
    (BEFORE_AUTUMN, "fr", "demain soir", datetime(2026, 10, 25, 19, 0, tzinfo=UTC)),
    (BEFORE_AUTUMN, "fr", "dimanche 9h", datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
    (BEFORE_AUTUMN, "fr", "lundi 14h", datetime(2026, 10, 26, 13, 0, tzinfo=UTC)),
    (BEFORE_AUTUMN, "fr", "25/10", datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
    (BEFORE_AUTUMN, "fr", "dans 3 jours", datetime(2026, 10, 27, 9, 0, tzinfo=UTC)),
    (BEFORE_AUTUMN, "en", "in 2 days", datetime(2026, 10, 26, 9, 0, tzinfo=UTC)),
    (BEFORE_AUTUMN, "fr", "dans 24 heures", datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
    (BEFORE_AUTUMN, "fr", "dans 1 mois", datetime(2026, 11, 24, 9, 0, tzinfo=UTC)),
    (BEFORE_SPRING, "fr", "demain 9h", datetime(2027, 3, 28, 7, 0, tzinfo=UTC)),
    (BEFORE_SPRING, "en", "tomorrow", datetime(2027, 3, 28, 7, 0, tzinfo=UTC)),
    (BEFORE_SPRING, "fr", "lundi", datetime(2027, 3, 29, 7, 0, tzinfo=UTC)),
    (BEFORE_SPRING, "fr", "28/03 14h", datetime(2027, 3, 28, 12, 0, tzinfo=UTC)),
    (BEFORE_SPRING, "fr", "dans 2 jours", datetime(2027, 3, 29, 8, 0, tzinfo=UTC)),
    (BEFORE_SPRING, "fr", "dans 24 heures", datetime(2027, 3, 28, 9, 0, tzinfo=UTC)),
    (BEFORE_SPRING, "fr", "ce soir", datetime(2027, 3, 27, 19, 0, tzinfo=UTC)),
    (IN_REPEATED_HOUR, "fr", "dans 1 heure", datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
    (IN_REPEATED_HOUR, "fr", "dans 1 jour", datetime(2026, 10, 26, 1, 30, tzinfo=UTC)),
    (IN_REPEATED_HOUR, "fr", "à 9h", datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
    (REPEATED_HOUR_AGAIN, "fr", "dans 1 heure", datetime(2026, 10, 25, 2, 30, tzinfo=UTC)),
    (REPEATED_HOUR_AGAIN, "en", "in 30 minutes", datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),
    (REPEATED_HOUR_AGAIN, "fr", "dans 1 jour", datetime(2026, 10, 26, 1, 30, tzinfo=UTC)),
    # Offsets from a date, deadlines and days of a month, on the local calendar.
    (BEFORE_AUTUMN, "en", "a week from today", datetime(2026, 10, 31, 8, 0, tzinfo=UTC)),
    (BEFORE_AUTUMN, "en", "2 days from now", datetime(2026, 10, 26, 9, 0, tzinfo=UTC)),
    (BEFORE_AUTUMN, "fr", "dans huit jours", datetime(2026, 10, 31, 9, 0, tzinfo=UTC)),
    (BEFORE_AUTUMN, "fr", "d'ici dimanche 14h", datetime(2026, 10, 25, 13, 0, tzinfo=UTC)),
    (
        BEFORE_AUTUMN,
        "fr",
        "le dernier dimanche d'octobre",
        datetime(2026, 10, 25, 8, 0, tzinfo=UTC),
    ),
    (BEFORE_AUTUMN, "fr", "fin octobre", datetime(2026, 10, 31, 8, 0, tzinfo=UTC)),
    (BEFORE_SPRING, "fr", "fin mars", datetime(2027, 3, 31, 7, 0, tzinfo=UTC)),
    (BEFORE_SPRING, "fr", "d'ici demain", datetime(2027, 3, 28, 7, 0, tzinfo=UTC)),
    (BEFORE_SPRING, "fr", "dans quinze jours", datetime(2027, 4, 10, 8, 0, tzinfo=UTC)),
    (BEFORE_SPRING, "en", "a week from tomorrow", datetime(2027, 4, 4, 7, 0, tzinfo=UTC)),
    (
        BEFORE_SPRING,
        "fr",
        "le premier lundi du mois prochain",
        datetime(2027, 4, 5, 7, 0, tzinfo=UTC),
    ),
]


@pytest.mark.parametrize(("now", "locale", "text", "expected"), DAYLIGHT_SAVING)
def test_daylight_saving(now: datetime, locale: str, text: str, expected: datetime) -> None:
    assert parse_datetime(text, now=now, tz="Europe/Paris", locale=locale) == expected


# Today counts for a date without a year only when a time still ahead is given.
JUNE_15_MORNING = datetime(2026, 6, 15, 8, 0, tzinfo=PARIS).astimezone(UTC)

TODAY_OR_LATER = [
    ("15/06", paris(2027, 6, 15, 9)),
    ("15/06 14h", paris(2026, 6, 15, 14)),
    ("15/06 7h", paris(2027, 6, 15, 7)),
    ("le 15", paris(2026, 7, 15, 9)),
    ("le 15 à 14h", paris(2026, 6, 15, 14)),
    ("le 16", paris(2026, 6, 16, 9)),
    ("lundi", paris(2026, 6, 22, 9)),
    ("lundi 14h", paris(2026, 6, 22, 14)),
    ("aujourd'hui 14h", paris(2026, 6, 15, 14)),
    ("d'ici lundi", paris(2026, 6, 22, 9)),
    ("a week from today", paris(2026, 6, 22, 9)),
    # A day of a month: this one only with a time still ahead. Today is the third
    # Monday of June.
    ("mi-juin", paris(2027, 6, 15, 9)),
    ("mi-juin à 14h", paris(2026, 6, 15, 14)),
    ("mi-juin à 7h", paris(2027, 6, 15, 7)),
    ("le troisième lundi du mois", paris(2026, 7, 20, 9)),
    ("le troisième lundi du mois à 14h", paris(2026, 6, 15, 14)),
    ("le 3e lundi de juin", paris(2027, 6, 21, 9)),
    ("the third monday of june at 2pm", paris(2026, 6, 15, 14)),
]


@pytest.mark.parametrize(("text", "expected"), TODAY_OR_LATER)
def test_today_or_later(text: str, expected: datetime) -> None:
    assert parse_fr(text, now=JUNE_15_MORNING) == expected


# The last day of a month: 'fin du mois' typed then is next month's.
NOVEMBER_30_MORNING = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS).astimezone(UTC)

LAST_DAY_OF_MONTH = [
    ("fin du mois", paris(2026, 12, 31, 9)),
    ("d'ici la fin du mois", paris(2026, 12, 31, 9)),
    ("end of the month", paris(2026, 12, 31, 9)),
    ("fin du mois à 18h", paris(2026, 11, 30, 18)),
    ("fin novembre", paris(2027, 11, 30, 9)),
    ("début du mois", paris(2026, 12, 1, 9)),
    ("mi-décembre", paris(2026, 12, 15, 9)),
    ("le dernier lundi du mois", paris(2026, 12, 28, 9)),
    ("le dernier lundi du mois à 14h", paris(2026, 11, 30, 14)),
]


@pytest.mark.parametrize(("text", "expected"), LAST_DAY_OF_MONTH)
def test_last_day_of_month(text: str, expected: datetime) -> None:
    assert parse_fr(text, now=NOVEMBER_30_MORNING) == expected


def test_day_of_month_skips_short_months() -> None:
    january_31 = datetime(2026, 1, 31, 10, 0, tzinfo=PARIS).astimezone(UTC)
    assert parse_fr("le 30", now=january_31) == paris(2026, 3, 30, 9)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_datetime("demain", now=datetime(2026, 11, 27, 10, 0), tz="Europe/Paris", locale="fr")


def test_unknown_locale_is_refused() -> None:
    with pytest.raises(ValueError, match="locale"):
        parse_datetime("morgen", now=NOW, tz="Europe/Paris", locale="de")
    with pytest.raises(ValueError, match="locale"):
        parse_duration("3d", locale="de")


DURATIONS = [
    ("fr", "3j", timedelta(days=3)),
    ("fr", "3 jours", timedelta(days=3)),
    ("fr", "3 Jours", timedelta(days=3)),
    ("fr", "2 semaines", timedelta(weeks=2)),
    ("fr", "1 heure", timedelta(hours=1)),
    ("fr", "une heure", timedelta(hours=1)),
    ("fr", "dans 2 semaines", timedelta(weeks=2)),
    ("fr", "1h30", timedelta(hours=1, minutes=30)),
    ("fr", "45 min", timedelta(minutes=45)),
    ("fr", "10 mn", timedelta(minutes=10)),
    ("fr", "1 semaine et 2 jours", timedelta(days=9)),
    ("fr", "1h30 et 2j", timedelta(days=2, hours=1, minutes=30)),
    ("fr", "3d", timedelta(days=3)),
    ("en", "3d", timedelta(days=3)),
    ("en", "2h", timedelta(hours=2)),
    ("en", "90m", timedelta(minutes=90)),
    ("en", "1w", timedelta(weeks=1)),
    ("en", " 2h ", timedelta(hours=2)),
    ("en", "in 3 days", timedelta(days=3)),
    ("en", "2 weeks", timedelta(weeks=2)),
    ("en", "an hour", timedelta(hours=1)),
    ("en", "a week", timedelta(weeks=1)),
    ("en", "1h 30m", timedelta(hours=1, minutes=30)),
    ("en", "2h30m", timedelta(hours=2, minutes=30)),
    ("en", "1w2d", timedelta(days=9)),
    ("en", "1 week, 2 days", timedelta(days=9)),
    ("en", "1h30 and 2 days", timedelta(days=2, hours=1, minutes=30)),
    ("en", "3 jours", timedelta(days=3)),
    # Number words, and French weeks of eight and fifteen days.
    ("fr", "deux jours", timedelta(days=2)),
    ("fr", "trois semaines", timedelta(weeks=3)),
    ("fr", "dix minutes", timedelta(minutes=10)),
    ("fr", "vingt et un jours", timedelta(days=21)),
    ("fr", "vingt-cinq minutes", timedelta(minutes=25)),
    ("fr", "dix-sept jours", timedelta(days=17)),
    ("fr", "dix sept jours", timedelta(days=17)),
    ("fr", "trente jours", timedelta(days=30)),
    ("fr", "dans deux heures", timedelta(hours=2)),
    ("fr", "deux heures et 10 minutes", timedelta(hours=2, minutes=10)),
    ("fr", "une demi-heure", timedelta(minutes=30)),
    ("fr", "un quart d'heure", timedelta(minutes=15)),
    ("fr", "huit jours", timedelta(weeks=1)),
    ("fr", "Huit Jours", timedelta(weeks=1)),
    ("fr", "quinze jours", timedelta(weeks=2)),
    ("fr", "une quinzaine", timedelta(weeks=2)),
    ("fr", "une huitaine de jours", timedelta(weeks=1)),
    ("fr", "8 jours", timedelta(days=8)),
    ("fr", "huit semaines", timedelta(weeks=8)),
    ("fr", "quinze minutes", timedelta(minutes=15)),
    ("en", "one hour", timedelta(hours=1)),
    ("en", "two hours", timedelta(hours=2)),
    ("en", "Two Days", timedelta(days=2)),
    ("en", "ten days", timedelta(days=10)),
    ("en", "in two weeks", timedelta(weeks=2)),
    ("en", "twenty-one days", timedelta(days=21)),
    ("en", "twenty one days", timedelta(days=21)),
    ("en", "thirty minutes", timedelta(minutes=30)),
    ("en", "half an hour", timedelta(minutes=30)),
    ("en", "a quarter of an hour", timedelta(minutes=15)),
    ("en", "two weeks and three days", timedelta(days=17)),
]

NOT_DURATIONS = [
    ("fr", ""),
    ("fr", "blabla"),
    ("fr", "demain"),
    ("fr", "3 mois"),
    ("fr", "1 an"),
    ("fr", "1h75"),
    ("fr", "dans"),
    ("fr", "0j"),
    ("en", "0d"),
    ("en", "0h"),
    ("en", "0"),
    ("en", "3"),
    ("en", "-3d"),
    ("en", "2 months"),
    ("en", "3x"),
    ("en", "h"),
    ("en", "3d abc"),
    ("en", "2.5h"),
    ("en", "in"),
    ("fr", "deux"),
    ("fr", "huit"),
    ("fr", "deux mois"),
    ("fr", "trente et un jours"),
    ("fr", "mardi en huit"),
    ("en", "forty days"),
    ("en", "a couple of days"),
    ("en", "a week from today"),
]


@pytest.mark.parametrize(("locale", "text", "expected"), DURATIONS)
def test_duration(locale: str, text: str, expected: timedelta) -> None:
    assert parse_duration(text, locale=locale) == expected


@pytest.mark.parametrize(("locale", "text"), NOT_DURATIONS)
def test_not_a_duration(locale: str, text: str) -> None:
    assert parse_duration(text, locale=locale) is None
