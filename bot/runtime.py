"""`passerelle run`: the bot on a homeserver.

Four loops share one database: sync (events and token stored together), work (inbox
-> handlers -> outbox), send (outbox -> homeserver, with backoff), and the scheduler.
Each is a plain loop around one pass, so a crash anywhere loses nothing: the next
start picks up the pending inbox rows and the unsent outbox rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from typing import TypeVar

from bot.app import Bot
from bot.config import AppSettings, require_matrix
from bot.crypto import crypto_store_path
from bot.domains import DOMAINS
from bot.matrix import LoginRefused, MatrixError, MatrixTransport, SyncBatch
from bot.pipeline import SYNC_TOKEN
from bot.tasks import Tasks
from commands.kit.clock import Clock
from commands.kit.domain import Domain
from commands.kit.health import Health
from commands.kit.transport import IncomingEvent
from storage.db import Database, describe, is_outage
from storage.models import OutboxEvent

logger = logging.getLogger(__name__)

ACCESS_TOKEN = "access_token"  # noqa: S105 (a state key, not a secret)
DEVICE_ID = "device_id"
# The device whose encryption keys the crypto store holds (see `_open_crypto`).
CRYPTO_DEVICE = "crypto_device"
MAX_BACKOFF = 30.0
SCHEDULER_IDLE = 60.0
STOP_GRACE = 10.0  # seconds the loops get to finish their pass on a clean stop
FOLD_EVERY = 1.0  # seconds between two foldings of SQLite's write-ahead log

T = TypeVar("T")


DATABASE_MAX_BACKOFF = 5.0  # a database back on its feet is found within seconds


def database_backoff(failures: int) -> float:
    return min(DATABASE_MAX_BACKOFF, sync_backoff(failures))


def sync_backoff(failures: int) -> float:
    """0.5 s, 1, 2, 4 … up to 30 s, with a little jitter so restarts do not align."""
    base = min(MAX_BACKOFF, 0.5 * 2.0 ** max(0, failures - 1))
    jitter: float = random.uniform(0.9, 1.0)  # noqa: S311 (not cryptographic)
    return base * jitter


class Runtime:
    def __init__(
        self,
        settings: AppSettings,
        *,
        clock: Clock | None = None,
        domains: Sequence[Domain] = DOMAINS,
    ) -> None:
        self.settings = settings
        self.matrix_settings = require_matrix(settings)
        # On SQLite the log is folded into the file by `_fold_loop`, not by a commit.
        db = Database(settings.database.url, background_checkpoints=True)
        self.bot = Bot(settings, clock=clock, db=db, domains=domains)
        self.services = self.bot.services
        self.clock = self.services.clock
        self.health = Health(unhealthy_after=timedelta(seconds=settings.sync.unhealthy_after))
        self.health.connected = True
        self.services.health = self.health
        self.transport = MatrixTransport(
            self.matrix_settings,
            sync_timeout_ms=settings.sync.timeout_ms,
            crypto_store=crypto_store_path(
                self.matrix_settings.crypto_store, settings.database.url
            ),
        )
        self.services.media = self.transport
        self.bot.pipeline.decryptor = self.transport
        self.bot.pipeline.key_wait = timedelta(seconds=self.matrix_settings.key_wait)
        self.sender = self.bot.sender(self.transport)
        self.tasks = Tasks()
        self.work = asyncio.Event()  # events stored: the work loop has something to handle
        self.outgoing = asyncio.Event()  # rows committed to the outbox: something to send
        self.bot.pipeline.committed = self._committed
        self.synced = asyncio.Event()  # set after the first successful sync
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    def _committed(self, rows: Sequence[OutboxEvent]) -> None:
        """An event's handling committed: hand its messages to the sender, wake it."""
        self.sender.hand_over(rows)
        self.outgoing.set()

    async def run(self) -> None:
        """Run until `stop()` or cancellation; a failing loop stops the bot loudly."""
        try:
            if not await self._start_database():
                return
            self.health.started_at = self.clock.now()
            if not await self._login():
                return
            await self._open_crypto()
            await self._join_configured_rooms()
            self.tasks.spawn(self._sync_loop(), "sync")
            self.tasks.spawn(self._work_loop(), "work")
            self.tasks.spawn(self._send_loop(), "send")
            self.tasks.spawn(self._scheduler_loop(), "scheduler")
            if self.services.db.background_checkpoints:
                self.tasks.spawn(self._fold_loop(), "checkpoint")
            stop = asyncio.create_task(self._stop.wait())
            failed = asyncio.create_task(self.tasks.failed.wait())
            try:
                await asyncio.wait({stop, failed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop.cancel()
                failed.cancel()
            if self.tasks.failed.is_set():
                raise RuntimeError("a background loop failed; see the log")
            # A clean stop: the loops finish the pass they are in (a transaction is
            # never cut in half) and leave; only a loop stuck on the network is cut.
            self._stop.set()
            self.work.set()
            self.outgoing.set()
            await self.tasks.wait_all(timeout=STOP_GRACE)
        finally:
            await self.tasks.cancel_all()
            await self.transport.close()
            await self.bot.close()

    async def _start_database(self) -> bool:
        """Upgrade the schema, waiting for the database while it is away (one line per
        try); False if asked to stop before it came."""
        failures = 0
        while not self._stop.is_set():
            try:
                await self.bot.start()
                if failures:
                    logger.warning("the database is reachable; starting")
                return True
            except Exception as exc:
                if not is_outage(exc):
                    raise
                failures += 1
                delay = database_backoff(failures)
                logger.warning(
                    "the database is unreachable (%s); next try in %.1f s", describe(exc), delay
                )
                await self._pause(delay)
        return False

    async def _survive_database(self, loop: str, exc: Exception) -> None:
        """A pass failed: if the database is away, say so, mark the bot unhealthy and
        wait before the next pass (the work is still there: nothing was committed).
        Any other error stops the bot loudly, as before."""
        if not is_outage(exc):
            raise exc
        self.health.database_failed(describe(exc))
        delay = database_backoff(self.health.database_failures)
        logger.warning(
            "%s: the database is unreachable (%s); next try in %.1f s", loop, describe(exc), delay
        )
        await self._pause(delay)

    def _database_back(self) -> None:
        if self.health.database_failures:
            logger.warning("the database is reachable again")
            self.health.database_ok()

    async def _pause(self, seconds: float, wake: asyncio.Event | None = None) -> None:
        """Sleep, but wake up at once on stop (or on `wake`)."""
        events = [self._stop] + ([wake] if wake is not None else [])
        waiters = [asyncio.create_task(e.wait()) for e in events]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _unless_stopped(self, call: Awaitable[T]) -> T | None:
        """Await a network call, abandoning it (None) if the bot is asked to stop."""
        task = asyncio.ensure_future(call)
        stop = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()  # cancelled from outside (abrupt stop): do not leave it running
            raise
        finally:
            stop.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return None

    async def _login(self) -> bool:
        """Log in (reusing the stored device); False if asked to stop before it could."""
        async with self.services.db.unit_of_work() as uow:
            token = await uow.state.get(ACCESS_TOKEN)
            device = await uow.state.get(DEVICE_ID)
        failures = 0
        while True:
            try:
                token, device = await self.transport.login(token, device)
                break
            except LoginRefused:
                raise
            except MatrixError as exc:
                failures += 1
                logger.warning("cannot reach the homeserver to log in: %s", exc)
                await self._pause(sync_backoff(failures))
                if self._stop.is_set():
                    return False
        async with self.services.db.unit_of_work() as uow:
            await uow.state.set(ACCESS_TOKEN, token, now=self.clock.now())
            await uow.state.set(DEVICE_ID, device, now=self.clock.now())
        logger.info("logged in as %s on device %s", self.transport.user_id, device)
        return True

    async def _open_crypto(self) -> None:
        """Open the device's crypto store, refusing to go on if the keys of a device that
        had some are gone (CryptoStoreLost, one line: see bot.crypto), then publish the
        device's keys so that members' clients can encrypt for it."""
        device = self.transport.client.device_id
        async with self.services.db.unit_of_work() as uow:
            known = await uow.state.get(CRYPTO_DEVICE)
        await self.transport.open_crypto(known_device=known == device)
        if known != device:
            async with self.services.db.unit_of_work() as uow:
                await uow.state.set(CRYPTO_DEVICE, device, now=self.clock.now())
        await self._keep_keys()

    async def _keep_keys(self) -> None:
        """Key upkeep after a sync; a failure is logged and tried again after the next."""
        try:
            await self.transport.keep_keys()
        except MatrixError as exc:
            logger.warning("encryption keys: %s; trying again after the next sync", exc)

    async def _join_configured_rooms(self) -> None:
        try:
            joined = await self.transport.joined_rooms()
        except MatrixError as exc:
            logger.warning("cannot list joined rooms yet: %s", exc)
            return
        for room in self.settings.rooms:
            if room.id not in joined:
                await self.transport.join(room.id)
        async with self.services.db.unit_of_work() as uow:
            rooms = [room.id for room in self.settings.rooms] + list(await uow.rooms.ids())
        for room_id in dict.fromkeys(rooms):
            await self._learn_members(room_id)

    async def _learn_members(self, room_id: str) -> None:
        """Who is in a group room now (membership events keep it up to date afterwards):
        a direct message acts for the group whose room its sender is in."""
        try:
            members = await self.transport.members(room_id)
        except MatrixError as exc:
            logger.warning("cannot list the members of %s yet: %s", room_id, exc)
            return
        try:
            async with self.services.db.unit_of_work() as uow:
                for user_id, name in members.items():
                    if await uow.room_members.membership(room_id, user_id) != "join":
                        await uow.room_members.set(
                            room_id, user_id, "join", now=self.clock.now(), display_name=name
                        )
        except Exception as exc:
            if not is_outage(exc):
                raise
            logger.warning("cannot record the members of %s yet: %s", room_id, describe(exc))

    def allowed_rooms(self, joined_by_invite: set[str]) -> set[str]:
        """The configured rooms, those an admin invited the bot to (they have a row), and
        the direct-message rooms."""
        return {room.id for room in self.settings.rooms} | joined_by_invite

    async def _known_rooms(self) -> set[str]:
        async with self.services.db.unit_of_work() as uow:
            return set(await uow.rooms.ids()) | set(await uow.direct_rooms.room_ids())

    async def _sync_loop(self) -> None:
        async with self.services.db.unit_of_work() as uow:
            since = await uow.state.get(SYNC_TOKEN)
        invited_rooms = await self._known_rooms()
        while not self._stop.is_set():
            self.health.sync_requests += 1
            try:
                batch = await self._unless_stopped(self.transport.sync(since))
            except MatrixError as exc:
                self.health.sync_failed(str(exc))
                delay = sync_backoff(self.health.consecutive_failures)
                logger.warning("sync failed (%s); next try in %.1fs", exc, delay)
                await self._pause(delay)
                continue
            if batch is None:
                return
            try:
                stored = time.perf_counter()
                events = await self._store(batch, invited_rooms)
                if events:
                    logger.debug(
                        "stored %d events in %.1f ms",
                        len(events),
                        (time.perf_counter() - stored) * 1000,
                    )
            except Exception as exc:
                # Not stored: the token stays where it was, and the next sync from it
                # brings these events again.
                await self._survive_database("sync", exc)
                continue
            self._database_back()
            since = batch.next_batch
            self.health.sync_ok(self.clock.now())
            self.synced.set()
            if batch.room_keys:
                self.bot.pipeline.room_keys_arrived()
            if events or (batch.room_keys and self.bot.pipeline.waiting):
                self.work.set()  # new events, or keys some waiting events may need
            await self._keep_keys()

    async def _store(self, batch: SyncBatch, invited_rooms: set[str]) -> list[IncomingEvent]:
        """Accept invitations and store the batch's events with its token."""
        await self._accept_invites(batch, invited_rooms)
        allowed = self.allowed_rooms(invited_rooms)
        if any(e.room_id not in allowed for e in batch.events):
            # A direct-message room the sender opened since: read them again.
            invited_rooms |= await self._known_rooms()
            allowed = self.allowed_rooms(invited_rooms)
        events = [e for e in batch.events if e.room_id in allowed]
        await self.bot.pipeline.ingest(events, sync_token=batch.next_batch)
        return events

    async def _accept_invites(self, batch: SyncBatch, invited_rooms: set[str]) -> None:
        for room_id, invite in batch.invites.items():
            inviter = invite.inviter
            if invite.direct:
                # Anyone may talk to the bot in private; what it tells them there is
                # limited to the groups they are in.
                if await self.transport.join(room_id):
                    invited_rooms.add(room_id)
                    async with self.services.db.unit_of_work() as uow:
                        await uow.direct_rooms.record(inviter, room_id, now=self.clock.now())
                        await uow.room_members.set(room_id, inviter, "join", now=self.clock.now())
                    self.services.forget_direct_rooms()
                    logger.info("joined a direct-message room with %s", inviter)
                continue
            if inviter not in self.settings.admins:
                logger.warning(
                    "ignoring an invitation to %s from %s (not an admin)", room_id, inviter
                )
                # The moderators see it in `!audit`: someone tried to bring the bot along.
                async with self.services.db.unit_of_work() as uow:
                    await uow.audit.record(
                        actor=inviter,
                        action="bot.invite_ignored",
                        now=self.clock.now(),
                        room_id=room_id,
                        group=self.settings.default_group,
                    )
                continue
            if await self.transport.join(room_id):
                invited_rooms.add(room_id)
                async with self.services.db.unit_of_work() as uow:
                    if await uow.rooms.get(room_id) is None:
                        await uow.rooms.save(
                            room_id,
                            locale=self.settings.locale,
                            timezone=self.settings.timezone,
                            now=self.clock.now(),
                        )
                self.services.forget_room(room_id)
                logger.info("joined %s, invited by %s", room_id, inviter)
                await self._learn_members(room_id)

    async def _work_loop(self) -> None:
        """Handle what the sync loop stored; each committed event wakes the sender, so
        a reply goes out while the next command is being handled."""
        while not self._stop.is_set():
            self.work.clear()
            try:
                await self.bot.pipeline.process_pending()
            except Exception as exc:
                await self._survive_database("work", exc)
                continue
            self._database_back()
            wait = SCHEDULER_IDLE
            deadline = self.bot.pipeline.next_key_deadline()
            if deadline is not None:  # an event waits for its room key until then
                wait = min(wait, max(0.05, (deadline - self.clock.now()).total_seconds()))
            await self._pause(wait, self.work)

    async def _send_loop(self) -> None:
        """Send what was committed to the outbox, and retry what failed when it is due."""
        while not self._stop.is_set():
            self.outgoing.clear()
            try:
                await self.sender.flush()
                wait = await self._seconds_to_next_send()
            except Exception as exc:
                await self._survive_database("send", exc)
                continue
            self._database_back()
            await self._pause(wait, self.outgoing)

    async def _seconds_to_next_send(self) -> float:
        next_attempt = await self.sender.next_attempt()
        if next_attempt is None:
            return SCHEDULER_IDLE
        return max(0.05, (next_attempt - self.clock.now()).total_seconds())

    async def _fold_loop(self) -> None:
        """SQLite: fold the write-ahead log into the database file every second, in the
        background; no command's commit waits for it. A fold that fails is tried again
        at the next one (what it would fold is still in the log, which is durable)."""
        while not self._stop.is_set():
            await self._pause(FOLD_EVERY)
            if self._stop.is_set():
                break
            try:
                await self.services.db.fold_log()
            except Exception as exc:
                if is_outage(exc):
                    continue  # the other loops say so, and mark the bot unhealthy
                logger.warning("folding the database's log failed: %s", describe(exc))

    async def _scheduler_loop(self) -> None:
        while not self._stop.is_set():
            try:
                if await self.bot.scheduler.run_due(self.clock.now()):
                    self.outgoing.set()
                due = await self.bot.scheduler.next_due()
            except Exception as exc:
                await self._survive_database("scheduler", exc)
                continue
            wait = SCHEDULER_IDLE
            if due is not None:
                wait = min(SCHEDULER_IDLE, max(0.05, (due - self.clock.now()).total_seconds()))
            await self._pause(max(wait, self.bot.scheduler.backoff()))
