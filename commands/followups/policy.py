"""When a follow-up is chased: pure date arithmetic on the room's local calendar.

The slots of a follow-up due on day D (local): the working day before D, D itself,
then every `overdue_every_days` days after D, each at the room's reminder hour. A slot
that falls on a weekend (when weekends are off) moves to the next working day, one in
quiet hours to their end. Slots are wall-clock times in the room's time zone, so a
09:00 reminder stays at 09:00 across a daylight-saving change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from commands.followups.settings import ChasePolicy

SATURDAY = 5
# Past this many slots a follow-up is chased no more (more than a year every 2 days):
# a bound on the arithmetic, not a rule members see.
MAX_SLOTS = 400


def _local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def working_day(day: date, policy: ChasePolicy) -> bool:
    return policy.weekends or day.weekday() < SATURDAY


def next_working_day(day: date, policy: ChasePolicy) -> date:
    while not working_day(day, policy):
        day += timedelta(days=1)
    return day


def previous_working_day(day: date, policy: ChasePolicy) -> date:
    day -= timedelta(days=1)
    while not working_day(day, policy):
        day -= timedelta(days=1)
    return day


def add_working_days(start: datetime, days: int, policy: ChasePolicy, tz: str) -> datetime:
    """`days` working days after `start`'s local day, at the reminder hour (a due date)."""
    zone = ZoneInfo(tz)
    day = start.astimezone(zone).date()
    for _ in range(days):
        day = next_working_day(day + timedelta(days=1), policy)
    return _local(day, policy.hour, zone).astimezone(UTC)


def _quiet(moment: datetime, policy: ChasePolicy) -> datetime | None:
    """The end of the quiet hours `moment` (local) falls in, or None when it does not."""
    span = policy.quiet
    if span is None:
        return None
    start, end = span
    clock = moment.time().replace(tzinfo=None)
    if start <= end:
        inside = start <= clock < end
        end_day = moment.date()
    else:  # over midnight: 20:00-08:00
        inside = clock >= start or clock < end
        end_day = moment.date() + timedelta(days=1) if clock >= start else moment.date()
    if not inside:
        return None
    return _local(end_day, end, moment.tzinfo)  # type: ignore[arg-type]


def allowed(moment: datetime, policy: ChasePolicy, tz: str) -> datetime:
    """The first instant at or after `moment` when a reminder may go out: not in quiet
    hours (their end, else), not on a weekend day (the next working day's reminder
    hour, else; unless weekends are on)."""
    zone = ZoneInfo(tz)
    local = moment.astimezone(zone)
    for _ in range(14):
        if not working_day(local.date(), policy):
            day = next_working_day(local.date(), policy)
            local = _local(day, policy.hour, zone)
            continue
        end = _quiet(local, policy)
        if end is None:
            return local.astimezone(UTC)
        local = end
    return local.astimezone(UTC)


def _slot(day: date, policy: ChasePolicy, zone: ZoneInfo, tz: str) -> datetime:
    day = next_working_day(day, policy)
    return allowed(_local(day, policy.hour, zone), policy, tz)


def next_reminder(due_at: datetime, after: datetime, policy: ChasePolicy, tz: str) -> datetime:
    """The first reminder slot of a follow-up due at `due_at` strictly after `after`."""
    return reminder_after(due_at.astimezone(ZoneInfo(tz)).date(), after, policy, tz)


def reminder_after(due_day: date, after: datetime, policy: ChasePolicy, tz: str) -> datetime:
    """The first reminder slot of a follow-up due on `due_day` (local) strictly after
    `after`. Only the day counts, not the hour: a pass computes it once a day."""
    zone = ZoneInfo(tz)
    if policy.day_before:
        before = _slot(previous_working_day(due_day, policy), policy, zone, tz)
        if after < before < _slot(due_day, policy, zone, tz):
            return before
    every = policy.overdue_every_days
    after_day = after.astimezone(zone).date()
    # Skip the slots wholly in the past: start a step before `after`'s day.
    step = max(0, (after_day - due_day).days // every - 1)
    for index in range(step, step + MAX_SLOTS):
        slot = _slot(due_day + timedelta(days=index * every), policy, zone, tz)
        if slot > after:
            return slot
    return _slot(after_day + timedelta(days=every), policy, zone, tz)
