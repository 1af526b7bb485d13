"""Repositories of the runtime's own tables: rooms, members and roles, who is in which
room, direct-message rooms, inbox, outbox, state, audit."""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AuditEntry,
    BotState,
    DirectRoom,
    InboxEvent,
    InboxStatus,
    Member,
    OutboxAction,
    OutboxEvent,
    OutboxStatus,
    Role,
    Room,
    RoomMember,
)
from storage.models.core import UNHANDLED
from storage.repos.base import GroupRepository, Repository

__all__ = [
    "AuditRepository",
    "DirectRoomRepository",
    "GroupRepository",
    "InboxRepository",
    "MemberRepository",
    "OutboxRepository",
    "Outgoing",
    "Ref",
    "Repository",
    "RoomMemberRepository",
    "RoomRepository",
    "StateRepository",
]


@dataclass(frozen=True)
class Ref:
    """What a message the bot sent was about: (domain, kind, id), e.g. a reminder of
    follow-up 12 is ("followups", "reminder", "12")."""

    domain: str
    kind: str
    id: str

    @classmethod
    def of(cls, row: OutboxEvent) -> Ref | None:
        if row.ref_domain is None or row.ref_kind is None or row.ref_id is None:
            return None
        return cls(row.ref_domain, row.ref_kind, row.ref_id)


@dataclass(frozen=True)
class Outgoing:
    """One row for `OutboxRepository.add_many`: what `add` takes, as a value."""

    room_id: str | None
    event_type: str
    content: dict[str, Any]
    now: datetime
    inbox_id: int | None = None
    attachment: tuple[str, str, bytes] | None = None
    action: OutboxAction = OutboxAction.MESSAGE
    user_id: str | None = None
    state_key: str | None = None
    group: str | None = None
    ref: Ref | None = None
    origin: str | None = None


# --- The statements of every event's path, built once per dialect.
#
# Every command stores its event, its reply and two marks: building these statements
# anew each time (and going through the ORM's bookkeeping for them) cost more than
# running them. They are written on the tables, with bound parameters.

INBOX = InboxEvent.__table__
OUTBOX = OutboxEvent.__table__
STATE = BotState.__table__


@functools.cache
def _statements(dialect: str) -> dict[str, Any]:
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    inbox: Any = INBOX
    outbox: Any = OUTBOX
    state: Any = STATE
    upsert = insert_(state)
    return {
        "inbox_add": insert_(inbox)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(inbox.c.id),
        "outbox_add": insert(outbox).returning(outbox.c.id),
        # Many rows in one statement (a few for thousands). Each new id comes with its
        # transaction id, which is unique: asking for the ids in the order of the rows
        # would make SQLAlchemy insert them one by one on SQLite.
        "outbox_add_many": insert(outbox).returning(outbox.c.id, outbox.c.txn_id),
        "state_set": upsert.on_conflict_do_update(
            index_elements=["key"],
            set_={"value": upsert.excluded.value, "updated_at": upsert.excluded.updated_at},
        ),
        "inbox_mark": update(inbox)
        .where(inbox.c.id == bindparam("row_id"))
        .values(
            status=bindparam("status"),
            processed_at=bindparam("processed_at"),
            error=bindparam("error"),
            group_id=bindparam("group_id"),
        ),
        "inbox_mark_pending": update(inbox)
        .where(
            inbox.c.id == bindparam("row_id"),
            inbox.c.status.in_([status.value for status in UNHANDLED]),
        )
        .values(
            status=bindparam("status"),
            processed_at=bindparam("processed_at"),
            error=bindparam("error"),
            group_id=bindparam("group_id"),
        ),
        "outbox_sent": update(outbox)
        .where(outbox.c.id == bindparam("row_id"))
        .values(
            status=OutboxStatus.SENT.value,
            event_id=bindparam("event_id"),
            sent_at=bindparam("sent_at"),
            room_id=func.coalesce(bindparam("room_id"), outbox.c.room_id),
            last_error=None,
            attachment=None,  # a file's bytes are not kept once the homeserver has them
        ),
    }


class _HotPath(Repository):
    """A repository whose busiest statements are built once (see `_statements`)."""

    def _statement(self, name: str) -> Any:
        return _statements(self.dialect)[name]

    async def _scalar(self, name: str, params: dict[str, Any]) -> Any:
        return (await self.session.execute(self._statement(name), params)).scalar()


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


class MemberRepository(GroupRepository):
    """Roles in one group (configured admins are admins everywhere: see the services)."""

    async def get(self, user_id: str) -> Member | None:
        return await self.session.get(Member, (self.group, user_id))

    async def role_of(self, user_id: str) -> Role:
        member = await self.get(user_id)
        return Role(member.role) if member else Role.MEMBER

    async def set_role(self, user_id: str, role: Role, *, now: datetime) -> Member:
        member = await self.get(user_id)
        if member is None:
            member = Member(
                group_id=self.group, user_id=user_id, role=role, created_at=now, updated_at=now
            )
            self.session.add(member)
        else:
            member.role, member.updated_at = role, now
        await self.session.flush()
        return member

    async def with_role_at_least(self, role: Role) -> Sequence[Member]:
        rows = await self.session.scalars(
            select(Member)
            .where(Member.group_id == self.group, Member.role >= role)
            .order_by(Member.user_id)
        )
        return rows.all()


class RoomMemberRepository(Repository):
    """Who is in which room, as membership events (and the console) told the bot."""

    async def set(
        self,
        room_id: str,
        user_id: str,
        membership: str,
        *,
        now: datetime,
        display_name: str | None = None,
    ) -> str | None:
        """Record a membership; returns the previous one (None when unknown)."""
        row = await self.session.get(RoomMember, (room_id, user_id))
        if row is None:
            self.session.add(
                RoomMember(
                    room_id=room_id,
                    user_id=user_id,
                    membership=membership,
                    display_name=display_name,
                    updated_at=now,
                )
            )
            await self.session.flush()
            return None
        before = row.membership
        row.membership, row.updated_at = membership, now
        if display_name is not None:
            row.display_name = display_name
        await self.session.flush()
        return before

    async def membership(self, room_id: str, user_id: str) -> str | None:
        row = await self.session.get(RoomMember, (room_id, user_id))
        return row.membership if row else None

    async def rooms_of(self, user_id: str, among: Iterable[str]) -> list[str]:
        """The rooms among `among` that this user has joined."""
        rooms = list(among)
        if not rooms:
            return []
        rows = await self.session.scalars(
            select(RoomMember.room_id).where(
                RoomMember.user_id == user_id,
                RoomMember.membership == "join",
                RoomMember.room_id.in_(rooms),
            )
        )
        return sorted(rows)

    async def joined(self, room_id: str) -> list[RoomMember]:
        rows = await self.session.scalars(
            select(RoomMember)
            .where(RoomMember.room_id == room_id, RoomMember.membership == "join")
            .order_by(RoomMember.user_id)
        )
        return list(rows)


class DirectRoomRepository(Repository):
    """The one direct-message room per user, created once."""

    async def of_user(self, user_id: str) -> DirectRoom | None:
        return await self.session.get(DirectRoom, user_id)

    async def by_room(self, room_id: str) -> DirectRoom | None:
        return await self.session.scalar(select(DirectRoom).where(DirectRoom.room_id == room_id))

    async def record(self, user_id: str, room_id: str, *, now: datetime) -> DirectRoom:
        row = await self.of_user(user_id)
        if row is None:
            row = DirectRoom(user_id=user_id, room_id=room_id, created_at=now, updated_at=now)
            self.session.add(row)
        else:
            row.room_id, row.updated_at = room_id, now
        await self.session.flush()
        return row

    async def choose_group(self, user_id: str, group: str | None, *, now: datetime) -> None:
        row = await self.of_user(user_id)
        if row is None:
            row = DirectRoom(user_id=user_id, room_id=None, created_at=now, updated_at=now)
            self.session.add(row)
        row.group_id, row.updated_at = group, now
        await self.session.flush()

    async def room_ids(self) -> Sequence[str]:
        rows = await self.session.scalars(
            select(DirectRoom.room_id).where(DirectRoom.room_id.is_not(None))
        )
        return [r for r in rows if r is not None]


class InboxRepository(_HotPath):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        # The rows this unit of work stored, in order (handed to the work loop once
        # committed, so that it need not read them back).
        self.added: list[InboxEvent] = []

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
        state_key: str | None = None,
    ) -> bool:
        """Store an event unless it is already there; True when it was new."""
        values = {
            "event_id": event_id,
            "room_id": room_id,
            "sender": sender,
            "event_type": event_type,
            "state_key": state_key,
            "content": content,
            "origin_ts": origin_ts,
            "received_at": now,
            "status": InboxStatus.PENDING,
        }
        new_id = await self._scalar("inbox_add", values)
        if new_id is None:
            return False
        self.added.append(InboxEvent(id=new_id, **values))
        return True

    async def pending(
        self, limit: int = 100, *, besides_rooms: Iterable[str] = ()
    ) -> Sequence[InboxEvent]:
        """Pending events, oldest first (the order they reached the bot); `besides_rooms`:
        leave out these rooms (their events wait behind one waiting for its key)."""
        query = select(InboxEvent).where(InboxEvent.status == InboxStatus.PENDING)
        rooms = list(besides_rooms)
        if rooms:
            query = query.where(InboxEvent.room_id.not_in(rooms))
        rows = await self.session.scalars(query.order_by(InboxEvent.id).limit(limit))
        return rows.all()

    async def waiting(self) -> Sequence[InboxEvent]:
        """Encrypted events waiting for their room key, oldest first."""
        rows = await self.session.scalars(
            select(InboxEvent)
            .where(InboxEvent.status == InboxStatus.WAITING)
            .order_by(InboxEvent.id)
        )
        return rows.all()

    async def set_clear(self, inbox_id: int, event_type: str, content: dict[str, Any]) -> None:
        """Keep a decrypted event's clear type and content, as for any other event (its
        copy is then pruned, searched and erased like the others)."""
        await self.session.execute(
            update(InboxEvent)
            .where(InboxEvent.id == inbox_id)
            .values(event_type=event_type, content=content)
        )

    async def pending_sent_before(self, when: datetime) -> bool:
        """Whether events sent before `when` still wait to be handled (a deadline must
        not pass before the votes cast in time are counted)."""
        found = await self.session.scalar(
            select(InboxEvent.id)
            .where(InboxEvent.status.in_(UNHANDLED), InboxEvent.origin_ts <= when)
            .limit(1)
        )
        return found is not None

    async def get(self, inbox_id: int) -> InboxEvent | None:
        return await self.session.get(InboxEvent, inbox_id)

    async def by_event_id(self, event_id: str) -> InboxEvent | None:
        return await self.session.scalar(select(InboxEvent).where(InboxEvent.event_id == event_id))

    async def mark(
        self,
        inbox_id: int,
        status: InboxStatus,
        *,
        now: datetime,
        error: str | None = None,
        group: str | None = None,
        pending: bool = False,
    ) -> bool:
        """Set a row's status; with `pending`, only if it is still pending. True when the
        row was changed."""
        result = await self.session.execute(
            self._statement("inbox_mark_pending" if pending else "inbox_mark"),
            {
                "row_id": inbox_id,
                "status": status.value,
                "processed_at": now,
                "error": error,
                "group_id": group,
            },
        )
        return bool(getattr(result, "rowcount", 0))

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

    async def oldest_done(self) -> datetime | None:
        """When the oldest handled event (done, ignored or failed) was received."""
        return await self.session.scalar(
            select(func.min(InboxEvent.received_at)).where(InboxEvent.status.not_in(UNHANDLED))
        )

    async def prune(self, before: datetime, *, limit: int) -> int:
        """Delete up to `limit` handled events received at `before` or earlier."""
        old = (
            select(InboxEvent.id)
            .where(InboxEvent.status.not_in(UNHANDLED), InboxEvent.received_at <= before)
            .order_by(InboxEvent.id)
            .limit(limit)
        )
        result = await self.session.execute(delete(InboxEvent).where(InboxEvent.id.in_(old)))
        return int(getattr(result, "rowcount", 0) or 0)

    async def count(self, status: InboxStatus, *, besides: int | None = None) -> int:
        """How many events have this status (`besides`: leave this row out of the count)."""
        query = select(func.count()).select_from(InboxEvent).where(InboxEvent.status == status)
        if besides is not None:
            query = query.where(InboxEvent.id != besides)
        return int(await self.session.scalar(query) or 0)


class OutboxRepository(_HotPath):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        # The rows this unit of work queued, in order (handed to the sender once
        # committed, so that it need not read them back).
        self.added: list[OutboxEvent] = []
        # How many rows each origin produced in this transaction (see `add`).
        self._origins: dict[str, int] = {}

    def _txn_id(self, origin: str | None) -> str:
        """The transaction id of a new row. Rows caused by the same thing (`origin`: the
        event a handler answers, a reminder's slot) get the same ids in the same order
        each time it is handled: if a power cut loses the commit after a reply went out,
        handling the event again sends it with the id the homeserver has already seen,
        and the homeserver does not repeat it."""
        if origin is None:
            return f"pas-{uuid.uuid4().hex}"
        count = self._origins.get(origin, 0)
        self._origins[origin] = count + 1
        digest = hashlib.sha256(f"{origin}\x00{count}".encode()).hexdigest()
        return f"pas-{digest[:32]}"

    def forget_origins(self) -> None:
        """After a rollback: what was counted was not written."""
        self._origins.clear()

    async def add(
        self,
        *,
        room_id: str | None,
        event_type: str,
        content: dict[str, Any],
        now: datetime,
        inbox_id: int | None = None,
        attachment: tuple[str, str, bytes] | None = None,
        action: OutboxAction = OutboxAction.MESSAGE,
        user_id: str | None = None,
        state_key: str | None = None,
        group: str | None = None,
        ref: Ref | None = None,
        origin: str | None = None,
    ) -> str:
        """Queue a message or an action; its transaction id is chosen now and never
        changes (returned); it is derived from `origin` when there is one (`_txn_id`).

        A message with no `room_id` goes to `user_id`'s direct-message room. `attachment`
        is (file name, MIME type, bytes), uploaded when the event is sent.
        """
        if room_id is None and (action != OutboxAction.MESSAGE or user_id is None):
            raise ValueError("only a message to a user may leave its room to the sender")
        name, mimetype, data = attachment if attachment else (None, None, None)
        txn_id = self._txn_id(origin)
        values: dict[str, Any] = {
            "attachment": data,
            "attachment_name": name,
            "attachment_type": mimetype,
            "txn_id": txn_id,
            "action": action,
            "room_id": room_id,
            "user_id": user_id,
            "event_type": event_type,
            "state_key": state_key,
            "content": content,
            "inbox_id": inbox_id,
            "group_id": group,
            "ref_domain": ref.domain if ref else None,
            "ref_kind": ref.kind if ref else None,
            "ref_id": ref.id if ref else None,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        new_id = await self._scalar("outbox_add", values)
        self.added.append(OutboxEvent(id=new_id, **values))
        return txn_id

    async def add_many(self, rows: Sequence[Outgoing]) -> list[str]:
        """Queue many messages or actions in one statement (a job's pass of reminders):
        each row as `add` would queue it, with the same transaction id, in the same
        order; their transaction ids are returned in that order."""
        if not rows:
            return []
        for row in rows:  # before any transaction id is chosen (see `forget_origins`)
            if row.room_id is None and (row.action != OutboxAction.MESSAGE or row.user_id is None):
                raise ValueError("only a message to a user may leave its room to the sender")
        values = [self._row(row) for row in rows]
        result = await self.session.execute(self._statement("outbox_add_many"), values)
        ids = {txn_id: new_id for new_id, txn_id in result.all()}
        for columns in values:
            self.added.append(OutboxEvent(id=ids[columns["txn_id"]], **columns))
        return [str(columns["txn_id"]) for columns in values]

    def _row(self, row: Outgoing) -> dict[str, Any]:
        """The columns of a new row, as `add` writes them; its transaction id is chosen
        here, in the order of the rows (`_txn_id`)."""
        name, mimetype, data = row.attachment if row.attachment else (None, None, None)
        ref = row.ref
        return {
            "attachment": data,
            "attachment_name": name,
            "attachment_type": mimetype,
            "txn_id": self._txn_id(row.origin),
            "action": row.action,
            "room_id": row.room_id,
            "user_id": row.user_id,
            "event_type": row.event_type,
            "state_key": row.state_key,
            "content": row.content,
            "inbox_id": row.inbox_id,
            "group_id": row.group,
            "ref_domain": ref.domain if ref else None,
            "ref_kind": ref.kind if ref else None,
            "ref_id": ref.id if ref else None,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "created_at": row.now,
            "next_attempt_at": row.now,
        }

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

    async def by_event_id(self, event_id: str) -> OutboxEvent | None:
        """The row the bot sent as this event (to trace a reaction or a response back)."""
        return await self.session.scalar(
            select(OutboxEvent).where(OutboxEvent.event_id == event_id).limit(1)
        )

    async def by_ref(self, ref: Ref) -> OutboxEvent | None:
        """The latest message sent about a record (a poll's event), if still kept."""
        return await self.session.scalar(
            select(OutboxEvent)
            .where(
                OutboxEvent.ref_domain == ref.domain,
                OutboxEvent.ref_kind == ref.kind,
                OutboxEvent.ref_id == ref.id,
                OutboxEvent.event_id.is_not(None),
            )
            .order_by(OutboxEvent.id.desc())
            .limit(1)
        )

    async def last_sent(self, room_id: str) -> OutboxEvent | None:
        """The last message the bot sent in a room."""
        return await self.session.scalar(
            select(OutboxEvent)
            .where(
                OutboxEvent.room_id == room_id,
                OutboxEvent.status == OutboxStatus.SENT,
                OutboxEvent.action == OutboxAction.MESSAGE,
                OutboxEvent.event_type == "m.room.message",
            )
            .order_by(OutboxEvent.sent_at.desc(), OutboxEvent.id.desc())
            .limit(1)
        )

    async def mark_sent(
        self, outbox_id: int, *, event_id: str | None, now: datetime, room_id: str | None = None
    ) -> None:
        await self.session.execute(
            self._statement("outbox_sent"),
            {"row_id": outbox_id, "event_id": event_id, "sent_at": now, "room_id": room_id},
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
            .values(status=OutboxStatus.FAILED, last_error=error, attachment=None)
        )

    async def oldest_done(self) -> datetime | None:
        """When the oldest row that is sent or refused for good was written."""
        return await self.session.scalar(
            select(func.min(OutboxEvent.created_at)).where(
                OutboxEvent.status != OutboxStatus.PENDING
            )
        )

    async def prune(self, before: datetime, *, limit: int) -> int:
        """Delete up to `limit` rows sent or refused, written at `before` or earlier."""
        old = (
            select(OutboxEvent.id)
            .where(OutboxEvent.status != OutboxStatus.PENDING, OutboxEvent.created_at <= before)
            .order_by(OutboxEvent.id)
            .limit(limit)
        )
        result = await self.session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(old)))
        return int(getattr(result, "rowcount", 0) or 0)

    async def count(self, status: OutboxStatus) -> int:
        total = await self.session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.status == status)
        )
        return int(total or 0)


class StateRepository(_HotPath):
    async def get(self, key: str) -> str | None:
        row = await self.session.get(BotState, key)
        return row.value if row else None

    async def set(self, key: str, value: str, *, now: datetime) -> None:
        """Write a value (one statement: the sync token is written with every sync)."""
        await self.session.execute(
            self._statement("state_set"), {"key": key, "value": value, "updated_at": now}
        )

    async def drop(self, key: str) -> None:
        await self.session.execute(delete(BotState).where(BotState.key == key))


class AuditRepository(Repository):
    async def record(
        self,
        *,
        actor: str,
        action: str,
        now: datetime,
        room_id: str | None = None,
        group: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.session.add(
            AuditEntry(
                at=now,
                actor=actor,
                room_id=room_id,
                group_id=group,
                action=action,
                detail=detail or {},
            )
        )
        await self.session.flush()

    async def oldest(self) -> datetime | None:
        return await self.session.scalar(select(func.min(AuditEntry.at)))

    async def prune(self, before: datetime, *, limit: int) -> int:
        old = select(AuditEntry.id).where(AuditEntry.at <= before).order_by(AuditEntry.id)
        result = await self.session.execute(
            delete(AuditEntry).where(AuditEntry.id.in_(old.limit(limit)))
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def latest(self, limit: int = 20, *, group: str | None = None) -> Sequence[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if group is not None:
            query = query.where(AuditEntry.group_id == group)
        return (await self.session.scalars(query)).all()
