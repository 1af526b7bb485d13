"""Room actions and direct messages over a real Synapse, with the bot killed at the
worst moments: an invitation and a direct message happen once.

The test domain (tests/probe.py) gives the commands: `!sonde-inviter @user` invites
through the outbox, `!sonde-mp @user` writes to a user's direct-message room.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from nio import AsyncClient, JoinResponse, RoomMessagesResponse, SyncResponse

from bot.domains import DOMAINS
from bot.matrix import MatrixTransport
from storage.models import OutboxAction, OutboxEvent, OutboxStatus
from tests.probe import probe_domain

from .botrun import BotWorld
from .reliability_helpers import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")

WITH_PROBE = (*DOMAINS, probe_domain())


class Crash:
    """Wraps a coroutine method of the transport: the first `times` calls stop dead
    (as if the process died) before or after the real call."""

    def __init__(self, times: int = 1) -> None:
        self.left = times
        self.reached = asyncio.Event()

    def around(
        self, real: Callable[..., Awaitable[Any]], *, after: bool
    ) -> Callable[..., Awaitable[Any]]:
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            if self.left <= 0:
                return await real(*args, **kwargs)
            self.left -= 1
            if after:
                await real(*args, **kwargs)
            self.reached.set()
            await asyncio.Event().wait()  # never returns: the test kills the bot here

        return wrapped


async def outbox_rows(world: BotWorld) -> list[OutboxEvent]:
    from sqlalchemy import select

    db = world.database()
    try:
        async with db.unit_of_work() as uow:
            return list(await uow.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
    finally:
        await db.dispose()


async def member_events(client: AsyncClient, room_id: str, user_id: str) -> list[str]:
    """The memberships a room's history gives `user_id`, oldest first."""
    response = await client.room_messages(room_id, start="", limit=200)
    assert isinstance(response, RoomMessagesResponse), response
    return [
        e.source["content"].get("membership")
        for e in reversed(response.chunk)
        if e.source.get("type") == "m.room.member" and e.source.get("state_key") == user_id
    ]


async def sent_and_done(world: BotWorld, action: str) -> bool:
    rows = [r for r in await outbox_rows(world) if r.action == action]
    return bool(rows) and all(r.status == OutboxStatus.SENT for r in rows)


@pytest.mark.parametrize("after", [False, True], ids=["before-the-invite", "after-the-invite"])
async def test_an_invite_happens_once_across_a_kill(world: BotWorld, after: bool) -> None:
    assert world.alice is not None
    dan = await world.user("dan")
    # Not waiting for the bot to be up: its loops must not run before the crash is set.
    runtime = await world.start_bot(wait=False, domains=WITH_PROBE)
    crash = Crash()
    transport = runtime.transport
    transport.act = crash.around(transport.act, after=after)  # type: ignore[method-assign]
    await asyncio.wait_for(runtime.synced.wait(), 30)
    await world.send(world.alice, f"!sonde-inviter {dan.user_id}")
    async with asyncio.timeout(30):
        await crash.reached.wait()
    await world.kill_bot()
    [row] = [r for r in await outbox_rows(world) if r.action == OutboxAction.INVITE]
    assert row.status == OutboxStatus.PENDING  # written, not marked sent

    await world.start_bot(domains=WITH_PROBE)
    await wait_until(
        lambda: sent_and_done(world, OutboxAction.INVITE), timeout=30, what="the invite sent"
    )
    # Dan was invited once: one invite in the room's history, and he can join.
    assert await member_events(world.alice, world.room_id, dan.user_id) == ["invite"]
    assert isinstance(await dan.join(world.room_id), JoinResponse)
    await world.stop_bot()


async def test_a_direct_message_room_is_created_once_across_three_kills(
    world: BotWorld,
) -> None:
    assert world.alice is not None
    dan = await world.user("dan")
    first = await dan.sync(timeout=0)
    assert isinstance(first, SyncResponse)

    async def killed_at(method: str, *, after: bool, command: str | None = None) -> None:
        # Not waiting for the bot to be up: its loops must not run before the crash is set.
        runtime = await world.start_bot(wait=False, domains=WITH_PROBE)
        crash = Crash()
        transport: MatrixTransport = runtime.transport
        setattr(transport, method, crash.around(getattr(transport, method), after=after))
        await asyncio.wait_for(runtime.synced.wait(), 30)
        if command is not None:
            assert world.alice is not None
            await world.send(world.alice, command)
        async with asyncio.timeout(30):
            await crash.reached.wait()
        await world.kill_bot()

    # 1: the room is created, then the bot dies before recording it anywhere.
    await killed_at("_create_direct", after=True, command=f"!sonde-mp {dan.user_id}")
    # 2: it finds that room again, then dies before adding it to m.direct.
    await killed_at("_remember_direct", after=False)
    # 3: it dies before sending the message there.
    await killed_at("send", after=False)
    await world.start_bot(domains=WITH_PROBE)
    await wait_until(
        lambda: sent_and_done(world, OutboxAction.MESSAGE), timeout=60, what="the DM sent"
    )

    # Dan was invited to exactly one room by the bot, and finds the message there once.
    invites: dict[str, Any] = {}
    async with asyncio.timeout(30):
        while not invites:
            response = await dan.sync(timeout=1000, since=first.next_batch)
            assert isinstance(response, SyncResponse)
            invites = dict(response.rooms.invite)
    assert len(invites) == 1
    [room_id] = invites
    assert isinstance(await dan.join(room_id), JoinResponse)
    history = await dan.room_messages(room_id, start="", limit=100)
    assert isinstance(history, RoomMessagesResponse)
    bodies = [
        e.source["content"].get("body")
        for e in history.chunk
        if e.source.get("type") == "m.room.message"
    ]
    assert bodies == [f"Mot privé de {world.alice.user_id}"]
    rows = [r for r in await outbox_rows(world) if r.user_id == dan.user_id]
    assert {r.room_id for r in rows} == {room_id}

    # A later message to Dan goes to the same room.
    await world.send(world.alice, f"!sonde-mp {dan.user_id}")
    await wait_until(
        lambda: _count_sent_to(world, dan.user_id, 2), timeout=30, what="the second DM sent"
    )
    rows = [r for r in await outbox_rows(world) if r.user_id == dan.user_id]
    assert {r.room_id for r in rows} == {room_id}
    await world.stop_bot()


async def _count_sent_to(world: BotWorld, user_id: str, count: int) -> bool:
    rows = [
        r
        for r in await outbox_rows(world)
        if r.user_id == user_id and r.status == OutboxStatus.SENT
    ]
    return len(rows) >= count
