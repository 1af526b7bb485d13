"""How the group chases its follow-ups: the `followups` section of the config file.

The keys at the top of the section are the defaults of every room; `rooms` changes
some of them for one room (its id as the key)."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from commands.kit.settings import Clock, RoomId, Section, clock

_CLOCK = re.compile(r"([01]?\d|2[0-3])[:h]([0-5]\d)")


def _hours(value: str) -> str:
    parts = [p.strip() for p in value.split("-")]
    if len(parts) != 2 or not all(_CLOCK.fullmatch(p) for p in parts):
        raise ValueError('must be two times of day such as "20:00-08:00", or "" for none')
    return value.strip()


def _quiet(value: str) -> str:
    return "" if not value.strip() else _hours(value)


def _unique_rooms(rooms: list[RoomPolicy]) -> list[RoomPolicy]:
    if len({room.id for room in rooms}) != len(rooms):
        raise ValueError("a room is listed twice")
    return rooms


Span = Annotated[str, AfterValidator(_quiet)]


class ChasePolicy(Section):
    """When and where reminders go, in a room."""

    # Local time at which reminders go out.
    reminder_hour: Clock = "09:00"
    # No reminder between these times (local); "" for none.
    quiet_hours: Span = "20:00-08:00"
    # Whether reminders go out on Saturdays and Sundays.
    weekends: bool = False
    # A reminder the working day before the due date.
    day_before: bool = True
    # While overdue, a reminder every this many days.
    overdue_every_days: int = Field(default=2, ge=1, le=30)
    # From this overdue reminder on, the creator is mentioned too; then the moderators.
    mention_creator_from: int = Field(default=3, ge=1, le=100)
    mention_moderators_from: int = Field(default=5, ge=1, le=100)
    # Where reminders go: in the room, mentioning the assignee, or by direct message.
    deliver: Literal["room", "dm"] = "room"

    @property
    def hour(self) -> time:
        return clock(self.reminder_hour)

    @property
    def quiet(self) -> tuple[time, time] | None:
        if not self.quiet_hours:
            return None
        start, end = self.quiet_hours.split("-")
        return clock(start), clock(end)


class RoomPolicy(Section):
    """One room's changes to the defaults (every key but `id` optional)."""

    id: RoomId
    reminder_hour: Clock | None = None
    quiet_hours: Span | None = None
    weekends: bool | None = None
    day_before: bool | None = None
    overdue_every_days: int | None = Field(default=None, ge=1, le=30)
    mention_creator_from: int | None = Field(default=None, ge=1, le=100)
    mention_moderators_from: int | None = Field(default=None, ge=1, le=100)
    deliver: Literal["room", "dm"] | None = None


class FollowupsSettings(ChasePolicy):
    """The group's rules for follow-ups."""

    # A partner that becomes "interested" with no open follow-up gets one, for its owner
    # (or whoever changed the status), due in this many working days; 0 turns it off.
    interested_followup_days: int = Field(default=3, ge=0, le=60)
    rooms: Annotated[list[RoomPolicy], AfterValidator(_unique_rooms)] = Field(default_factory=list)

    def policy(self, room_id: str) -> ChasePolicy:
        """The rules of one room: the defaults, with what the room changes."""
        base = ChasePolicy.model_validate(self.model_dump(include=set(ChasePolicy.model_fields)))
        changes = next((room for room in self.rooms if room.id == room_id), None)
        if changes is None:
            return base
        return base.model_copy(update=changes.model_dump(exclude_none=True, exclude={"id"}))
