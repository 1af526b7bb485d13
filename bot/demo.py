"""`passerelle demo`: the bot on a throwaway local Synapse, ready for any Matrix client.

One data folder holds everything: Synapse's files (see `bot.homeserver`), the bot's
SQLite database, and ``demo.json`` (owner-only) with the demo accounts, their
passwords and access tokens, and the group's room. A second run on the same folder
reuses all of it, so what was typed in the room is still there.

Every step of the set-up is idempotent (register, create the room only if alice is
not in it, join, invite), so a run interrupted half-way is completed by the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    JoinedRoomsResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    ToDeviceMessage,
    WhoamiResponse,
)

from bot.app import default_catalog
from bot.config import AppSettings, Settings
from bot.crypto import ENCRYPTION_STATE
from bot.homeserver import LocalSynapse, SynapseError, synapse_available
from bot.matrix import MatrixError
from bot.runtime import Runtime
from commands.kit.i18n import LOCALES

logger = logging.getLogger(__name__)

DEFAULT_DATA = Path("passerelle-demo")
DEFAULT_PORT = 8008
STATE_FILE = "demo.json"
DATABASE_FILE = "passerelle.db"
ROOM_NAME = "Groupe partenariats"
ROOM_LOCALE = "fr"  # the group's language; `!settings locale=en` changes it in the room
BOT, ADMIN, MEMBER = "passerelle", "alice", "bob"
MODERATOR_LEVEL = 50  # lets the bot invite (approve a knock) and kick (refuse one)
WAKE_EVENT = "org.passerelle.demo.wake"
KNOCK = {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "knock"}}


class DemoError(Exception):
    """The demo cannot be set up; the message says why."""


@dataclass
class Account:
    user_id: str
    password: str
    access_token: str | None = None


@dataclass
class DemoState:
    """What `demo.json` remembers between runs."""

    accounts: dict[str, Account]
    room_id: str | None = None

    @classmethod
    def load(cls, path: Path) -> DemoState:
        """The saved state, or new accounts with fresh passwords (user ids come later)."""
        if not path.exists():
            return cls(
                {name: Account("", secrets.token_urlsafe(12)) for name in (BOT, ADMIN, MEMBER)}
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            accounts = {name: Account(**data["accounts"][name]) for name in (BOT, ADMIN, MEMBER)}
            room_id = data.get("room_id")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DemoError(f"{path} is unreadable ({exc}); delete the data folder") from None
        return cls(accounts, room_id if isinstance(room_id, str) else None)

    def save(self, path: Path) -> None:
        """Write atomically, readable by the owner only: it holds passwords and tokens."""
        data = {
            "accounts": {name: vars(account) for name, account in self.accounts.items()},
            "room_id": self.room_id,
        }
        partial = path.with_name(path.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
        os.chmod(partial, 0o600)  # O_CREAT's mode does not apply to a file left behind
        os.replace(partial, path)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def choose_port(data_dir: Path, requested: int | None) -> int:
    """The port to give LocalSynapse (0 lets it choose).

    Unless a port is requested, a folder that already ran keeps its port (LocalSynapse
    reuses it when free); a new one gets 8008, the usual Matrix port, when it is free.
    """
    if requested is not None:
        return requested
    if LocalSynapse(data_dir).config_path.exists():
        return 0
    return DEFAULT_PORT if _port_is_free(DEFAULT_PORT) else 0


@contextlib.contextmanager
def _interrupts_blocked() -> Iterator[None]:
    """Block SIGINT in this thread meanwhile; a process started meanwhile inherits the mask.

    Ctrl-C on a terminal signals the whole process group. Synapse, started with SIGINT
    blocked, ignores it, so the demo stops the bot first and Synapse after it (SIGTERM)
    instead of the bot losing its homeserver under its feet. A Ctrl-C arriving in the
    meantime stays pending and is handled as soon as the mask is restored.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _check(response: Any, action: str) -> Any:
    """nio answers errors with objects; here they become one exception."""
    if isinstance(response, ErrorResponse):
        raise DemoError(f"cannot {action}: {response.status_code} {response.message}")
    return response


class Demo:
    """Starts Synapse, prepares the accounts and the room, runs the bot until a signal."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        locale: str | None = None,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.requested_port = port
        self.locales = (locale,) if locale else LOCALES
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.catalog = default_catalog()
        self.runtime: Runtime | None = None
        self.stopping = False
        self.task: asyncio.Task[int] | None = None

    @property
    def state_path(self) -> Path:
        return self.data_dir / STATE_FILE

    def say(self, key: str, /, *, stream: TextIO | None = None, **data: Any) -> None:
        """Print a catalog message in the chosen language, or in each, blank-line apart."""
        texts = [self.catalog.render(locale, key, **data).plain for locale in self.locales]
        print("\n\n".join(texts), file=stream or self.out, flush=True)

    # -- lifecycle -------------------------------------------------------------

    async def run(self) -> int:
        """Run until SIGINT or SIGTERM (exit code 0), or a failure (1)."""
        loop = asyncio.get_running_loop()
        self.task = asyncio.create_task(self._serve())
        signals = (signal.SIGINT, signal.SIGTERM)
        for signum in signals:
            loop.add_signal_handler(signum, self.on_signal)
        try:
            return await self.task
        except asyncio.CancelledError:
            return 0  # stopped during set-up; Synapse was stopped on the way out
        finally:
            for signum in signals:
                loop.remove_signal_handler(signum)

    def on_signal(self) -> None:
        """First signal: a clean stop. A second one, or one during set-up: cancel."""
        if not self.stopping:
            self.stopping = True
            self.say("demo.stopping")
            if self.runtime is not None:
                self.runtime.stop()
                return
        if self.task is not None:
            self.task.cancel()

    async def _serve(self) -> int:
        self.say("demo.starting", data=str(self.data_dir))
        try:
            if not self.data_dir.exists():
                self.data_dir.mkdir(mode=0o700, parents=True)
            port = choose_port(self.data_dir, self.requested_port)
            synapse = LocalSynapse(self.data_dir, port=port)
            with _interrupts_blocked():
                await synapse.start()
            try:
                state = await self.prepare(synapse)
                self.runtime = Runtime(self.settings(synapse, state))
                await self._run_bot(self.runtime, synapse, state)
            finally:
                await synapse.stop()
        except (DemoError, SynapseError, MatrixError, RuntimeError, OSError) as exc:
            self.say("demo.failed", stream=self.err, error=str(exc), data=str(self.data_dir))
            return 1
        return 0

    async def _run_bot(self, runtime: Runtime, synapse: LocalSynapse, state: DemoState) -> None:
        running = asyncio.create_task(runtime.run())
        try:
            synced = asyncio.create_task(runtime.synced.wait())
            try:
                await asyncio.wait({running, synced}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                synced.cancel()
            if runtime.synced.is_set() and not running.done():
                print(file=self.out)
                self.say("demo.ready", **self._ready_data(synapse, state))
            await running  # until on_signal() stops it; raises if the bot failed
        finally:
            if not running.done():
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running

    def _ready_data(self, synapse: LocalSynapse, state: DemoState) -> dict[str, Any]:
        return {
            "homeserver": synapse.base_url,
            "admin": state.accounts[ADMIN],
            "member": state.accounts[MEMBER],
            "bot": state.accounts[BOT],
            "room_name": ROOM_NAME,
            "room_id": state.room_id,
            "data": str(self.data_dir),
        }

    def settings(self, synapse: LocalSynapse, state: DemoState) -> AppSettings:
        bot = state.accounts[BOT]
        assert state.room_id is not None
        return Settings.model_validate(
            {
                "matrix": {
                    "homeserver": synapse.base_url,
                    "user_id": bot.user_id,
                    "password": bot.password,
                },
                "rooms": [{"id": state.room_id, "locale": ROOM_LOCALE}],
                "admins": [state.accounts[ADMIN].user_id],
                "database": {"url": f"sqlite+aiosqlite:///{self.data_dir / DATABASE_FILE}"},
            }
        )

    # -- set-up ----------------------------------------------------------------

    async def prepare(self, synapse: LocalSynapse) -> DemoState:
        """Accounts and room, created on the first run and checked on the next ones."""
        state = DemoState.load(self.state_path)
        state.save(self.state_path)  # the passwords are on disk before any account exists
        for name, account in state.accounts.items():
            account.user_id = await synapse.register(name, account.password)
        state.save(self.state_path)
        admin = await self._client(synapse, state, ADMIN)
        member = await self._client(synapse, state, MEMBER)
        try:
            state.save(self.state_path)  # the tokens, so later runs add no device
            await self._ensure_room(state, admin, member)
            state.save(self.state_path)
            await self._wake_bot(admin, state.accounts[BOT].user_id)
        finally:
            await admin.close()
            await member.close()
        return state

    async def _client(self, synapse: LocalSynapse, state: DemoState, name: str) -> AsyncClient:
        """A client for a demo user: the saved token if it still works, else a login."""
        account = state.accounts[name]
        client = AsyncClient(
            synapse.base_url,
            account.user_id,
            config=AsyncClientConfig(
                encryption_enabled=False,
                store_sync_tokens=False,
                max_limit_exceeded=0,
                max_timeouts=2,
                request_timeout=30,
            ),
        )
        if account.access_token:
            client.access_token = account.access_token
            whoami = await client.whoami()
            if isinstance(whoami, WhoamiResponse) and whoami.user_id == account.user_id:
                return client
        response = await client.login(account.password, device_name="passerelle demo")
        if not isinstance(response, LoginResponse):
            await client.close()
            raise DemoError(
                f"cannot log in as {account.user_id} with the password saved in "
                f"{self.state_path}: {response}; delete the data folder to start afresh"
            )
        account.access_token = response.access_token
        return client

    async def _ensure_room(self, state: DemoState, admin: AsyncClient, member: AsyncClient) -> None:
        bot_id = state.accounts[BOT].user_id
        joined = _check(await admin.joined_rooms(), "list alice's rooms")
        assert isinstance(joined, JoinedRoomsResponse)
        if state.room_id not in joined.rooms:
            created = _check(
                await admin.room_create(
                    name=ROOM_NAME,
                    topic=self.catalog.render(ROOM_LOCALE, "demo.room_topic").plain,
                    invite=[member.user_id, bot_id],
                    # Encrypted, as Element creates a private room: the real thing.
                    initial_state=[KNOCK, ENCRYPTION_STATE],
                ),
                "create the room",
            )
            assert isinstance(created, RoomCreateResponse)
            state.room_id = created.room_id
            await self._make_moderator(admin, created.room_id, bot_id)
        room_id = state.room_id
        assert room_id is not None
        await self._encrypt(admin, room_id)
        in_room = _check(await member.joined_rooms(), "list bob's rooms")
        if room_id not in in_room.rooms and isinstance(await member.join(room_id), ErrorResponse):
            # Not invited (any more): alice lets him in again.
            _check(await admin.room_invite(room_id, member.user_id), "invite bob")
            _check(await member.join(room_id), "join the room as bob")
        # The bot joins its configured room when it starts, as long as it is invited.
        membership = await admin.room_get_state_event(room_id, "m.room.member", bot_id)
        if not (
            isinstance(membership, RoomGetStateEventResponse)
            and membership.content.get("membership") in ("join", "invite")
        ):
            _check(await admin.room_invite(room_id, bot_id), "invite the bot")

    @staticmethod
    async def _wake_bot(admin: AsyncClient, bot_id: str) -> None:
        """Have the bot's first sync return at once, so that "ready" is printed at once.

        On a later run the bot resumes from its stored sync token, and a quiet room
        would hold that first long-poll for its whole timeout (30 s). A to-device
        message queued for the bot's devices ends it; the bot ignores its content.
        Without it the demo still works, only "ready" comes later: a failure is no reason
        to stop.
        """
        response = await admin.to_device(ToDeviceMessage(WAKE_EVENT, bot_id, "*", {}))
        if isinstance(response, ErrorResponse):
            logger.warning("cannot wake the bot (%s); it will be ready within 30 s", response)

    @staticmethod
    async def _encrypt(admin: AsyncClient, room_id: str) -> None:
        """Turn encryption on in a room an earlier version of the demo left without it
        (once on, it stays on)."""
        current = await admin.room_get_state_event(room_id, "m.room.encryption")
        if isinstance(current, RoomGetStateEventResponse) and current.content.get("algorithm"):
            return
        _check(
            await admin.room_put_state(room_id, "m.room.encryption", ENCRYPTION_STATE["content"]),
            "turn encryption on in the room",
        )

    @staticmethod
    async def _make_moderator(admin: AsyncClient, room_id: str, user_id: str) -> None:
        """Raise the bot to moderator, keeping the rest of the power levels as they are."""
        current = _check(
            await admin.room_get_state_event(room_id, "m.room.power_levels"),
            "read the power levels",
        )
        content = dict(current.content)
        content["users"] = {**content.get("users", {}), user_id: MODERATOR_LEVEL}
        _check(
            await admin.room_put_state(room_id, "m.room.power_levels", content),
            "make the bot a moderator",
        )


def main(
    data_dir: Path = DEFAULT_DATA,
    *,
    port: int | None = None,
    locale: str | None = None,
    available: Callable[[], bool] = synapse_available,
) -> int:
    """Entry point of `passerelle demo`; returns the exit code."""
    demo = Demo(data_dir, port=port, locale=locale)
    if not available():
        demo.say("demo.no_synapse", stream=demo.err)
        return 1
    return asyncio.run(demo.run())
