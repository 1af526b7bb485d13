"""Encrypted events on the pipeline's path, with a fake decryptor: decrypted in turn
and handled as any other; without their key, waiting (with their room) until it
comes or until their sender is told."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.crypto import ENCRYPTED, MEGOLM, Decrypted, EncryptedEvent, Unreadable
from bot.pipeline import Pipeline
from commands.kit.transport import IncomingEvent
from storage.models import InboxEvent, InboxStatus
from tests.botkit import ALICE, BOB, CAROL, ROOM, TestBot

OTHER_ROOM = "!autre"


@dataclass
class FakeDecryptor:
    """Opens the events whose room key (`session_id`) it holds."""

    keys: set[str] = field(default_factory=set)
    requested: list[str] = field(default_factory=list)

    def decrypt(self, event: EncryptedEvent) -> Decrypted | None:
        content = event.content
        if content.get("algorithm") != MEGOLM:
            raise Unreadable("unsupported algorithm")
        if content["session_id"] not in self.keys:
            return None
        clear = content["clear"]
        return Decrypted(clear["type"], clear["content"])

    def request_key(self, event: EncryptedEvent) -> None:
        self.requested.append(event.event_id)


def decryptor(bot: TestBot) -> FakeDecryptor:
    fake = FakeDecryptor()
    pipeline: Pipeline = bot.bot.pipeline
    pipeline.decryptor = fake
    pipeline.key_wait = timedelta(seconds=30)
    return fake


def encrypted(
    bot: TestBot, body: str, *, session: str = "s1", sender: str = ALICE, room: str = ROOM
) -> IncomingEvent:
    clear = {"type": "m.room.message", "content": {"msgtype": "m.text", "body": body}}
    content: dict[str, Any] = {"algorithm": MEGOLM, "session_id": session, "clear": clear}
    return bot.raw(ENCRYPTED, content, sender=sender, room=room)


async def statuses(bot: TestBot) -> dict[str, str]:
    async with bot.services.db.unit_of_work() as uow:
        rows = await uow.session.scalars(select(InboxEvent).order_by(InboxEvent.id))
        return {row.event_id: row.status for row in rows}


async def row(bot: TestBot, event_id: str) -> InboxEvent:
    async with bot.services.db.unit_of_work() as uow:
        found = await uow.inbox.by_event_id(event_id)
    assert found is not None
    return found


async def test_an_encrypted_command_is_handled_and_kept_in_the_clear(bot: TestBot) -> None:
    keys = decryptor(bot)
    keys.keys.add("s1")
    event = encrypted(bot, "!quisuisje")
    [answer] = await bot.deliver(event)
    assert ALICE in answer.body
    assert answer.content["m.relates_to"]["m.in_reply_to"]["event_id"] == event.event_id
    stored = await row(bot, event.event_id)
    assert (stored.status, stored.event_type) == ("done", "m.room.message")
    assert stored.content == {"msgtype": "m.text", "body": "!quisuisje"}


async def test_without_its_key_an_event_waits_and_its_room_waits_behind_it(bot: TestBot) -> None:
    keys = decryptor(bot)
    await bot.join(ALICE, BOB)
    first = encrypted(bot, "!quisuisje")
    second = bot.event("!quisuisje", sender=BOB)
    elsewhere = bot.event("!quisuisje", sender=CAROL, room=OTHER_ROOM)
    sent = await bot.deliver(first, second, elsewhere)
    # Only the other room's event is answered; Alice's waits, Bob's behind it.
    assert [s.room_id for s in sent] == [OTHER_ROOM]
    found = await statuses(bot)
    assert found[first.event_id] == InboxStatus.WAITING
    assert found[second.event_id] == InboxStatus.PENDING
    assert keys.requested == [first.event_id]  # the key was asked for, once
    async with bot.services.db.unit_of_work() as uow:
        assert await uow.inbox.count(InboxStatus.WAITING) == 1  # what !status shows
    assert bot.bot.pipeline.next_key_deadline() == bot.clock.now() + timedelta(seconds=30)

    # Passes without the key change nothing, and ask for it no more.
    assert await bot.deliver() == []
    assert keys.requested == [first.event_id]

    # The key comes: Alice's command, then Bob's, in the room's order.
    keys.keys.add("s1")
    assert await bot.deliver() == []  # (not tried again before the transport says so)
    bot.bot.pipeline.room_keys_arrived()
    sent = await bot.deliver()
    assert [s.content["m.relates_to"]["m.in_reply_to"]["event_id"] for s in sent] == [
        first.event_id,
        second.event_id,
    ]
    found = await statuses(bot)
    assert (found[first.event_id], found[second.event_id]) == ("done", "done")
    assert bot.bot.pipeline.next_key_deadline() is None


async def test_when_the_key_does_not_come_the_sender_is_told_privately(bot: TestBot) -> None:
    keys = decryptor(bot)
    await bot.join(ALICE, BOB)
    bot.transport.direct[ALICE] = "!dm-alice"
    first = encrypted(bot, "!quisuisje")
    second = bot.event("!quisuisje", sender=BOB)
    assert await bot.deliver(first, second) == []

    bot.clock.advance(timedelta(seconds=29))
    assert await bot.deliver() == []
    bot.clock.advance(timedelta(seconds=1))
    told, answered = await bot.deliver()
    # Alice, in her direct-message room, in the room's language, with what to do.
    assert told.room_id == "!dm-alice"
    assert told.body.startswith("Je n'ai pas pu lire votre message du 27/11/2026 10:00")
    assert "Renvoyez-le" in told.body
    assert "Ne jamais envoyer de messages chiffrés aux sessions non vérifiées" in told.body
    # Bob's command, held back until then, is answered.
    assert answered.content["m.relates_to"]["m.in_reply_to"]["event_id"] == second.event_id
    assert (await statuses(bot))[first.event_id] == InboxStatus.UNREADABLE

    # A key that comes afterwards changes nothing: she was asked to send it again.
    keys.keys.add("s1")
    bot.bot.pipeline.room_keys_arrived()
    assert await bot.deliver() == []
    assert (await statuses(bot))[first.event_id] == InboxStatus.UNREADABLE


async def test_nobody_outside_the_room_is_written_to(bot: TestBot) -> None:
    decryptor(bot)
    await bot.join(ALICE)
    async with bot.services.db.unit_of_work() as uow:
        await uow.room_members.set(ROOM, CAROL, "leave", now=bot.clock.now())
    event = encrypted(bot, "!quisuisje", sender=CAROL)
    await bot.deliver(event)
    bot.clock.advance(timedelta(minutes=1))
    assert await bot.deliver() == []
    assert (await statuses(bot))[event.event_id] == InboxStatus.UNREADABLE


async def test_what_can_never_be_read_holds_nothing_back(bot: TestBot) -> None:
    decryptor(bot)
    odd = bot.raw(ENCRYPTED, {"algorithm": "m.olm.v1.curve25519-aes-sha2"})
    sent = await bot.deliver(odd, bot.event("!quisuisje", sender=ALICE))
    assert len(sent) == 1  # answered at once, and nobody told about the odd one
    found = await statuses(bot)
    assert found[odd.event_id] == InboxStatus.UNREADABLE


async def test_the_wait_survives_a_restart(bot: TestBot) -> None:
    decryptor(bot)
    await bot.join(ALICE, BOB)
    first = encrypted(bot, "!quisuisje")
    second = bot.event("!quisuisje", sender=BOB)
    await bot.deliver(first, second)

    # A new process: it learns from the database which rooms wait, and for what.
    restarted = Pipeline(bot.services)
    restarted.committed = bot.bot.pipeline.committed
    keys = FakeDecryptor()
    restarted.decryptor = keys
    bot.bot.pipeline = restarted
    assert await restarted.process_pending() == 0
    assert restarted.waiting is not None
    assert set(restarted.waiting) == {ROOM}
    keys.keys.add("s1")
    restarted.room_keys_arrived()
    assert await restarted.process_pending() == 2


async def test_without_a_decryptor_encrypted_events_are_ignored(bot: TestBot) -> None:
    # The console and the tests' fake transport cannot read them: they hold nothing up.
    event = encrypted(bot, "!quisuisje")
    assert await bot.deliver(event, bot.event("!quisuisje")) != []
    assert (await statuses(bot))[event.event_id] == InboxStatus.IGNORED


async def test_a_waiting_event_is_neither_pruned_nor_forgotten_by_a_deadline(bot: TestBot) -> None:
    decryptor(bot)
    event = encrypted(bot, "!vote 1 Oui")
    await bot.deliver(event)
    async with bot.services.db.unit_of_work() as uow:
        assert await uow.inbox.oldest_done() is None
        assert await uow.inbox.prune(bot.clock.now() + timedelta(days=365), limit=10) == 0
        # A poll's deadline waits for the votes cast before it, encrypted ones included.
        assert await uow.inbox.pending_sent_before(bot.clock.now())
