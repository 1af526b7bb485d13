"""Data belongs to a group: a room, or the rooms configured with the same `group`.
Nothing of one group is read or written from another; roles are per group."""

from __future__ import annotations

import pytest

from bot.config import Settings
from tests.botkit import ALICE, BOB, CAROL, TestBot

MAIN, MODS, OTHER = "!partenariats", "!moderation", "!autre-groupe"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings.model_validate(
        {
            "admins": [ALICE],
            "rooms": [
                {"id": MAIN, "group": "partenariats"},
                {"id": MODS, "group": "partenariats"},
                {"id": OTHER},
            ],
            "database": {"url": db_url},
        }
    )


async def test_partners_are_shared_within_a_group_only(bot: TestBot) -> None:
    await bot.ask("!partenaire ajouter KidiTap", sender=BOB, room=MAIN)
    # The moderators' room shares the group's book.
    assert "KidiTap" in await bot.ask("!partenaire liste", sender=BOB, room=MODS)
    # Another group sees nothing of it, by name, by search or by number.
    listed = await bot.ask("!partenaire liste", sender=BOB, room=OTHER)
    assert "KidiTap" not in listed
    assert "KidiTap" not in await bot.ask("!partenaire chercher kidi", sender=BOB, room=OTHER)
    unknown = await bot.ask("!partenaire voir KidiTap", sender=BOB, room=OTHER)
    assert unknown.startswith("Pas de partenaire « KidiTap »")
    # And may have its own KidiTap, which does not touch the first group's.
    assert "KidiTap" in await bot.ask(
        "!partenaire ajouter KidiTap type=asso", sender=BOB, room=OTHER
    )
    assert "entreprise" not in await bot.ask("!partenaire voir KidiTap", sender=BOB, room=OTHER)
    assert "association" not in await bot.ask("!partenaire voir KidiTap", sender=BOB, room=MAIN)


async def test_a_number_from_another_groups_list_names_nothing_there(bot: TestBot) -> None:
    await bot.ask("!partenaire ajouter KidiTap", sender=BOB, room=MAIN)
    await bot.ask("!partenaire liste", sender=BOB, room=MAIN)
    answer = await bot.ask("!partenaire voir 1", sender=BOB, room=OTHER)
    assert "KidiTap" not in answer


async def test_roles_are_per_group(bot: TestBot) -> None:
    await bot.ask(f"!role {CAROL} moderateur", room=MAIN)
    # A moderator of the group, in both of its rooms...
    assert "modérateur" in await bot.ask("!quisuisje", sender=CAROL, room=MODS)
    # ...is a member elsewhere, and cannot act as a moderator there.
    assert "membre" in await bot.ask("!quisuisje", sender=CAROL, room=OTHER)
    refused = await bot.ask("!reglages langue=en", sender=CAROL, room=OTHER)
    assert refused == "Cette commande demande le rôle modérateur."
    # Configured administrators are administrators everywhere.
    assert "administrateur" in await bot.ask("!quisuisje", room=OTHER)


async def test_audit_entries_carry_their_group(bot: TestBot) -> None:
    await bot.ask(f"!role {CAROL} moderateur", room=MODS)
    async with bot.services.db.unit_of_work() as uow:
        [entry] = await uow.audit.latest(group="partenariats")
        assert entry.action == "member.role"
        assert await uow.audit.latest(group=OTHER) == []
