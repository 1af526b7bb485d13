"""Recurring meetings: rules in French and English words read into iCalendar RRULEs,
and the dates a series gives on the room's local calendar."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from commands.meetings.recurrence import next_date, parse_rule

PARIS = ZoneInfo("Europe/Paris")


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).astimezone(UTC)


@pytest.mark.parametrize(
    ("words", "rrule"),
    [
        # French.
        ("tous les premiers mardis du mois", "FREQ=MONTHLY;BYDAY=+1TU"),
        ("Tous les premiers Mardis du mois.", "FREQ=MONTHLY;BYDAY=+1TU"),
        ("le premier mardi du mois", "FREQ=MONTHLY;BYDAY=+1TU"),
        ("tous les 1ers mardis du mois", "FREQ=MONTHLY;BYDAY=+1TU"),
        ("chaque deuxième jeudi du mois", "FREQ=MONTHLY;BYDAY=+2TH"),
        ("le dernier vendredi de chaque mois", "FREQ=MONTHLY;BYDAY=-1FR"),
        ("les 1er et 3e jeudis du mois", "FREQ=MONTHLY;BYDAY=+1TH,+3TH"),
        ("toutes les deux semaines", "FREQ=WEEKLY;INTERVAL=2"),
        ("toutes les 3 semaines", "FREQ=WEEKLY;INTERVAL=3"),
        ("une semaine sur deux", "FREQ=WEEKLY;INTERVAL=2"),
        ("tous les quinze jours", "FREQ=WEEKLY;INTERVAL=2"),
        ("tous les 15 jours", "FREQ=WEEKLY;INTERVAL=2"),
        ("tous les huit jours", "FREQ=WEEKLY"),
        ("toutes les semaines", "FREQ=WEEKLY"),
        ("chaque semaine", "FREQ=WEEKLY"),
        ("hebdomadaire", "FREQ=WEEKLY"),
        ("tous les mardis", "FREQ=WEEKLY;BYDAY=TU"),
        ("le jeudi", "FREQ=WEEKLY;BYDAY=TH"),
        ("tous les lundis et jeudis", "FREQ=WEEKLY;BYDAY=MO,TH"),
        ("un jeudi sur deux", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"),
        ("tous les deux mardis", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
        ("toutes les deux semaines le jeudi", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"),
        ("le mardi, toutes les 3 semaines", "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU"),
        ("tous les mois", "FREQ=MONTHLY"),
        ("mensuelle", "FREQ=MONTHLY"),
        ("un mois sur deux", "FREQ=MONTHLY;INTERVAL=2"),
        ("tous les deux mois", "FREQ=MONTHLY;INTERVAL=2"),
        ("tous les jours", "FREQ=DAILY"),
        # English.
        ("every other thursday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"),
        ("every second tuesday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
        ("every second tuesday of the month", "FREQ=MONTHLY;BYDAY=+2TU"),
        ("every first tuesday of the month", "FREQ=MONTHLY;BYDAY=+1TU"),
        ("the first and third tuesday of every month", "FREQ=MONTHLY;BYDAY=+1TU,+3TU"),
        ("the last friday of the month", "FREQ=MONTHLY;BYDAY=-1FR"),
        ("monthly on the first tuesday", "FREQ=MONTHLY;BYDAY=+1TU"),
        ("every thursday", "FREQ=WEEKLY;BYDAY=TH"),
        ("mondays and thursdays", "FREQ=WEEKLY;BYDAY=MO,TH"),
        ("every two weeks", "FREQ=WEEKLY;INTERVAL=2"),
        ("every other week", "FREQ=WEEKLY;INTERVAL=2"),
        ("every 2 weeks on tuesday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
        ("fortnightly", "FREQ=WEEKLY;INTERVAL=2"),
        ("weekly", "FREQ=WEEKLY"),
        ("every month", "FREQ=MONTHLY"),
        ("every 3 months", "FREQ=MONTHLY;INTERVAL=3"),
        ("daily", "FREQ=DAILY"),
    ],
)
def test_rules_in_words(words: str, rrule: str) -> None:
    rule = parse_rule(words)
    assert rule is not None, words
    assert rule.rrule() == rrule


@pytest.mark.parametrize(
    "words",
    ["", "de temps en temps", "n'importe quand", "tous les 100 mois", "every 0 weeks", "mardi 18h"],
)
def test_what_is_not_a_rule(words: str) -> None:
    assert parse_rule(words) is None


def test_a_series_keeps_the_local_hour_across_summer_time() -> None:
    rule = "FREQ=MONTHLY;BYDAY=+1TU"
    anchor = paris("2027-02-02 18:00")
    march = next_date(rule, anchor=anchor, after=anchor, tz="Europe/Paris")
    april = next_date(rule, anchor=anchor, after=march or anchor, tz="Europe/Paris")
    assert march == paris("2027-03-02 18:00")
    assert april == paris("2027-04-06 18:00")  # UTC+2 by then
    assert april is not None
    assert april.astimezone(PARIS).hour == 18


def test_every_other_week_counts_from_the_first_meeting() -> None:
    rule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"
    anchor = paris("2026-12-03 18:00")
    first = next_date(rule, anchor=anchor, after=anchor, tz="Europe/Paris", inclusive=True)
    assert first == anchor
    # Asked from a Monday a week later, the next one is still on the series' parity.
    assert next_date(rule, anchor=anchor, after=paris("2026-12-07 09:00"), tz="Europe/Paris") == (
        paris("2026-12-17 18:00")
    )


def test_the_first_date_of_a_rule_is_the_first_one_from_the_date_typed() -> None:
    rule = "FREQ=MONTHLY;BYDAY=+1TU"
    typed = paris("2026-11-27 18:00")  # a Friday
    first = next_date(rule, anchor=typed, after=typed, tz="Europe/Paris", inclusive=True)
    assert first == paris("2026-12-01 18:00")
