"""The path of one command: inbox -> dispatch -> outbox, each step one transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.context import Context
from bot.dispatch import dispatch
from bot.services import Services
from bot.transport import IncomingEvent
from storage.models import InboxEvent, InboxStatus
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


class Pipeline:
    def __init__(self, services: Services) -> None:
        self.services = services

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
                )
            if sync_token is not None:
                await uow.state.set(SYNC_TOKEN, sync_token, now=now)
        return added

    async def process_pending(self) -> int:
        """Handle every pending inbox row, oldest first. Returns how many were handled."""
        handled = 0
        while True:
            async with self.services.db.unit_of_work() as uow:
                rows = await uow.inbox.pending(limit=50)
            if not rows:
                return handled
            for row in rows:
                await self.process(row)
                handled += 1

    async def process(self, row: InboxEvent) -> None:
        """One row: the handler's writes, its replies and the mark commit together."""
        now = self.services.clock.now()
        try:
            async with self.services.db.unit_of_work() as uow:
                fresh = await uow.inbox.get(row.id)
                if fresh is None or fresh.status != InboxStatus.PENDING:
                    return  # someone else handled it
                status = await self._handle(uow, fresh, now)
                await uow.inbox.mark(row.id, status, now=now)
        except Exception as exc:
            logger.exception("event %s (ref %s) failed", row.event_id, row.id)
            async with self.services.db.unit_of_work() as uow:
                await uow.inbox.mark(row.id, InboxStatus.FAILED, now=now, error=repr(exc)[:2000])
                ctx = await self._context(uow, row, now)
                await ctx.reply("core.error.internal", ref=row.id)

    async def _handle(self, uow: UnitOfWork, row: InboxEvent, now: datetime) -> InboxStatus:
        content = row.content
        if row.event_type != "m.room.message" or content.get("msgtype") != "m.text":
            return InboxStatus.IGNORED
        if is_edit(content):
            return InboxStatus.IGNORED
        body = content.get("body")
        if not isinstance(body, str):
            return InboxStatus.IGNORED
        formatted = content.get("formatted_body")
        ctx = await self._context(uow, row, now)
        ran = await dispatch(ctx, body, formatted if isinstance(formatted, str) else None)
        return InboxStatus.DONE if ran else InboxStatus.IGNORED

    async def _context(self, uow: UnitOfWork, row: InboxEvent, now: datetime) -> Context:
        room = await self.services.room(uow, row.room_id)
        return Context(
            services=self.services,
            uow=uow,
            room=room,
            now=now,
            sender=row.sender,
            event_id=row.event_id,
            thread_root=thread_root(row.content),
            inbox_id=row.id,
        )
