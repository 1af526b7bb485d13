"""The domain kit, through a small test domain (tests/probe.py): events beyond text
commands, room actions and direct messages through the outbox, jobs from descriptors,
and the group a direct message acts for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.domains import DOMAINS
from commands.kit.clock import FakeClock
from commands.kit.transport import SendError
from storage.models import InboxEvent, InboxStatus, OutboxAction, OutboxEvent
from tests.botkit import ALICE, BOB, CAROL, ROOM, TestBot
from tests.conftest import START
from tests.probe import probe_domain, recorded

DAILY = START + timedelta(hours=1)  # 10:00 UTC on the first day


@pytest.fixture
async def bot(settings, clock: FakeClock) -> AsyncIterator[TestBot]:  # type: ignore[no-untyped-def]
    test_bot = TestBot(settings, clock, domains=(*DOMAINS, probe_domain(DAILY)))
    await test_bot.start()
    try:
        yield test_bot
    finally:
        await test_bot.close()


async def restarted(bot: TestBot) -> TestBot:
    """The same database and clock, a new process (nothing kept in memory)."""
    await bot.close()
    again = TestBot(bot.bot.settings, bot.clock, domains=bot.bot.domains)
    await again.start()
    again.transport = bot.transport  # the homeserver remembers what it was sent
    again.sender.transport = bot.transport
    return again


async def probe(bot: TestBot, key: str) -> list[object]:
    async with bot.services.db.unit_of_work() as uow:
        return await recorded(uow, key)


async def statuses(bot: TestBot) -> dict[str, str]:
    async with bot.services.db.unit_of_work() as uow:
        rows = await uow.session.scalars(select(InboxEvent))
        return {row.event_id: row.status for row in rows}


# --- Reactions to the bot's own messages.


async def test_a_reaction_to_a_note_reaches_its_handler_once(bot: TestBot) -> None:
    [note] = await bot.say("!sonde-note Atelier samedi")
    tick = bot.reaction(note.event_id, sender=BOB)
    answers = await bot.deliver(tick)
    assert [a.body for a in answers] == [f"{BOB} l'a coché."]
    assert await probe(bot, "ticks") == [[BOB, "1"]]
    # The homeserver hands the same event over again (a sync replayed): nothing more.
    assert await bot.deliver(tick) == []
    assert await probe(bot, "ticks") == [[BOB, "1"]]


async def test_a_reaction_survives_a_crash_between_store_and_handle(bot: TestBot) -> None:
    [note] = await bot.say("!sonde-note Atelier samedi")
    # Stored with the sync token, then the process dies before handling it.
    await bot.bot.pipeline.ingest([bot.reaction(note.event_id, sender=CAROL)])
    bot = await restarted(bot)
    assert await bot.bot.pipeline.process_pending() == 1
    await bot.sender.flush()
    assert await probe(bot, "ticks") == [[CAROL, "1"]]
    assert bot.sent[-1].body == f"{CAROL} l'a coché."
    # A second pass, or another restart, handles nothing twice.
    assert await bot.bot.pipeline.process_pending() == 0
    bot = await restarted(bot)
    assert await bot.bot.pipeline.process_pending() == 0
    assert await probe(bot, "ticks") == [[CAROL, "1"]]
    await bot.close()


async def test_reactions_to_other_events_are_ignored(bot: TestBot) -> None:
    [note] = await bot.say("!sonde-note Atelier")
    [help_answer] = await bot.say("!aide")
    stray = bot.reaction("$never-sent-by-the-bot", sender=BOB)
    other_key = bot.reaction(note.event_id, key="👍", sender=BOB)
    on_help = bot.reaction(help_answer.event_id, sender=BOB)
    malformed = bot.raw("m.reaction", {"m.relates_to": {"rel_type": "m.annotation"}})
    assert await bot.deliver(stray, other_key, on_help, malformed) == []
    assert await probe(bot, "ticks") == []
    seen = await statuses(bot)
    for event in (stray, other_key, on_help, malformed):
        assert seen[event.event_id] == InboxStatus.IGNORED


# --- Membership events.


async def test_a_knock_reaches_the_membership_handler(bot: TestBot) -> None:
    answers = await bot.deliver(bot.membership("@dan:fablab.test", "knock", reason="Bonjour"))
    assert [a.body for a in answers] == ["@dan:fablab.test frappe à la porte."]
    assert await probe(bot, "knocks") == [["@dan:fablab.test", "Bonjour", None]]
    async with bot.services.db.unit_of_work() as uow:
        assert await uow.room_members.membership(ROOM, "@dan:fablab.test") == "knock"


async def test_a_knock_from_someone_already_in_the_room_is_ignored(bot: TestBot) -> None:
    await bot.join(BOB)
    knock = bot.membership(BOB, "knock", reason="?")
    assert await bot.deliver(knock) == []
    assert await probe(bot, "knocks") == []
    assert (await statuses(bot))[knock.event_id] == InboxStatus.IGNORED


async def test_joins_and_leaves_keep_the_member_list(bot: TestBot) -> None:
    await bot.deliver(bot.membership("@dan:fablab.test", "join"))
    async with bot.services.db.unit_of_work() as uow:
        assert [m.user_id for m in await uow.room_members.joined(ROOM)] == ["@dan:fablab.test"]
    await bot.deliver(bot.membership("@dan:fablab.test", "leave"))
    async with bot.services.db.unit_of_work() as uow:
        assert await uow.room_members.joined(ROOM) == []


# --- Poll responses and messages.


async def test_a_poll_response_for_an_unknown_poll_is_ignored(bot: TestBot) -> None:
    response = bot.raw(
        "org.matrix.msc3381.poll.response",
        {
            "m.relates_to": {"rel_type": "m.reference", "event_id": "$unknown-poll"},
            "org.matrix.msc3381.poll.response": {"answers": ["a"]},
        },
        sender=BOB,
    )
    assert await bot.deliver(response) == []
    assert await probe(bot, "votes") == []
    assert (await statuses(bot))[response.event_id] == InboxStatus.IGNORED


async def test_message_handlers_see_chat_and_commands(bot: TestBot) -> None:
    await bot.say("bonjour à tous", sender=BOB)
    await bot.say("!aide", sender=CAROL)
    assert await probe(bot, "messages") == [[BOB, False], [CAROL, True]]


async def test_a_refused_command_keeps_nothing_it_wrote(bot: TestBot) -> None:
    assert await bot.ask("!sonde-echec") == "Refusé."
    assert await probe(bot, "written_before_refusal") == []


# --- Room actions and direct messages.


async def test_an_invite_goes_out_once_despite_a_failure(bot: TestBot) -> None:
    bot.transport.failures.append(SendError("connection reset"))
    await bot.say("!sonde-inviter @dan:fablab.test")
    assert bot.transport.actions == []  # the first try failed; retried after a backoff
    await bot.advance(timedelta(seconds=2))
    await bot.sender.flush()
    [action] = bot.transport.actions
    assert (action.kind, action.room_id, action.user_id) == (
        OutboxAction.INVITE,
        ROOM,
        "@dan:fablab.test",
    )
    assert bot.sent[-1].body == "Fait."
    await bot.sender.flush()
    assert len(bot.transport.actions) == 1


async def test_a_direct_message_room_is_opened_once_per_user(bot: TestBot) -> None:
    await bot.say("!sonde-mp @dan:fablab.test")
    await bot.say("!sonde-mp @dan:fablab.test", sender=BOB)
    private = [s for s in bot.sent if s.body.startswith("Mot privé")]
    assert [(s.room_id, s.body) for s in private] == [
        ("!dm-dan", f"Mot privé de {ALICE}"),
        ("!dm-dan", f"Mot privé de {BOB}"),
    ]
    assert bot.transport.rooms_created == 1
    async with bot.services.db.unit_of_work() as uow:
        row = await uow.direct_rooms.of_user("@dan:fablab.test")
        assert row is not None
        assert row.room_id == "!dm-dan"
        sent = (
            await uow.session.scalars(select(OutboxEvent).where(OutboxEvent.user_id.is_not(None)))
        ).all()
        assert {s.room_id for s in sent if s.action == OutboxAction.MESSAGE} == {"!dm-dan"}


async def test_a_direct_message_acts_for_the_senders_group(bot: TestBot) -> None:
    await bot.join(BOB)
    room = await bot.open_direct(BOB)
    assert await bot.ask("!sonde-groupe", sender=BOB, room=room) == f"Groupe {ROOM} (direct)"


async def test_a_direct_message_from_someone_in_no_group_gets_no_data(bot: TestBot) -> None:
    room = await bot.open_direct("@eve:elsewhere.test")
    answer = await bot.ask("!sonde-groupe", sender="@eve:elsewhere.test", room=room)
    assert "Vous n'êtes dans aucun des salons que je sers" in answer
    answer = await bot.ask("!partenaire liste", sender="@eve:elsewhere.test", room=room)
    assert "Vous n'êtes dans aucun des salons que je sers" in answer
    # Help is not a group's data.
    assert "Commandes à votre disposition" in await bot.ask(
        "!aide", sender="@eve:elsewhere.test", room=room
    )


async def test_a_member_of_several_groups_chooses_one(bot: TestBot) -> None:
    async with bot.services.db.unit_of_work() as uow:  # an admin invited the bot there
        await uow.rooms.save("!autre", locale="fr", timezone="Europe/Paris", now=bot.clock.now())
    await bot.join(BOB)
    await bot.join(BOB, room="!autre")
    await bot.join(BOB, room="!pas-servi")  # a room the bot is not in does not count
    room = await bot.open_direct(BOB)
    answer = await bot.ask("!sonde-groupe", sender=BOB, room=room)
    assert "Vous appartenez à plusieurs groupes (!autre, !groupe)" in answer
    assert "!groupe NOM" in answer
    assert "n'êtes pas dans le groupe" in await bot.ask("!groupe !ailleurs", sender=BOB, room=room)
    assert "vous agissez désormais pour le groupe !autre" in await bot.ask(
        "!groupe !autre", sender=BOB, room=room
    )
    assert await bot.ask("!sonde-groupe", sender=BOB, room=room) == "Groupe !autre (direct)"
    # In a group's room there is nothing to choose.
    assert "Ce salon agit pour son propre groupe" in await bot.ask("!groupe", sender=BOB)


# --- Jobs declared by a domain.


async def test_a_job_runs_once_after_a_downtime_over_several_slots(bot: TestBot) -> None:
    first = await bot.travel(DAILY)
    assert [s.body for s in first] == ["Quotidien 2026-11-27"]
    # Down for four days and a half: the slots of the 28th, 29th, 30th and 1st passed.
    bot = await restarted(bot)
    bot.clock.set(DAILY + timedelta(days=4, hours=12))
    assert await bot.bot.scheduler.run_due(bot.clock.now()) == 1
    assert await bot.bot.scheduler.run_due(bot.clock.now()) == 0
    await bot.sender.flush()
    assert [s.body for s in bot.sent[-1:]] == ["Quotidien 2026-12-01"]
    assert await probe(bot, "daily") == [DAILY.isoformat(), (DAILY + timedelta(days=4)).isoformat()]
    await bot.close()
