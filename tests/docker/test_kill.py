"""The image's promise across `docker kill` and `docker start`: every command is answered
exactly once, and its effect is stored once, however the kill cuts into a burst.

The runtime's own kill tests (tests/integration/test_reliability.py) kill a process on
the host; this one sends SIGKILL to the container, as `docker kill` or the kernel's
out-of-memory killer does, with the database in the container's volume, and then starts
that same container again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import InboxStatus, OutboxStatus
from storage.models.partners import Partner
from tests.integration.reliability_helpers import POSTS, reply_target, snapshot

from .dockerkit import DockerBot, docker

pytestmark = pytest.mark.asyncio(loop_scope="session")

BURST = 16  # commands sent in a row while the bot runs
KILL_AFTER = 3  # replies seen before the kill: some, far from all
WHILE_DOWN = 4  # commands sent while no container runs


def partner_name(i: int) -> str:
    return f"Atelier {i:02d}"


def add_partner(i: int) -> str:
    return f'!partner add "{partner_name(i)}"'


async def send_burst(docker_bot: DockerBot, first: int, count: int, sent: list[str]) -> None:
    """Send `count` commands in order, appending each event id as it is accepted."""
    for i in range(first, first + count):
        sent.append(await docker_bot.send(add_partner(i)))


def replies_by_command(
    history: list[dict[str, Any]], bot_id: str, commands: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The bot's posts by the event they reply to; anything else it posted fails the test
    (a reply to something that is neither one of `commands` nor a `!help` of the start)."""
    bodies = {e["event_id"]: e.get("content", {}).get("body") for e in history}
    replies: dict[str, list[dict[str, Any]]] = {c: [] for c in commands}
    for event in history:
        if event.get("sender") != bot_id or event.get("type") not in POSTS:
            continue
        target = reply_target(event)
        assert target is not None, f"the bot posted something that is not a reply: {event}"
        if target in replies:
            replies[target].append(event)
        else:
            assert bodies.get(target) == "!help", f"a reply to an unknown event: {event}"
    return replies


async def test_each_command_is_answered_once_across_docker_kill_and_start(
    docker_bot: DockerBot,
) -> None:
    container = await docker_bot.run(docker_bot.config())
    await docker_bot.ready(container)
    log = await docker_bot.follow_replies()
    commands: list[str] = []  # event ids, command i adds partner_name(i)

    # A burst; the container is killed once a few replies are in, the rest still due.
    sender = asyncio.create_task(send_burst(docker_bot, 0, BURST, commands))
    try:
        await docker_bot.replies(container, log, commands, KILL_AFTER)
        await docker_bot.kill(container)
        async with asyncio.timeout(30):
            await sender
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
    await log.refresh_from_history()
    answered = log.count_replies_to(commands)
    assert KILL_AFTER <= answered < BURST, (
        f"{answered} of {BURST} commands answered before the container died: "
        "the kill did not cut into the burst"
    )

    # More commands while nothing runs, then the same container again.
    await send_burst(docker_bot, BURST, WHILE_DOWN, commands)
    await docker("start", container)
    await docker_bot.replies(container, log, commands)
    devices = await docker_bot.devices()
    assert len(devices) == 1, f"the restarted container logged in again: {devices}"

    # Stopped, the bot can post nothing more: the room's history and the database are
    # final, and a second reply or a pending one would show.
    await docker("stop", "-t", "10", container, timeout=30)
    state = await docker("inspect", "-f", "{{.State.ExitCode}}", container)
    assert state.stdout.strip() == "0", await docker_bot.logs(container)

    count = BURST + WHILE_DOWN
    assert len(commands) == count
    replies = replies_by_command(await docker_bot.history(), docker_bot.bot_id, commands)
    counts = {i: len(replies[c]) for i, c in enumerate(commands)}
    assert counts == dict.fromkeys(range(count), 1), f"replies per command: {counts}"
    live = log.replies()  # what /sync showed agrees with /messages
    assert [len(live[c]) for c in commands] == [1] * count
    wrong = [
        (i, body)
        for i, c in enumerate(commands)
        if f"Added {partner_name(i)} (" not in (body := replies[c][0]["content"]["body"])
    ]
    assert not wrong, f"replies that do not confirm their partner: {wrong}"

    data = await docker_bot.copy_data(container)
    db = Database(f"sqlite+aiosqlite:///{data / 'passerelle.db'}")
    try:
        snap = await snapshot(db)
        async with db.unit_of_work() as uow:
            partners = Counter(await uow.session.scalars(select(Partner.name)))
    finally:
        await db.dispose()
    assert partners == Counter(partner_name(i) for i in range(count)), partners
    added = Counter(a.detail.get("name") for a in snap.audit if a.action == "partner.add")
    assert added == partners, f"audited additions: {added}"
    inbox = {row.event_id: row for row in snap.inbox}
    assert all(c in inbox for c in commands), "a command never reached the inbox"
    statuses = Counter(inbox[c].status for c in commands)
    assert statuses == {InboxStatus.DONE: count}, statuses
    outbox = {row.inbox_id: row for row in snap.outbox}
    queued = Counter(row.inbox_id for row in snap.outbox)
    per_command = [queued[inbox[c].id] for c in commands]
    assert per_command == [1] * count, f"replies queued per command: {per_command}"
    sent = Counter(outbox[inbox[c].id].status for c in commands)
    assert sent == {OutboxStatus.SENT: count}, sent
    pending = [row for row in snap.outbox if row.status == OutboxStatus.PENDING]
    assert not pending, f"still to send after the stop: {pending}"
