"""Helpers for the reliability tests: counting the bot's replies without missing any,
reading the whole history of a room, reading the bot's database, and running the bot
as a real process.

`ReplyLog` differs from `botrun.Watcher` in two ways that matter when hundreds of
events flow: its sync filter asks for long timelines, and when a timeline still comes
back `limited` it reads the room's history from `/messages` instead of silently
skipping the gap (Synapse's default timeline holds 10 events).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import yaml
from nio import AsyncClient, SyncResponse
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from storage.db import Database
from storage.models import AuditEntry, BotState, InboxEvent, Member, OutboxEvent

from .botrun import BotWorld
from .matrix_helpers import client_config

# What the bot posts (its own membership changes are not posts).
POSTS = frozenset({"m.room.message", "m.reaction"})


def role_command(i: int) -> str:
    return f"!role {role_user(i)} moderator"


def role_user(i: int) -> str:
    return f"@u{i}:example.org"


def reply_target(source: dict[str, Any]) -> str | None:
    relates = source.get("content", {}).get("m.relates_to", {})
    target = relates.get("m.in_reply_to", {}).get("event_id")
    return target if isinstance(target, str) else None


async def wait_until(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout: float,  # noqa: ASYNC109
    what: str,
    interval: float = 0.2,
) -> None:
    """Poll `check` until it is true; fail with `what` after `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not await check():  # noqa: ASYNC110 (a database or a server: no event to wait on)
                await asyncio.sleep(interval)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}") from None


async def room_history(homeserver: str, access_token: str, room_id: str) -> list[dict[str, Any]]:
    """Every event of the room the user may see, oldest first, read with /messages."""
    url = f"{homeserver}/_matrix/client/v3/rooms/{quote(room_id, safe='')}/messages"
    headers = {"Authorization": f"Bearer {access_token}"}
    events: list[dict[str, Any]] = []
    params: dict[str, str] = {"dir": "b", "limit": "500"}
    async with aiohttp.ClientSession(headers=headers) as session:
        while True:
            async with session.get(url, params=params) as response:
                body = await response.json(content_type=None)
                assert response.status == 200, f"/messages failed: {response.status} {body}"
            chunk = body.get("chunk") or []
            events.extend(chunk)
            end = body.get("end")
            if not chunk or not end or end == params.get("from"):
                break
            params["from"] = end
    events.reverse()
    return events


@dataclass
class ReplyLog:
    """What the bot posts (messages, reactions) in one room, seen by a user of that room."""

    client: AsyncClient
    room_id: str
    bot_id: str
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # event id -> source
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    gaps: int = 0
    task: asyncio.Task[None] | None = None

    @property
    def filter(self) -> dict[str, Any]:
        return {
            "presence": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
            "room": {
                "rooms": [self.room_id],
                "timeline": {"limit": 500},
                "ephemeral": {"not_types": ["*"]},
                "account_data": {"not_types": ["*"]},
            },
        }

    @classmethod
    async def open(cls, world: BotWorld, room_id: str | None = None) -> ReplyLog:
        """Follow `room_id` (the world's room by default) as alice, from now on."""
        assert world.alice is not None
        client = AsyncClient(world.synapse.base_url, world.alice.user_id, config=client_config())
        client.restore_login(world.alice.user_id, world.alice.device_id, world.alice.access_token)
        world.clients.append(client)  # closed by the world
        log = cls(client, room_id or world.room_id, world.bot_id)
        first = await client.sync(timeout=0, sync_filter=log.filter)
        assert isinstance(first, SyncResponse), first
        log.task = asyncio.create_task(log._loop())
        return log

    async def _loop(self) -> None:
        while True:
            response = await self.client.sync(timeout=1000, sync_filter=self.filter)
            if not isinstance(response, SyncResponse):
                await asyncio.sleep(0.2)
                continue
            room = response.rooms.join.get(self.room_id)
            if room is None:
                continue
            if room.timeline.limited:
                self.gaps += 1
                self._add(await self.history())
            self._add(e.source for e in room.timeline.events)

    def _add(self, sources: Any) -> None:
        for source in sources:
            event_id = source.get("event_id")
            if (
                source.get("sender") == self.bot_id
                and source.get("type") in POSTS
                and event_id not in self.events
            ):
                self.events[event_id] = source
                self.changed.set()

    async def history(self) -> list[dict[str, Any]]:
        return await room_history(self.client.homeserver, self.client.access_token, self.room_id)

    async def refresh_from_history(self) -> None:
        """Add whatever the history holds that the sync loop may not have shown yet."""
        self._add(await self.history())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def _changed_or_dead(self) -> None:
        """Wait for a new event; raise at once if the sync loop has died."""
        assert self.task is not None, "the reply log is not running"
        changed = asyncio.create_task(self.changed.wait())
        try:
            await asyncio.wait({changed, self.task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
        if self.task.done():
            self.task.result()  # raises what stopped it
            raise AssertionError("the reply log stopped following the room")

    def replies(self) -> dict[str, list[dict[str, Any]]]:
        """The bot's messages by the event id they reply to."""
        by_command: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for source in self.events.values():
            target = reply_target(source)
            if target:
                by_command[target].append(source)
        return by_command

    def count_replies_to(self, commands: Sequence[str]) -> int:
        replies = self.replies()
        return sum(1 for c in commands if c in replies)

    async def wait_for_replies_to(
        self,
        commands: Sequence[str],
        count: int | None = None,
        timeout: float = 60,  # noqa: ASYNC109
    ) -> None:
        """Wait until `count` (default: all) of `commands` have a reply."""
        wanted = len(commands) if count is None else count
        try:
            async with asyncio.timeout(timeout):
                while self.count_replies_to(commands) < wanted:
                    self.changed.clear()
                    await self._changed_or_dead()
        except TimeoutError:
            raise AssertionError(
                f"only {self.count_replies_to(commands)} of the {wanted} expected replies "
                f"arrived within {timeout:g} s"
            ) from None


@dataclass
class DbSnapshot:
    """The rows the reliability tests count, read in one transaction."""

    state: dict[str, str]
    inbox: list[InboxEvent]
    outbox: list[OutboxEvent]
    audit: list[AuditEntry]
    members: list[Member]


async def snapshot(db: Database) -> DbSnapshot:
    async with db.unit_of_work() as uow:
        session = uow.session
        state = {row.key: row.value for row in await session.scalars(select(BotState))}
        inbox = list(await session.scalars(select(InboxEvent).order_by(InboxEvent.id)))
        outbox = list(await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
        audit = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        members = list(await session.scalars(select(Member).order_by(Member.user_id)))
    return DbSnapshot(state, inbox, outbox, audit, members)


async def bot_state(db: Database, key: str) -> str | None:
    """A bot_state value, or None (also while the schema does not exist yet)."""
    try:
        async with db.unit_of_work() as uow:
            return await uow.state.get(key)
    except OperationalError:
        return None


def write_config(world: BotWorld, path: Path) -> Path:
    """The world's settings as a YAML config file for `passerelle run`."""
    settings = world.settings()
    assert settings.matrix is not None
    assert settings.matrix.password is not None
    config = {
        "matrix": {
            "homeserver": settings.matrix.homeserver,
            "user_id": settings.matrix.user_id,
            "password": settings.matrix.password.get_secret_value(),
            "device_name": "passerelle",
        },
        "rooms": [{"id": room.id, "locale": room.locale} for room in settings.rooms],
        "admins": list(settings.admins),
        "database": {"url": settings.database.url},
        "sync": {"timeout_ms": 1000, "unhealthy_after": 5},
        # As in the world's settings: these tests count every message and room action
        # the bot sends, so no weekly digest and no join rule to set.
        "digest": {"enabled": False},
        "members": {"knock_join_rule": False},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class BotProcess:
    """`python -m bot.cli run --config FILE` as a child process, started and killed at will."""

    config: Path
    log: Path
    cwd: Path
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    options: tuple[str, ...] = ()  # before the sub-command, e.g. ("-v",)

    async def start(self) -> None:
        assert self.process is None or self.process.returncode is not None
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PASSERELLE__")}
        with self.log.open("ab") as log:
            log.write(f"---- start {self.starts} ----\n".encode())
            log.flush()
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                *self.options,
                "run",
                "--config",
                str(self.config),
                cwd=self.cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    def assert_running(self) -> None:
        assert self.process is not None
        assert self.process.returncode is None, (
            f"the bot exited with {self.process.returncode}:\n{self.tail()}"
        )

    async def kill(self) -> None:
        """SIGKILL: the process dies wherever it is, as in a power cut."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self, timeout: float = 20) -> int:  # noqa: ASYNC109
        """SIGTERM, as a service manager would; returns the exit code."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(timeout):
                return await self.process.wait()
        except TimeoutError:
            await self.kill()
            raise AssertionError(f"the bot ignored SIGTERM for {timeout:g} s") from None

    def errors(self, limit: int = 10) -> str:
        """The first ERROR lines of the bot's log (each process's stderr), if any."""
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        errors = [line for line in lines if " ERROR " in line]
        if not errors:
            return ""
        shown = "\n".join(errors[:limit])
        return f"--- {len(errors)} ERROR lines in the bot's log, first {limit} ---\n{shown}\n"

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"
