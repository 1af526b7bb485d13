"""The bot's own commands, typed as a user would, answered through the fake transport."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from storage.models import AuditEntry, InboxEvent, Role, Room
from storage.repos.core import MemberRepository
from tests.botkit import ALICE, BOB, CAROL, GROUP, ROOM, TestBot


async def test_help_lists_commands_in_french_by_default(bot: TestBot) -> None:
    answer = await bot.ask("!aide", sender=BOB)
    assert answer.startswith("Commandes à votre disposition")
    assert "!aide" in answer
    assert "!quisuisje" in answer
    # A member does not see the commands that need a higher role.
    assert "!role" not in answer
    assert "!reglages" not in answer


async def test_help_for_an_admin_shows_every_command(bot: TestBot) -> None:
    answer = await bot.ask("!help", sender=ALICE)
    for name in ("!aide", "!apropos", "!reglages", "!role", "!quisuisje"):
        assert name in answer


async def test_help_in_english_after_settings_change(bot: TestBot) -> None:
    changed = await bot.ask("!settings locale=en", sender=ALICE)
    assert changed == "Done: this room now speaks English, time zone Europe/Paris."
    answer = await bot.ask("!help")
    assert answer.startswith("Commands you can use")
    assert "!whoami: who I think you are, and your role" in answer


async def test_help_index_kept_per_role_and_language_answers_each_command(bot: TestBot) -> None:
    """The index is rendered once per role, language and prefix, and still answers each
    `!aide` in reply to it."""
    member = await bot.ask("!aide", sender=BOB)
    admin = await bot.ask("!aide", sender=ALICE)
    assert "!role" in admin
    assert "!role" not in member
    again = bot.event("!aide", sender=BOB)
    [answer] = await bot.deliver(again)
    assert answer.body == member
    assert answer.content["m.relates_to"] == {"m.in_reply_to": {"event_id": again.event_id}}
    await bot.ask("!reglages langue=en", sender=ALICE)
    english = await bot.ask("!help", sender=BOB)
    assert english.startswith("Commands you can use")
    assert "!role" not in english


async def test_help_for_one_command_shows_usage_and_examples(bot: TestBot) -> None:
    answer = await bot.ask("!aide role", sender=BOB)
    assert "Utilisation : !role @MEMBRE [RÔLE]" in answer
    assert "!role @alice:example.org modérateur" in answer
    assert "Demande le rôle administrateur (que vous n'avez pas)." in answer


async def test_help_for_unknown_command_suggests(bot: TestBot) -> None:
    answer = await bot.ask("!aide rol")
    assert "Commande inconnue : rol." in answer
    assert "Vouliez-vous dire role ?" in answer


async def test_reply_is_a_notice_in_reply_with_html(bot: TestBot, backend: str) -> None:
    event = bot.event("!apropos")
    [answer] = await bot.deliver(event)
    assert answer.content["msgtype"] == "m.notice"
    assert answer.content["m.relates_to"] == {"m.in_reply_to": {"event_id": event.event_id}}
    assert answer.html.startswith("<b>Passerelle</b>")
    assert f"Base de données : {backend}." in answer.body


async def test_reply_stays_in_the_thread(bot: TestBot) -> None:
    event = bot.event(
        "!quisuisje",
        relates_to={"rel_type": "m.thread", "event_id": "$root", "is_falling_back": True},
    )
    [answer] = await bot.deliver(event)
    relation = answer.content["m.relates_to"]
    assert relation["rel_type"] == "m.thread"
    assert relation["event_id"] == "$root"
    assert relation["m.in_reply_to"] == {"event_id": event.event_id}


async def test_settings_need_moderator(bot: TestBot) -> None:
    answer = await bot.ask("!reglages langue=en", sender=BOB)
    assert answer == "Cette commande demande le rôle modérateur."
    async with bot.services.db.unit_of_work() as uow:
        assert await uow.rooms.get(ROOM) is None


async def test_settings_are_stored_and_audited(bot: TestBot) -> None:
    await bot.ask("!reglages fuseau=America/Montreal")
    async with bot.services.db.unit_of_work() as uow:
        room = await uow.session.get(Room, ROOM)
        assert room is not None
        assert (room.locale, room.timezone) == ("fr", "America/Montreal")
        [entry] = (await uow.session.scalars(select(AuditEntry))).all()
        assert entry.action == "room.settings"
        assert entry.actor == ALICE
        assert entry.detail["after"] == {"locale": "fr", "timezone": "America/Montreal"}


async def test_settings_refuse_bad_values(bot: TestBot) -> None:
    answer = await bot.ask("!reglages fuseau=Europe/Pariss")
    assert "Europe/Pariss n'est pas un fuseau horaire connu" in answer
    assert "Utilisation : !reglages [langue=fr|en] [fuseau=FUSEAU]" in answer
    answer = await bot.ask("!settings locale=de")
    assert "de n'est pas parmi : français, anglais." in answer
    async with bot.services.db.unit_of_work() as uow:
        assert await uow.rooms.get(ROOM) is None


async def test_role_is_granted_by_admin_and_checked_on_user_id(bot: TestBot) -> None:
    assert await bot.ask(f"!role {BOB}", sender=ALICE) == f"{BOB} est membre."
    answer = await bot.ask(f"!role {BOB} modérateur", sender=ALICE)
    assert answer == f"{BOB} est désormais modérateur (était membre)."
    async with bot.services.db.unit_of_work() as uow:
        assert await uow.repo(MemberRepository, GROUP).role_of(BOB) == Role.MODERATOR
    # Bob is now a moderator: settings yes, roles no.
    assert (await bot.ask("!reglages", sender=BOB)).startswith("Ce salon parle français")
    assert await bot.ask(f"!role {CAROL} admin", sender=BOB) == (
        "Cette commande demande le rôle administrateur."
    )


async def test_role_with_a_pill_mention(bot: TestBot) -> None:
    formatted = f'!role <a href="https://matrix.to/#/{BOB}">Bob</a> moderator'
    answer = await bot.ask("!role Bob moderator", formatted=formatted)
    assert answer == f"{BOB} est désormais modérateur (était membre)."


async def test_configured_admin_cannot_be_demoted(bot: TestBot) -> None:
    answer = await bot.ask(f"!role {ALICE} membre", sender=ALICE)
    assert "administrateur par configuration" in answer


async def test_whoami(bot: TestBot) -> None:
    assert await bot.ask("!quisuisje", sender=BOB) == (
        f"Vous êtes {BOB}, membre. Ce salon parle français, fuseau horaire Europe/Paris."
    )


async def test_plain_chat_is_ignored_and_marked(bot: TestBot) -> None:
    assert await bot.say("Bonjour à tous !") == []
    assert await bot.say("!!! super") == []
    async with bot.services.db.unit_of_work() as uow:
        rows = (await uow.session.scalars(select(InboxEvent))).all()
        assert [r.status for r in rows] == ["ignored", "ignored"]


async def test_notices_from_other_bots_are_not_executed(bot: TestBot) -> None:
    assert await bot.say("!aide", msgtype="m.notice") == []


async def test_edits_are_not_executed(bot: TestBot) -> None:
    edit = {"rel_type": "m.replace", "event_id": "$old"}
    assert await bot.say("!aide", relates_to=edit) == []


async def test_same_event_delivered_twice_is_handled_once(bot: TestBot) -> None:
    event = bot.event("!quisuisje")
    first = await bot.deliver(event)
    again = await bot.deliver(event)
    assert len(first) == 1
    assert again == []


async def test_unexpected_error_answers_with_a_reference_and_changes_nothing(
    bot: TestBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = bot.services.registry.lookup("whoami")

    async def broken(ctx: object, args: object) -> None:
        await ctx.uow.repo(MemberRepository, GROUP).set_role(BOB, Role.ADMIN, now=bot.clock.now())  # type: ignore[attr-defined]
        raise RuntimeError("boom")

    monkeypatch.setattr(entry, "handler", broken)
    answer = await bot.ask("!whoami")
    monkeypatch.undo()
    assert answer.startswith("Quelque chose s'est mal passé de mon côté (réf. ")
    async with bot.services.db.unit_of_work() as uow:
        [row] = (await uow.session.scalars(select(InboxEvent))).all()
        assert row.status == "failed"
        assert "boom" in (row.error or "")
        assert (
            await uow.repo(MemberRepository, GROUP).role_of(BOB) == Role.MEMBER
        )  # the write was rolled back
    # The next command still runs.
    assert (await bot.ask("!quisuisje")).startswith("Vous êtes")


async def test_status_does_not_count_itself(bot: TestBot) -> None:
    answer = await bot.ask("!etat")
    assert "Commandes en attente : 0." in answer
    # Another command stored but not handled yet is counted.
    await bot.bot.pipeline.ingest([bot.event("!aide", sender=BOB), bot.event("!etat")])
    await bot.bot.pipeline.process_pending()
    await bot.sender.flush()
    assert "Commandes en attente : 0." in bot.sent[-1].body  # the first was handled before
    await bot.bot.pipeline.ingest([bot.event("!etat"), bot.event("!aide", sender=BOB)])
    rows = await bot.bot.pipeline.process_pending()
    await bot.sender.flush()
    assert rows == 2
    status = next(s for s in bot.sent[-2:] if "Commandes en attente" in s.body)
    assert "Commandes en attente : 1." in status.body


async def test_one_log_line_per_handled_event_without_its_text(
    bot: TestBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.pipeline")
    await bot.say('!partenaire ajouter "Zoé Secrète SARL" description="rendez-vous mardi"')
    await bot.say("bonjour tout le monde")  # plain chat: not handled, not logged
    await bot.say("!nimporte quoi")
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.pipeline"]
    assert len(lines) == 2
    assert re.fullmatch(rf"!partner\.add in {ROOM} from {ALICE}: done \(\d+ ms\)", lines[0])
    assert re.fullmatch(rf"!\? in {ROOM} from {ALICE}: done \(\d+ ms\)", lines[1])
    logged = "\n".join(lines)
    for secret in ("Zoé", "Secrète", "mardi", "bonjour", "nimporte"):
        assert secret not in logged
