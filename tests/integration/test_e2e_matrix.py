"""Passerelle in an end-to-end encrypted room, as Element creates a private room, over a
real Synapse: users with their own crypto (nio clients with a store of their own)
send encrypted commands, reactions, poll responses and files, and decrypt what the
bot answers. The bot is also killed between a sync and its commit (no room key is
lost), kept without a key (it waits, in order, and tells the sender in the end), and
started without its crypto store (it refuses, in one line, instead of a new device).
"""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
import stat
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import pytest_asyncio
from nio import (
    AsyncClient,
    AsyncClientConfig,
    DownloadResponse,
    JoinResponse,
    LoginResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
)
from nio.crypto.attachments import decrypt_attachment, encrypt_attachment
from sqlalchemy import select

from bot.config import Settings
from bot.crypto import ENCRYPTED, ENCRYPTION_STATE
from bot.domains import DOMAINS
from bot.homeserver import LocalSynapse
from bot.matrix import SyncBatch
from bot.pipeline import SYNC_TOKEN
from bot.runtime import DEVICE_ID
from storage.models import InboxEvent, InboxStatus
from tests.probe import probe_domain

from .botrun import KNOCK, BotWorld
from .matrix_helpers import DEFAULT_PASSWORD, unique_localpart, wait_for_event
from .reliability_helpers import (
    BotProcess,
    bot_state,
    reply_target,
    room_history,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

TIMEOUT = 30
Check = Callable[[Any], bool]


# --- Users with their own crypto.


def e2e_config() -> AsyncClientConfig:
    """As `client_config`, with encryption: the client decrypts what it syncs."""
    return AsyncClientConfig(
        encryption_enabled=True,
        store_sync_tokens=False,
        max_limit_exceeded=0,
        max_timeouts=2,
        request_timeout=30,
    )


@dataclass
class EncryptedWorld(BotWorld):
    """BotWorld with an encrypted room (m.room.encryption set at creation, as Element
    does) and users whose clients have their own crypto store."""

    key_wait: float = 30.0

    async def setup(self) -> None:
        self.bot_id = await self.synapse.register(unique_localpart("passerelle"), "bot-password")
        self.alice = await self.user("alice")
        self.bob = await self.user("bob")
        response = await self.alice.room_create(
            name="Partenariats",
            invite=[self.bob.user_id, self.bot_id],
            initial_state=[KNOCK, ENCRYPTION_STATE],
        )
        assert isinstance(response, RoomCreateResponse), response
        self.room_id = response.room_id
        assert isinstance(await self.bob.join(self.room_id), JoinResponse)

    async def user(self, name: str) -> AsyncClient:
        user_id = await self.synapse.register(unique_localpart(name), DEFAULT_PASSWORD)
        store = self.tmp / f"store-{user_id.split(':')[0].lstrip('@')}"
        store.mkdir()
        client = AsyncClient(
            self.synapse.base_url, user_id, store_path=str(store), config=e2e_config()
        )
        self.clients.append(client)
        response = await client.login(DEFAULT_PASSWORD, device_name="pytest")
        assert isinstance(response, LoginResponse), response
        assert client.olm is not None
        await keys(client)
        return client

    def settings(self) -> Settings:
        settings = super().settings()
        assert settings.matrix is not None
        matrix = settings.matrix.model_copy(update={"key_wait": self.key_wait})
        return settings.model_copy(update={"matrix": matrix})

    @property
    def crypto_store(self) -> Path:
        return self.tmp / "bot-crypto.db"


@pytest_asyncio.fixture(loop_scope="session")
async def eworld(synapse: LocalSynapse, tmp_path: Path) -> AsyncIterator[EncryptedWorld]:
    """A fresh encrypted room, bot account, admin (alice) and member (bob)."""
    world = EncryptedWorld(synapse, tmp_path)
    await world.setup()
    try:
        yield world
    finally:
        await world.close()


async def keys(client: AsyncClient) -> None:
    """What a client does between syncs: publish its keys, learn the others' devices."""
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()


async def catch_up(client: AsyncClient) -> None:
    """Sync once (rooms, members, to-device keys) and settle the keys."""
    response = await client.sync(timeout=0, full_state=client.next_batch == "")
    assert isinstance(response, SyncResponse), response
    await keys(client)


async def say(client: AsyncClient, room_id: str, body: str) -> str:
    """An encrypted text message, as Element sends it; returns its event id."""
    return await send(client, room_id, "m.room.message", {"msgtype": "m.text", "body": body})


async def send(client: AsyncClient, room_id: str, event_type: str, content: dict[str, Any]) -> str:
    await catch_up(client)
    response = await client.room_send(room_id, event_type, content, ignore_unverified_devices=True)
    assert isinstance(response, RoomSendResponse), response
    return str(response.event_id)


async def put(client: AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A raw client-server call, for what nio only does in one go."""
    url = f"{client.homeserver}/_matrix/client/v3/{path}"
    headers = {"Authorization": f"Bearer {client.access_token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.put(url, json=body, headers=headers) as response,
    ):
        assert response.status == 200, await response.text()
        data: dict[str, Any] = await response.json()
        return data


async def send_encrypted(
    client: AsyncClient, room_id: str, event_type: str, content: dict[str, Any]
) -> str:
    """Encrypt with the client's current room key and send: what Element does for a
    reaction, which nio would send in the clear."""
    await catch_up(client)
    if client.olm.should_share_group_session(room_id):
        await client.share_group_session(room_id, ignore_unverified_devices=True)
    kind, encrypted = client.encrypt(room_id, event_type, content)
    room = quote(room_id)
    sent = await put(client, f"rooms/{room}/send/{kind}/{uuid.uuid4().hex}", encrypted)
    return str(sent["event_id"])


async def say_withholding_key(
    client: AsyncClient, room_id: str, body: str, withheld_user: str
) -> tuple[str, dict[str, Any]]:
    """An encrypted message under a new room key that every device gets except those of
    `withheld_user`; returns its event id and the key's to-device messages for them,
    to deliver later (or never)."""
    await catch_up(client)
    if not client.rooms[room_id].members_synced:
        await client.joined_members(room_id)
        await keys(client)
    missing = client.get_missing_sessions(room_id)
    if missing:
        await client.keys_claim(missing)
    olm = client.olm
    olm.create_outbound_group_session(room_id)
    held: dict[str, Any] = {}
    users = list(client.rooms[room_id].users)
    for _, to_device in olm.share_group_session_parallel(
        room_id, users, ignore_unverified_devices=True
    ):
        messages = to_device["messages"]
        held.update(messages.pop(withheld_user, {}))
        if messages:
            await deliver_to_device(client, messages)
    olm.outbound_group_sessions[room_id].shared = True
    kind, encrypted = client.encrypt(room_id, "m.room.message", {"msgtype": "m.text", "body": body})
    sent = await put(client, f"rooms/{quote(room_id)}/send/{kind}/{uuid.uuid4().hex}", encrypted)
    return str(sent["event_id"]), {withheld_user: held}


async def deliver_to_device(client: AsyncClient, messages: dict[str, Any]) -> None:
    await put(client, f"sendToDevice/{ENCRYPTED}/{uuid.uuid4().hex}", {"messages": messages})


def from_bot(world: BotWorld, check: Check) -> Check:
    return lambda e: getattr(e, "sender", None) == world.bot_id and check(e)


def reply_to(event_id: str) -> Check:
    def check(event: Any) -> bool:
        relates = event.source.get("content", {}).get("m.relates_to", {})
        return bool(relates.get("m.in_reply_to", {}).get("event_id") == event_id)

    return check


async def answer(world: BotWorld, client: AsyncClient, room_id: str, event_id: str) -> Any:
    """The bot's answer to an event, as the client decrypted it."""
    return await wait_for_event(
        client, room_id, from_bot(world, reply_to(event_id)), timeout=TIMEOUT
    )


async def inbox_row(world: BotWorld, event_id: str) -> InboxEvent | None:
    db = world.database()
    try:
        async with db.unit_of_work() as uow:
            return await uow.inbox.by_event_id(event_id)
    finally:
        await db.dispose()


async def inbox_status(world: BotWorld, event_id: str) -> str | None:
    row = await inbox_row(world, event_id)
    return None if row is None else row.status


def clear_event(event: Any) -> None:
    """The client could decrypt it: a clear event, not a MegolmEvent left encrypted."""
    assert not isinstance(event, MegolmEvent), event
    assert getattr(event, "decrypted", False), event


# --- The tests.


async def test_commands_replies_and_direct_messages_are_encrypted(
    eworld: EncryptedWorld,
) -> None:
    alice, bob = eworld.alice, eworld.bob
    assert alice is not None
    assert bob is not None
    room = eworld.room_id
    await eworld.start_bot(domains=(*DOMAINS, probe_domain()))
    assert stat.S_IMODE(eworld.crypto_store.stat().st_mode) == 0o600
    await catch_up(alice)
    await catch_up(bob)

    # !aide, encrypted by Alice's client: the bot decrypts it and answers encrypted.
    command = await say(alice, room, "!aide")
    reply = await answer(eworld, alice, room, command)
    clear_event(reply)
    assert reply.body.startswith("Commandes à votre disposition")
    # Bob's device got the room key of the answer too; on the wire, it is encrypted.
    clear_event(await answer(eworld, bob, room, command))
    history = await room_history(alice.homeserver, alice.access_token, room)
    [wire] = [e for e in history if reply_target(e) == command]
    assert wire["type"] == ENCRYPTED
    assert "body" not in wire["content"]
    # The bot kept the clear command in its inbox, handled.
    row = await inbox_row(eworld, command)
    assert row is not None
    assert (row.status, row.event_type, row.content["body"]) == ("done", "m.room.message", "!aide")

    # A direct message: the bot opens an encrypted direct chat with Bob and writes there.
    command = await say(alice, room, f"!sonde-mp {bob.user_id}")
    clear_event(await answer(eworld, alice, room, command))
    dm_room = await invited_room(bob)
    assert isinstance(await bob.join(dm_room), JoinResponse)
    note = await wait_for_event(
        bob,
        dm_room,
        from_bot(eworld, lambda e: "body" in e.source.get("content", {})),
        timeout=TIMEOUT,
    )
    clear_event(note)
    assert bob.rooms[dm_room].encrypted
    await eworld.stop_bot()


async def invited_room(client: AsyncClient) -> str:
    """The room a client is next invited to."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while loop.time() < deadline:
        response = await client.sync(timeout=1000)
        assert isinstance(response, SyncResponse), response
        if response.rooms.invite:
            return next(iter(response.rooms.invite))
    raise TimeoutError(f"no invitation for {client.user_id}")


async def test_reactions_and_native_poll_responses_in_an_encrypted_room(
    eworld: EncryptedWorld,
) -> None:
    alice, bob = eworld.alice, eworld.bob
    assert alice is not None
    assert bob is not None
    room = eworld.room_id
    runtime = await eworld.start_bot()
    await catch_up(alice)
    await catch_up(bob)

    # Two follow-ups for Bob. He closes the first with a ✅ as nio sends it (in the
    # clear, relation and all), the second with an encrypted ✅.
    answers = []
    for text in ("Rappeler KidiTap", "Écrire à OceanDataLab"):
        command = await say(alice, room, f"!relance {bob.user_id} {text}")
        reply = await answer(eworld, alice, room, command)
        clear_event(reply)
        answers.append(reply.event_id)
    relates = {"rel_type": "m.annotation", "event_id": answers[0], "key": "✅"}
    plain = await bob.room_send(
        room, "m.reaction", {"m.relates_to": relates}, ignore_unverified_devices=True
    )
    assert isinstance(plain, RoomSendResponse), plain
    relates = {"rel_type": "m.annotation", "event_id": answers[1], "key": "✅"}
    encrypted = await send_encrypted(bob, room, "m.reaction", {"m.relates_to": relates})

    async def both_done() -> bool:
        return await followup_statuses(runtime) == ["done", "done"]

    await wait_until(both_done, timeout=TIMEOUT, what="both follow-ups done")
    row = await inbox_row(eworld, encrypted)
    assert row is not None
    assert (row.status, row.event_type) == ("done", "m.reaction")

    # A native poll: its start is encrypted; Bob's client decrypts it and answers with an
    # encrypted poll response (as Element does), which the bot counts.
    command = await say(alice, room, '!sondage "Technicien ?" Oui Non')
    start = await wait_for_event(
        bob, room, from_bot(eworld, lambda e: e.source.get("type") == POLL_START), timeout=TIMEOUT
    )
    clear_event(start)
    response = {
        POLL_RESPONSE: {"answers": ["1"]},
        "m.relates_to": {"rel_type": "m.reference", "event_id": start.event_id},
    }
    vote = await send(bob, room, POLL_RESPONSE, response)

    async def counted() -> bool:
        return await inbox_status(eworld, vote) == InboxStatus.DONE

    await wait_until(counted, timeout=TIMEOUT, what="the encrypted vote handled")
    assert await stored_votes(runtime) == {bob.user_id: [0]}
    del command

    # Bob leaves: the bot's next message is under a new room key, which his devices
    # never get (nio drops the room's key on any change of its members).
    before = await answer(eworld, alice, room, await say(alice, room, "!quisuisje"))
    await bob.room_leave(room)
    await wait_until(
        lambda: member_left(runtime, room, bob.user_id), timeout=TIMEOUT, what="Bob gone"
    )
    after = await answer(eworld, alice, room, await say(alice, room, "!quisuisje"))
    assert before.session_id != after.session_id
    await eworld.stop_bot()


POLL_START = "org.matrix.msc3381.poll.start"
POLL_RESPONSE = "org.matrix.msc3381.poll.response"


async def followup_statuses(runtime: Any) -> list[str]:
    from storage.models import Followup

    async with runtime.services.db.unit_of_work() as uow:
        rows = await uow.session.scalars(select(Followup).order_by(Followup.id))
        return [row.status for row in rows]


async def stored_votes(runtime: Any) -> dict[str, list[int]]:
    from storage.models import PollVote

    async with runtime.services.db.unit_of_work() as uow:
        rows = await uow.session.scalars(select(PollVote).order_by(PollVote.id))
        return {vote.voter: list(vote.choices) for vote in rows}


async def member_left(runtime: Any, room_id: str, user_id: str) -> bool:
    async with runtime.services.db.unit_of_work() as uow:
        return bool(await uow.room_members.membership(room_id, user_id) == "leave")


async def test_an_event_waits_for_its_key_and_its_room_waits_behind_it(
    eworld: EncryptedWorld,
) -> None:
    alice, bob = eworld.alice, eworld.bob
    assert alice is not None
    assert bob is not None
    room = eworld.room_id
    await eworld.start_bot()
    await catch_up(alice)
    await catch_up(bob)

    # Alice's command comes under a room key that does not reach the bot yet; Bob's,
    # sent after it, must not be handled before it.
    first, held = await say_withholding_key(alice, room, "!quisuisje", eworld.bot_id)
    second = await say(bob, room, "!quisuisje")

    async def waiting() -> bool:
        return (
            await inbox_status(eworld, first) == InboxStatus.WAITING
            and await inbox_status(eworld, second) == InboxStatus.PENDING
        )

    await wait_until(waiting, timeout=TIMEOUT, what="Alice's command waiting, Bob's behind")
    await asyncio.sleep(1.5)  # the bot syncs every second: Bob's still waits
    assert await inbox_status(eworld, second) == InboxStatus.PENDING

    # The key arrives: both are handled at once, Alice's first.
    await deliver_to_device(alice, held)
    await answer(eworld, alice, room, first)
    await answer(eworld, alice, room, second)
    rows = [await inbox_row(eworld, event_id) for event_id in (first, second)]
    assert [r.status for r in rows if r is not None] == ["done", "done"]
    assert rows[0] is not None
    assert rows[1] is not None
    assert rows[0].processed_at is not None
    assert rows[1].processed_at is not None
    assert rows[0].processed_at <= rows[1].processed_at
    replies = await bot_replies(eworld, alice, room)
    assert replies.index(first) < replies.index(second)
    await eworld.stop_bot()


async def bot_replies(world: BotWorld, client: AsyncClient, room_id: str) -> list[str]:
    """The events the bot's messages answer, in the room's order (oldest first)."""
    response = await client.room_messages(room_id, start="", limit=100)
    targets = []
    for event in reversed(response.chunk):
        if event.sender != world.bot_id:
            continue
        relates = event.source.get("content", {}).get("m.relates_to", {})
        target = relates.get("m.in_reply_to", {}).get("event_id")
        if target:
            targets.append(target)
    return targets


async def test_without_its_key_the_sender_is_told_privately(
    tmp_path: Path, synapse: LocalSynapse
) -> None:
    world = EncryptedWorld(synapse, tmp_path, key_wait=3.0)
    await world.setup()
    try:
        alice, bob = world.alice, world.bob
        assert alice is not None
        assert bob is not None
        room = world.room_id
        await world.start_bot()
        await catch_up(alice)
        await catch_up(bob)

        # Alice's client never gives the bot the key (as Element does with "never send
        # to unverified sessions"); Bob's command waits behind hers, for 3 s at most.
        first, _ = await say_withholding_key(alice, room, "!quisuisje", world.bot_id)
        second = await say(bob, room, "!quisuisje")
        await answer(world, bob, room, second)
        assert await inbox_status(world, first) == InboxStatus.UNREADABLE

        # Alice is told in a direct chat with the bot (encrypted), with what to do.
        dm_room = await invited_room(alice)
        assert isinstance(await alice.join(dm_room), JoinResponse)
        notice = await wait_for_event(
            alice,
            dm_room,
            from_bot(world, lambda e: "body" in e.source.get("content", {})),
            timeout=TIMEOUT,
        )
        clear_event(notice)
        assert notice.body.startswith("Je n'ai pas pu lire votre message du "), notice.body
        assert "Renvoyez-le" in notice.body
        assert quote(first) in notice.source["content"]["formatted_body"]
    finally:
        await world.close()


def sessions_in_store(path: Path) -> set[str]:
    """The room keys (Megolm sessions) the bot's crypto store holds, as on disk."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT session_id FROM megolminboundsessions").fetchall()
    finally:
        connection.close()
    return {row[0] for row in rows}


def new_room_key(client: AsyncClient, room_id: str) -> None:
    """The client's next message goes under a new room key (a to-device message to every
    device of the room, the bot's included)."""
    client.olm.outbound_group_sessions.pop(room_id, None)


async def test_a_crash_between_a_sync_and_its_commit_loses_no_room_key(
    eworld: EncryptedWorld,
) -> None:
    alice = eworld.alice
    assert alice is not None
    room = eworld.room_id
    # The bot dies after nio has read a sync that brings a room key, before the bot
    # stores that sync's token (and its events). Set before its loops start, so that
    # every sync goes through it; armed once Alice is about to send.
    runtime = await eworld.start_bot(wait=False)
    armed, reached = asyncio.Event(), asyncio.Event()
    real_sync = runtime.transport.sync

    async def dies_after(since: str | None) -> SyncBatch:
        batch = await real_sync(since)
        if batch.room_keys and armed.is_set():
            reached.set()
            await asyncio.Event().wait()  # never returns: the bot is killed here
        return batch

    runtime.transport.sync = dies_after  # type: ignore[method-assign]
    await asyncio.wait_for(runtime.synced.wait(), TIMEOUT)
    await catch_up(alice)
    armed.set()
    new_room_key(alice, room)
    command = await say(alice, room, "!quisuisje")
    session_id = alice.olm.outbound_group_sessions[room].id
    async with asyncio.timeout(TIMEOUT):
        await reached.wait()
    await eworld.kill_bot()
    # The key is on disk; the command is not stored (its sync was never committed).
    assert session_id in sessions_in_store(eworld.crypto_store)
    assert await inbox_row(eworld, command) is None

    # Restarted, the bot syncs from its stored token again: the server hands the same
    # to-device message and the command over again; the command is read and answered.
    await eworld.start_bot()
    clear_event(await answer(eworld, alice, room, command))
    assert await inbox_status(eworld, command) == InboxStatus.DONE
    history = await room_history(alice.homeserver, alice.access_token, room)
    assert sum(reply_target(e) == command for e in history if e["sender"] == eworld.bot_id) == 1
    await eworld.stop_bot()


async def test_killed_process_with_a_new_room_key_for_each_command(
    eworld: EncryptedWorld,
) -> None:
    alice = eworld.alice
    assert alice is not None
    room = eworld.room_id
    config = write_config(eworld, eworld.tmp / "passerelle.yaml")
    bot = BotProcess(config, eworld.tmp / "passerelle.log", eworld.tmp)
    db = eworld.database()
    commands: list[str] = []

    async def answered() -> int:
        history = await room_history(alice.homeserver, alice.access_token, room)
        targets = [reply_target(e) for e in history if e["sender"] == eworld.bot_id]
        return sum(command in targets for command in commands)

    async def send_all(count: int) -> None:
        for i in range(count):
            new_room_key(alice, room)
            commands.append(await say(alice, room, f"!role @u{i}:example.org moderator"))

    try:
        await bot.start()

        async def first_sync() -> bool:
            bot.assert_running()
            return await bot_state(db, SYNC_TOKEN) is not None

        await wait_until(first_sync, timeout=TIMEOUT, what="the bot's first sync")
        await catch_up(alice)
        sender = asyncio.create_task(send_all(24))
        for threshold in (3, 6, 9, 12, 15, 18):

            async def reached(threshold: int = threshold) -> bool:
                return await answered() >= threshold

            await wait_until(reached, timeout=60, what=f"{threshold} answers")
            await bot.kill()
            await bot.start()
        async with asyncio.timeout(60):
            await sender

        async def all_answered() -> bool:
            return await answered() == len(commands)

        await wait_until(all_answered, timeout=90, what="every command answered")
        history = await room_history(alice.homeserver, alice.access_token, room)
        targets = [reply_target(e) for e in history if e["sender"] == eworld.bot_id]
        assert all(targets.count(command) == 1 for command in commands), "answered twice"
        assert all(
            e["type"] == ENCRYPTED
            for e in history
            if e["sender"] == eworld.bot_id and reply_target(e)
        )
        statuses = [await inbox_status(eworld, command) for command in commands]
        assert statuses == [InboxStatus.DONE] * len(commands), statuses

        async def up() -> bool:  # the last start done: a SIGTERM is a clean stop then
            last = bot.log.read_text().rpartition(f"---- start {bot.starts} ----")[2]
            return "logged in as" in last

        await wait_until(up, timeout=TIMEOUT, what="the bot up again")
        assert await bot.terminate() == 0
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{bot.errors()}--- log ---\n{bot.tail()}") from None
    finally:
        if bot.process is not None and bot.process.returncode is None:
            await bot.kill()
        await db.dispose()


async def test_a_killed_process_between_a_sync_and_its_commit_loses_no_room_key(
    eworld: EncryptedWorld,
) -> None:
    """The same window as above, with `passerelle run` killed by SIGKILL: the test holds
    the bot's database so that the sync bringing the key cannot be committed, waits
    until the key is on disk in the crypto store, then kills the process."""
    alice = eworld.alice
    assert alice is not None
    room = eworld.room_id
    config = write_config(eworld, eworld.tmp / "passerelle.yaml")
    bot = BotProcess(config, eworld.tmp / "passerelle.log", eworld.tmp)
    db = eworld.database()
    lock: sqlite3.Connection | None = None
    try:
        await bot.start()

        async def first_sync() -> bool:
            bot.assert_running()
            return await bot_state(db, SYNC_TOKEN) is not None

        await wait_until(first_sync, timeout=TIMEOUT, what="the bot's first sync")
        await catch_up(alice)
        token = await bot_state(db, SYNC_TOKEN)
        lock = sqlite3.connect(eworld.tmp / "bot.db", isolation_level=None, timeout=30)
        lock.execute("BEGIN EXCLUSIVE")  # the bot can read, not commit

        new_room_key(alice, room)
        command = await say(alice, room, "!quisuisje")
        session_id = alice.olm.outbound_group_sessions[room].id

        async def key_on_disk() -> bool:
            return session_id in sessions_in_store(eworld.crypto_store)

        await wait_until(key_on_disk, timeout=TIMEOUT, what="the room key in the crypto store")
        await bot.kill()
        lock.execute("ROLLBACK")
        lock.close()
        lock = None
        assert await bot_state(db, SYNC_TOKEN) == token  # that sync was never committed
        assert await inbox_row(eworld, command) is None

        await bot.start()
        clear_event(await answer(eworld, alice, room, command))
        assert await inbox_status(eworld, command) == InboxStatus.DONE
        history = await room_history(alice.homeserver, alice.access_token, room)
        replies = [e for e in history if reply_target(e) == command]
        assert len(replies) == 1
        assert await bot.terminate() == 0
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{bot.errors()}--- log ---\n{bot.tail()}") from None
    finally:
        if lock is not None:
            lock.close()
        if bot.process is not None and bot.process.returncode is None:
            await bot.kill()
        await db.dispose()


async def test_files_in_and_out_are_encrypted(eworld: EncryptedWorld) -> None:
    alice = eworld.alice
    assert alice is not None
    room = eworld.room_id
    await eworld.start_bot()
    await catch_up(alice)

    # The export: an encrypted upload (`file`, no `url`), which Alice's client decrypts.
    await answer(eworld, alice, room, await say(alice, room, "!partenaire ajouter KidiTap"))
    export = await answer(eworld, alice, room, await say(alice, room, "!partenaire exporter"))
    clear_event(export)
    content = export.source["content"]
    assert "url" not in content
    info = content["file"]
    download = await alice.download(mxc=info["url"])
    assert isinstance(download, DownloadResponse), download
    assert not download.body.startswith(b"\xef\xbb\xbf")  # the server holds ciphertext
    data = decrypt_attachment(download.body, info["key"]["k"], info["hashes"]["sha256"], info["iv"])
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [row["name"] for row in rows] == ["KidiTap"]

    # The import: Alice posts an encrypted CSV file; the bot decrypts it to preview it.
    ciphertext, keys_ = encrypt_attachment(b"name,kind\nOceanDataLab,company\n")
    upload, _ = await alice.upload(
        io.BytesIO(ciphertext), content_type="application/octet-stream", filesize=len(ciphertext)
    )
    assert isinstance(upload, UploadResponse), upload
    posted = {
        "msgtype": "m.file",
        "body": "partenaires.csv",
        "info": {"mimetype": "text/csv", "size": len(ciphertext)},
        "file": {"url": upload.content_uri, "mimetype": "text/csv", **keys_},
    }
    await send(alice, room, "m.room.message", posted)
    preview = await answer(eworld, alice, room, await say(alice, room, "!partenaire importer"))
    clear_event(preview)
    assert "OceanDataLab" in preview.body, preview.body
    await eworld.stop_bot()


async def test_a_lost_crypto_store_stops_the_bot_with_one_line(eworld: EncryptedWorld) -> None:
    config = write_config(eworld, eworld.tmp / "passerelle.yaml")
    bot = BotProcess(config, eworld.tmp / "passerelle.log", eworld.tmp)
    db = eworld.database()
    try:
        await bot.start()

        async def first_sync() -> bool:
            bot.assert_running()
            return await bot_state(db, SYNC_TOKEN) is not None

        await wait_until(first_sync, timeout=TIMEOUT, what="the bot's first sync")
        assert await bot.terminate() == 0
        device = await bot_state(db, DEVICE_ID)
        token = await bot_state(db, "access_token")
        assert device
        assert token
        eworld.crypto_store.unlink()

        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot.cli", "run", "--config", str(config)),
            cwd=eworld.tmp,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(60):
            _, stderr = await process.communicate()
        assert process.returncode == 1
        text = stderr.decode()
        assert "Traceback" not in text
        last = text.splitlines()[-1]
        assert last.startswith(
            f"passerelle: the encryption keys of the bot's device {device} are missing"
        ), text
        assert "Restore that file from a backup" in last
        assert not eworld.crypto_store.exists()  # no new keys made up for the same device
        assert await bot_state(db, DEVICE_ID) == device
        # The account still has that one device: no new one was created.
        url = f"{eworld.synapse.base_url}/_matrix/client/v3/devices"
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as got:
            devices = (await got.json())["devices"]
        assert [d["device_id"] for d in devices] == [device]
    finally:
        if bot.process is not None and bot.process.returncode is None:
            await bot.kill()
        await db.dispose()


async def test_verbose_logs_in_an_encrypted_room_hold_no_text_and_no_key(
    eworld: EncryptedWorld,
) -> None:
    alice = eworld.alice
    assert alice is not None
    room = eworld.room_id
    config = write_config(eworld, eworld.tmp / "passerelle.yaml")
    bot = BotProcess(config, eworld.tmp / "passerelle.log", eworld.tmp, options=("-v",))
    db = eworld.database()
    try:
        await bot.start()

        async def first_sync() -> bool:
            bot.assert_running()
            return await bot_state(db, SYNC_TOKEN) is not None

        await wait_until(first_sync, timeout=TIMEOUT, what="the bot's first sync")
        await catch_up(alice)
        new_room_key(alice, room)
        command = await say(alice, room, "!partenaire ajouter Zoé-O'Brien-Atelier")
        room_key = alice.olm.outbound_group_sessions[room].session_key
        clear_event(await answer(eworld, alice, room, command))
        assert await bot.terminate() == 0
    finally:
        if bot.process is not None and bot.process.returncode is None:
            await bot.kill()
        token = await bot_state(db, "access_token")
        await db.dispose()
    log = bot.log.read_text(encoding="utf-8")
    assert "!partner.add in " in log
    assert " INFO nio." in log  # the library's lines are there, with -v
    secrets = (room_key, token or "-", "bot-password")
    for text in ("Zoé", "Zo\\u00e9", "O'Brien", "Atelier", *secrets):
        assert text not in log, text
