"""The path of one event: inbox -> handlers -> outbox, each step one transaction.

A text command goes to the registry; every other event (a reaction, a poll response,
a membership change, ...) goes to the handlers the domains declared for its type. The
handlers' writes, their messages and actions (outbox rows) and the inbox mark commit
together, so an event is handled exactly once whatever fails.

An encrypted event is decrypted when its turn comes (`decryptor`, the transport) and
then handled as any other; its clear content is kept with its mark. One whose room
key has not arrived waits (status "waiting"), and so do its room's later events, so
that a room's events are always handled in order; its sender is told privately if
the key has not come after `key_wait`.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from bot.crypto import ENCRYPTED, Decryptor, Unreadable
from commands.kit.context import Context
from commands.kit.dispatch import dispatch, route, typed_event
from commands.kit.events import MEMBERSHIP, Membership
from commands.kit.services import Services
from commands.kit.transport import IncomingEvent
from storage.db import is_outage
from storage.models import InboxEvent, InboxStatus, OutboxEvent
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

SYNC_TOKEN = "sync_token"  # noqa: S105 (a state key, not a secret)


def thread_root(content: dict[str, Any]) -> str | None:
    relates = content.get("m.relates_to") or {}
    if relates.get("rel_type") == "m.thread":
        root = relates.get("event_id")
        return root if isinstance(root, str) else None
    return None


def is_edit(content: dict[str, Any]) -> bool:
    relates = content.get("m.relates_to") or {}
    return relates.get("rel_type") == "m.replace"


BATCH = 50  # pending events read at once
KEY_WAIT = timedelta(seconds=30)  # see matrix.key_wait


class Pipeline:
    """Stores events, then handles them.

    The database is the truth: what is stored and not handled is pending, and is
    handled at the next pass, after a crash too. Two hand-overs in memory save reading
    back what was just written: the rows `ingest` stored are queued for the work loop,
    and the outbox rows an event's handling committed are passed to `committed` (the
    runtime's sender). Both are only shortcuts: a row handled or sent once is marked,
    and never handled or sent twice.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        # Called with the outbox rows each event's transaction committed.
        self.committed: Callable[[Sequence[OutboxEvent]], None] | None = None
        self.ready: deque[InboxEvent] = deque()
        self.handled_up_to = 0  # the highest inbox id handled by this process
        # Reads encrypted events (the Matrix transport); without it they are ignored.
        self.decryptor: Decryptor | None = None
        self.key_wait = KEY_WAIT
        # Rooms whose oldest unhandled event waits for its room key, and when that wait
        # ends; None until read from the database.
        self.waiting: dict[str, datetime] | None = None
        self._unblocked = False  # a room stopped waiting: its held-back events are due
        self._new_keys = False  # room keys came since the waiting events were last tried

    async def ingest(
        self, events: Sequence[IncomingEvent], *, sync_token: str | None = None
    ) -> int:
        """Store events and the sync token that brought them, in one transaction."""
        now = self.services.clock.now()
        added = 0
        async with self.services.db.unit_of_work() as uow:
            for event in events:
                added += await uow.inbox.add(
                    event_id=event.event_id,
                    room_id=event.room_id,
                    sender=event.sender,
                    event_type=event.event_type,
                    content=event.content,
                    origin_ts=event.origin_ts,
                    now=now,
                    state_key=event.state_key,
                )
            if sync_token is not None:
                await uow.state.set(SYNC_TOKEN, sync_token, now=now)
            stored = list(uow.inbox.added)
        self.ready.extend(stored)
        return added

    async def process_pending(self) -> int:
        """Handle every pending inbox row, oldest first. Returns how many were handled.

        Nothing but the sync loop adds rows, and it wakes the work loop when it does:
        a batch smaller than BATCH was everything there was.
        """
        handled = 0
        if self.decryptor is not None and self._retry_due():
            handled += await self._retry_waiting()
        try:
            while self.ready:
                row = self.ready.popleft()
                if row.id > self.handled_up_to and not self._held(row.room_id):
                    await self.process(row)
                    handled += 1
        except BaseException:
            self.ready.clear()  # read them back from the database next time
            raise
        if handled and not self._unblocked:
            return handled
        self._unblocked = False
        while True:
            async with self.services.db.unit_of_work() as uow:
                rows = await uow.inbox.pending(limit=BATCH, besides_rooms=self.waiting or ())
            for row in rows:
                if self._held(row.room_id):
                    continue  # an earlier event of its room just started waiting
                await self.process(row)
                handled += 1
            if len(rows) < BATCH:
                return handled

    # --- Encrypted events: decrypted in turn, or waiting for their key.

    def _held(self, room_id: str) -> bool:
        """Whether a room's events wait behind one waiting for its room key."""
        return bool(self.waiting) and room_id in (self.waiting or {})

    def room_keys_arrived(self) -> None:
        """The transport received room keys: the waiting events are tried again."""
        self._new_keys = True

    def _retry_due(self) -> bool:
        """Whether to try the waiting events again: once after a start (which are they?),
        then when keys came or a wait is over; not at every pass (each try is a query)."""
        if self.waiting is None:
            return True
        deadline = self.next_key_deadline()
        if deadline is None:
            return False
        return self._new_keys or self.services.clock.now() >= deadline

    def next_key_deadline(self) -> datetime | None:
        """When the first wait for a room key ends (the work loop wakes up then)."""
        return min(self.waiting.values()) if self.waiting else None

    async def _retry_waiting(self) -> int:
        """Try again the events waiting for their key, oldest first: those whose key came
        are handled (their rooms' held-back events follow in this pass), those whose
        wait is over are given up."""
        self._new_keys = False
        async with self.services.db.unit_of_work() as uow:
            rows = await uow.inbox.waiting()
        self.waiting = {}
        handled = 0
        for row in rows:
            if self._held(row.room_id):
                continue  # an older event of the room still waits
            await self.process(row)
            if not self._held(row.room_id):
                handled += 1
                self._unblocked = True
        return handled

    async def _open(self, row: InboxEvent, now: datetime) -> bool:
        """Decrypt an encrypted row in place (in memory: the clear content is written
        with the row's mark). False when it cannot be handled now: its key has not come
        (it waits, with its room), or it never will."""
        assert self.decryptor is not None
        try:
            clear = self.decryptor.decrypt(row)
        except Exception as exc:
            status = InboxStatus.UNREADABLE
            if isinstance(exc, Unreadable):
                logger.warning(
                    "encrypted event %s in %s from %s cannot be read: %s",
                    row.event_id,
                    row.room_id,
                    row.sender,
                    exc,
                )
            else:  # a fault of ours or of the library: not a reason to stop the room
                logger.exception("encrypted event %s (ref %s) not decrypted", row.event_id, row.id)
                status = InboxStatus.FAILED
            async with self.services.db.unit_of_work() as uow:
                await uow.inbox.mark(row.id, status, now=now, error=repr(exc)[:2000], pending=True)
            return False
        if clear is not None:
            row.event_type, row.content = clear.event_type, clear.content
            return True
        deadline = row.received_at + self.key_wait
        if now >= deadline:
            await self._give_up(row, now)
            return False
        if row.status != InboxStatus.WAITING:
            async with self.services.db.unit_of_work() as uow:
                await uow.inbox.mark(row.id, InboxStatus.WAITING, now=now, pending=True)
            row.status = InboxStatus.WAITING
            logger.info(
                "encrypted event %s in %s from %s waits for its room key",
                row.event_id,
                row.room_id,
                row.sender,
            )
            self.decryptor.request_key(row)
        if self.waiting is None:
            self.waiting = {}
        self.waiting.setdefault(row.room_id, deadline)
        return False

    async def _give_up(self, row: InboxEvent, now: datetime) -> None:
        """No key in time: the event is marked unreadable, and its sender (a member of
        the room) is told privately, with how to fix it, in the room's language."""
        async with self.services.db.unit_of_work() as uow:
            if not await uow.inbox.mark(
                row.id, InboxStatus.UNREADABLE, now=now, error="no room key", pending=True
            ):
                await uow.rollback()
                return
            ctx = await self._context(uow, row, now)
            if await uow.room_members.membership(row.room_id, row.sender) in (None, "join"):
                await ctx.to_user(
                    row.sender,
                    "core.e2e.unreadable",
                    at=row.origin_ts,
                    tz=ctx.room.timezone,
                    locale=ctx.room.locale,
                    link=f"https://matrix.to/#/{quote(row.room_id)}/{quote(row.event_id)}",
                )
            queued = list(uow.outbox.added)
        if self.committed is not None:
            self.committed(queued)
        logger.info(
            "encrypted event %s in %s from %s: no room key after %.0f s; sender told",
            row.event_id,
            row.room_id,
            row.sender,
            self.key_wait.total_seconds(),
        )

    async def process(self, row: InboxEvent) -> None:
        """One row: the handlers' writes, their messages and the mark commit together."""
        now = self.services.clock.now()
        started = time.perf_counter()
        decrypted = row.event_type == ENCRYPTED and self.decryptor is not None
        if decrypted and not await self._open(row, now):
            return
        what = row.event_type
        try:
            async with self.services.db.unit_of_work() as uow:
                ctx = await self._context(uow, row, now)
                status, what = await self._handle(ctx, row)
                # The mark holds only if the row is still pending: whoever handled it
                # first wins, and this transaction is undone.
                if not await uow.inbox.mark(row.id, status, now=now, group=ctx.group, pending=True):
                    await uow.rollback()
                    return
                if decrypted:
                    await uow.inbox.set_clear(row.id, row.event_type, row.content)
                queued = list(uow.outbox.added)
            self.handled_up_to = max(self.handled_up_to, row.id)
            if self.committed is not None:
                self.committed(queued)
            if self.services.checkpoint_wanted:
                self.services.checkpoint_wanted = False
                await self.services.db.checkpoint()
        except Exception as exc:
            if is_outage(exc):
                raise  # nothing was committed: the event is handled once the database is back
            logger.exception("event %s (ref %s) failed", row.event_id, row.id)
            async with self.services.db.unit_of_work() as uow:
                await uow.inbox.mark(row.id, InboxStatus.FAILED, now=now, error=repr(exc)[:2000])
                ctx = await self._context(uow, row, now)
                await ctx.reply("core.error.internal", ref=row.id)
                queued = list(uow.outbox.added)
            self.handled_up_to = max(self.handled_up_to, row.id)
            if self.committed is not None:
                self.committed(queued)
            status = InboxStatus.FAILED
        if status != InboxStatus.IGNORED:
            # One line per handled event: where, who, what, how it ended; never its text.
            logger.info(
                "%s in %s from %s: %s (%.0f ms)",
                what,
                row.room_id,
                row.sender,
                status.value,
                (time.perf_counter() - started) * 1000,
            )

    async def _handle(self, ctx: Context, row: InboxEvent) -> tuple[InboxStatus, str]:
        """Run what the event asks for; returns its status and what it was (a command's
        name, or the event type)."""
        # Read the row first: a refused command rolls the transaction back, which
        # expires every object loaded in it.
        event_type, content, room_id = row.event_type, row.content, row.room_id
        if event_type in MEMBERSHIP:
            return await self._membership(ctx, row), event_type
        if event_type == "m.room.message":
            if is_edit(content) or content.get("msgtype") == "m.notice":
                return InboxStatus.IGNORED, event_type  # edits; other bots' notices
            if not await self._note_member(ctx, room_id):
                # Confidentiality: only the room's joined members are answered.
                logger.info("message in %s from %s, not a member: ignored", room_id, ctx.sender)
                return InboxStatus.IGNORED, event_type
            name: str | None = None
            body, formatted = content.get("body"), content.get("formatted_body")
            if content.get("msgtype") == "m.text" and isinstance(body, str):
                name = await dispatch(ctx, body, formatted if isinstance(formatted, str) else None)
            event = await typed_event(ctx, event_type, content, command=name is not None)
            ran = await route(ctx, event) if event is not None else 0
            if name is not None:
                return InboxStatus.DONE, f"!{name}"
            return (InboxStatus.DONE if ran else InboxStatus.IGNORED), event_type
        if not self.services.registry.handles(event_type):
            return InboxStatus.IGNORED, event_type
        event = await typed_event(ctx, event_type, content)
        if event is None:
            logger.info("malformed %s %s ignored", event_type, ctx.event_id)
            return InboxStatus.IGNORED, event_type
        if getattr(event, "target", "-") is None and event.target_event is not None:
            logger.debug("%s %s answers no message of mine", event_type, ctx.event_id)
        ran = await route(ctx, event)
        return (InboxStatus.DONE if ran else InboxStatus.IGNORED), event_type

    async def _membership(self, ctx: Context, row: InboxEvent) -> InboxStatus:
        """Keep who is in which room, then let the domains react to the change."""
        room_id = row.room_id
        event = await typed_event(ctx, row.event_type, row.content, state_key=row.state_key)
        if not isinstance(event, Membership):
            return InboxStatus.IGNORED
        self.services.speakers.discard((room_id, event.user))
        previous = await ctx.uow.room_members.set(
            room_id,
            event.user,
            event.membership,
            now=ctx.now,
            display_name=event.display_name,
        )
        if previous == event.membership and event.membership != "knock":
            return InboxStatus.IGNORED  # a profile change, not a membership change
        if event.membership == "knock" and previous == "join":
            logger.info("knock from %s, already in %s: ignored", event.user, room_id)
            return InboxStatus.IGNORED
        if ctx.direct:
            return InboxStatus.IGNORED  # a direct-message room's comings and goings
        typed = Membership(**{**event.__dict__, "previous": previous})
        return InboxStatus.DONE if await route(ctx, typed) else InboxStatus.IGNORED

    async def _note_member(self, ctx: Context, room_id: str) -> bool:
        """Whoever speaks in a room is in it (for a room whose members the bot has not
        been told about yet); False for someone the room's events say is not joined
        (they left, knock, are invited or banned). Who is known to be in is kept in
        memory: the database is asked once per speaker and room."""
        known = self.services.speakers
        if (room_id, ctx.sender) in known:
            return True
        membership = await ctx.uow.room_members.membership(room_id, ctx.sender)
        if membership is None:
            await ctx.uow.room_members.set(room_id, ctx.sender, "join", now=ctx.now)
        elif membership != "join":
            return False
        known.add((room_id, ctx.sender))
        return True

    async def _context(self, uow: UnitOfWork, row: InboxEvent, now: datetime) -> Context:
        place = await self.services.place(uow, row.room_id, row.sender)
        return Context.at(
            self.services,
            uow,
            place,
            now,
            sender=row.sender,
            event_id=row.event_id,
            thread_root=thread_root(row.content),
            inbox_id=row.id,
            sent_at=row.origin_ts,
        )
