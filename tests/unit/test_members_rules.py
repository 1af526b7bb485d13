"""Membership's pure parts: the settings section (welcome templates), which room is the
group's and which its moderators', look-alike display names, and audit details."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from commands.kit.settings import CoreSettings, RoomSettings
from commands.members.audit import details
from commands.members.records import Lookalikes, clean, group_room, moderators_room
from commands.members.settings import MembersSettings, Welcome, fill

DAVE = "@dave:fablab.test"


def test_the_default_welcome_speaks_both_languages() -> None:
    welcome = Welcome()
    assert welcome.for_locale("fr").startswith("Bienvenue dans le groupe, {name} !")
    assert welcome.for_locale("en").startswith("Welcome to the group, {name}!")


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("Bonjour {prenom}", "unknown placeholder {prenom}"),
        ("   ", "must not be empty"),
        ("x" * 2001, "at most 2000 characters"),
    ],
)
def test_a_bad_welcome_template_is_refused_at_start(template: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        MembersSettings.model_validate({"welcome": {"fr": template}})


def test_placeholders_are_filled_and_nothing_else_is_read() -> None:
    text = fill(
        "{name} ({user}), tapez {prefix}aide", {"name": "Zoé", "user": "@z:x", "prefix": "!"}
    )
    assert text == "Zoé (@z:x), tapez !aide"
    # Only the known names: no attribute access, no format spec.
    assert fill("{name.__class__}", {"name": "Zoé"}) == "{name.__class__}"


def test_the_settings_refuse_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ValidationError, match="request_expiry_days"):
        MembersSettings.model_validate({"request_expiry_days": 0})
    with pytest.raises(ValidationError, match="moderators_room"):
        MembersSettings.model_validate({"moderators_room": "#mods:example.org"})
    with pytest.raises(ValidationError, match="extra"):
        MembersSettings.model_validate({"welcome_text": "x"})


class _Core(CoreSettings):
    members: MembersSettings = MembersSettings()


def _core(moderators: str | None) -> _Core:
    return _Core(
        rooms=[
            RoomSettings(id="!mods", group="g"),
            RoomSettings(id="!main", group="g"),
            RoomSettings(id="!solo"),
        ],
        members=MembersSettings(moderators_room=moderators),
    )


def test_the_group_room_and_the_moderators_room() -> None:
    settings = _core("!mods")
    # The moderators' room is never the one people ask to join, even listed first.
    assert group_room(settings, "g") == "!main"
    assert moderators_room(settings, "g") == "!mods"
    # Another group is told in its own room.
    assert group_room(settings, "!solo") == moderators_room(settings, "!solo") == "!solo"
    plain = _core(None)
    assert group_room(plain, "g") == moderators_room(plain, "g") == "!mods"


def test_look_alike_display_names() -> None:
    known = Lookalikes({"dave le goff": DAVE})
    assert known.of_user("@eve:x.org", "Dave Le Goff") == DAVE
    assert known.of_user("@eve:x.org", "DAVE LE GOFF") == DAVE  # case and accents aside
    assert known.of_user(DAVE, "Dave Le Goff") is None  # Dave himself
    assert known.of_user("@eve:x.org", f"admin {DAVE}") == DAVE  # shows his user id
    assert known.of_user("@eve:x.org", "Ève") is None
    assert known.of_user("@eve:x.org", None) is None


def test_texts_from_clients_are_tidied_and_bounded() -> None:
    assert clean("  Bonjour\n\n tout   le monde ", 100) == "Bonjour tout le monde"
    assert clean("   ", 100) is None
    assert clean("x" * 10, 5) == "xxxx…"


def test_audit_details_are_one_bounded_line() -> None:
    assert details({"user": DAVE, "numbers": [1, 2], "empty": None, "after": {"a": 1}}) == (
        f"user={DAVE} numbers=1,2 after=a:1"
    )
    assert len(details({"text": "x" * 1000}, 50)) == 50
