"""Dates and durations typed in a room, in French or English.

dateparser does the parsing and is configured in one place, `_date_data`. The
regexes here only rewrite common chat forms that dateparser misses ('14h30',
'vendredi prochain', 'ce soir', 'le 1er', 'deux jours', 'dans huit jours', 'by
friday', 'a week from tomorrow') and correct what it returns: the default time of
day, the future for a bare time or a bare day of the month, and offsets that must
stay exact across a daylight-saving change. The days it has no words for, a part
of a month ('mi-janvier', 'end of the month') and the nth weekday of a month ('le
premier lundi de janvier'), are computed here on the local calendar, with
dateparser still reading the month and the time of day. The word tables are in
`timewords`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from dateparser.date import DateDataParser
from dateutil.relativedelta import relativedelta, weekdays  # type: ignore[import-untyped]

from commands.kit.timewords import (
    CALENDAR_UNITS,
    DAY_UNITS,
    MONTH_PARTS,
    ORDINAL_SUFFIXES,
    ORDINALS,
    SECOND_UNITS,
    WEEKDAYS_EN,
    WEEKDAYS_FR,
    as_digits,
)

LOCALES = ("fr", "en")

# A date typed without a time of day ('15/06', 'demain', 'next tuesday') means
# this local time: a reminder at midnight would reach nobody.
DEFAULT_TIME = time(9, 0)
# Longer than any plan a group makes; also keeps arithmetic far from overflow.
MAX_DAYS = 100 * 366

_WEEKDAYS_FR = "|".join(WEEKDAYS_FR)
_WEEKDAYS_EN = "|".join(WEEKDAYS_EN)
# A count in a duration or an offset, once number words are digits ('deux' -> '2').
_COUNT = r"\d+"

_SPACES = re.compile(r"\s+")
_DIGITS_ONLY = re.compile(r"\d+")

# 'dans 3 jours', 'in 2 hours', 'dans 2 mois': an offset from now, which keeps
# the time of day.
_OFFSET = re.compile(rf"(?:dans|in)\s+(?P<rest>{_COUNT}\s*[a-zé].*)")
# 'il y a 3 jours', '3 days ago': a past offset, which keeps the time of day too.
_PAST_OFFSET = re.compile(r"il y a\s.+|.+\sago")
# A time of day alone, once rewritten: 'à 14:00', '14:30', 'at 3pm', 'noon'.
_TIME_ONLY = re.compile(r"(?:(?:à|a|at)\s+)?(?:\d{1,2}(?::\d{2})?(?:\s*[ap]m)?|midi|noon|midnight)")

# Rewrites into forms dateparser reads.
_FR_CLOCK = re.compile(r"\b([01]?\d|2[0-3])\s?h\s?([0-5]\d)\b")  # '14h30', '9 h 05'
_FR_HOUR = re.compile(r"\b([01]?\d|2[0-3])\s?h\b")  # '14h', '9 h'
_FR_HOUR_WORD = re.compile(r"\bà\s+([01]?\d|2[0-3])\s+heures?\b")  # 'à 14 heures'
_FR_FIRST = re.compile(r"\b1er\b")  # 'le 1er septembre'
_FR_MIDNIGHT = re.compile(r"\bminuit\b")
_FR_NEXT_WEEKDAY = re.compile(rf"\b({_WEEKDAYS_FR})\s+prochaine?\b")  # 'vendredi prochain'
# A part of the day after a day, with an optional hour that the part makes am
# or pm: 'ce soir', 'demain matin', 'vendredi soir à 8h', 'tonight at 8'.
# dateparser reads no French part of the day, and drops an English one's hour.
_PART_OF_DAY = re.compile(
    rf"\b(?:(?P<this_fr>ce|cet)|(?P<day_fr>demain|après-demain|{_WEEKDAYS_FR}))"
    r"\s+(?P<part_fr>matin|après-midi|soir)"
    r"(?:\s+(?:à\s+)?(?P<hour_fr>\d{1,2})(?:(?::|h)(?P<minute_fr>\d{2})|h)?)?\b"
    r"|\b(?:(?P<tonight>tonight)"
    r"|(?P<this_en>this)\s+(?P<part_this>morning|afternoon|evening|night)"
    rf"|(?P<day_en>tomorrow|{_WEEKDAYS_EN})\s+(?P<part_en>morning|afternoon|evening|night))"
    r"\s+(?:at\s+)?(?P<hour_en>\d{1,2})(?::(?P<minute_en>\d{2}))?\b(?!\s*[ap]m)"
)
# The hours of dateparser's own `PartsOfDay`, so that 'ce soir' and 'tonight' agree.
_PART_HOURS = {
    "matin": 9,
    "morning": 9,
    "après-midi": 15,
    "afternoon": 15,
    "evening": 18,
    "soir": 20,
    "night": 20,
}

# Durations: '3d', '1h30', '2 semaines', 'an hour', '1 week and 2 days'.
_DURATION_PREFIX = re.compile(r"(?:dans|in)\s+")
_DURATION_PIECE = re.compile(
    rf"(?P<count>{_COUNT})\s*(?P<unit>[a-zé]+)"
    # '1h30': minutes without a unit may follow hours ('1h 30m' has one).
    r"(?:\s*(?P<minutes>[0-5]\d)(?!\d)(?!\s*(?!(?:et|and)\b)[a-zé]))?"
)
_DURATION_GLUE = re.compile(r"\s*(?:,|\bet\b|\band\b)\s*|\s+")

# Months and years have no fixed length: dateparser counts them ('dans 2 mois').
_CALENDAR_OFFSET = re.compile(rf"{_COUNT}\s*(?:{'|'.join(CALENDAR_UNITS)})")

# A deadline is the date itself: "d'ici vendredi", 'avant le 15', 'by friday',
# 'vendredi au plus tard'. A duration after one is an offset: "d'ici 3 jours",
# 'sous huitaine', 'within a week'.
_DEADLINE = re.compile(
    r"(?:(?P<prefix>(?P<fr>d'ici(?:\s+(?:à|a))?|avant|jusqu'(?:à|a)|jusqu'au|pour|sous"
    r"|au plus tard)|by|before|until|till|within)\s+)?"
    r"(?P<rest>.+?)(?:\s+(?P<latest>au plus tard|at the latest))?"
)
# An offset counted from a date: 'a week from tomorrow', '2 days from now', '3 days
# after friday', "dans une semaine à partir d'aujourd'hui", '2 jours à compter du 15'.
_FROM = re.compile(
    rf"(?:(?:dans|in)\s+)?(?P<duration>{_COUNT}\s*[a-zé].*?)"
    r"\s+(?:(?P<en>from|after)\s+|(?:à|a)\s+(?:partir|compter)\s+(?:de\s+|d'|(?P<du>du\s+))"
    r"|apr[èe]s\s+)(?P<anchor>.+)"
)
# How many deadlines and offsets from a date may hold one another.
_MAX_DEPTH = 2
# A month, after 'de'/'du'/'of'/'in' or not, and an optional time of day: 'janvier',
# "d'août", 'june 2027', 'du mois', 'du mois prochain', 'of the month', 'of next
# month'. dateparser reads a named month.
_MONTH = (
    r"(?:(?:de|du|of|in)\s+|d')?"
    r"(?:(?P<next>(?:le\s+)?mois\s+(?:prochain|suivant)|(?:the\s+)?(?:next|following)\s+month)"
    r"|(?P<this>(?:(?:ce|le|the|this)\s+)?(?:mois|month)(?:-ci)?(?!\s+(?:de\s|d')))"
    r"|(?:mois\s+(?:de\s+|d'))?(?P<name>[a-zà-ÿ]+\.?(?:\s+\d{4})?)(?:\s+prochain)?)"
    r"(?:,?\s+(?P<time>.+))?"
)
# A part of a month: 'mi-janvier', 'à la mi-janvier', 'début février', 'fin du mois',
# 'mid-january', 'early june', 'the end of next month'.
_MONTH_PART = re.compile(
    r"(?:(?:à|a|au|en|vers|at|in|on)\s+)?(?:(?:la|le|the)\s+)?"
    rf"(?P<part>{'|'.join(MONTH_PARTS)})(?:-|\s+){_MONTH}"
)
# The nth weekday (or day) of a month: 'le premier lundi de janvier', 'le 2e mardi du
# mois prochain', 'le dernier vendredi du mois', 'the last friday of the month'.
_NTH_WEEKDAY = re.compile(
    r"(?:(?:le|the|on\s+the)\s+)?"
    rf"(?P<nth>{'|'.join(ORDINALS)}|[1-5](?:{'|'.join(ORDINAL_SUFFIXES)}))\s+"
    rf"(?P<weekday>{_WEEKDAYS_FR}|{_WEEKDAYS_EN}|jour|day)\s+{_MONTH}"
)


def parse_datetime(text: str, *, now: datetime, tz: str, locale: str) -> datetime | None:
    """Parse a date or time typed in a room ('vendredi prochain à 14h', 'dans 3 jours',
    '15/06', 'next tuesday', 'tomorrow 9am', '2026-12-07 09:00'), relative to `now`.

    The text is read in the time zone `tz` and in `locale` ('fr' or 'en'; the
    other one is tried next). Returns an aware UTC datetime, or None when the
    text is not a date.

    - A date without a time of day means 09:00 local time that day.
    - An offset ('dans 3 jours', 'in 2 hours') keeps the time of day: days and
      weeks move the local calendar, hours and minutes are exact, so both stay
      right across a daylight-saving change. Counts may be words up to thirty
      ('dans deux jours', 'in twenty-one days'); 'une demi-heure' and 'half an
      hour' are 30 minutes. In French, eight days are a week and fifteen two
      ('dans huit jours', 'sous huitaine', 'dans quinze jours', 'sous quinzaine'),
      but a count in digits is literal ('dans 8 jours').
    - An offset from a date counts from it and keeps its time of day, 09:00 for a
      day without one: 'a week from today', 'a week from tomorrow', '2 weeks from
      friday at 2pm', "dans une semaine à partir d'aujourd'hui", '3 jours après
      lundi', 'mardi en huit' (a week after next Tuesday). '2 days from now' is
      'in 2 days'.
    - A deadline is its date: "d'ici vendredi", 'avant le 15', "jusqu'au 15",
      'pour demain', 'vendredi au plus tard', 'by friday', 'before monday', 'until
      the 15th'. With a duration it is an offset: "d'ici 3 jours", 'sous 48h',
      'within a week'.
    - A part of a month: 'mi-janvier' and 'mid-january' are the 15th, 'début
      janvier' and 'early january' the 1st, 'fin janvier', 'end of january' and
      'late january' its last day; also 'fin du mois', 'end of next month'.
    - The nth weekday of a month, first to fifth or last: 'le premier lundi de
      janvier', 'le 2e mardi du mois prochain', 'le dernier vendredi du mois à
      14h', 'the last friday of the month' ('jour'/'day' for the nth day). None
      when the month has no such day, as a fifth Monday in February.
    - In these month forms, a named month without a year is its next occurrence
      still ahead, and 'du mois'/'of the month' is this month if the day is still
      ahead, else next month. Ahead means after today, or today with a time still
      ahead ('le dernier vendredi du mois à 14h' typed that Friday morning).
    - The future is preferred. A time alone ('à 14h') is today if still ahead,
      else tomorrow. A date without a year ('15/06', 'le 12') is the next one
      after today ('15/06' typed in November is next June); today counts only
      when a time still ahead is given ('le 27 à 14h' typed on the 27th at 10:00).
    - A weekday ('lundi', 'vendredi prochain', 'next tuesday') is the next such
      day strictly after today, even with a time: typed on a Friday, 'vendredi'
      and 'vendredi 14h' are a week away. For today, say 'aujourd'hui'/'today'
      or give a time alone.
    - Vague periods ('juin', 'next month', '2027') and bare numbers are not dates.

    Raises ValueError for a naive `now` or an unknown locale, and
    ZoneInfoNotFoundError for an unknown `tz`: configuration errors, not input.
    """
    _check_locale(locale)
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    try:
        found = _parse_datetime(text, local_now=local_now, zone=zone, tz=tz, locale=locale)
    except (OverflowError, ValueError):
        return None  # a date beyond what datetime can hold ('dans 99999999 jours')
    if found is not None and abs(found - now) > timedelta(days=MAX_DAYS):
        return None
    return found


def _parse_datetime(
    text: str, *, local_now: datetime, zone: ZoneInfo, tz: str, locale: str, depth: int = 0
) -> datetime | None:
    text = as_digits(_clean(text))
    if not text or _DIGITS_ONLY.fullmatch(text):
        return None

    def again(phrase: str, now: datetime = local_now) -> datetime | None:
        return _parse_datetime(
            phrase, local_now=now, zone=zone, tz=tz, locale=locale, depth=depth + 1
        )

    # A deadline and an offset from a date hold a date: read it again, but only so
    # deep ('by a week from friday'), or 'by by by ...' would recurse without end.
    nested = depth >= _MAX_DEPTH
    deadline = None if nested else _DEADLINE.fullmatch(text)
    if deadline and (deadline["prefix"] or deadline["latest"]):
        rest = deadline["rest"]
        if _duration_parts(rest) is not None or _CALENDAR_OFFSET.fullmatch(rest):
            return again(f"{'dans' if deadline['fr'] else 'in'} {rest}")
        return again(f"le {rest}" if deadline["prefix"] == "jusqu'au" else rest)

    counted = None if nested else _FROM.fullmatch(text)
    if counted:
        # The offset read as from the anchor instead of from now, so that it keeps
        # the anchor's time of day: 09:00 for a day typed without one.
        anchor = again(f"le {counted['anchor']}" if counted["du"] else counted["anchor"])
        offset_text = f"{'in' if counted['en'] else 'dans'} {counted['duration']}"
        if anchor is None or not _OFFSET.fullmatch(offset_text):
            return None
        return again(offset_text, anchor.astimezone(zone))

    for pattern, day_in in ((_MONTH_PART, _part_of_month), (_NTH_WEEKDAY, _nth_day)):
        found = pattern.fullmatch(text)
        if found is None:
            continue
        months = _months(found, local_now=local_now, tz=tz, locale=locale)
        clock = _clock(found["time"], local_now=local_now, tz=tz, locale=locale)
        if months is not None and clock is not None:
            return _first_ahead(months, partial(day_in, found), clock, local_now, zone)

    offset = _OFFSET.fullmatch(text)
    if offset:
        duration = _duration_parts(offset["rest"])
        if duration is not None:
            return _shift(local_now, *duration, zone)

    text = _rewrite(text)
    local_parts = _parse_local(text, local_now=local_now, tz=tz, locale=locale)
    if local_parts is None:
        return None
    local, parts = local_parts

    if offset or _PAST_OFFSET.fullmatch(text):
        # 'dans 2 mois', '3 days ago': dateparser already kept the time of day.
        return local.astimezone(UTC)
    if not _is_precise(parts):
        return None
    if _TIME_ONLY.fullmatch(text):
        # dateparser picks today or tomorrow against a clock shifted by the UTC
        # offset, so 'at 3pm' typed at 14:30 would be tomorrow: decide here.
        local = _at(local_now.date(), local.time(), zone)
        if local <= local_now:
            local = _at(local_now.date() + timedelta(days=1), local.time(), zone)
        return local.astimezone(UTC)
    if "time" not in parts:
        local = _at(local.date(), DEFAULT_TIME, zone)
    if parts in {("day",), ("day", "time")}:
        # dateparser keeps 'le 12' in the current month, even when it is past.
        local = _next_day_of_month(local, local_now, zone, timed="time" in parts)
    return local.astimezone(UTC)


def parse_duration(text: str, *, locale: str) -> timedelta | None:
    """Parse a duration ('3d', '2h', '90m', '1w', '3j', '1h30', '2 semaines', 'an hour',
    'in 3 days', 'dans 2 semaines', 'deux jours', 'half an hour', 'huit jours' (a
    week)); None when the text is not a positive duration.

    Units of both languages are read whatever `locale`, since '3d' is common in
    French rooms too. Months and years have no fixed length and are refused.
    Raises ValueError for an unknown locale.
    """
    _check_locale(locale)
    duration = _duration_parts(_DURATION_PREFIX.sub("", as_digits(_clean(text)), count=1))
    if duration is None:
        return None
    days, seconds = duration
    return timedelta(days=days, seconds=seconds)


def _parse_local(
    text: str, *, local_now: datetime, tz: str, locale: str
) -> tuple[datetime, tuple[str, ...]] | None:
    """The local datetime dateparser reads in `text`, and which of its parts ('year',
    'month', 'day', 'time') the text gave; relative forms first, as dateparser does."""
    zone = ZoneInfo(tz)
    relative = _date_data(text, now=local_now, tz=tz, locale=locale, parser="relative-time")
    if relative is not None:
        found, parts = relative
        # dateparser moves from `now` keeping now's UTC offset, so 'demain 9h' typed
        # the day before a daylight-saving change comes out an hour off. Its wall
        # clock in that offset is what was meant: read it in the zone again.
        offset = local_now.utcoffset() or timedelta()
        wall = (found.astimezone(UTC) + offset).replace(tzinfo=None)
        return _at(wall.date(), wall.time(), zone), parts
    absolute = _date_data(text, now=local_now, tz=tz, locale=locale, parser="absolute-time")
    if absolute is not None:
        found, parts = absolute
        return found.astimezone(zone), parts
    return None


def _date_data(
    text: str, *, now: datetime, tz: str, locale: str, parser: str
) -> tuple[datetime, tuple[str, ...]] | None:
    """Run one dateparser `parser`, configured here only: the aware UTC date, and the
    parts of it that the text gave. `now` is local time."""
    other = next(code for code in LOCALES if code != locale)
    settings: dict[str, Any] = {
        "TIMEZONE": tz,
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "DATE_ORDER": "DMY",
        # Otherwise English falls back to MDY and '07/12' is the 12th of July.
        "PREFER_LOCALE_DATE_ORDER": False,
        # One at a time, to know which one read the text; never Unix timestamps.
        "PARSERS": [parser],
    }
    languages = [locale, other]
    data = DateDataParser(
        languages=languages, use_given_order=True, settings=settings
    ).get_date_data(text)
    if data.date_obj is None:
        return None
    found: datetime = data.date_obj
    # `parts` (which fields the text gave) is newer than the published stubs.
    parts: tuple[str, ...] = tuple(getattr(data, "parts", None) or ())
    return found, parts


def _clean(text: str) -> str:
    """Lower case, single spaces, straight apostrophes, no trailing punctuation."""
    text = text.replace("’", "'").replace("\u00a0", " ").replace("\u202f", " ")
    return _SPACES.sub(" ", text).strip(" .,;!?").lower()


def _rewrite(text: str) -> str:
    """Rewrite the chat forms dateparser misses into forms it reads."""
    text = _PART_OF_DAY.sub(_part_of_day, text)
    text = _FR_CLOCK.sub(r"\1:\2", text)
    text = _FR_HOUR.sub(r"\1:00", text)
    text = _FR_HOUR_WORD.sub(r"à \1:00", text)
    text = _FR_FIRST.sub("1", text)
    text = _FR_MIDNIGHT.sub("00:00", text)
    # A bare weekday already means the next one to dateparser, as 'next' does.
    return _FR_NEXT_WEEKDAY.sub(r"\1", text)


def _part_of_day(match: re.Match[str]) -> str:
    """'ce soir' -> "aujourd'hui à 20:00"; 'demain matin 8h' -> 'demain à 8:00';
    'tonight at 8' -> 'today at 20:00'."""
    if match["part_fr"]:
        day = "aujourd'hui" if match["this_fr"] else match["day_fr"]
        part, hour, minute, at = match["part_fr"], match["hour_fr"], match["minute_fr"], "à"
    else:
        day = "today" if match["tonight"] or match["this_en"] else match["day_en"]
        part = match["part_this"] or match["part_en"] or "night"
        hour, minute, at = match["hour_en"], match["minute_en"], "at"
    default = _PART_HOURS[part]
    if hour is None:
        return f"{day} {at} {default}:00"
    clock = int(hour)
    if default >= 12 and 1 <= clock < 12:
        clock += 12
    return f"{day} {at} {clock}:{minute or '00'}"


def _is_precise(parts: tuple[str, ...]) -> bool:
    """A date names a day or a time: 'juin' and '2027' do not. A day and a year
    without a month is dateparser's reading of junk such as '32/13'."""
    if "day" not in parts and "time" not in parts:
        return False
    return "year" not in parts or "month" in parts


def _duration_parts(text: str) -> tuple[int, int] | None:
    """Split a duration into calendar days and exact seconds; None unless `text` is
    only '<count> <unit>' pieces adding up to more than zero and at most MAX_DAYS."""
    days = seconds = 0
    position = 0
    while True:
        piece = _DURATION_PIECE.match(text, position)
        if piece is None:
            return None
        count = int(piece["count"])
        unit = piece["unit"]
        if unit in DAY_UNITS:
            days += count * DAY_UNITS[unit]
        elif unit in SECOND_UNITS:
            seconds += count * SECOND_UNITS[unit]
        else:
            return None
        if piece["minutes"] is not None:
            if SECOND_UNITS.get(unit) != 3600:
                return None
            seconds += int(piece["minutes"]) * 60
        position = piece.end()
        if position == len(text):
            break
        # Pieces are separated by spaces, a comma or 'et'/'and', or touch ('1w2d').
        glue = _DURATION_GLUE.match(text, position)
        if glue is not None:
            position = glue.end()
    if days + seconds <= 0 or days + seconds / 86400 > MAX_DAYS:
        return None
    return days, seconds


def _shift(local_now: datetime, days: int, seconds: int, zone: ZoneInfo) -> datetime:
    """Move `days` on the local calendar, keeping the wall-clock time, then `seconds`
    of real time; the result is in UTC."""
    moved = local_now
    if days:
        moved = _at(local_now.date() + timedelta(days=days), local_now.time(), zone)
    return moved.astimezone(UTC) + timedelta(seconds=seconds)


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time on a local day (the earlier one in a repeated hour)."""
    return datetime.combine(day, clock.replace(tzinfo=None, fold=0), tzinfo=zone)


def _next_day_of_month(
    local: datetime, local_now: datetime, zone: ZoneInfo, *, timed: bool
) -> datetime:
    """The first month from now on where this day of the month is after today, or
    today with a `timed` time still ahead, as dateparser does for '15/06'."""
    year, month = local_now.year, local_now.month
    for _ in range(12):
        try:
            candidate = _at(date(year, month, local.day), local.time(), zone)
        except ValueError:  # no such day in this month
            candidate = None
        if candidate is not None and (
            candidate.date() > local_now.date() or (timed and candidate > local_now)
        ):
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return local


def _months(
    found: re.Match[str], *, local_now: datetime, tz: str, locale: str
) -> list[tuple[int, int]] | None:
    """The (year, month) a month form names, or two when it may be this month or a
    later one: the first is taken if its day is still ahead. None for no month."""
    this = (local_now.year, local_now.month)
    following = (this[0] + 1, 1) if this[1] == 12 else (this[0], this[1] + 1)
    if found["next"]:
        return [following]
    if found["this"]:
        return [this, following]
    named = _date_data(found["name"], now=local_now, tz=tz, locale=locale, parser="absolute-time")
    if named is None or set(named[1]) not in ({"month"}, {"month", "year"}):
        return None
    # dateparser gives a day in the month it read; only the month and year count.
    in_month = named[0].astimezone(local_now.tzinfo)
    month = in_month.month
    if "year" in named[1]:
        return [(in_month.year, month)]
    if month == local_now.month:
        return [this, (local_now.year + 1, month)]
    return [(local_now.year + (month < local_now.month), month)]


def _clock(
    text: str | None, *, local_now: datetime, tz: str, locale: str
) -> tuple[time, bool] | None:
    """The time of day typed after a day ('à 14h', 'at 2pm') and whether one was
    typed: DEFAULT_TIME when none, None when `text` is not a time."""
    if text is None:
        return DEFAULT_TIME, False
    text = _rewrite(text)
    if not _TIME_ONLY.fullmatch(text):
        return None
    local_parts = _parse_local(text, local_now=local_now, tz=tz, locale=locale)
    if local_parts is None or "time" not in local_parts[1]:
        return None
    return local_parts[0].time(), True


def _first_ahead(
    months: list[tuple[int, int]],
    day_in: Callable[[int, int], date | None],
    clock: tuple[time, bool],
    local_now: datetime,
    zone: ZoneInfo,
) -> datetime | None:
    """The day that `day_in` gives, at `clock`, in the first of `months` where it is
    still ahead (after today, or today with a typed time still ahead), else in the
    last one; None when that month has no such day (a fifth Monday)."""
    at, timed = clock
    for year, month in months[:-1]:
        day = day_in(year, month)
        if day is not None and (
            day > local_now.date() or (timed and _at(day, at, zone) > local_now)
        ):
            return _at(day, at, zone).astimezone(UTC)
    day = day_in(*months[-1])
    return None if day is None else _at(day, at, zone).astimezone(UTC)


def _part_of_month(found: re.Match[str], year: int, month: int) -> date:
    """'mi-janvier' is the 15th, 'début janvier' the 1st, 'fin janvier' the last day."""
    day: date = date(year, month, 1) + relativedelta(day=MONTH_PARTS[found["part"]])
    return day


def _nth_day(found: re.Match[str], year: int, month: int) -> date | None:
    """The nth (or last) weekday, or day, of a month; None when there is none, as for
    a fifth Monday in most months."""
    nth = _ordinal(found["nth"])
    name = found["weekday"]
    # From the 1st, or from day 31 (the month's last day) for the last one, a
    # weekday(n) moves on to the nth such day, or back to the last one.
    if name in ("jour", "day"):
        step = relativedelta(day=nth if nth > 0 else 31)
    else:
        index = WEEKDAYS_FR.index(name) if name in WEEKDAYS_FR else WEEKDAYS_EN.index(name)
        step = relativedelta(day=1 if nth > 0 else 31, weekday=weekdays[index](nth))
    day: date = date(year, month, 1) + step
    return day if day.month == month else None


def _ordinal(word: str) -> int:
    """'premier' -> 1, '2e' -> 2, 'last' -> -1."""
    return ORDINALS[word] if word in ORDINALS else int(word[0])


def _check_locale(locale: str) -> None:
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}, expected one of {LOCALES}")
