"""The local Synapse used by the integration tests and by `passerelle demo`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from nio import (
    AsyncClient,
    InviteMemberEvent,
    JoinedRoomsResponse,
    JoinResponse,
    RoomCreateResponse,
    RoomInviteResponse,
    RoomKnockResponse,
    RoomMemberEvent,
    RoomMessageNotice,
    RoomMessageText,
    RoomSendError,
    RoomSendResponse,
    WhoamiResponse,
)

from bot.homeserver import LocalSynapse

from .matrix_helpers import MatrixUserFactory, client_config, wait_for_event

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

KNOCK_ONLY = {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "knock"}}


async def create_knock_room(client: AsyncClient) -> str:
    created = await client.room_create(name="Groupe partenariats", initial_state=[KNOCK_ONLY])
    assert isinstance(created, RoomCreateResponse), created
    room_id: str = created.room_id
    assert room_id.startswith("!")  # opaque otherwise: never split it
    return room_id


def text(body: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body}


async def test_knock_invite_join_and_message_round_trip(matrix_user: MatrixUserFactory) -> None:
    alice = await matrix_user("alice")
    bob = await matrix_user("bob")
    room_id = await create_knock_room(alice)

    knocked = await bob.room_knock(room_id, reason="Je voudrais rejoindre le groupe")
    assert isinstance(knocked, RoomKnockResponse), knocked
    knock = await wait_for_event(
        alice,
        room_id,
        lambda e: (
            isinstance(e, RoomMemberEvent)
            and e.state_key == bob.user_id
            and e.membership == "knock"
        ),
    )
    assert knock.content.get("reason") == "Je voudrais rejoindre le groupe"

    # Approving a knock is an invite.
    invited = await alice.room_invite(room_id, bob.user_id)
    assert isinstance(invited, RoomInviteResponse), invited
    await wait_for_event(
        bob,
        room_id,
        lambda e: (
            isinstance(e, InviteMemberEvent)
            and e.state_key == bob.user_id
            and e.membership == "invite"
        ),
    )
    joined = await bob.join(room_id)
    assert isinstance(joined, JoinResponse), joined

    sent = await bob.room_send(room_id, "m.room.message", text("Bonjour !"))
    assert isinstance(sent, RoomSendResponse), sent
    message = await wait_for_event(
        alice, room_id, lambda e: isinstance(e, RoomMessageText) and e.event_id == sent.event_id
    )
    assert (message.sender, message.body) == (bob.user_id, "Bonjour !")

    reply = await alice.room_send(
        room_id,
        "m.room.message",
        {
            "msgtype": "m.notice",
            "body": "Bienvenue",
            "m.relates_to": {"m.in_reply_to": {"event_id": sent.event_id}},
        },
    )
    assert isinstance(reply, RoomSendResponse), reply
    notice = await wait_for_event(
        bob, room_id, lambda e: isinstance(e, RoomMessageNotice) and e.event_id == reply.event_id
    )
    assert notice.sender == alice.user_id
    assert notice.source["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == sent.event_id


async def test_accounts_and_rooms_survive_a_kill(
    synapse: LocalSynapse, matrix_user: MatrixUserFactory
) -> None:
    alice = await matrix_user("alice", password="survives a crash")
    room_id = await create_knock_room(alice)
    base_url = synapse.base_url

    await synapse.kill()
    assert not synapse.running
    await synapse.start()
    assert synapse.base_url == base_url

    assert await synapse.login(alice.user_id, "survives a crash")
    # The token issued before the crash still works, and the room is still there.
    whoami = await alice.whoami()
    assert isinstance(whoami, WhoamiResponse), whoami
    assert whoami.user_id == alice.user_id
    rooms = await alice.joined_rooms()
    assert isinstance(rooms, JoinedRoomsResponse), rooms
    assert room_id in rooms.rooms


async def send_burst(client: AsyncClient, room_id: str, count: int) -> list[Any]:
    return await asyncio.gather(
        *(client.room_send(room_id, "m.room.message", text(f"message {i}")) for i in range(count))
    )


async def test_rate_limits_are_raised(matrix_user: MatrixUserFactory) -> None:
    alice = await matrix_user("alice")
    room_id = await create_knock_room(alice)

    # The test clients do not retry a 429 (client_config), so one would show here.
    responses = await send_burst(alice, room_id, 30)

    assert [r for r in responses if not isinstance(r, RoomSendResponse)] == []


async def test_default_rate_limits_can_be_kept(tmp_path: Path) -> None:
    """raise_rate_limits=False leaves Synapse's limits, so the burst above gets a 429."""
    async with LocalSynapse(tmp_path / "synapse", raise_rate_limits=False) as server:
        user_id = await server.register("carol", "pw carol")
        assert await server.register("carol", "pw carol") == user_id  # already there
        client = AsyncClient(server.base_url, user_id, config=client_config())
        client.access_token = await server.login(user_id, "pw carol")
        try:
            room_id = await create_knock_room(client)
            responses = await send_burst(client, room_id, 30)
        finally:
            await client.close()

    limited = [r for r in responses if isinstance(r, RoomSendError)]
    assert limited
    assert all(r.status_code == "M_LIMIT_EXCEEDED" for r in limited), limited
    assert all(r.retry_after_ms for r in limited)
