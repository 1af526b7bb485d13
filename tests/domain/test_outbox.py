"""The outbox sender: one send per row, retries with the same id, backoff, 429 honoured."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.config import RoomSettings, Settings
from bot.outbox import backoff
from commands.kit.clock import FakeClock
from commands.kit.transport import SendError
from storage.models import OutboxEvent
from tests.botkit import ALICE, ROOM, TestBot


async def _rows(bot: TestBot) -> list[OutboxEvent]:
    async with bot.services.db.unit_of_work() as uow:
        return list((await uow.session.scalars(select(OutboxEvent))).all())


def test_backoff_doubles_up_to_thirty_seconds() -> None:
    assert [backoff(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


async def test_connection_error_is_retried_with_the_same_txn_id(bot: TestBot) -> None:
    bot.transport.failures.append(SendError("connection reset"))
    assert await bot.say("!quisuisje") == []  # the send failed; nothing posted yet
    [row] = await _rows(bot)
    assert row.status == "pending"
    assert row.attempts == 1
    assert row.next_attempt_at == bot.clock.now() + timedelta(seconds=1)
    assert row.last_error == "connection reset"
    # Not due yet: nothing sent.
    assert await bot.sender.flush() == 0
    bot.clock.advance(timedelta(seconds=1))
    assert await bot.sender.flush() == 1
    [sent] = bot.sent
    assert sent.txn_id == row.txn_id
    assert sent.body.startswith("Vous êtes")


async def test_rate_limit_waits_retry_after(bot: TestBot) -> None:
    bot.transport.failures.append(SendError("M_LIMIT_EXCEEDED", retry_after=7.5))
    await bot.say("!quisuisje")
    [row] = await _rows(bot)
    assert row.next_attempt_at == bot.clock.now() + timedelta(seconds=7.5)
    bot.clock.advance(timedelta(seconds=7))
    assert await bot.sender.flush() == 0
    bot.clock.advance(timedelta(seconds=1))
    assert await bot.sender.flush() == 1


async def test_a_resent_txn_id_posts_once(bot: TestBot) -> None:
    """A send that reached the server but whose answer was lost is retried harmlessly."""
    await bot.say("!quisuisje")
    [row] = await _rows(bot)
    assert row.status == "sent"
    # Replaying the same row (as after a crash between send and mark) gives the same event.
    event_id = await bot.transport.send(row.room_id, row.event_type, row.content, row.txn_id)
    assert event_id == row.event_id
    assert len(bot.sent) == 1


async def test_permanent_refusal_is_marked_failed_not_retried(bot: TestBot) -> None:
    bot.transport.failures.append(SendError("M_FORBIDDEN", permanent=True))
    await bot.say("!quisuisje")
    [row] = await _rows(bot)
    assert row.status == "failed"
    bot.clock.advance(timedelta(minutes=5))
    assert await bot.sender.flush() == 0
    assert bot.sent == []


async def test_backoff_grows_with_each_failure(bot: TestBot) -> None:
    bot.transport.failures.extend(SendError("502") for _ in range(7))
    await bot.say("!quisuisje")
    delays = []
    for _ in range(6):
        [row] = await _rows(bot)
        delay = row.next_attempt_at - bot.clock.now()
        delays.append(delay.total_seconds())
        bot.clock.advance(delay)
        await bot.sender.flush()
    assert delays == [1, 2, 4, 8, 16, 30]
    [row] = await _rows(bot)
    bot.clock.advance(row.next_attempt_at - bot.clock.now())
    assert await bot.sender.flush() == 1
    assert len(bot.sent) == 1


async def test_a_failure_pauses_every_send_not_just_that_row(bot: TestBot) -> None:
    """During an outage the sender makes one request per backoff step, not one per reply."""
    attempts = 0
    original = bot.transport.send

    async def counting_send(*args: object, **kwargs: object) -> str:
        nonlocal attempts
        attempts += 1
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    bot.transport.send = counting_send  # type: ignore[method-assign]
    bot.transport.failures.append(SendError("502"))
    event_a, event_b, event_c = (bot.event("!quisuisje") for _ in range(3))
    await bot.deliver(event_a, event_b, event_c)
    assert attempts == 1  # the first send failed; the two others were not tried
    assert await bot.sender.next_attempt() == bot.clock.now() + timedelta(seconds=1)
    bot.clock.advance(timedelta(seconds=1))
    assert await bot.sender.flush() == 3
    assert [s.content["m.relates_to"]["m.in_reply_to"]["event_id"] for s in bot.sent] == [
        event_a.event_id,
        event_b.event_id,
        event_c.event_id,
    ]


async def test_an_event_handled_again_after_a_lost_commit_is_not_answered_twice(
    sqlite_template: Path, tmp_path: Path, clock: FakeClock
) -> None:
    """A power cut can lose the last commits of SQLite with synchronous=NORMAL, after
    their replies went out. The events come back with the next sync and are handled
    again: their replies keep their transaction ids, and the homeserver (here the fake
    one, which keeps Synapse's rule) does not post them twice."""
    path = tmp_path / "cut.db"
    shutil.copyfile(sqlite_template, path)
    settings = Settings.model_validate(
        {
            "admins": [ALICE],
            "rooms": [RoomSettings(id=ROOM, locale="fr", timezone="Europe/Paris")],
            "database": {"url": f"sqlite+aiosqlite:///{path}"},
        }
    )
    first = TestBot(settings, clock)
    await first.start()
    events = [first.event("!quisuisje"), first.event("!aide role")]
    before = path.read_bytes()
    await first.deliver(*events)
    await first.close()
    assert len(first.sent) == 2
    # The power cut: the database as it was before those commits.
    path.write_bytes(before)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    again = TestBot(settings, clock)
    again.transport = first.transport
    again.sender = again.bot.sender(first.transport)
    await again.start()
    try:
        await again.deliver(*events)
        rows = await _rows(again)
        assert [r.txn_id for r in rows] == [s.txn_id for s in first.sent]
        assert [r.status for r in rows] == ["sent", "sent"]
        assert len(first.transport.sent) == 2  # the same two messages, not four
    finally:
        await again.close()
