"""How the group lets people in: the `members` section of the config file."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from commands.kit.settings import RoomId, Section

# What a welcome template may say: {user} (their Matrix id), {name} (their display
# name, else their id), {prefix} (the command prefix).
PLACEHOLDERS = frozenset({"user", "name", "prefix"})
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
MAX_TEMPLATE = 2000


def _check_template(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    if len(text) > MAX_TEMPLATE:
        raise ValueError(f"must be at most {MAX_TEMPLATE} characters")
    unknown = sorted({m for m in _PLACEHOLDER.findall(text) if m not in PLACEHOLDERS})
    if unknown:
        known = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
        raise ValueError(f"unknown placeholder {{{unknown[0]}}} (known: {known})")
    return text


def fill(template: str, values: dict[str, str]) -> str:
    """A template with its placeholders replaced (checked when the settings loaded)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), template)


Template = Annotated[str, AfterValidator(_check_template)]


class Welcome(Section):
    """The welcome message, in each language; the bot adds how to get help."""

    fr: Template = (
        "Bienvenue dans le groupe, {name} ! Les échanges ici sont confidentiels : "
        "ce qui s'y dit reste entre membres."
    )
    en: Template = (
        "Welcome to the group, {name}! What is said here is confidential: it stays between members."
    )

    def for_locale(self, locale: str) -> str:
        return self.fr if locale == "fr" else self.en


class MembersSettings(Section):
    """Join requests, the welcome, and the moderators' rights in the room."""

    # Where join requests, expiries and departures are announced: one of the group's
    # configured rooms (its moderators' room). Empty: the group's room itself.
    moderators_room: RoomId | None = None
    # Days a join request waits for a decision; then it expires (a knock is refused).
    request_expiry_days: int = Field(default=14, ge=1, le=365)
    # At start, set the group's room to the "knock" join rule (the bot needs power
    # level 50 there); if it cannot, it tells the admins once. Off: the room's join
    # rule is left as its admins set it.
    knock_join_rule: bool = True
    # Give the group's moderators power level 50 in its room (and take it back when
    # they stop being moderators), when the bot has the power to.
    moderator_power_level: bool = False
    # The direct message a new member gets once they have joined.
    welcome: Welcome = Field(default_factory=Welcome)
