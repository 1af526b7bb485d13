"""The weekly digest: the `digest` section of the config file."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from commands.kit.settings import Clock, Section

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class DigestSettings(Section):
    """When and how the digest goes out, unless a moderator changed the schedule."""

    # Whether the bot posts a weekly digest at all (`!digest` previews it either way).
    enabled: bool = True
    # Default weekday and local time of the digest, in the group's main room's time zone.
    weekday: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "monday"
    time: Clock = "09:00"
    # room: one message in the group's main room; dm: one direct message to each member
    # (who may stop it with `!digest off`).
    mode: Literal["room", "dm"] = "room"
    # A partner interested or negotiating with no interaction for this many days is stale.
    stale_days: int = Field(default=30, ge=1, le=365)
    # Lines shown in each section before "and N more".
    lines: int = Field(default=5, ge=1, le=20)
