"""The settings handlers see: rooms, groups, administrators, prefix, locale, time zone.

The runtime adds its own sections (the homeserver, the database, ...) and each domain
adds its section (see `Domain.settings`); `bot.config` assembles and loads them all.
A domain reads its section with `settings.section(ItsSettings)`.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "CONSOLE_ROOM",
    "Clock",
    "CoreSettings",
    "Locale",
    "RoomId",
    "RoomSettings",
    "Section",
    "TimeZoneName",
    "UserId",
]

Locale = Literal["fr", "en"]

# The room `passerelle console` talks in by default; with no configured room, the data
# written before groups existed belongs to it.
CONSOLE_ROOM = "!console"

_USER_ID = re.compile(r"@[^:\s]+:\S+")
_CLOCK = re.compile(r"([01]?\d|2[0-3])[:h]([0-5]\d)")
_MAX_PREFIX_LENGTH = 3

S = TypeVar("S", bound="Section")


def _has_space(value: str) -> bool:
    return any(c.isspace() for c in value)


def _check_user_id(value: str) -> str:
    if not _USER_ID.fullmatch(value):
        raise ValueError("must look like @local:server")
    return value


def _check_room_id(value: str) -> str:
    # Room ids are opaque (room version 12 ids have no :server part): only the sigil is checked.
    if value.startswith("#"):
        raise ValueError('must be a room id starting with "!", not an alias')
    if not value.startswith("!") or len(value) < 2 or _has_space(value):
        raise ValueError('must be a room id starting with "!"')
    return value


def _check_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f'unknown time zone "{value}"') from None
    return value


def _check_group(value: str) -> str:
    if not value.strip() or _has_space(value):
        raise ValueError("must be a name without spaces")
    if value.startswith("!"):
        raise ValueError('must not start with "!" (room ids do)')
    if len(value) > 100:
        raise ValueError("must be at most 100 characters")
    return value


def _check_prefix(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    if _has_space(value):
        raise ValueError("must not contain whitespace")
    if len(value) > _MAX_PREFIX_LENGTH:
        raise ValueError(f"must be at most {_MAX_PREFIX_LENGTH} characters")
    return value


def _check_clock(value: str) -> str:
    if not _CLOCK.fullmatch(value.strip()):
        raise ValueError('must be a time of day such as "09:00"')
    return value.strip()


def clock(text: str) -> time:
    """A validated `Clock` setting as a time of day."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a time of day: {text!r}")
    return time(int(match[1]), int(match[2]))


UserId = Annotated[str, AfterValidator(_check_user_id)]
Clock = Annotated[str, AfterValidator(_check_clock)]  # a local time of day, "09:00"
RoomId = Annotated[str, AfterValidator(_check_room_id)]
TimeZoneName = Annotated[str, AfterValidator(_check_time_zone)]
GroupName = Annotated[str, AfterValidator(_check_group)]


class Section(BaseModel):
    """Common rules of every settings section: unknown keys are errors, settings are
    read-only once loaded, and an empty key means its default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, data: Any) -> Any:
        # `key:` with nothing after it is null in YAML; people mean "the default".
        # Only known keys are dropped, so an empty misspelt key is still reported.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None or k not in cls.model_fields}
        return data


class RoomSettings(Section):
    """One room the bot serves, with the locale and time zone used to read and write
    dates. Rooms with the same `group` share their data (a moderators' room beside the
    group's room); a room without one is a group of its own."""

    id: RoomId
    locale: Locale = "fr"
    timezone: TimeZoneName = "Europe/Paris"
    group: GroupName | None = None


def _check_unique_rooms(rooms: list[RoomSettings]) -> list[RoomSettings]:
    seen: set[str] = set()
    for room in rooms:
        if room.id in seen:
            raise ValueError(f'room "{room.id}" is listed twice')
        seen.add(room.id)
    return rooms


class CoreSettings(Section):
    """What every handler may read: rooms and groups, administrators, the prefix, and
    the defaults for rooms not listed."""

    rooms: Annotated[list[RoomSettings], AfterValidator(_check_unique_rooms)] = Field(
        default_factory=list
    )
    admins: list[UserId] = Field(default_factory=list)
    command_prefix: Annotated[str, AfterValidator(_check_prefix)] = "!"
    locale: Locale = "fr"
    timezone: TimeZoneName = "Europe/Paris"

    def room(self, room_id: str) -> RoomSettings:
        """The settings of a listed room, or the top-level defaults for any other room."""
        for room in self.rooms:
            if room.id == room_id:
                return room
        # Not validated: the console's rooms have plain names, and locale/timezone already were.
        return RoomSettings.model_construct(
            id=room_id, locale=self.locale, timezone=self.timezone, group=None
        )

    def is_configured(self, room_id: str) -> bool:
        return any(room.id == room_id for room in self.rooms)

    def group_of(self, room_id: str) -> str:
        """The group a room's data belongs to: its configured `group`, else the room itself."""
        return self.room(room_id).group or room_id

    def group_rooms(self, group: str) -> list[str]:
        """The rooms of a group, its main room first."""
        rooms = [room.id for room in self.rooms if (room.group or room.id) == group]
        if not rooms and group.startswith("!"):
            rooms = [group]  # a room that is not listed is a group of its own
        return rooms

    def main_room(self, group: str) -> str | None:
        """Where a group's announcements go: the first of its rooms."""
        rooms = self.group_rooms(group)
        return rooms[0] if rooms else None

    @property
    def default_group(self) -> str:
        """The group of the first configured room (the console's without one): the data
        stored before groups existed belongs to it."""
        return self.group_of(self.rooms[0].id) if self.rooms else CONSOLE_ROOM

    def section(self, kind: type[S]) -> S:
        """A domain's settings section, by its model."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, kind):
                return value
        raise LookupError(f"no settings section of type {kind.__name__}")
