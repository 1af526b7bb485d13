"""Sends what handlers queued, once: the transaction id was fixed when the row was written.

A row is a message (to a room, or to a user's direct-message room, opened here the
first time and recorded), or a room action (invite, kick, redaction, state event,
power level). Each is retried with backoff until it succeeds or is refused for good.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta

from commands.kit.services import Services
from commands.kit.transport import Attachment, RoomAction, SendError, Transport
from storage.models import OutboxAction, OutboxEvent

logger = logging.getLogger(__name__)

MAX_BACKOFF = 30.0
BATCH = 50  # due rows read at once
RECENT = 1000  # sent rows remembered


def backoff(attempts: int) -> float:
    """Seconds before the next try: 1, 2, 4 … up to 30."""
    return min(MAX_BACKOFF, float(2 ** max(0, attempts - 1)))


class OutboxSender:
    def __init__(self, services: Services, transport: Transport) -> None:
        self.services = services
        self.transport = transport
        # A retryable failure is the server's (down, a 502, a rate limit on the bot's
        # account), not the row's: nothing at all is sent before this time.
        self.paused_until: datetime | None = None
        self.failures = 0  # retryable failures in a row, whatever the rows
        # Rows just committed, handed over by the pipeline: sent without reading them
        # back, unless the sender is waiting out a failure (then the database says
        # what is due). Ids sent lately are remembered, so none is sent twice.
        self.ready: deque[OutboxEvent] = deque()
        self.recently_sent: deque[int] = deque(maxlen=RECENT)

    def hand_over(self, rows: Sequence[OutboxEvent]) -> None:
        self.ready.extend(rows)

    async def flush(self) -> int:
        """Send every row that is due; returns how many were sent.

        Rows written meanwhile wake the sender again (the runtime's `committed` hook):
        a batch smaller than BATCH was everything that was due.
        """
        sent = 0
        while self.ready and self.paused_until is None and not self.failures:
            row = self.ready.popleft()
            if row.id in self.recently_sent:
                continue
            if not await self.send_one(row):
                self.ready.clear()  # the server is struggling: the database keeps the order
                return sent
            sent += 1
        self.ready.clear()
        while True:
            now = self.services.clock.now()
            if self.paused_until is not None and now < self.paused_until:
                return sent
            async with self.services.db.unit_of_work() as uow:
                rows = await uow.outbox.due(now, limit=BATCH)
            for row in rows:
                if row.id in self.recently_sent:
                    continue
                if not await self.send_one(row):
                    return sent  # the server is struggling: stop this pass
                sent += 1
            if len(rows) < BATCH:
                return sent

    async def send_one(self, row: OutboxEvent) -> bool:
        started = time.perf_counter()
        try:
            room_id = row.room_id or await self._direct_room(row)
            if row.action == OutboxAction.MESSAGE:
                event_id: str | None = await self._send_message(row, room_id)
            else:
                event_id = await self.transport.act(self._action(row, room_id))
        except SendError as exc:
            await self._failed(row, exc, self.services.clock.now())
            return False
        self.failures = 0
        self.paused_until = None
        sent = time.perf_counter()
        async with self.services.db.unit_of_work() as uow:
            await uow.outbox.mark_sent(
                row.id, event_id=event_id, now=self.services.clock.now(), room_id=room_id
            )
        self.recently_sent.append(row.id)
        logger.debug(
            "sent outbox %s in %.1f ms, marked in %.1f ms",
            row.id,
            (sent - started) * 1000,
            (time.perf_counter() - sent) * 1000,
        )
        return True

    async def _send_message(self, row: OutboxEvent, room_id: str) -> str:
        attachment = None
        if row.attachment is not None:
            attachment = Attachment(
                row.attachment_name or "file",
                row.attachment_type or "application/octet-stream",
                row.attachment,
            )
        return await self.transport.send(
            room_id, row.event_type, row.content, row.txn_id, attachment
        )

    @staticmethod
    def _action(row: OutboxEvent, room_id: str) -> RoomAction:
        content = row.content or {}
        reason = content.get("reason")
        return RoomAction(
            kind=row.action,
            room_id=room_id,
            txn_id=row.txn_id,
            user_id=row.user_id,
            event_id=content.get("redacts"),
            event_type=row.event_type or None,
            state_key=row.state_key or "",
            content=content,
            reason=reason if isinstance(reason, str) else None,
        )

    async def _direct_room(self, row: OutboxEvent) -> str:
        """The user's direct-message room: recorded, else found or created (once) by the
        transport, then recorded before anything is sent there."""
        assert row.user_id is not None
        async with self.services.db.unit_of_work() as uow:
            known = await uow.direct_rooms.of_user(row.user_id)
        recorded = known.room_id if known is not None else None
        room_id = await self.transport.direct_room(row.user_id, recorded)
        if room_id != recorded:
            async with self.services.db.unit_of_work() as uow:
                await uow.direct_rooms.record(row.user_id, room_id, now=self.services.clock.now())
            self.services.forget_direct_rooms()
            logger.info("direct-message room with %s: %s", row.user_id, room_id)
        return room_id

    async def _failed(self, row: OutboxEvent, exc: SendError, now: datetime) -> None:
        async with self.services.db.unit_of_work() as uow:
            if exc.permanent:
                logger.error("outbox %s (%s) refused: %s", row.txn_id, row.action, exc)
                await uow.outbox.mark_failed(row.id, error=str(exc))
                return
            attempts = row.attempts + 1
            self.failures += 1
            delay = (
                exc.retry_after
                if exc.retry_after is not None
                else backoff(max(attempts, self.failures))
            )
            self.paused_until = now + timedelta(seconds=delay)
            logger.warning("outbox %s: %s; retry in %.1fs", row.txn_id, exc, delay)
            await uow.outbox.mark_retry(
                row.id,
                attempts=attempts,
                next_attempt_at=now + timedelta(seconds=delay),
                error=str(exc),
            )

    async def next_attempt(self) -> datetime | None:
        async with self.services.db.unit_of_work() as uow:
            due = await uow.outbox.next_attempt()
        if due is not None and self.paused_until is not None:
            return max(due, self.paused_until)
        return due
