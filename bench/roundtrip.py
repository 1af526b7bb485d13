"""Passerelle's command path against the limit of this machine: a bare matrix-nio bot
that echoes each command, on the same throwaway Synapse, measured side by side.

    .venv/bin/python bench/roundtrip.py [--pg-url postgresql+asyncpg://...] [--rounds 100]

It starts a throwaway Synapse on 127.0.0.1 (rate limits raised), a bare echo bot and
Passerelle (each its own process, each in its own room), and a user client that
alternates between them, so both see the same load:

- round trip: `!help` and `!partner show NAME` (on a book of 1,000 partners), time
  from the user's send to the reply reaching the user's sync; p50, p95, p99 and the
  ratio to the echo bot;
- burst: 500 commands sent back to back; time to the last reply;
- catch-up: 1,000 commands sent while Passerelle is stopped; time from its start to the
  last reply, each answered once;
- memory: Passerelle's resident memory after the burst, and after loading 10,000
  partners;
- where the time goes: the steps of one command, from Passerelle's own timestamps.

It prints Markdown tables. It talks only to the homeserver it started (it checks the
server's signing key against the one it generated), and stops its processes and
removes its files on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from nio import AsyncClient, AsyncClientConfig, RoomCreateResponse, RoomSendResponse, SyncResponse
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.homeserver import LocalSynapse
from storage.db import Database
from storage.models import InboxEvent, OutboxEvent
from storage.repos.partners import PartnerRepository

ROOT = Path(__file__).resolve().parents[1]
VERBOSE = ["-v"] if os.environ.get("BENCH_VERBOSE") else []

PASSWORD = "bench-password"
SYNC_FILTER = {"room": {"timeline": {"limit": 1000}}}
TARGETS = {"p50": 1.15, "p95": 1.30, "burst": 0.90, "catchup_s": 30.0, "rss_mb": 150.0}


def client_config() -> AsyncClientConfig:
    return AsyncClientConfig(
        encryption_enabled=False, store_sync_tokens=False, max_limit_exceeded=0, max_timeouts=2
    )


# --- The bare echo bot (run in its own process: `roundtrip.py --echo-bot ...`).


async def echo_bot(homeserver: str, user_id: str, room_id: str) -> None:
    """Reply to each command in the room with a notice, as a minimal bot would."""
    client = AsyncClient(homeserver, user_id, config=client_config())
    await client.login(PASSWORD, device_name="echo")
    first = await client.sync(timeout=0, sync_filter=SYNC_FILTER)
    assert isinstance(first, SyncResponse), first
    since = first.next_batch
    print("ready", flush=True)
    while True:
        response = await client.sync(timeout=30_000, since=since, sync_filter=SYNC_FILTER)
        if not isinstance(response, SyncResponse):
            await asyncio.sleep(0.2)
            continue
        since = response.next_batch
        room = response.rooms.join.get(room_id)
        for event in room.timeline.events if room else ():
            source = event.source
            body = source.get("content", {}).get("body", "")
            if source.get("sender") == user_id or not str(body).startswith("!"):
                continue
            await client.room_send(
                room_id,
                "m.room.message",
                {
                    "msgtype": "m.notice",
                    "body": f"echo {body}",
                    "m.relates_to": {"m.in_reply_to": {"event_id": source["event_id"]}},
                },
                tx_id=uuid.uuid4().hex,
            )


# --- The user's side: send, and watch the replies arrive.


@dataclass
class Watcher:
    """Syncs as the user and notes when each reply (by the command it answers) arrives."""

    client: AsyncClient
    bots: set[str]
    arrived: dict[str, float] = field(default_factory=dict)
    arrived_wall: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        first = await self.client.sync(timeout=0, sync_filter=SYNC_FILTER)
        assert isinstance(first, SyncResponse), first
        self.task = asyncio.create_task(self._loop(first.next_batch))

    async def _loop(self, since: str) -> None:
        while True:
            response = await self.client.sync(timeout=30_000, since=since, sync_filter=SYNC_FILTER)
            now, wall = time.perf_counter(), time.time()
            if not isinstance(response, SyncResponse):
                await asyncio.sleep(0.1)
                continue
            since = response.next_batch
            for room in response.rooms.join.values():
                for event in room.timeline.events:
                    source = event.source
                    if source.get("sender") not in self.bots:
                        continue
                    relates = source.get("content", {}).get("m.relates_to", {})
                    target = relates.get("m.in_reply_to", {}).get("event_id")
                    if target:
                        self.arrived.setdefault(target, now)
                        self.arrived_wall.setdefault(target, wall)
                        self.counts[target] = self.counts.get(target, 0) + 1
            self.changed.set()

    async def wait_for(self, event_ids: list[str], timeout: float) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while not all(e in self.arrived for e in event_ids):
                self.changed.clear()
                await self.changed.wait()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


SENT_WALL: dict[str, float] = {}  # event id -> wall-clock time its send began


async def send(client: AsyncClient, room_id: str, body: str) -> tuple[str, float]:
    """Send a command; return its event id and when the send began."""
    started, wall = time.perf_counter(), time.time()
    response = await client.room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": body}, tx_id=uuid.uuid4().hex
    )
    assert isinstance(response, RoomSendResponse), response
    SENT_WALL[str(response.event_id)] = wall
    return str(response.event_id), started


# --- The bench.


@dataclass
class Process:
    """A child process (a bot), stopped on the way out whatever happens."""

    name: str
    args: list[str]
    log: Path
    cwd: Path
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.args,
                cwd=self.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env={k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE__")},
            )

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    def cpu_seconds(self) -> float:
        assert self.process is not None
        return cpu_of(self.process.pid)

    def rss_mb(self) -> float:
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        return kb / 1024


def _holds(path: Path, text: str) -> bool:
    return path.exists() and text in path.read_text()


async def wait_for_file_text(path: Path, text: str, timeout: float = 60) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not await asyncio.to_thread(_holds, path, text):  # noqa: ASYNC110
            await asyncio.sleep(0.1)


async def wait_for_first_sync(url: str, timeout: float = 60) -> None:  # noqa: ASYNC109
    """Until the bot has stored a sync token: what is sent before that is not replayed."""
    db = Database(url)
    try:
        async with asyncio.timeout(timeout):
            while True:
                async with db.unit_of_work() as uow:
                    if await uow.state.get("sync_token"):
                        return
                await asyncio.sleep(0.1)
    finally:
        await db.dispose()


def cpu_of(pid: int) -> float:
    """CPU time a process used so far (user and system), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def check_throwaway(synapse: LocalSynapse) -> None:
    """Refuse to go on unless the server answering is the one started here: on
    loopback, and accepting a registration signed with the shared secret generated in
    our data folder (no other server knows it)."""
    if not synapse.base_url.startswith("http://127.0.0.1:"):
        raise SystemExit(f"{synapse.base_url} is not the throwaway server: refusing to run")
    try:
        await synapse.register(f"probe-{uuid.uuid4().hex[:6]}", PASSWORD)
    except Exception as exc:
        raise SystemExit(
            f"the homeserver at {synapse.base_url} is not the throwaway one ({exc}): "
            "refusing to run"
        ) from None


@dataclass
class Bench:
    work: Path
    pg_url: str | None
    rounds: int
    burst: int
    catchup: int
    synapse_dir: Path
    synapse: LocalSynapse = field(init=False)
    children: list[Process] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    timed: list[str] = field(default_factory=list)  # Passerelle's round-trip commands

    async def run(self) -> None:
        self.synapse = LocalSynapse(self.synapse_dir)
        await self.synapse.start()
        try:
            await check_throwaway(self.synapse)
            await self.measure()
        finally:
            for child in self.children:
                await child.stop()
            await self.synapse.stop()

    async def account(self, name: str) -> str:
        return await self.synapse.register(f"{name}-{uuid.uuid4().hex[:6]}", PASSWORD)

    async def room_with(self, user: AsyncClient, bot_id: str) -> str:
        created = await user.room_create(invite=[bot_id])
        assert isinstance(created, RoomCreateResponse), created
        return str(created.room_id)

    async def measure(self) -> None:
        user_id = await self.account("user")
        echo_id = await self.account("echo")
        bot_id = await self.account("passerelle")
        user = AsyncClient(self.synapse.base_url, user_id, config=client_config())
        await user.login(PASSWORD, device_name="bench")
        try:
            echo_room = await self.room_with(user, echo_id)
            bot_room = await self.room_with(user, bot_id)
            await self._join(echo_id, echo_room)
            watcher = Watcher(user, {echo_id, bot_id})
            await watcher.start()
            echo = Process(
                "echo",
                [sys.executable, __file__, "--echo-bot", self.synapse.base_url, echo_id, echo_room],
                self.work / "echo.log",
                self.work,
            )
            self.children.append(echo)
            await echo.start()
            await wait_for_file_text(echo.log, "ready")
            backends = [("SQLite", f"sqlite+aiosqlite:///{self.work / 'bot.db'}")]
            if self.pg_url:
                backends.append(("PostgreSQL", await self._pg_database()))
            for label, url in backends:
                await self._measure_backend(
                    label, url, user, watcher, bot_id, bot_room, echo_room, echo
                )
            await watcher.stop()
        finally:
            await user.close()
        print(self.table())

    async def _join(self, user_id: str, room_id: str) -> None:
        client = AsyncClient(self.synapse.base_url, user_id, config=client_config())
        await client.login(PASSWORD, device_name="join")
        await client.join(room_id)
        await client.close()

    async def _pg_database(self) -> str:
        import asyncpg  # type: ignore[import-untyped]

        assert self.pg_url is not None
        url = make_url(self.pg_url)
        name = f"passerelle_bench_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, database=url.database
        )
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return url.set(database=name).render_as_string(hide_password=False)

    async def _seed(self, url: str, room_id: str, count: int, first: int = 0) -> None:
        db = Database(url)
        try:
            await db.upgrade(default_group=room_id)
            async with db.unit_of_work() as uow:
                await uow.repo(PartnerRepository, room_id).create_many(
                    [
                        {
                            "name": f"Partenaire {n:05d}",
                            "kind": "company",
                            "status": "contacted",
                            "tags": ["bois", "outils"],
                            "description": f"Atelier numéro {n} du réseau",
                        }
                        for n in range(first, first + count)
                    ],
                    actor="@bench:localhost",
                    now=__import__("datetime").datetime.now(__import__("datetime").UTC),
                    source="import",
                )
        finally:
            await db.dispose()

    def _config(self, label: str, url: str, bot_id: str, room_id: str, user_id: str) -> Path:
        path = self.work / f"config-{label}.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "matrix": {
                        "homeserver": self.synapse.base_url,
                        "user_id": bot_id,
                        "password": PASSWORD,
                    },
                    "rooms": [{"id": room_id, "locale": "en"}],
                    "admins": [user_id],
                    "database": {"url": url},
                    # The command path alone: no join rule to set in the bench's room.
                    "members": {"knock_join_rule": False},
                }
            )
        )
        return path

    async def _measure_backend(
        self,
        label: str,
        url: str,
        user: AsyncClient,
        watcher: Watcher,
        bot_id: str,
        bot_room: str,
        echo_room: str,
        echo: Process,
    ) -> None:
        await self._seed(url, bot_room, 1000)
        config = self._config(label, url, bot_id, bot_room, user.user_id)
        bot = Process(
            f"passerelle-{label}",
            [sys.executable, "-m", "bot.cli", *VERBOSE, "run", "--config", str(config)],
            self.work / f"passerelle-{label}.log",
            ROOT,
        )
        self.children.append(bot)
        await bot.start()
        await wait_for_first_sync(url)
        # Warm up both (first replies load code and caches).
        for room in (bot_room, echo_room):
            warm = [(await send(user, room, "!help"))[0] for _ in range(5)]
            await watcher.wait_for(warm, 60)
        for command in ("!help", "!partner show Partenaire 00500"):
            times: dict[str, list[float]] = {"echo": [], "bot": []}
            for number in range(self.rounds):
                order = [("bot", bot_room), ("echo", echo_room)]
                if number % 2:
                    order.reverse()  # neither always goes first
                for who, room in order:
                    event_id, started = await send(user, room, command)
                    await watcher.wait_for([event_id], 30)
                    times[who].append((watcher.arrived[event_id] - started) * 1000)
                    if who == "bot":
                        self.timed.append(event_id)
            self._round_trip(label, command, times)
        # Burst: back to back, the echo bot then Passerelle.
        burst: dict[str, float] = {}
        cpu: dict[str, float] = {}
        processes = {"echo": echo, "bot": bot}
        for who, room in (("echo", echo_room), ("bot", bot_room)):
            started, used = time.perf_counter(), processes[who].cpu_seconds()
            ids = [(await send(user, room, "!help"))[0] for _ in range(self.burst)]
            await watcher.wait_for(ids, 300)
            burst[who] = max(watcher.arrived[e] for e in ids) - started
            cpu[who] = (processes[who].cpu_seconds() - used) * 1000 / self.burst
        rss_burst = bot.rss_mb()
        self.rows.append(
            [
                label,
                f"burst of {self.burst}",
                f"{burst['bot']:.1f} s ({cpu['bot']:.1f} ms of CPU a command)",
                f"{burst['echo']:.1f} s ({cpu['echo']:.1f} ms)",
                f"{burst['echo'] / burst['bot']:.2f}× (throughput)",
                f"≥ {TARGETS['burst']}×",
            ]
        )
        # Catch-up: commands sent while the bot is stopped.
        await bot.stop()
        ids = [(await send(user, bot_room, "!whoami"))[0] for _ in range(self.catchup)]
        started = time.perf_counter()
        await bot.start()
        await watcher.wait_for(ids, 300)
        took = max(watcher.arrived[e] for e in ids) - started
        await asyncio.sleep(2)  # anything answered twice would arrive by now
        twice = sum(1 for e in ids if watcher.counts.get(e, 0) != 1)
        self.rows.append(
            [
                label,
                f"catch-up of {self.catchup}",
                f"{took:.1f} s",
                "",
                f"{twice} not answered exactly once",
                f"< {TARGETS['catchup_s']:.0f} s",
            ]
        )
        # Memory: after the burst, then with 10,000 partners loaded and searched.
        await self._seed(url, bot_room, 9000, first=1000)
        for command in ("!partner list", "!partner find atelier", "!partner stale"):
            event_id, _ = await send(user, bot_room, command)
            await watcher.wait_for([event_id], 60)
        self.rows.append(
            [
                label,
                "resident memory",
                f"{rss_burst:.0f} MB after the burst, {bot.rss_mb():.0f} MB with 10,000 partners",
                "",
                "",
                f"< {TARGETS['rss_mb']:.0f} MB",
            ]
        )
        await bot.stop()
        self.rows += await self._breakdown(url, watcher)
        self.timed.clear()

    def _round_trip(self, label: str, command: str, times: dict[str, list[float]]) -> None:
        for q, name in ((50, "p50"), (95, "p95"), (99, "p99")):
            mine, echo = percentile(times["bot"], q), percentile(times["echo"], q)
            target = TARGETS.get(name)
            self.rows.append(
                [
                    label,
                    f"`{command}` {name}",
                    f"{mine:.0f} ms",
                    f"{echo:.0f} ms",
                    f"{mine / echo:.2f}×",
                    f"≤ {target}×" if target else "",
                ]
            )

    async def _breakdown(self, url: str, watcher: Watcher) -> list[list[str]]:
        """Where the time of a round trip goes (medians over the round-trip commands),
        from the user's clock and the bot's own records: the server takes the command,
        the bot's sync brings it and it is stored, the work loop picks it up, it is
        handled and its reply sent, and the user's sync brings the reply."""
        db = Database(url)
        try:
            async with db.unit_of_work() as uow:
                rows = (
                    await uow.session.execute(
                        select(
                            InboxEvent.event_id,
                            InboxEvent.origin_ts,
                            InboxEvent.received_at,
                            InboxEvent.processed_at,
                            OutboxEvent.sent_at,
                        )
                        .join(OutboxEvent, OutboxEvent.inbox_id == InboxEvent.id)
                        .where(InboxEvent.event_id.in_(self.timed))
                    )
                ).all()
        finally:
            await db.dispose()
        steps: dict[str, list[float]] = {
            "user's send → the server has it": [],
            "→ the bot's sync brings it, stored": [],
            "→ the work loop picks it up": [],
            "→ handled, committed, reply sent": [],
            "→ the user's sync brings the reply": [],
        }
        for event_id, origin, received, processed, sent in rows:
            if event_id not in SENT_WALL or event_id not in watcher.arrived_wall:
                continue
            points = [
                SENT_WALL[event_id],
                origin.timestamp(),
                received.timestamp(),
                processed.timestamp(),
                sent.timestamp(),
                watcher.arrived_wall[event_id],
            ]
            for values, (a, b) in zip(steps.values(), itertools.pairwise(points), strict=True):
                values.append((b - a) * 1000)
        return [
            ["", step, f"{statistics.median(values):.1f} ms (median)", "", "", ""]
            for step, values in steps.items()
            if values
        ]

    def table(self) -> str:
        header = "| backend | measure | Passerelle | echo bot | ratio | target |\n"
        header += "|---|---|---|---|---|---|\n"
        return header + "\n".join("| " + " | ".join(row) + " |" for row in self.rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", help="also measure Passerelle on this PostgreSQL server")
    parser.add_argument("--rounds", type=int, default=100, help="commands per round trip")
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--catchup", type=int, default=1000)
    parser.add_argument(
        "--synapse-dir",
        help="where the throwaway Synapse keeps its files (default: beside the bench's; "
        "/dev/shm keeps its disk syncs out of the measure)",
    )
    parser.add_argument(
        "--echo-bot", nargs=3, metavar=("URL", "USER", "ROOM"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.echo_bot:
        with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
            asyncio.run(echo_bot(*args.echo_bot))
        return
    with tempfile.TemporaryDirectory(prefix="passerelle-bench-") as folder:
        if os.environ.get("BENCH_KEEP"):
            folder = os.environ["BENCH_KEEP"]
        bench = Bench(
            Path(folder),
            args.pg_url,
            args.rounds,
            args.burst,
            args.catchup,
            synapse_dir=Path(args.synapse_dir or folder) / "synapse",
        )

        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, task.cancel)
            await bench.run()

        try:
            asyncio.run(run())
        except asyncio.CancelledError:
            print("interrupted: processes stopped, files removed", file=sys.stderr)
            raise SystemExit(130) from None


if __name__ == "__main__":
    main()
