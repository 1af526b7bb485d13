"""Repositories of the runtime's own tables: rooms, members, inbox, outbox, state, audit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AuditEntry,
    BotState,
    InboxEvent,
    InboxStatus,
    Member,
    OutboxEvent,
    OutboxStatus,
    Role,
    Room,
)
from storage.search import redact


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session


def _redacted(
    content: dict[str, Any], needles: Sequence[str], marker: str
) -> dict[str, Any] | None:
    """A message's content with the needles blacked out of its bodies, or None if untouched."""
    changed = dict(content)
    for key in ("body", "formatted_body"):
        value = content.get(key)
        if isinstance(value, str):
            changed[key] = redact(value, needles, marker)
    return changed if changed != content else None


async def _redact_rows(
    session: AsyncSession,
    rows: Sequence[InboxEvent] | Sequence[OutboxEvent],
    needles: Sequence[str],
    marker: str,
) -> int:
    count = 0
    for row in rows:
        content = _redacted(row.content, needles, marker)
        if content is not None:
            row.content = content
            count += 1
    await session.flush()
    return count


class RoomRepository(Repository):
    async def get(self, room_id: str) -> Room | None:
        return await self.session.get(Room, room_id)

    async def ids(self) -> Sequence[str]:
        return (await self.session.scalars(select(Room.room_id))).all()

    async def save(self, room_id: str, *, locale: str, timezone: str, now: datetime) -> Room:
        room = await self.get(room_id)
        if room is None:
            room = Room(
                room_id=room_id, locale=locale, timezone=timezone, created_at=now, updated_at=now
            )
            self.session.add(room)
        else:
            room.locale, room.timezone, room.updated_at = locale, timezone, now
        await self.session.flush()
        return room


class MemberRepository(Repository):
    async def get(self, user_id: str) -> Member | None:
        return await self.session.get(Member, user_id)

    async def role_of(self, user_id: str) -> Role:
        member = await self.get(user_id)
        return Role(member.role) if member else Role.MEMBER

    async def set_role(self, user_id: str, role: Role, *, now: datetime) -> Member:
        member = await self.get(user_id)
        if member is None:
            member = Member(user_id=user_id, role=role, created_at=now, updated_at=now)
            self.session.add(member)
        else:
            member.role, member.updated_at = role, now
        await self.session.flush()
        return member

    async def with_role_at_least(self, role: Role) -> Sequence[Member]:
        rows = await self.session.scalars(
            select(Member).where(Member.role >= role).order_by(Member.user_id)
        )
        return rows.all()


class InboxRepository(Repository):
    async def add(
        self,
        *,
        event_id: str,
        room_id: str,
        sender: str,
        event_type: str,
        content: dict[str, Any],
        origin_ts: datetime,
        now: datetime,
    ) -> bool:
        """Store an event unless it is already there; True when it was new."""
        values = {
            "event_id": event_id,
            "room_id": room_id,
            "sender": sender,
            "event_type": event_type,
            "content": content,
            "origin_ts": origin_ts,
            "received_at": now,
            "status": InboxStatus.PENDING,
        }
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = (
            insert(InboxEvent).values(**values).on_conflict_do_nothing(index_elements=["event_id"])
        )
        result = await self.session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))

    async def pending(self, limit: int = 100) -> Sequence[InboxEvent]:
        """Pending events, oldest first (the order they reached the bot)."""
        rows = await self.session.scalars(
            select(InboxEvent)
            .where(InboxEvent.status == InboxStatus.PENDING)
            .order_by(InboxEvent.id)
            .limit(limit)
        )
        return rows.all()

    async def get(self, inbox_id: int) -> InboxEvent | None:
        return await self.session.get(InboxEvent, inbox_id)

    async def mark(
        self, inbox_id: int, status: InboxStatus, *, now: datetime, error: str | None = None
    ) -> None:
        await self.session.execute(
            update(InboxEvent)
            .where(InboxEvent.id == inbox_id)
            .values(status=status, processed_at=now, error=error)
        )

    async def latest_file(self, room_id: str, sender: str, before_id: int) -> InboxEvent | None:
        """The last file a user posted in a room before a given inbox row."""
        rows = await self.session.scalars(
            select(InboxEvent)
            .where(
                InboxEvent.room_id == room_id,
                InboxEvent.sender == sender,
                InboxEvent.event_type == "m.room.message",
                InboxEvent.id < before_id,
            )
            .order_by(InboxEvent.id.desc())
            .limit(50)
        )
        for row in rows:
            if row.content.get("msgtype") == "m.file" and isinstance(row.content.get("url"), str):
                return row
        return None

    async def redact(self, needles: Sequence[str], marker: str) -> int:
        """Black out text (folded needles: a name, an e-mail) in the stored messages.

        For an erasure: the bot's own copy of what was typed must not keep what was erased.
        """
        rows = await self.session.scalars(
            select(InboxEvent).where(InboxEvent.event_type == "m.room.message")
        )
        return await _redact_rows(self.session, rows.all(), needles, marker)

    async def count(self, status: InboxStatus) -> int:
        total = await self.session.scalar(
            select(func.count()).select_from(InboxEvent).where(InboxEvent.status == status)
        )
        return int(total or 0)


class OutboxRepository(Repository):
    async def add(
        self,
        *,
        room_id: str,
        event_type: str,
        content: dict[str, Any],
        now: datetime,
        inbox_id: int | None = None,
        attachment: tuple[str, str, bytes] | None = None,
    ) -> str:
        """Queue an event; its transaction id is chosen now and never changes (returned).

        `attachment` is (file name, MIME type, bytes), uploaded when the event is sent.
        """
        name, mimetype, data = attachment if attachment else (None, None, None)
        txn_id = f"pas-{uuid.uuid4().hex}"
        await self.session.execute(
            insert(OutboxEvent).values(
                attachment=data,
                attachment_name=name,
                attachment_type=mimetype,
                txn_id=txn_id,
                room_id=room_id,
                event_type=event_type,
                content=content,
                inbox_id=inbox_id,
                status=OutboxStatus.PENDING,
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
        )
        return txn_id

    async def due(self, now: datetime, limit: int = 50) -> Sequence[OutboxEvent]:
        rows = await self.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.status == OutboxStatus.PENDING, OutboxEvent.next_attempt_at <= now)
            .order_by(OutboxEvent.id)
            .limit(limit)
        )
        return rows.all()

    async def next_attempt(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(OutboxEvent.next_attempt_at)).where(
                OutboxEvent.status == OutboxStatus.PENDING
            )
        )

    async def mark_sent(self, outbox_id: int, *, event_id: str, now: datetime) -> None:
        await self.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == outbox_id)
            .values(status=OutboxStatus.SENT, event_id=event_id, sent_at=now, last_error=None)
        )

    async def mark_retry(
        self, outbox_id: int, *, attempts: int, next_attempt_at: datetime, error: str
    ) -> None:
        await self.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == outbox_id)
            .values(attempts=attempts, next_attempt_at=next_attempt_at, last_error=error)
        )

    async def mark_failed(self, outbox_id: int, *, error: str) -> None:
        await self.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == outbox_id)
            .values(status=OutboxStatus.FAILED, last_error=error)
        )

    async def redact(self, needles: Sequence[str], marker: str) -> int:
        """Black out text in the bot's own messages, sent or waiting (see InboxRepository)."""
        rows = await self.session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == "m.room.message")
        )
        return await _redact_rows(self.session, rows.all(), needles, marker)

    async def count(self, status: OutboxStatus) -> int:
        total = await self.session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.status == status)
        )
        return int(total or 0)


class StateRepository(Repository):
    async def get(self, key: str) -> str | None:
        row = await self.session.get(BotState, key)
        return row.value if row else None

    async def set(self, key: str, value: str, *, now: datetime) -> None:
        row = await self.session.get(BotState, key)
        if row is None:
            self.session.add(BotState(key=key, value=value, updated_at=now))
        else:
            row.value, row.updated_at = value, now
        await self.session.flush()


class AuditRepository(Repository):
    async def record(
        self,
        *,
        actor: str,
        action: str,
        now: datetime,
        room_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.session.add(
            AuditEntry(at=now, actor=actor, room_id=room_id, action=action, detail=detail or {})
        )
        await self.session.flush()

    async def latest(self, limit: int = 20) -> Sequence[AuditEntry]:
        rows = await self.session.scalars(
            select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        )
        return rows.all()
