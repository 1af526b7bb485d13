"""`passerelle demo` as a newcomer runs it: a real process, a real Synapse, a real client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import stat
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from nio import AsyncClient, JoinedRoomsResponse, LoginResponse, RoomMessageNotice, SyncResponse

from bot import demo

from .matrix_helpers import client_config, wait_for_event

pytestmark = pytest.mark.asyncio(loop_scope="session")

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60
STOP_TIMEOUT = 20
BOT_ID = "@passerelle:localhost"

HOMESERVER = re.compile(r"^Homeserver: (http://\S+)", re.MULTILINE)
ALICE = re.compile(r"^• (@alice:\S+) password: (\S+)", re.MULTILINE)
ROOM = re.compile(r"^Room: .*\((!\S+)\)$", re.MULTILINE)


@dataclass
class ReadyBlock:
    homeserver: str
    alice: str
    password: str
    room_id: str

    @classmethod
    def parse(cls, text: str) -> ReadyBlock:
        homeserver, alice, room = HOMESERVER.search(text), ALICE.search(text), ROOM.search(text)
        assert homeserver, text
        assert alice, text
        assert room, text
        return cls(homeserver[1], alice[1], alice[2], room[1])


class DemoProcess:
    """`python -m bot.cli demo` in English on any free port, stderr kept in a file."""

    def __init__(self, data: Path, stderr: Path) -> None:
        self.data = data
        self.stderr_path = stderr
        self.process: asyncio.subprocess.Process | None = None
        self.stdout = ""

    async def start(self) -> ReadyBlock:
        with self.stderr_path.open("ab") as stderr:
            self.process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "bot.cli", "demo", "--data", str(self.data)),
                *("--port", "0", "--locale", "en"),
                cwd=REPO,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,  # its own group, Synapse included: see kill()
            )
        assert self.process.stdout is not None
        async with asyncio.timeout(READY_TIMEOUT):
            while not self.stdout.rstrip().endswith("for the next run."):
                line = await self.process.stdout.readline()
                assert line, f"the demo ended before it was ready:\n{self.stdout}{self.stderr()}"
                self.stdout += line.decode()
        return ReadyBlock.parse(self.stdout)

    async def interrupt(self) -> int:
        """Ctrl-C; the exit code (the process is killed if it does not stop in time)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                rest, _ = await self.process.communicate()
        except TimeoutError:
            await self.kill()
            raise
        self.stdout += rest.decode()
        return self.process.returncode if self.process.returncode is not None else -1

    async def kill(self) -> None:
        """SIGKILL the demo and its Synapse, so that a failed test leaves nothing behind."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(TimeoutError, ProcessLookupError):
                await self.interrupt()

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


async def alice_client(ready: ReadyBlock, store: Path) -> AsyncClient:
    """Alice's client, with encryption keys of its own: the demo's room is encrypted."""
    await asyncio.to_thread(store.mkdir)
    config = replace(client_config(), encryption_enabled=True)
    client = AsyncClient(ready.homeserver, ready.alice, store_path=str(store), config=config)
    response = await client.login(ready.password, device_name="pytest")
    assert isinstance(response, LoginResponse), response
    await client.keys_upload()
    return client


async def help_round_trip(client: AsyncClient, room_id: str) -> RoomMessageNotice:
    """Send !help as `client`, encrypted; the bot's reply to it, decrypted."""
    assert isinstance(await client.sync(timeout=0, full_state=True), SyncResponse)
    assert client.rooms[room_id].encrypted  # as Element creates a private room
    if client.should_query_keys:
        await client.keys_query()
    sent = await client.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": "!help"},
        ignore_unverified_devices=True,
    )
    command = getattr(sent, "event_id", None)
    assert command, sent
    reply: RoomMessageNotice = await wait_for_event(
        client,
        room_id,
        lambda e: (
            isinstance(e, RoomMessageNotice)
            and e.sender == BOT_ID
            and e.source["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            == command
        ),
        timeout=30,
    )
    return reply


def port_is_closed(url: str) -> bool:
    parts = urlsplit(url)
    assert parts.hostname
    assert parts.port
    with socket.socket() as sock:
        return sock.connect_ex((parts.hostname, parts.port)) != 0


async def test_demo_runs_the_bot_and_resumes_on_the_same_folder(tmp_path: Path) -> None:
    data = tmp_path / "demo"

    first = DemoProcess(data, tmp_path / "stderr-1.txt")
    try:
        ready = await first.start()
        client = await alice_client(ready, tmp_path / "alice-1")
        try:
            joined = await client.joined_rooms()
            assert isinstance(joined, JoinedRoomsResponse), joined
            assert ready.room_id in joined.rooms
            reply = await help_round_trip(client, ready.room_id)
        finally:
            await client.close()
        assert reply.body.startswith("Commandes à votre disposition")  # the room speaks French
        assert await first.interrupt() == 0
    finally:
        await first.close()
    assert "Traceback" not in first.stderr()
    assert "Stopping the bot and the homeserver" in first.stdout
    assert port_is_closed(ready.homeserver)  # Synapse went down with the demo
    assert stat.S_IMODE((data / "demo.json").stat().st_mode) == 0o600

    second = DemoProcess(data, tmp_path / "stderr-2.txt")
    try:
        again = await second.start()
        assert again == ready  # same homeserver, same alice and password, same room
        client = await alice_client(again, tmp_path / "alice-2")
        try:
            await help_round_trip(client, again.room_id)
        finally:
            await client.close()
        assert await second.interrupt() == 0
    finally:
        await second.close()
    assert "Traceback" not in second.stderr()


async def test_without_synapse_it_says_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = demo.main(tmp_path / "demo", locale="en", available=lambda: False)

    assert code == 1
    err = capsys.readouterr().err
    assert "pip install -e '.[dev]'" in err
    assert "pip install matrix-synapse" in err
    assert not (tmp_path / "demo").exists()
