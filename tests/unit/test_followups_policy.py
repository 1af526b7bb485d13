"""When follow-ups are chased: the slots, weekends, quiet hours and daylight saving."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from commands.followups.policy import add_working_days, allowed, next_reminder
from commands.followups.settings import ChasePolicy, FollowupsSettings

TZ = "Europe/Paris"
DEFAULT = ChasePolicy()


def paris(text: str) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(TZ)).astimezone(UTC)


def slots(due: str, start: str, count: int, policy: ChasePolicy = DEFAULT) -> list[str]:
    found, after = [], paris(start)
    for _ in range(count):
        after = next_reminder(paris(due), after, policy, TZ)
        found.append(after.astimezone(paris(due).tzinfo).isoformat())
    from zoneinfo import ZoneInfo

    return [
        datetime.fromisoformat(s).astimezone(ZoneInfo(TZ)).strftime("%a %d/%m %H:%M") for s in found
    ]


def test_day_before_day_itself_then_every_two_days_skipping_weekends() -> None:
    assert slots("2026-12-01 14:00", "2026-11-27 10:00", 6) == [
        "Mon 30/11 09:00",
        "Tue 01/12 09:00",
        "Thu 03/12 09:00",
        "Mon 07/12 09:00",  # Saturday the 5th's slot
        "Wed 09/12 09:00",
        "Fri 11/12 09:00",
    ]


def test_due_on_a_monday_is_reminded_the_friday_before() -> None:
    assert slots("2026-12-07 10:00", "2026-12-01 10:00", 2) == [
        "Fri 04/12 09:00",
        "Mon 07/12 09:00",
    ]


def test_weekends_on() -> None:
    policy = ChasePolicy(weekends=True)
    assert slots("2026-12-07 10:00", "2026-12-01 10:00", 3, policy) == [
        "Sun 06/12 09:00",
        "Mon 07/12 09:00",
        "Wed 09/12 09:00",
    ]


def test_created_the_day_before_after_the_hour() -> None:
    # Typed on Monday at 15:00 for Tuesday: the first reminder is Tuesday's.
    assert slots("2026-12-01 14:00", "2026-11-30 15:00", 1) == ["Tue 01/12 09:00"]


@pytest.mark.parametrize(
    ("due", "start", "expected"),
    [
        # Summer time starts on Sunday 28 March 2027; ends on Sunday 31 October 2027.
        ("2027-03-29 14:00", "2027-03-25 10:00", ["Fri 26/03 09:00", "Mon 29/03 09:00"]),
        ("2027-11-02 14:00", "2027-10-28 10:00", ["Mon 01/11 09:00", "Tue 02/11 09:00"]),
    ],
)
def test_nine_stays_nine_across_daylight_saving(due: str, start: str, expected: list[str]) -> None:
    assert slots(due, start, 2) == expected


def test_quiet_hours_and_weekends_delay_a_late_pass() -> None:
    # Saturday night: the next instant allowed is Monday at the reminder hour.
    assert allowed(paris("2026-11-28 22:00"), DEFAULT, TZ) == paris("2026-11-30 09:00")
    # Tuesday 23:00 and 06:00: the end of the quiet hours.
    assert allowed(paris("2026-12-01 23:00"), DEFAULT, TZ) == paris("2026-12-02 08:00")
    assert allowed(paris("2026-12-02 06:00"), DEFAULT, TZ) == paris("2026-12-02 08:00")
    # In the day: now.
    assert allowed(paris("2026-12-02 15:00"), DEFAULT, TZ) == paris("2026-12-02 15:00")
    # A reminder hour inside quiet hours goes at their end.
    late = ChasePolicy(reminder_hour="21:00")
    assert slots("2026-12-02 14:00", "2026-11-30 10:00", 1, late) == ["Wed 02/12 08:00"]


def test_working_days_for_an_automatic_follow_up() -> None:
    # Three working days after a Friday: Wednesday, at the reminder hour.
    assert add_working_days(paris("2026-11-27 10:00"), 3, DEFAULT, TZ) == paris("2026-12-02 09:00")


def test_a_room_changes_some_keys() -> None:
    settings = FollowupsSettings.model_validate(
        {"deliver": "room", "rooms": [{"id": "!mods", "deliver": "dm", "reminder_hour": "10:30"}]}
    )
    assert settings.policy("!mods").deliver == "dm"
    assert settings.policy("!mods").reminder_hour == "10:30"
    assert settings.policy("!mods").quiet_hours == "20:00-08:00"
    assert settings.policy("!other").deliver == "room"


@pytest.mark.parametrize(
    "bad",
    [
        {"reminder_hour": "25:00"},
        {"quiet_hours": "20h"},
        {"overdue_every_days": 0},
        {"deliver": "email"},
        {"rooms": [{"id": "!a"}, {"id": "!a"}]},
        {"rooms": [{"id": "#alias:server"}]},
    ],
)
def test_bad_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (pydantic's ValidationError)
        FollowupsSettings.model_validate(bad)
