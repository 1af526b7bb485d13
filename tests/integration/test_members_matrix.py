"""Membership over a real Synapse: a knock with a reason becomes a request the
moderators hear of, a moderator's `!accepter` lets the person in and they are welcomed
by direct message; a denied knock cannot join; a member's `!accepter` is refused, also
when their display name copies the administrator's; a stranger writing to the bot in
private learns nothing of the room; an invitation from a stranger is not accepted.

The bot runs on a fake clock (Friday 27 November 2026, 10:00 in Paris): the test runs
the scheduler's passes itself, as the runtime's loop would. The bot is a moderator of
the room (power level 50): it may invite, refuse a knock and set the join rule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nio import (
    AsyncClient,
    InviteMemberEvent,
    JoinError,
    JoinResponse,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomKnockResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomPutStateResponse,
    RoomSendResponse,
    SyncResponse,
)
from sqlalchemy import select

from bot.runtime import Runtime
from commands.kit.clock import FakeClock
from storage.models import AuditEntry, JoinRequest, OutboxAction, OutboxEvent, OutboxStatus

from .botrun import BotWorld, run_pass, start_clocked_bot
from .matrix_helpers import wait_for_event
from .reliability_helpers import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # 10:00 in Paris
TIMEOUT = 20.0  # seconds for anything the bot does in answer


# --- Running the bot.


async def make_moderator(world: BotWorld, user_id: str) -> None:
    """Alice (the room's creator) gives `user_id` power level 50."""
    assert world.alice is not None
    current = await world.alice.room_get_state_event(world.room_id, "m.room.power_levels")
    assert isinstance(current, RoomGetStateEventResponse), current
    content = dict(current.content)
    content["users"] = {**content.get("users", {}), user_id: 50}
    response = await world.alice.room_put_state(world.room_id, "m.room.power_levels", content)
    assert isinstance(response, RoomPutStateResponse), response


async def start_bot(world: BotWorld, clock: FakeClock) -> Runtime:
    """The bot on a fake clock, with membership managing the room's join rule."""
    return await start_clocked_bot(world, clock, {"members": {"knock_join_rule": True}})


async def rows(world: BotWorld, model: Any) -> list[Any]:
    db = world.database()
    try:
        async with db.unit_of_work() as uow:
            return list(await uow.session.scalars(select(model)))
    finally:
        await db.dispose()


# --- What users see.


def from_bot(world: BotWorld, check: Callable[[str], bool]) -> Callable[[Any], bool]:
    def test(event: Any) -> bool:
        source = event.source
        body = str(source.get("content", {}).get("body", ""))
        return source.get("sender") == world.bot_id and check(body)

    return test


async def bot_says(
    world: BotWorld, client: AsyncClient, room_id: str, check: Callable[[str], bool]
) -> str:
    """The body of the next message of the bot in the room that passes `check`."""
    event = await wait_for_event(client, room_id, from_bot(world, check), timeout=TIMEOUT)
    return str(event.source["content"]["body"])


async def mark(client: AsyncClient) -> None:
    """Sync once, so that what is waited for next comes after this point."""
    response = await client.sync(timeout=0)
    assert isinstance(response, SyncResponse), response


async def command(world: BotWorld, client: AsyncClient, body: str) -> str:
    """Send a command in the room; the bot's answer to it."""
    await mark(client)
    event_id = await world.send(client, body)

    def answers(event: Any) -> bool:
        relates = event.source.get("content", {}).get("m.relates_to", {})
        return event.source.get("sender") == world.bot_id and (
            relates.get("m.in_reply_to", {}).get("event_id") == event_id
        )

    reply = await wait_for_event(client, world.room_id, answers, timeout=TIMEOUT)
    return str(reply.source["content"]["body"])


async def wait_for_invite(client: AsyncClient, inviter: str, *, direct: bool) -> str:
    """Sync until `inviter` invites `client` to a room (a direct one, or not); its id."""
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
                        and bool((event.content or {}).get("is_direct")) == direct
                    ):
                        return str(room_id)


async def posts_of(client: AsyncClient, room_id: str, sender: str) -> int:
    """How many messages (plain or encrypted) `sender` posted in the room."""
    response = await client.room_messages(room_id, start="", limit=100)
    assert isinstance(response, RoomMessagesResponse), response
    return sum(
        1
        for e in response.chunk
        if e.source.get("sender") == sender
        and e.source.get("type") in ("m.room.message", "m.room.encrypted")
    )


async def membership(world: BotWorld, room_id: str, user_id: str) -> str | None:
    assert world.alice is not None
    response = await world.alice.room_get_state_event(room_id, "m.room.member", user_id)
    if not isinstance(response, RoomGetStateEventResponse):
        return None
    value = response.content.get("membership")
    return value if isinstance(value, str) else None


# --- The tests.


async def test_a_knock_approved_joins_and_is_welcomed(world: BotWorld) -> None:
    assert world.alice is not None
    assert world.bob is not None
    alice, bob = world.alice, world.bob
    await make_moderator(world, world.bot_id)
    clock = FakeClock(START)
    runtime = await start_bot(world, clock)

    # At start the bot asked for the knock join rule; the homeserver took it.
    async def rule_sent() -> bool:
        found = [r for r in await rows(world, OutboxEvent) if r.action == OutboxAction.STATE]
        return bool(found) and found[0].status == OutboxStatus.SENT

    await wait_until(rule_sent, timeout=TIMEOUT, what="the join rule sent")
    await run_pass(runtime, clock, START + timedelta(seconds=31))
    rule = await alice.room_get_state_event(world.room_id, "m.room.join_rules")
    assert isinstance(rule, RoomGetStateEventResponse), rule
    assert rule.content["join_rule"] == "knock"

    # Zoé knocks with a reason: stored at once, announced to the moderators by a pass.
    zoe = await world.user("zoe")
    await zoe.set_displayname("Zoé Kerouac")
    knocked = await zoe.room_knock(world.room_id, reason="Je m'occupe de l'atelier bois")
    assert isinstance(knocked, RoomKnockResponse), knocked

    async def requested() -> bool:
        return any(r.user_id == zoe.user_id for r in await rows(world, JoinRequest))

    await wait_until(requested, timeout=TIMEOUT, what="the request stored")
    await mark(alice)
    assert await run_pass(runtime, clock, START + timedelta(minutes=1)) >= 1
    notice = await bot_says(world, alice, world.room_id, lambda b: b.startswith("🚪"))
    assert f"{zoe.user_id} (« Zoé Kerouac ») — a frappé" in notice, notice
    assert "Je m'occupe de l'atelier bois" in notice

    # Bob is no moderator: refused, and the attempt is in the audit log.
    refused = await command(world, bob, f"!accepter {zoe.user_id}")
    assert refused == "Cette commande demande le rôle modérateur."
    assert await membership(world, world.room_id, zoe.user_id) == "knock"

    # Alice approves: Zoé is invited, joins, and is welcomed in private.
    answer = await command(world, alice, f"!accepter {zoe.user_id}")
    assert answer.startswith(f"✅ {zoe.user_id} est invité·e"), answer
    await wait_for_event(
        zoe,
        world.room_id,
        lambda e: isinstance(e, InviteMemberEvent) and e.state_key == zoe.user_id,
        timeout=TIMEOUT,
    )
    assert isinstance(await zoe.join(world.room_id), JoinResponse)
    dm = await wait_for_invite(zoe, world.bot_id, direct=True)
    assert isinstance(await zoe.join(dm), JoinResponse)

    # The welcome went to that room once (encrypted there: the test client reads no
    # encrypted text, so the bot's copy says what it was).
    async def to_zoe() -> list[OutboxEvent]:
        return [
            r
            for r in await rows(world, OutboxEvent)
            if r.user_id == zoe.user_id and r.action == OutboxAction.MESSAGE
        ]

    async def welcomed() -> bool:
        sent = await to_zoe()
        return bool(sent) and all(r.status == OutboxStatus.SENT for r in sent)

    await wait_until(welcomed, timeout=TIMEOUT, what="the welcome sent")
    [welcome] = await to_zoe()
    assert welcome.room_id == dm
    body = str(welcome.content["body"])
    assert body.startswith("Bienvenue dans le groupe, Zoé Kerouac !"), body
    assert "Besoin d'aide ? Tapez !aide" in body
    assert await posts_of(zoe, dm, world.bot_id) == 1

    # The member list says who let her in; the audit log has the refusal and the approval.
    listed = await command(world, alice, "!membres")
    assert f"{zoe.user_id} (« Zoé Kerouac ») — membre, arrivé·e le" in listed, listed
    assert f"accepté·e par {alice.user_id}" in listed
    audit = [(a.actor, a.action) for a in await rows(world, AuditEntry)]
    assert (bob.user_id, "members.refused") in audit
    assert (alice.user_id, "members.approve") in audit
    assert (zoe.user_id, "members.join") in audit
    await world.stop_bot()


async def test_a_denied_knock_cannot_join_and_a_lookalike_is_themselves(
    world: BotWorld,
) -> None:
    assert world.alice is not None
    assert world.bob is not None
    alice, bob = world.alice, world.bob
    await make_moderator(world, world.bot_id)
    clock = FakeClock(START)
    runtime = await start_bot(world, clock)

    # Bob takes Alice's display name; Eve knocks under it too.
    profile = await alice.get_displayname(alice.user_id)
    alice_name = str(getattr(profile, "displayname", "") or alice.user_id)
    await bob.set_displayname(alice_name)
    eve = await world.user("eve")
    await eve.set_displayname(alice_name)
    knocked = await eve.room_knock(world.room_id, reason="C'est moi, l'administratrice")
    assert isinstance(knocked, RoomKnockResponse), knocked

    async def requested() -> bool:
        return any(r.user_id == eve.user_id for r in await rows(world, JoinRequest))

    await wait_until(requested, timeout=TIMEOUT, what="the request stored")
    await mark(alice)
    await run_pass(runtime, clock, START + timedelta(minutes=1))
    notice = await bot_says(world, alice, world.room_id, lambda b: b.startswith("🚪"))
    assert f"le nom affiché se fait passer pour {alice.user_id}" in notice, notice

    # Bob, wearing Alice's name, is still Bob: his approval is refused.
    assert (await command(world, bob, "!quisuisje")).startswith(f"Vous êtes {bob.user_id}")
    refused = await command(world, bob, f"!accepter {eve.user_id}")
    assert refused == "Cette commande demande le rôle modérateur."

    # Alice denies: Eve's knock is refused, and she cannot join.
    answer = await command(world, alice, f"!refuser {eve.user_id} pas pour l'instant")
    assert answer.startswith(f"❌ La demande de {eve.user_id} est refusée"), answer

    async def refused_knock() -> bool:
        return await membership(world, world.room_id, eve.user_id) == "leave"

    await wait_until(refused_knock, timeout=TIMEOUT, what="the knock refused")
    assert isinstance(await eve.join(world.room_id), JoinError)
    assert await membership(world, world.room_id, eve.user_id) == "leave"
    audit = [(a.actor, a.action, a.detail.get("user")) for a in await rows(world, AuditEntry)]
    assert (bob.user_id, "members.refused", eve.user_id) in audit
    assert (alice.user_id, "members.deny", eve.user_id) in audit
    await world.stop_bot()


async def test_a_stranger_learns_nothing_in_private_nor_gets_the_bot_invited(
    world: BotWorld,
) -> None:
    assert world.alice is not None
    assert world.bob is not None
    await make_moderator(world, world.bot_id)
    clock = FakeClock(START)
    await start_bot(world, clock)
    stranger = await world.user("mallory")

    # An invitation to another room from someone who is no admin: not accepted.
    other = await stranger.room_create(name="Piège", invite=[world.bot_id])
    assert isinstance(other, RoomCreateResponse), other

    # A direct message: the bot answers, but tells nothing of the group.
    created = await stranger.room_create(
        is_direct=True, invite=[world.bot_id], preset=RoomPreset.trusted_private_chat
    )
    assert isinstance(created, RoomCreateResponse), created
    dm = created.room_id

    async def bot_joined_dm() -> bool:
        return await _membership_of(stranger, dm, world.bot_id) == "join"

    await wait_until(bot_joined_dm, timeout=TIMEOUT, what="the bot in the direct chat")
    for body in ("!membres", "!relances toutes", "!demandes"):
        await mark(stranger)
        response = await stranger.room_send(
            dm, "m.room.message", {"msgtype": "m.text", "body": body}
        )
        assert isinstance(response, RoomSendResponse), response
        event_id = str(response.event_id)

        def answers(event: Any, event_id: str = event_id) -> bool:
            relates = event.source.get("content", {}).get("m.relates_to", {})
            return relates.get("m.in_reply_to", {}).get("event_id") == event_id

        reply = await wait_for_event(stranger, dm, answers, timeout=TIMEOUT)
        text = str(reply.source["content"]["body"])
        assert world.bob.user_id not in text, text
        assert world.alice.user_id not in text, text
        assert "aucun des salons que je sers" in text or "rôle modérateur" in text, text
    # By now the bot has synced past the invitation, and left it alone.
    assert await _membership_of(stranger, other.room_id, world.bot_id) == "invite"
    await world.stop_bot()


async def _membership_of(client: AsyncClient, room_id: str, user_id: str) -> str | None:
    response = await client.room_get_state_event(room_id, "m.room.member", user_id)
    if not isinstance(response, RoomGetStateEventResponse):
        return None
    value = response.content.get("membership")
    return value if isinstance(value, str) else None
