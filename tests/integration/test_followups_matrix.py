"""Follow-ups over a real Synapse: the reminder reaches the assignee, their ✅ closes it,
and `deliver: dm` sends the reminder to a direct-message room instead of the group's.

The bot runs on a fake clock that starts on Friday 27 November 2026 at 10:00 in Paris
(the rooms' default time zone). A follow-up due "mardi 14h" (Tuesday 1 December 14:00)
is first chased on Monday 30 November at 09:00: the test moves the clock there and
runs one scheduler pass, as the runtime's scheduler loop would, then wakes the sender.
Nothing waits on the real clock but the syncs that bring the bot's events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from nio import (
    AsyncClient,
    InviteMemberEvent,
    JoinedMembersResponse,
    JoinResponse,
    RoomMessagesResponse,
    RoomSendResponse,
    SyncResponse,
)
from sqlalchemy import select

from bot.runtime import Runtime
from commands.kit.clock import FakeClock
from storage.models import Followup, FollowupEvent, OutboxEvent, OutboxStatus

from .botrun import BotWorld, run_pass, start_clocked_bot
from .matrix_helpers import wait_for_event
from .reliability_helpers import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")

PARIS = ZoneInfo("Europe/Paris")
TIMEOUT = 20.0  # seconds for anything the bot does in answer


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).astimezone(UTC)


def utc(stored: datetime) -> datetime:
    """A stored instant (naive UTC on SQLite) as an aware one."""
    return stored if stored.tzinfo is not None else stored.replace(tzinfo=UTC)


START = paris("2026-11-27 10:00")  # a Friday
FIRST_REMINDER = paris("2026-11-30 09:00")  # Monday, the working day before Tuesday


# --- Running the bot on a fake clock.


async def start_bot(
    world: BotWorld, clock: FakeClock, followups: Mapping[str, Any] | None = None
) -> Runtime:
    """The bot on a fake clock, with a `followups` settings section when given."""
    return await start_clocked_bot(world, clock, {"followups": followups} if followups else None)


run_scheduler_at = run_pass


# --- What the users see.


Check = Callable[[dict[str, Any]], bool]  # about an event's source, as the server sent it


def is_reminder(world: BotWorld) -> Check:
    def check(source: dict[str, Any]) -> bool:
        body = str(source.get("content", {}).get("body", ""))
        return source.get("sender") == world.bot_id and body.startswith("🔔")

    return check


def in_reply_to(world: BotWorld, event_id: str) -> Check:
    def check(source: dict[str, Any]) -> bool:
        relates = source.get("content", {}).get("m.relates_to", {})
        target = relates.get("m.in_reply_to", {}).get("event_id")
        return source.get("sender") == world.bot_id and target == event_id

    return check


async def arrives(client: AsyncClient, room_id: str, check: Check) -> dict[str, Any]:
    """The first event that reaches `client`'s syncs in the room and passes `check`."""
    event = await wait_for_event(client, room_id, lambda e: check(e.source), timeout=TIMEOUT)
    return dict(event.source)


async def mark(client: AsyncClient) -> None:
    """Sync once so that `arrives` sees only what comes after this point."""
    response = await client.sync(timeout=0)
    assert isinstance(response, SyncResponse), response


async def react(client: AsyncClient, room_id: str, event_id: str, key: str = "✅") -> str:
    """A real m.reaction, as a Matrix client sends it."""
    relates = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
    response = await client.room_send(room_id, "m.reaction", {"m.relates_to": relates})
    assert isinstance(response, RoomSendResponse), response
    return str(response.event_id)


async def history(client: AsyncClient, room_id: str) -> list[dict[str, Any]]:
    """The room's messages as `client` may read them, newest first."""
    response = await client.room_messages(room_id, start="", limit=200)
    assert isinstance(response, RoomMessagesResponse), response
    return [e.source for e in response.chunk if e.source.get("type") == "m.room.message"]


async def seen_in(client: AsyncClient, room_id: str, check: Check) -> dict[str, Any]:
    """The first message of the room's history that passes `check`, waiting (by
    long-polling syncs) until it arrives: it may have been sent before `client` joined."""
    try:
        async with asyncio.timeout(TIMEOUT):
            while True:
                for source in await history(client, room_id):
                    if check(source):
                        return source
                await client.sync(timeout=1000)
    except TimeoutError:
        raise AssertionError(f"{client.user_id} saw no such message in {room_id}") from None


async def wait_for_direct_invite(client: AsyncClient, inviter: str) -> str:
    """Sync until `inviter` invites `client` to a direct-message room; its id."""
    try:
        async with asyncio.timeout(TIMEOUT):
            while True:
                response = await client.sync(timeout=1000)
                assert isinstance(response, SyncResponse), response
                for room_id, room in response.rooms.invite.items():
                    for event in room.invite_state:
                        if (
                            isinstance(event, InviteMemberEvent)
                            and event.state_key == client.user_id
                            and event.membership == "invite"
                            and event.sender == inviter
                        ):
                            assert (event.content or {}).get("is_direct") is True
                            return str(room_id)
    except TimeoutError:
        raise AssertionError(f"{inviter} invited {client.user_id} to no DM room") from None


# --- What is stored.


async def stored(world: BotWorld) -> tuple[Followup, list[FollowupEvent]]:
    """The only follow-up of the world's database, and its history."""
    db = world.database()
    try:
        async with db.unit_of_work() as uow:
            [followup] = list(await uow.session.scalars(select(Followup)))
            events = await uow.session.scalars(
                select(FollowupEvent)
                .where(FollowupEvent.followup_id == followup.id)
                .order_by(FollowupEvent.id)
            )
            return followup, list(events)
    finally:
        await db.dispose()


async def outbox(world: BotWorld) -> list[OutboxEvent]:
    db = world.database()
    try:
        async with db.unit_of_work() as uow:
            return list(await uow.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
    finally:
        await db.dispose()


async def create_followup(world: BotWorld, assignee: str) -> dict[str, Any]:
    """Alice gives the assignee a follow-up due Tuesday 14:00; the bot's answer."""
    assert world.alice is not None
    await mark(world.alice)
    command = await world.send(
        world.alice, f'!relance {assignee} Rappeler KidiTap echeance="mardi 14h"'
    )
    answer = await arrives(world.alice, world.room_id, in_reply_to(world, command))
    body = str(answer["content"]["body"])
    assert body.startswith(f"Relance n° 1 pour {assignee} : Rappeler KidiTap."), body
    assert "premier rappel le 30/11/2026 09:00" in body, body
    followup, _ = await stored(world)
    assert followup.next_reminder_at is not None
    assert utc(followup.next_reminder_at) == FIRST_REMINDER
    return answer


# --- The tests.


async def test_the_reminder_mentions_the_assignee_and_their_check_mark_closes_it(
    world: BotWorld,
) -> None:
    assert world.alice is not None
    assert world.bob is not None
    bob = world.bob
    clock = FakeClock(START)
    runtime = await start_bot(world, clock)
    await create_followup(world, bob.user_id)

    # Nothing is due before Monday 09:00; then the reminder reaches Bob in the room.
    await mark(bob)
    assert await run_scheduler_at(runtime, clock, paris("2026-11-30 08:59")) == 0
    assert await run_scheduler_at(runtime, clock, FIRST_REMINDER) == 1
    reminder = await arrives(bob, world.room_id, is_reminder(world))
    content = reminder["content"]
    assert content["m.mentions"] == {"user_ids": [bob.user_id]}
    assert content["body"].startswith(f"🔔 {bob.user_id}"), content["body"]
    assert "n° 1 Rappeler KidiTap" in content["body"], content["body"]
    assert bob.user_id in content.get("formatted_body", "")  # a pill: Bob is notified
    followup, events = await stored(world)
    assert [e.kind for e in events] == ["created", "reminded"]
    assert (followup.status, followup.reminders_sent) == ("open", 1)

    # Bob's own client reacts ✅ to the reminder: the bot answers in reply to it.
    await mark(bob)
    await react(bob, world.room_id, reminder["event_id"])
    answer = await arrives(bob, world.room_id, in_reply_to(world, reminder["event_id"]))
    assert answer["content"]["body"] == (
        f"✅ n° 1 (Rappeler KidiTap) marquée(s) faite(s) par {bob.user_id}. Merci !"
    )
    # The answer and the close commit together: it is stored as done, by Bob.
    followup, events = await stored(world)
    assert (followup.status, followup.next_reminder_at) == ("done", None)
    assert [(e.kind, e.actor) for e in events][-1] == ("done", bob.user_id)

    # Done: the next slot (Tuesday 09:00) reminds nobody.
    assert await run_scheduler_at(runtime, clock, paris("2026-12-01 09:00")) == 0
    await world.stop_bot()


async def test_deliver_dm_sends_the_reminder_to_a_direct_message_room(world: BotWorld) -> None:
    assert world.alice is not None
    assert world.bob is not None
    bob = world.bob
    clock = FakeClock(START)
    runtime = await start_bot(
        world, clock, followups={"rooms": [{"id": world.room_id, "deliver": "dm"}]}
    )
    await create_followup(world, bob.user_id)

    await mark(bob)
    assert await run_scheduler_at(runtime, clock, FIRST_REMINDER) == 1
    # The bot opens a direct-message room with Bob (invited as a DM) and writes there.
    dm_room = await wait_for_direct_invite(bob, world.bot_id)
    assert dm_room != world.room_id
    assert isinstance(await bob.join(dm_room), JoinResponse)
    reminder = await seen_in(bob, dm_room, is_reminder(world))
    assert reminder["content"]["body"].startswith(f"🔔 {bob.user_id}")
    assert "n° 1 Rappeler KidiTap" in reminder["content"]["body"]
    members = await bob.joined_members(dm_room)
    assert isinstance(members, JoinedMembersResponse), members
    assert {m.user_id for m in members.members} == {world.bot_id, bob.user_id}

    # Nothing in the group room: the pass wrote one message, to Bob's DM room, sent.
    # The sender marks the row sent just after the server accepts it, so Bob may
    # see the message a moment before the row says so.
    async def reminder_rows() -> list[OutboxEvent]:
        return [r for r in await outbox(world) if utc(r.created_at) == FIRST_REMINDER]

    async def reminder_settled() -> bool:
        rows = await reminder_rows()
        return bool(rows) and all(r.status == OutboxStatus.SENT for r in rows)

    await wait_until(reminder_settled, timeout=TIMEOUT, what="the reminder's row marked sent")
    rows = await reminder_rows()
    assert [(r.room_id, r.user_id, r.status) for r in rows] == [
        (dm_room, bob.user_id, OutboxStatus.SENT)
    ]
    assert not [
        m
        for m in await history(bob, world.room_id)
        if m.get("sender") == world.bot_id and str(m["content"].get("body", "")).startswith("🔔")
    ]
    followup, events = await stored(world)
    assert events[-1].kind == "reminded"
    assert events[-1].detail.get("direct") is True

    # Bob's ✅ in the direct-message room closes it too, answered there.
    await mark(bob)
    await react(bob, dm_room, reminder["event_id"])
    answer = await arrives(bob, dm_room, in_reply_to(world, reminder["event_id"]))
    assert answer["content"]["body"] == (
        f"✅ n° 1 (Rappeler KidiTap) marquée(s) faite(s) par {bob.user_id}. Merci !"
    )
    followup, _ = await stored(world)
    assert followup.status == "done"
    await world.stop_bot()
