"""Build the project's image and run it as an operator would, for the docker tier.

The image is built once per session from the repository's Dockerfile. Its base is
`python:3.11-slim` when the engine has it or can pull it; otherwise a base made from
Debian's packages by `docker/base-image.sh` (kept as a local image, so only the first
run pays for it). PASSERELLE_DOCKER_BASE names another base; PASSERELLE_DOCKER_IMAGE an
image already built, which is then used as it is.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from nio import AsyncClient, RoomCreateResponse, RoomSendResponse, SyncResponse

from bot.homeserver import LocalSynapse
from tests.integration.matrix_helpers import (
    DEFAULT_PASSWORD,
    client_config,
    unique_localpart,
    wait_for_event,
)
from tests.integration.reliability_helpers import ReplyLog, room_history

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BASE = "python:3.11-slim"
LOCAL_BASE = "passerelle-base:bookworm"
IMAGE = "passerelle:test"
CONTAINER_UID = 10001
BOT_PASSWORD = "bot-password"
# How long a container may take from `docker run` to its first answer.
START_TIMEOUT = 90.0


@dataclass
class BuildReport:
    """What the session's image cost, printed at the end of the run."""

    base: str = ""
    base_how: str = ""
    base_seconds: float = 0.0
    image: str = ""
    build_seconds: float = 0.0
    size_bytes: int = 0

    def lines(self) -> list[str]:
        base = f"base image {self.base} ({self.base_how}"
        base += f", {self.base_seconds:.0f} s)" if self.base_seconds >= 1 else ")"
        build = (
            f"image {self.image}: built in {self.build_seconds:.0f} s"
            if self.build_seconds
            else f"image {self.image}: given"
        )
        return [base, f"{build}, {self.size_bytes / 1e6:.0f} MB"]


def engine_problem() -> str | None:
    """Why no Docker engine can be used here, or None when one answers."""
    if shutil.which("docker") is None:
        return "no docker command (apt-get install docker.io, then start dockerd)"
    try:
        result = _run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=20)
    except subprocess.TimeoutExpired:
        return "the Docker engine did not answer `docker info` within 20 s"
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        return "no Docker engine answers: " + (lines[-1] if lines else f"exit {result.returncode}")
    return None


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def _image_exists(name: str) -> bool:
    return _run(["docker", "image", "inspect", name], timeout=30).returncode == 0


def _image_id(name: str) -> str:
    result = _run(["docker", "image", "inspect", "-f", "{{.Id}}", name], timeout=30)
    return result.stdout.strip() if result.returncode == 0 else ""


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def choose_base(report: BuildReport) -> str:
    """The base to build on; builds the local one from Debian's packages if need be."""
    started = time.monotonic()
    given = os.environ.get("PASSERELLE_DOCKER_BASE")
    if given:
        report.base, report.base_how = given, "from PASSERELLE_DOCKER_BASE"
    elif _image_exists(DEFAULT_BASE):
        report.base, report.base_how = DEFAULT_BASE, "present"
    elif _image_exists(LOCAL_BASE):
        report.base, report.base_how = LOCAL_BASE, "built from Debian's packages earlier"
    elif _run(["docker", "pull", "-q", DEFAULT_BASE], timeout=300).returncode == 0:
        report.base, report.base_how = DEFAULT_BASE, "pulled"
    else:
        result = _run(["bash", str(REPO / "docker" / "base-image.sh"), LOCAL_BASE], timeout=1500)
        if result.returncode != 0:
            raise RuntimeError(
                f"{DEFAULT_BASE} cannot be pulled and docker/base-image.sh failed "
                f"(set PASSERELLE_DOCKER_BASE to a base image):\n"
                f"{_tail(result.stdout + result.stderr)}"
            )
        report.base, report.base_how = LOCAL_BASE, "built now from Debian's packages"
    report.base_seconds = time.monotonic() - started
    return report.base


def build_image(report: BuildReport) -> str:
    """The image under test: built from the repository (or PASSERELLE_DOCKER_IMAGE)."""
    given = os.environ.get("PASSERELLE_DOCKER_IMAGE")
    if given:
        report.base, report.base_how, report.image = "(not used)", "image given", given
    else:
        base = choose_base(report)
        previous = _image_id(IMAGE)
        started = time.monotonic()
        command = ["docker", "build", "--build-arg", f"BASE_IMAGE={base}", "-t", IMAGE, str(REPO)]
        result = _run(command, timeout=1500)
        if result.returncode != 0:
            raise RuntimeError(f"docker build failed:\n{_tail(result.stdout + result.stderr)}")
        report.image, report.build_seconds = IMAGE, time.monotonic() - started
        if previous and previous != _image_id(IMAGE):
            # The last run's image, now untagged: its layers would pile up run after run.
            _run(["docker", "image", "rm", previous], timeout=60)
    size = _run(["docker", "image", "inspect", "-f", "{{.Size}}", report.image], timeout=30)
    if size.returncode != 0:
        raise RuntimeError(f"no image {report.image}: {size.stderr.strip()}")
    report.size_bytes = int(size.stdout.strip())
    return report.image


class NoAnswer(AssertionError):
    """The awaited event did not come in time."""


@dataclass
class Done:
    """A finished docker command."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


async def docker(*args: str, timeout: float = 120, check: bool = True) -> Done:  # noqa: ASYNC109
    """Run `docker ARGS` without blocking the event loop (the tests' clients live on it)."""
    process = await asyncio.create_subprocess_exec(
        "docker",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise TimeoutError(f"docker {' '.join(args)}: not done within {timeout:g} s") from None
    done = Done(args, process.returncode or 0, out.decode(), err.decode())
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done


@dataclass
class DockerBot:
    """One test's world: a bot account, an admin (alice) in a fresh room, and the
    containers and volumes the test starts, removed at the end."""

    synapse: LocalSynapse
    tmp: Path
    image: str
    bot_id: str = ""
    room_id: str = ""
    alice: AsyncClient | None = None
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    containers: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    reply_logs: list[ReplyLog] = field(default_factory=list)

    @property
    def volume(self) -> str:
        """The test's named volume for /data."""
        return f"passerelle-test-{self.tag}"

    async def setup(self) -> None:
        self.bot_id = await self.synapse.register(unique_localpart("passerelle"), BOT_PASSWORD)
        alice_id = await self.synapse.register(
            unique_localpart("alice"), DEFAULT_PASSWORD, admin=True
        )
        self.alice = AsyncClient(self.synapse.base_url, alice_id, config=client_config())
        await self.alice.login(DEFAULT_PASSWORD, device_name="pytest")
        created = await self.alice.room_create(name="Partenariats", invite=[self.bot_id])
        assert isinstance(created, RoomCreateResponse), created
        self.room_id = created.room_id
        await self.alice.sync(timeout=0)  # from here on, alice sees what comes next

    def config(self, database_url: str | None = None) -> Path:
        """A config file as an operator writes it; with no database unless one is given."""
        config: dict[str, Any] = {
            "matrix": {
                "homeserver": self.synapse.base_url,
                "user_id": self.bot_id,
                "password": BOT_PASSWORD,
            },
            "rooms": [{"id": self.room_id, "locale": "en"}],
            "admins": [self.alice_id],
            "sync": {"timeout_ms": 5000},
        }
        if database_url is not None:
            config["database"] = {"url": database_url}
        path = self.tmp / f"config-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o644)  # the container's user reads it through the bind mount
        return path

    @property
    def alice_id(self) -> str:
        assert self.alice is not None
        return str(self.alice.user_id)

    def _new_container(self) -> str:
        name = f"passerelle-test-{self.tag}-{len(self.containers)}"
        self.containers.append(name)  # removed at the end, whatever happens
        return name

    async def run_once(self, config: Path, *options: str, timeout: float = 30) -> Done:  # noqa: ASYNC109
        """`docker run` the image in the foreground with this config, until the bot exits."""
        name = self._new_container()
        return await docker(
            "run",
            "--name",
            name,
            "--network",
            "host",
            "-v",
            f"{config}:/config/config.yaml:ro",
            *options,
            self.image,
            timeout=timeout,
            check=False,
        )

    async def run(self, config: Path, *options: str) -> str:
        """`docker run -d` the image with this config and the test's volume; its name."""
        name = self._new_container()
        if self.volume not in self.volumes:
            self.volumes.append(self.volume)
        await docker(
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "host",
            "-v",
            f"{self.volume}:/data",
            "-v",
            f"{config}:/config/config.yaml:ro",
            *options,
            self.image,
        )
        return name

    async def logs(self, container: str) -> str:
        done = await docker("logs", container, check=False)
        return done.stdout + done.stderr

    async def watch(self, container: str, wait: Any, what: str) -> Any:
        """Await `wait`, failing at once (with the log) if the container stops first."""
        task = asyncio.ensure_future(wait)
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=1)
                if task.done():
                    break
                state = await docker("inspect", "-f", "{{.State.Running}}", container)
                if state.stdout.strip() != "true":
                    raise AssertionError(
                        f"{container} stopped while waiting for {what}:\n"
                        f"{_tail(await self.logs(container))}"
                    )
            return task.result()
        except TimeoutError as exc:
            raise NoAnswer(
                f"{what}: {exc or 'nothing within the time allowed'}; {container}'s log:\n"
                f"{_tail(await self.logs(container))}"
            ) from None
        finally:
            task.cancel()

    async def joined(self, container: str) -> None:
        """Wait until the bot has joined the room (a command before that is history)."""
        assert self.alice is not None

        def is_join(event: Any) -> bool:
            source = getattr(event, "source", {})
            return (
                source.get("type") == "m.room.member"
                and source.get("state_key") == self.bot_id
                and source.get("content", {}).get("membership") == "join"
            )

        await self.watch(
            container,
            wait_for_event(self.alice, self.room_id, is_join, timeout=START_TIMEOUT),
            "the bot to join the room",
        )

    async def ready(self, container: str) -> None:
        """Wait until a new bot answers. Events from before its first sync are history
        to it, and the join comes before that sync: `!help` until one is answered."""
        await self.joined(container)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                await self.ask(container, "!help", timeout=3)
                return
            except NoAnswer:
                if time.monotonic() > deadline:
                    raise

    async def send(self, body: str) -> str:
        """Send a message as alice; its event id."""
        assert self.alice is not None
        sent = await self.alice.room_send(
            self.room_id, "m.room.message", {"msgtype": "m.text", "body": body}
        )
        assert isinstance(sent, RoomSendResponse), sent
        return str(sent.event_id)

    async def ask(self, container: str, body: str, timeout: float = START_TIMEOUT) -> str:  # noqa: ASYNC109
        """Send a command as alice; the body of the bot's reply to it."""
        event_id = await self.send(body)

        def is_reply(event: Any) -> bool:
            source = getattr(event, "source", {})
            relates = source.get("content", {}).get("m.relates_to", {})
            return (
                source.get("sender") == self.bot_id
                and relates.get("m.in_reply_to", {}).get("event_id") == event_id
            )

        reply = await self.watch(
            container,
            wait_for_event(self.alice, self.room_id, is_reply, timeout=timeout),
            f"the answer to {body!r}",
        )
        return str(reply.source["content"]["body"])

    async def follow_replies(self) -> ReplyLog:
        """The bot's posts in the room from now on, counted by the command they answer.
        Its own client on alice's login, so that `ask` keeps alice's sync position."""
        assert self.alice is not None
        client = AsyncClient(self.synapse.base_url, self.alice.user_id, config=client_config())
        client.restore_login(self.alice.user_id, self.alice.device_id, self.alice.access_token)
        log = ReplyLog(client, self.room_id, self.bot_id)
        self.reply_logs.append(log)  # stopped and closed at the end
        first = await client.sync(timeout=0, sync_filter=log.filter)
        assert isinstance(first, SyncResponse), first
        log.task = asyncio.create_task(log._loop())  # as `ReplyLog.open` does for a BotWorld
        return log

    async def replies(
        self,
        container: str,
        log: ReplyLog,
        commands: list[str],
        count: int | None = None,
        timeout: float = START_TIMEOUT,  # noqa: ASYNC109
    ) -> None:
        """Wait until `count` (default: all) of `commands` have a reply, failing at once
        (with the log) if the container stops first. `commands` may still be growing."""
        wanted = len(commands) if count is None else count

        async def enough() -> None:
            try:
                await log.wait_for_replies_to(commands, wanted, timeout=timeout)
            except AssertionError as exc:
                raise TimeoutError(str(exc)) from None

        await self.watch(container, enough(), f"replies to {wanted} commands")

    async def history(self) -> list[dict[str, Any]]:
        """Every event of the room, oldest first, read with /messages (not /sync)."""
        assert self.alice is not None
        return await room_history(self.synapse.base_url, self.alice.access_token, self.room_id)

    async def kill(self, container: str) -> None:
        """`docker kill`: SIGKILL, wherever the bot is, as in a crash; returns once the
        container is down."""
        await docker("kill", container)
        done = await docker("wait", container)
        assert done.stdout.strip() == "137", f"{container} exited with {done.stdout.strip()}"

    async def copy_data(self, container: str) -> Path:
        """A copy of the container's /data, read on the host (the container stopped)."""
        copy = self.tmp / f"data-{uuid.uuid4().hex[:6]}"
        await docker("cp", f"{container}:/data", str(copy))
        return copy

    async def devices(self) -> list[dict[str, Any]]:
        """The bot account's devices, through Synapse's admin API (alice is an admin)."""
        assert self.alice is not None
        url = f"{self.synapse.base_url}/_synapse/admin/v2/users/{self.bot_id}/devices"
        headers = {"Authorization": f"Bearer {self.alice.access_token}"}
        async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
            assert r.status == 200, await r.text()
            body = await r.json()
        return list(body["devices"])

    async def close(self) -> None:
        for log in self.reply_logs:
            await log.stop()
            await log.client.close()
        for container in self.containers:
            await docker("rm", "-f", "-v", container, check=False)
        for volume in self.volumes:
            await docker("volume", "rm", "-f", volume, check=False)
        if self.alice is not None:
            await self.alice.close()
