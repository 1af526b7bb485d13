"""The bot when the network misbehaves: a homeserver killed mid-burst, Synapse's
default rate limits, and a gateway answering 502 for ten seconds.

Everything here runs against real Synapse processes. The tests that kill a server or
need its default rate limits start their own `LocalSynapse` (with its own data
directory), so the session's server is never disturbed.

The bot's replies are counted from the room's history (`/messages`), read at the end:
a syncing watcher can lose its connection when a server is killed, the history
cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from nio import (
    AsyncClient,
    JoinResponse,
    MessageDirection,
    RoomInviteResponse,
    RoomMessagesResponse,
    RoomSendResponse,
    SyncResponse,
)
from sqlalchemy import func, select

from bot.homeserver import LocalSynapse
from bot.runtime import Runtime
from storage.models import AuditEntry, InboxEvent, Member, OutboxEvent, OutboxStatus, Role

from .botrun import BotWorld
from .matrix_helpers import client_config, unique_localpart
from .proxy import FlakyProxy

pytestmark = pytest.mark.asyncio(loop_scope="session")

logger = logging.getLogger(__name__)

Replies = dict[str, list[dict[str, Any]]]


# -- fixtures ----------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def killable_synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalSynapse]:
    """A Synapse of this test alone (raised rate limits): killing it disturbs no other test."""
    server = LocalSynapse(tmp_path_factory.mktemp("synapse-killable"))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def limited_synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalSynapse]:
    """A Synapse with its default rate limits (rc_message: 0.2/s after a burst of 10)."""
    server = LocalSynapse(tmp_path_factory.mktemp("synapse-limited"), raise_rate_limits=False)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def bot_world(synapse: LocalSynapse, tmp: Path) -> AsyncIterator[BotWorld]:
    """A BotWorld (room, bot account, alice, bob) on a given Synapse, closed at the end."""
    world = BotWorld(synapse, tmp)
    try:
        await world.setup()
        yield world
    finally:
        await world.close()


# -- helpers -----------------------------------------------------------------------


def text(body: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body}


def reply_target(source: dict[str, Any]) -> str | None:
    relates = source.get("content", {}).get("m.relates_to", {})
    target = relates.get("m.in_reply_to", {}).get("event_id")
    return target if isinstance(target, str) else None


async def bot_messages(client: AsyncClient, room_id: str, bot_id: str) -> list[dict[str, Any]]:
    """Every event the bot posted in the room, read back from the history (oldest first)."""
    now = await client.sync(timeout=0)
    assert isinstance(now, SyncResponse), now
    found: list[dict[str, Any]] = []
    token: str | None = now.next_batch
    while token:
        page = await client.room_messages(
            room_id, start=token, direction=MessageDirection.back, limit=100
        )
        assert isinstance(page, RoomMessagesResponse), page
        found.extend(e.source for e in page.chunk if e.source.get("sender") == bot_id)
        if not page.chunk or page.end in (None, token):
            break
        token = page.end
    found.reverse()
    return found


def by_target(messages: list[dict[str, Any]]) -> Replies:
    replies: Replies = defaultdict(list)
    for source in messages:
        target = reply_target(source)
        if target is not None:
            replies[target].append(source)
    return replies


async def outbox_pending(world: BotWorld) -> int:
    db = world.database()
    try:
        async with db.unit_of_work() as uow:
            return await uow.outbox.count(OutboxStatus.PENDING)
    finally:
        await db.dispose()


async def wait_for_all_replies(
    world: BotWorld,
    client: AsyncClient,
    commands: list[str],
    *,
    timeout: float,  # noqa: ASYNC109
    every: float = 1.0,
) -> Replies:
    """Poll the history until every command has a reply and the outbox is empty.

    Waiting for the empty outbox too means a late duplicate (a second reply sent
    after the first) would be in the history read last.
    """
    wanted = set(commands)
    async with asyncio.timeout(timeout):
        while True:
            replies = by_target(await bot_messages(client, world.room_id, world.bot_id))
            if wanted <= replies.keys() and await outbox_pending(world) == 0:
                return replies
            await asyncio.sleep(every)


async def send_until_accepted(
    client: AsyncClient,
    room_id: str,
    body: str,
    txn_id: str,
    *,
    deadline: float,
    on_failure: Callable[[str], None] | None = None,
) -> str:
    """Send one message, retrying with the same transaction id until the server has it.

    The homeserver deduplicates by (device, transaction id), so a retry of a send
    that did reach it before a crash returns the same event id instead of posting
    the message twice. A 429 is honoured.
    """
    loop = asyncio.get_running_loop()
    while True:
        error: str
        try:
            response = await client.room_send(room_id, "m.room.message", text(body), tx_id=txn_id)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = f"network: {exc!r}"
            delay = 0.25
        else:
            if isinstance(response, RoomSendResponse):
                return str(response.event_id)
            error = f"{response.status_code}: {response.message}"
            retry_ms = getattr(response, "retry_after_ms", None)
            delay = retry_ms / 1000 if retry_ms else 0.25
        if on_failure is not None:
            on_failure(error)
        if loop.time() + delay > deadline:
            raise AssertionError(f"could not send {body!r} (txn {txn_id}): {error}")
        await asyncio.sleep(delay)


async def join_room(world: BotWorld, client: AsyncClient) -> None:
    assert world.alice is not None
    invited = await world.alice.room_invite(world.room_id, client.user_id)
    assert isinstance(invited, RoomInviteResponse), invited
    joined = await client.join(world.room_id)
    assert isinstance(joined, JoinResponse), joined


async def user_without_login(world: BotWorld, name: str) -> AsyncClient:
    """A new account and a client with its own access token, without calling /login.

    Synapse's default `rc_login.address` allows 5 logins from one address in a burst;
    registering with a token keeps the test clear of it.
    """
    synapse = world.synapse
    localpart, password = unique_localpart(name), "not-used-for-login"
    secret = (synapse.data_dir / "registration_shared_secret").read_text("utf-8").strip()
    url = f"{synapse.base_url}/_synapse/admin/v1/register"
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            nonce = str((await response.json())["nonce"])
        mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, localpart, password):
            mac.update(part.encode())
            mac.update(b"\x00")
        mac.update(b"notadmin")
        payload = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": False,
            "mac": mac.hexdigest(),
        }
        async with session.post(url, json=payload) as response:
            assert response.status == 200, await response.text()
            registered = await response.json()
    client = AsyncClient(synapse.base_url, registered["user_id"], config=client_config())
    client.restore_login(registered["user_id"], registered["device_id"], registered["access_token"])
    world.clients.append(client)
    return client


@dataclass
class Burst:
    """The commands of a burst: their transaction ids, event ids and failed attempts."""

    event_ids: list[str] = field(default_factory=list)
    txn_ids: list[str] = field(default_factory=list)
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    progress: asyncio.Event = field(default_factory=asyncio.Event)


# -- a. the homeserver is killed during a burst ---------------------------------------


async def test_synapse_killed_during_a_burst(
    killable_synapse: LocalSynapse, tmp_path: Path
) -> None:
    async with bot_world(killable_synapse, tmp_path) as world:
        await _killed_during_a_burst(world)


async def _killed_during_a_burst(world: BotWorld) -> None:
    synapse = world.synapse
    alice = world.alice
    assert alice is not None
    runtime = await world.start_bot()
    count, kill_after = 60, 20
    burst = Burst()

    async def sender() -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 90
        for i in range(count):
            txn_id = f"burst-{uuid.uuid4().hex}"
            burst.txn_ids.append(txn_id)
            event_id = await send_until_accepted(
                alice,
                world.room_id,
                f"!role @u{i}:example.org moderator",
                txn_id,
                deadline=deadline,
                on_failure=burst.failures[txn_id].append,
            )
            burst.event_ids.append(event_id)
            if len(burst.event_ids) == kill_after:
                burst.progress.set()

    timings: dict[str, float] = {}

    async def killer() -> None:
        await burst.progress.wait()
        timings["killed"] = time.monotonic()
        await synapse.kill()
        await asyncio.sleep(2)
        await synapse.start()
        timings["restarted"] = time.monotonic()

    async with asyncio.timeout(120), asyncio.TaskGroup() as group:
        group.create_task(sender())
        group.create_task(killer())
    sent_during_outage = [t for t in burst.txn_ids if burst.failures.get(t)]
    logger.warning(
        "Synapse down for %.1f s; %d commands had failed sends: %s",
        timings["restarted"] - timings["killed"],
        len(sent_during_outage),
        {t: burst.failures[t][:2] for t in sent_during_outage},
    )
    assert len(burst.event_ids) == count
    assert len(set(burst.event_ids)) == count, "a retried send posted a second event"
    assert synapse.running

    # A watcher started after the restart sees the replies still to come.
    watcher = await world.watcher()
    try:
        replies = await wait_for_all_replies(world, alice, burst.event_ids, timeout=120)
    finally:
        await watcher.stop()

    # Exactly once, seen from the room: one reply per command, nothing else.
    assert {eid: len(replies[eid]) for eid in burst.event_ids} == dict.fromkeys(burst.event_ids, 1)
    assert sum(len(r) for r in replies.values()) == count
    for eid, seen in watcher.replies().items():
        assert eid in burst.event_ids
        assert len(seen) == 1, f"the watcher saw {len(seen)} replies to {eid}"
    # Each reply says the role changed (not "already moderator", not an error).
    not_done = {
        f"@u{i}": replies[eid][0]["content"]["body"]
        for i, eid in enumerate(burst.event_ids)
        if not replies[eid][0]["content"]["body"].startswith(f"@u{i}:example.org est désormais")
    }
    assert not not_done, f"{len(not_done)} commands were not carried out: {not_done}"

    # And from the database: one audit row and one member row per command.
    db = world.database()
    try:
        async with db.unit_of_work() as uow:
            session = uow.session
            audit = (
                await session.scalars(select(AuditEntry).where(AuditEntry.action == "member.role"))
            ).all()
            members = (
                await session.scalars(select(Member).where(Member.user_id.like("@u%:example.org")))
            ).all()
            inbox_rows = await session.scalar(
                select(func.count())
                .select_from(InboxEvent)
                .where(InboxEvent.event_id.in_(burst.event_ids))
            )
            outbox = (await session.scalars(select(OutboxEvent))).all()
    finally:
        await db.dispose()
    assert len(audit) == count
    assert sorted(a.detail["user"] for a in audit) == sorted(
        f"@u{i}:example.org" for i in range(count)
    )
    assert len(members) == count
    assert len({m.user_id for m in members}) == count
    assert all(m.role == Role.MODERATOR for m in members)
    assert inbox_rows == count
    assert len(outbox) == count
    assert all(row.status == OutboxStatus.SENT for row in outbox)
    assert len({row.event_id for row in outbox}) == count
    assert {row.event_id for row in outbox} == {
        r[0]["event_id"] for eid, r in replies.items() if eid in burst.event_ids
    }
    logger.warning(
        "outbox attempts that failed: %d over %d rows; sync failures in a row now: %d",
        sum(row.attempts for row in outbox),
        sum(1 for row in outbox if row.attempts),
        runtime.health.consecutive_failures,
    )
    await world.stop_bot()


# -- b. Synapse's default rate limits -------------------------------------------------


async def test_default_rate_limits_every_reply_once(
    limited_synapse: LocalSynapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with bot_world(limited_synapse, tmp_path) as world:
        await _every_reply_once(world, caplog)


async def _every_reply_once(world: BotWorld, caplog: pytest.LogCaptureFixture) -> None:
    assert world.alice is not None
    assert world.bob is not None
    senders = [world.bob]
    for name in ("carol", "dave"):
        client = await user_without_login(world, name)
        await join_room(world, client)
        senders.append(client)
    # Joining is an event too; let every sender's message bucket refill (0.2/s).
    await asyncio.sleep(6)
    await world.start_bot()

    per_sender = 10  # each sender stays within its own burst of 10
    commands: list[str] = []
    sender_failures: list[str] = []

    async def burst(client: AsyncClient) -> list[str]:
        deadline = asyncio.get_running_loop().time() + 120
        ids = []
        for _ in range(per_sender):
            ids.append(
                await send_until_accepted(
                    client,
                    world.room_id,
                    "!quisuisje",
                    f"rl-{uuid.uuid4().hex}",
                    deadline=deadline,
                    on_failure=sender_failures.append,
                )
            )
        return ids

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="bot.outbox"):
        async with asyncio.timeout(60):
            for ids in await asyncio.gather(*(burst(c) for c in senders)):
                commands.extend(ids)
        assert len(commands) == 30
        replies = await wait_for_all_replies(world, world.alice, commands, timeout=240, every=3)
    elapsed = time.monotonic() - started

    assert {eid: len(replies[eid]) for eid in commands} == dict.fromkeys(commands, 1)
    assert sum(len(r) for r in replies.values()) == 30
    wrong = {
        eid: replies[eid][0]["content"]["body"]
        for eid in commands
        if not replies[eid][0]["content"]["body"].startswith("Vous êtes @")
    }
    assert not wrong, f"{len(wrong)} commands got another answer than !quisuisje's: {wrong}"

    db = world.database()
    try:
        async with db.unit_of_work() as uow:
            outbox = (await uow.session.scalars(select(OutboxEvent))).all()
    finally:
        await db.dispose()
    limited_logs = [r for r in caplog.records if "M_LIMIT_EXCEEDED" in r.getMessage()]
    logger.warning(
        "30 replies in %.0f s; outbox rows retried: %d, failed attempts: %d; "
        "429 warnings logged: %d; sender-side failures: %d",
        elapsed,
        sum(1 for row in outbox if row.attempts),
        sum(row.attempts for row in outbox),
        len(limited_logs),
        len(sender_failures),
    )
    assert len(outbox) == 30
    assert all(row.status == OutboxStatus.SENT for row in outbox)
    assert any(row.attempts > 0 for row in outbox), "the bot was never rate limited"
    assert limited_logs, "no 429 (M_LIMIT_EXCEEDED) reached the outbox"
    await world.stop_bot()


# -- c. the gateway answers 502 for ten seconds ----------------------------------------


def healthy(runtime: Runtime) -> bool:
    return runtime.health.healthy(runtime.clock.now())


async def test_502_for_ten_seconds(world: BotWorld) -> None:
    assert world.bob is not None
    async with FlakyProxy(world.synapse.base_url) as proxy:
        world.homeserver = proxy.url
        world.unhealthy_after = 3.0
        world.sync_timeout_ms = 1000
        watcher = await world.watcher()  # alice, straight to Synapse
        try:
            runtime = await world.start_bot()

            # A round trip through the proxy.
            first = await world.send(world.bob, "!quisuisje")
            await watcher.wait_for_replies(1, timeout=20)
            assert len(watcher.replies()[first]) == 1
            assert proxy.requests > 0
            assert proxy.requests_while_failing == 0

            # Ten seconds of 502s.
            loop = asyncio.get_running_loop()
            proxy.failing = True
            began = loop.time()
            went_unhealthy: float | None = None
            during: str | None = None
            async with asyncio.timeout(15):
                while (elapsed := loop.time() - began) < 10:
                    if went_unhealthy is None and not healthy(runtime):
                        went_unhealthy = elapsed
                    # Past the long-poll in flight, a command the bot cannot see yet.
                    if during is None and elapsed >= 1.5:
                        during = await world.send(world.bob, "!quisuisje")
                    await asyncio.sleep(0.1)
            proxy.failing = False
            healed = loop.time()
            failed_requests = list(proxy.failed_requests)
            logger.warning(
                "502 window: %d requests (%s), unhealthy after %s s, sync failures %d",
                len(failed_requests),
                failed_requests,
                None if went_unhealthy is None else round(went_unhealthy, 1),
                runtime.health.consecutive_failures,
            )
            assert during is not None
            assert went_unhealthy is not None, "health stayed True through 10 s of 502s"
            assert proxy.requests_while_failing <= 20, failed_requests
            assert first in watcher.replies()
            assert during not in watcher.replies()

            # Recovery: healthy again, and the command sent during the outage answered.
            healthy_at: float | None = None
            async with asyncio.timeout(35):
                while True:
                    if healthy_at is None and runtime.health.consecutive_failures == 0:
                        assert healthy(runtime)
                        healthy_at = loop.time() - healed
                    if healthy_at is not None and during in watcher.replies():
                        break
                    watcher.changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(watcher.changed.wait(), 0.1)
            answered_at = loop.time() - healed
            logger.warning(
                "recovery: healthy %s s and outage command answered %.1f s after the 502s",
                None if healthy_at is None else round(healthy_at, 1),
                answered_at,
            )
            assert len(watcher.replies()[during]) == 1

            # After recovery: a new command, and !etat reports the bot healthy.
            after = await world.send(world.bob, "!quisuisje")
            status = await world.send(world.bob, "!etat")
            await watcher.wait_for_replies(4, timeout=20)
            replies = watcher.replies()
            assert len(replies[after]) == 1
            [report] = replies[status]
            assert report["content"]["body"].startswith("En forme"), report["content"]["body"]
            assert {eid: len(r) for eid, r in replies.items()} == {
                first: 1,
                during: 1,
                after: 1,
                status: 1,
            }
            await world.stop_bot()
        finally:
            await watcher.stop()
            await world.kill_bot()
