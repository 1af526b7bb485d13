"""How the group's meetings run: the `meetings` section of the config file."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated

from pydantic import AfterValidator, Field

from commands.kit.settings import Section

_CLOCK = re.compile(r"([01]?\d|2[0-3])[:h]([0-5]\d)")


def _clock(value: str) -> str:
    if not _CLOCK.fullmatch(value.strip()):
        raise ValueError('must be a time of day such as "09:00"')
    return value.strip()


class MeetingsSettings(Section):
    """The group's rules for meetings."""

    # Local time at which the agenda reminder goes out before a meeting.
    reminder_hour: Annotated[str, AfterValidator(_clock)] = "09:00"
    # How many days before a meeting the agenda reminder goes out; 0 turns it off.
    reminder_days_before: int = Field(default=1, ge=0, le=14)
    # How long a meeting lasts, in minutes, in the calendar invitation (.ics).
    duration_minutes: int = Field(default=120, ge=15, le=24 * 60)
    # A meeting of a series that nobody started is given up this many hours after
    # its time, and the series moves on to its next date (the agenda goes with it).
    skip_after_hours: int = Field(default=12, ge=1, le=24 * 7)

    @property
    def reminder_time(self) -> time:
        match = _CLOCK.fullmatch(self.reminder_hour)
        assert match is not None  # validated when the settings were loaded
        return time(int(match[1]), int(match[2]))
