"""The bot on a real Synapse when things go wrong: abrupt stops in the middle of a
burst of commands, a killed process, commands sent while it is down, a first start
after a backlog, restarts, and invitations.

The promise under test is the one of DESIGN.md, "The path of one command": every
command that reaches the inbox runs once and is answered once, whatever moment the
bot dies at; nothing from before the first start runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from nio import (
    AsyncClient,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomInviteResponse,
    RoomSendResponse,
)

from bot.pipeline import SYNC_TOKEN
from bot.runtime import DEVICE_ID
from storage.db import Database
from storage.models import InboxStatus, OutboxStatus, Role

from .botrun import BotWorld
from .matrix_helpers import DEFAULT_PASSWORD, unique_localpart
from .reliability_helpers import (
    POSTS,
    BotProcess,
    ReplyLog,
    bot_state,
    reply_target,
    role_command,
    role_user,
    snapshot,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

WHOAMI = "!quisuisje"


async def send_text(client: AsyncClient, room_id: str, body: str) -> str:
    response = await client.room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": body}
    )
    assert isinstance(response, RoomSendResponse), response
    return str(response.event_id)


async def send_role_commands(world: BotWorld, count: int, sent: list[str]) -> None:
    """Send `count` role commands in order, appending each event id as it is accepted."""
    assert world.alice is not None
    for i in range(count):
        sent.append(await world.send(world.alice, role_command(i)))


async def settled(db: Database, timeout: float = 60) -> None:  # noqa: ASYNC109
    """Wait until the bot has nothing left to handle or to send."""

    async def quiet() -> bool:
        async with db.unit_of_work() as uow:
            inbox = await uow.inbox.count(InboxStatus.PENDING)
            outbox = await uow.outbox.count(OutboxStatus.PENDING)
        return inbox == 0 and outbox == 0

    await wait_until(quiet, timeout=timeout, what="an empty inbox and outbox")


async def assert_each_command_answered_once(log: ReplyLog, commands: list[str]) -> None:
    """From the room's full history: one reply per role command, none to anything else,
    each confirming the change."""
    history = await log.history()
    replies: dict[str, list[dict[str, Any]]] = {}
    for source in history:
        if source.get("sender") != log.bot_id or source.get("type") not in POSTS:
            continue
        target = reply_target(source)
        assert target is not None, f"the bot posted something that is not a reply: {source}"
        replies.setdefault(target, []).append(source)
    unknown = set(replies) - set(commands)
    assert not unknown, f"the bot replied to {len(unknown)} events that are not these commands"
    missing = [c for c in commands if c not in replies]
    assert not missing, f"{len(missing)} of {len(commands)} commands got no reply"
    twice = {c: len(r) for c, r in replies.items() if len(r) != 1}
    assert not twice, f"{len(twice)} commands got more than one reply: {twice}"
    assert len(replies) == len(commands)
    wrong = [
        (i, replies[c][0]["content"]["body"])
        for i, c in enumerate(commands)
        if f"{role_user(i)} est désormais modérateur" not in replies[c][0]["content"]["body"]
    ]
    assert not wrong, (
        f"{len(wrong)} of {len(commands)} replies do not confirm the role change; "
        f"the first: {wrong[:3]}"
    )
    # The live view agrees with the history.
    live = log.replies()
    assert {c: len(live[c]) for c in commands} == dict.fromkeys(commands, 1)


async def assert_ran_exactly_once(db: Database, commands: list[str]) -> None:
    """The database side of exactly-once, for role commands u0..u{n-1} in `commands` order."""
    count = len(commands)
    snap = await snapshot(db)
    role_changes = [a for a in snap.audit if a.action == "member.role"]
    users = Counter(a.detail.get("user") for a in role_changes)
    assert len(role_changes) == count, f"{len(role_changes)} role changes audited for {count}"
    assert users == Counter(role_user(i) for i in range(count)), users
    moderators = [m.user_id for m in snap.members if m.role == Role.MODERATOR]
    assert sorted(moderators) == sorted(role_user(i) for i in range(count))
    by_event = {row.event_id: row for row in snap.inbox}
    rows = [by_event.get(c) for c in commands]
    assert all(row is not None for row in rows), "a command never reached the inbox"
    statuses = Counter(row.status for row in rows if row is not None)
    assert statuses == {InboxStatus.DONE: count}, statuses
    inbox_ids = {row.id for row in rows if row is not None}
    outbox = [row for row in snap.outbox if row.inbox_id in inbox_ids]
    per_command = Counter(row.inbox_id for row in outbox)
    assert set(per_command.values()) == {1}, "a command queued more than one reply"
    assert len(per_command) == count
    outbox_statuses = Counter(row.status for row in snap.outbox)
    assert outbox_statuses == {OutboxStatus.SENT: len(snap.outbox)}, outbox_statuses


async def test_abrupt_stops_during_a_burst(world: BotWorld) -> None:
    log = await ReplyLog.open(world)
    db = world.database()
    commands: list[str] = []
    sender: asyncio.Task[None] | None = None
    rng = random.Random(20240611)  # the moments to kill at, reproducibly
    try:
        await world.start_bot()
        sender = asyncio.create_task(send_role_commands(world, 200, commands))
        for threshold in (30, 90, 150):
            await log.wait_for_replies_to(commands, threshold, timeout=60)
            await asyncio.sleep(rng.uniform(0, 0.25))
            await world.kill_bot()
            await world.start_bot()
        async with asyncio.timeout(120):
            await sender
        await log.wait_for_replies_to(commands, timeout=90)
        await settled(db)
        assert len(commands) == 200
        await assert_each_command_answered_once(log, commands)
        await assert_ran_exactly_once(db, commands)
    finally:
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        await log.stop()
        await world.stop_bot()
        await db.dispose()


async def test_killed_process_during_a_burst(world: BotWorld) -> None:
    config = write_config(world, world.tmp / "passerelle.yaml")
    bot = BotProcess(config, world.tmp / "passerelle.log", world.tmp)
    log = await ReplyLog.open(world)
    db = world.database()
    commands: list[str] = []
    sender: asyncio.Task[None] | None = None

    async def first_sync_stored() -> bool:
        bot.assert_running()
        return await bot_state(db, SYNC_TOKEN) is not None

    try:
        await bot.start()
        # Commands sent before the first sync are, by design, never run.
        await wait_until(first_sync_stored, timeout=30, what="the bot's first sync")
        sender = asyncio.create_task(send_role_commands(world, 60, commands))
        for threshold in (10, 25, 40):
            await log.wait_for_replies_to(commands, threshold, timeout=60)
            await bot.kill()
            await bot.start()
        async with asyncio.timeout(60):
            await sender
        await log.wait_for_replies_to(commands, timeout=60)
        await settled(db)
        bot.assert_running()
        assert await bot.terminate() == 0, "the bot did not exit cleanly on SIGTERM"
        await assert_each_command_answered_once(log, commands)
        await assert_ran_exactly_once(db, commands)
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}\n{bot.errors()}--- end of the bot's log ---\n{bot.tail()}"
        ) from exc
    finally:
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        await bot.kill()
        await log.stop()
        await db.dispose()


async def test_commands_sent_while_down_are_all_processed_in_order(
    world: BotWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.matrix")
    log = await ReplyLog.open(world)
    db = world.database()
    commands: list[str] = []
    try:
        await world.start_bot()
        await world.stop_bot()
        # 150 events: three times what one sync returns, so the timeline is limited.
        await send_role_commands(world, 150, commands)
        await world.start_bot()
        await log.wait_for_replies_to(commands, timeout=90)
        await settled(db)
        await assert_each_command_answered_once(log, commands)
        await assert_ran_exactly_once(db, commands)
        assert any("filled a gap" in r.getMessage() for r in caplog.records), (
            "the sync after the downtime was not limited: the test did not exercise /messages"
        )
        snap = await snapshot(db)
        wanted = set(commands)
        inbox_order = [row.event_id for row in snap.inbox if row.event_id in wanted]
        assert inbox_order == commands, "the inbox does not hold the commands in sent order"
        audit_order = [a.detail.get("user") for a in snap.audit if a.action == "member.role"]
        assert audit_order == [role_user(i) for i in range(150)]
    finally:
        await log.stop()
        await world.stop_bot()
        await db.dispose()


async def test_first_start_executes_no_old_command(world: BotWorld) -> None:
    assert world.alice is not None
    log = await ReplyLog.open(world)
    db = world.database()
    try:
        old = [await world.send(world.alice, role_command(i)) for i in range(50)]
        await world.start_bot()
        command = await world.send(world.alice, WHOAMI)
        await log.wait_for_replies_to([command], timeout=30)
        await settled(db)
        await log.refresh_from_history()
        assert list(log.replies()) == [command], "the bot answered a command from before it"
        [reply] = log.replies()[command]
        assert reply["content"]["body"].startswith("Vous êtes"), reply["content"]["body"]
        assert len(log.events) == 1, [e["content"].get("body") for e in log.events.values()]
        snap = await snapshot(db)
        assert not snap.audit, [(a.action, a.detail) for a in snap.audit]
        assert not snap.members, [m.user_id for m in snap.members]
        assert not {row.event_id for row in snap.inbox} & set(old)
    finally:
        await log.stop()
        await world.stop_bot()
        await db.dispose()


async def test_restarts_keep_one_device(world: BotWorld) -> None:
    assert world.alice is not None
    log = await ReplyLog.open(world)
    db = world.database()
    try:
        for _ in range(5):
            await world.start_bot()
            command = await world.send(world.alice, WHOAMI)
            await log.wait_for_replies_to([command], timeout=30)
            await world.stop_bot()
        admin_id = await world.synapse.register(
            unique_localpart("admin"), DEFAULT_PASSWORD, admin=True
        )
        token = await world.synapse.login(admin_id, DEFAULT_PASSWORD)
        url = (
            f"{world.synapse.base_url}/_synapse/admin/v2/users/"
            f"{quote(world.bot_id, safe='')}/devices"
        )
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, headers={"Authorization": f"Bearer {token}"}) as response,
        ):
            body = await response.json(content_type=None)
            assert response.status == 200, body
        devices = [d["device_id"] for d in body["devices"]]
        assert len(devices) == 1, f"the bot's account has {len(devices)} devices: {devices}"
        assert await bot_state(db, DEVICE_ID) == devices[0]
    finally:
        await log.stop()
        await world.stop_bot()
        await db.dispose()


async def create_room_inviting_bot(world: BotWorld, owner: AsyncClient) -> str:
    response = await owner.room_create(name="Invitation")
    assert isinstance(response, RoomCreateResponse), response
    invite = await owner.room_invite(response.room_id, world.bot_id)
    assert isinstance(invite, RoomInviteResponse), invite
    return str(response.room_id)


async def bot_membership(world: BotWorld, client: AsyncClient, room_id: str) -> str | None:
    response = await client.room_get_state_event(room_id, "m.room.member", world.bot_id)
    if not isinstance(response, RoomGetStateEventResponse):
        return None
    membership = response.content.get("membership")
    return membership if isinstance(membership, str) else None


async def test_invite_from_non_admin_is_not_joined(world: BotWorld) -> None:
    assert world.alice is not None
    assert world.bob is not None
    log = await ReplyLog.open(world)
    try:
        await world.start_bot()
        room_id = await create_room_inviting_bot(world, world.bob)
        assert await bot_membership(world, world.bob, room_id) == "invite"
        await asyncio.sleep(3)  # several of the bot's 1-second syncs
        command = await world.send(world.alice, WHOAMI)
        await log.wait_for_replies_to([command], timeout=30)
        assert await bot_membership(world, world.bob, room_id) == "invite"
    finally:
        await log.stop()
        await world.stop_bot()


async def test_invite_from_admin_is_joined(world: BotWorld) -> None:
    alice = world.alice
    assert alice is not None
    await world.start_bot()
    room_id = await create_room_inviting_bot(world, alice)
    log = await ReplyLog.open(world, room_id)
    try:

        async def joined() -> bool:
            return await bot_membership(world, alice, room_id) == "join"

        await wait_until(joined, timeout=15, what="the bot to join the admin's room")
        command = await send_text(alice, room_id, WHOAMI)
        await log.wait_for_replies_to([command], timeout=30)
        [reply] = log.replies()[command]
        assert reply["content"]["body"].startswith("Vous êtes"), reply["content"]["body"]
    finally:
        await log.stop()
        await world.stop_bot()
