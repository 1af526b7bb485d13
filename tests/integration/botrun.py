"""Run the real bot against the test Synapse and watch what it posts.

`BotWorld` owns one room (knock join rule), the bot's account, an admin (alice) and a
member (bob), a database file, and the bot's runtime, which tests start, stop abruptly
and restart. `Watcher` syncs as alice in the background and records every event the
bot posts, so a test can count replies per command.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nio import AsyncClient, RoomCreateResponse, RoomSendResponse, SyncResponse

from bot.config import Settings
from bot.domains import DOMAINS
from bot.homeserver import LocalSynapse
from bot.runtime import Runtime
from commands.kit.clock import FakeClock
from commands.kit.domain import Domain
from storage.db import Database

from .matrix_helpers import DEFAULT_PASSWORD, client_config, unique_localpart

TIMELINE_FILTER = {"room": {"timeline": {"limit": 500}}}
KNOCK = {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "knock"}}


@dataclass
class Watcher:
    """Collects the bot's events in a room from alice's point of view."""

    client: AsyncClient
    room_id: str
    bot_id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        first = await self.client.sync(timeout=0)
        assert isinstance(first, SyncResponse), first
        self.task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            # Long timelines: the default 10 events would come back `limited` in a burst.
            response = await self.client.sync(timeout=1000, sync_filter=TIMELINE_FILTER)
            if not isinstance(response, SyncResponse):
                await asyncio.sleep(0.2)
                continue
            room = response.rooms.join.get(self.room_id)
            if room is None:
                continue
            for event in room.timeline.events:
                if event.source.get("sender") == self.bot_id:
                    self.events.append(event.source)
                    self.changed.set()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def replies(self) -> dict[str, list[dict[str, Any]]]:
        """The bot's messages by the event id they reply to."""
        by_command: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for source in self.events:
            relates = source.get("content", {}).get("m.relates_to", {})
            target = relates.get("m.in_reply_to", {}).get("event_id")
            if target:
                by_command[target].append(source)
        return by_command

    async def wait_for_replies(self, count: int, timeout: float = 60) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while len(self.replies()) < count:
                self.changed.clear()
                await self.changed.wait()


@dataclass
class BotWorld:
    synapse: LocalSynapse
    tmp: Path
    bot_id: str = ""
    alice: AsyncClient | None = None
    bob: AsyncClient | None = None
    room_id: str = ""
    runtime: Runtime | None = None
    task: asyncio.Task[None] | None = None
    sync_timeout_ms: int = 1000
    unhealthy_after: float = 5.0
    homeserver: str | None = None  # another URL to reach Synapse by (a proxy)
    clients: list[AsyncClient] = field(default_factory=list)

    async def setup(self) -> None:
        self.bot_id = await self.synapse.register(unique_localpart("passerelle"), "bot-password")
        self.alice = await self.user("alice")
        self.bob = await self.user("bob")
        response = await self.alice.room_create(
            name="Partenariats", invite=[self.bob.user_id], initial_state=[KNOCK]
        )
        assert isinstance(response, RoomCreateResponse), response
        self.room_id = response.room_id
        # The bot is invited like a member; configured rooms are joined at start.
        invite = await self.alice.room_invite(self.room_id, self.bot_id)
        assert not hasattr(invite, "status_code") or invite.status_code is None, invite
        await self.bob.join(self.room_id)

    async def user(self, name: str) -> AsyncClient:
        user_id = await self.synapse.register(unique_localpart(name), DEFAULT_PASSWORD)
        client = AsyncClient(self.synapse.base_url, user_id, config=client_config())
        await client.login(DEFAULT_PASSWORD, device_name="pytest")
        self.clients.append(client)
        return client

    database_url: str | None = None  # another database than the SQLite file (PostgreSQL)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.tmp / 'bot.db'}"

    def settings(self) -> Settings:
        assert self.alice is not None
        return Settings.model_validate(
            {
                "matrix": {
                    "homeserver": self.homeserver or self.synapse.base_url,
                    "user_id": self.bot_id,
                    "password": "bot-password",
                },
                "rooms": [{"id": self.room_id, "locale": "fr"}],
                "admins": [self.alice.user_id],
                "database": {"url": self.db_url},
                "sync": {
                    "timeout_ms": self.sync_timeout_ms,
                    "unhealthy_after": self.unhealthy_after,
                },
                # Tests count the scheduler's passes and the messages sent: the weekly
                # digest (tests/domain/test_digest.py) would be one more on Mondays.
                "digest": {"enabled": False},
                # Nor do they expect the bot to change the room's join rule at start
                # (tests/domain/test_members.py and the members' Synapse tests do).
                "members": {"knock_join_rule": False},
            }
        )

    async def start_bot(self, *, wait: bool = True, domains: Sequence[Domain] = DOMAINS) -> Runtime:
        self.runtime = Runtime(self.settings(), domains=domains)
        self.task = asyncio.create_task(self.runtime.run())
        if wait:
            async with asyncio.timeout(30):
                waiter = asyncio.create_task(self.runtime.synced.wait())
                done, _ = await asyncio.wait(
                    {waiter, self.task}, return_when=asyncio.FIRST_COMPLETED
                )
                if self.task in done:
                    waiter.cancel()
                    self.task.result()  # raises what stopped the bot
        return self.runtime

    async def kill_bot(self) -> None:
        """Stop the bot abruptly: its task is cancelled wherever it is."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.task = None

    async def stop_bot(self) -> None:
        if self.runtime is not None and self.task is not None:
            self.runtime.stop()
            await self.task
        self.task = None

    async def send(self, client: AsyncClient, body: str) -> str:
        """Send a text message; return its event id."""
        response = await client.room_send(
            self.room_id, "m.room.message", {"msgtype": "m.text", "body": body}
        )
        assert isinstance(response, RoomSendResponse), response
        return str(response.event_id)

    async def watcher(self) -> Watcher:
        assert self.alice is not None
        client = AsyncClient(self.synapse.base_url, self.alice.user_id, config=client_config())
        client.restore_login(self.alice.user_id, self.alice.device_id, self.alice.access_token)
        self.clients.append(client)
        watcher = Watcher(client, self.room_id, self.bot_id)
        await watcher.start()
        return watcher

    def database(self) -> Database:
        return Database(self.db_url)

    async def close(self) -> None:
        await self.kill_bot()
        for client in self.clients:
            await client.close()


async def start_clocked_bot(
    world: BotWorld, clock: FakeClock, sections: Mapping[str, Any] | None = None
) -> Runtime:
    """`world.start_bot` on a fake clock, with some settings sections changed (as
    mappings); returns once the bot has synced and its scheduler's first pass is over
    (the loop then sleeps for a minute, and the test runs the passes with `run_pass`).
    The world stops the bot at teardown as it does its own."""
    settings = world.settings()
    for name, values in (sections or {}).items():
        section = type(getattr(settings, name)).model_validate(values)
        settings = settings.model_copy(update={name: section})
    runtime = Runtime(settings, clock=clock)
    scheduler = runtime.bot.scheduler
    real_run_due = scheduler.run_due
    first_pass = asyncio.Event()

    async def run_due(now: datetime) -> int:
        try:
            return await real_run_due(now)
        finally:
            first_pass.set()

    scheduler.run_due = run_due  # type: ignore[method-assign]
    world.runtime = runtime
    world.task = asyncio.create_task(runtime.run())
    async with asyncio.timeout(30):
        ready = asyncio.gather(runtime.synced.wait(), first_pass.wait())
        done, _ = await asyncio.wait({ready, world.task}, return_when=asyncio.FIRST_COMPLETED)
        if world.task in done:
            ready.cancel()
            world.task.result()  # raises what stopped the bot
    return runtime


async def run_pass(runtime: Runtime, clock: FakeClock, when: datetime) -> int:
    """Move the clock and run one scheduler pass then, as the runtime's loop does."""
    clock.set(when)
    handled = await runtime.bot.scheduler.run_due(when)
    runtime.outgoing.set()  # what the scheduler loop does after a pass
    return handled
