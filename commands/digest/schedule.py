"""When the digest goes out: a local weekday and time, in the group's main room's
time zone (09:00 stays 09:00 across a change of summer time)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def next_slot(weekday: int, clock: time, tz: str, *, after: datetime) -> datetime:
    """The first `weekday` at `clock` (local) strictly after `after`, in UTC."""
    zone = ZoneInfo(tz)
    local = after.astimezone(zone)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    for _ in range(3):
        slot = datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)
        if slot > after:
            return slot
        day += timedelta(days=7)
    raise AssertionError("unreachable: a week later is always after")


def last_slot(weekday: int, clock: time, tz: str, *, at: datetime) -> datetime:
    """The latest slot at or before `at` (the period a late digest covers ends there)."""
    following = next_slot(weekday, clock, tz, after=at)
    zone = ZoneInfo(tz)
    local = following.astimezone(zone)
    return datetime.combine(local.date() - timedelta(days=7), clock, tzinfo=zone).astimezone(UTC)


def week_before(until: datetime, tz: str) -> datetime:
    """The start of the week that ends at `until` (seven local days before)."""
    zone = ZoneInfo(tz)
    local = until.astimezone(zone)
    return datetime.combine(
        local.date() - timedelta(days=7), local.time().replace(tzinfo=None), tzinfo=zone
    ).astimezone(UTC)
