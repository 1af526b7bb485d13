"""One group's follow-ups and their history, and the chasing job's view across groups."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Text,
    and_,
    bindparam,
    cast,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)

from storage.models import Followup, FollowupEvent, FollowupStatus
from storage.repos.base import GroupRepository, Repository

OPEN = FollowupStatus.OPEN.value
# The job's reads and writes go to the tables (Core), not through the ORM.
FOLLOWUPS: Any = Followup.__table__
EVENTS: Any = FollowupEvent.__table__


@functools.cache
def _reschedule(columns: tuple[str, ...]) -> Any:
    """UPDATE of these columns of one group's follow-up, by id, run for many rows at
    once (SQLite's executemany steps one prepared statement). Built once per set."""
    return (
        update(FOLLOWUPS)
        .where(FOLLOWUPS.c.id == bindparam("row_id"), FOLLOWUPS.c.group_id == bindparam("group"))
        .values({column: bindparam(f"new_{column}") for column in columns})
    )


def _array(name: str, item: Any) -> Any:
    """A parameter holding a list, as a PostgreSQL array of the column's type."""
    kind = ARRAY(item)
    return cast(bindparam(name, type_=kind), kind)


@functools.cache
def _reschedule_arrays(columns: tuple[str, ...]) -> Any:
    """PostgreSQL: the same UPDATE as one statement for all the rows, given as arrays
    (an executemany there runs the statement once a row, which costs more than the
    change itself). Built once per set of columns."""
    given = (
        func.unnest(
            _array("row_id", FOLLOWUPS.c.id.type),
            *(_array(f"new_{column}", FOLLOWUPS.c[column].type) for column in columns),
        )
        .table_valued("row_id", *columns)
        .render_derived(name="given")
    )
    return (
        update(FOLLOWUPS)
        .where(FOLLOWUPS.c.id == given.c.row_id, FOLLOWUPS.c.group_id == bindparam("group"))
        .values({column: given.c[column] for column in columns})
    )


@functools.cache
def _record_arrays() -> Any:
    """PostgreSQL: history lines for many follow-ups as one INSERT from arrays, in their
    order (see `_reschedule_arrays`)."""
    given = (
        func.unnest(
            _array("followup_id", EVENTS.c.followup_id.type),
            _array("detail", EVENTS.c.detail.type),
        )
        .table_valued("followup_id", "detail")
        .render_derived(name="given")
    )
    return insert(EVENTS).from_select(
        ["followup_id", "kind", "actor", "at", "text", "detail"],
        select(
            given.c.followup_id,
            bindparam("kind", type_=EVENTS.c.kind.type),
            literal("", EVENTS.c.actor.type),
            bindparam("at", type_=EVENTS.c.at.type),
            null(),
            given.c.detail,
        ),
    )


@dataclass(frozen=True, slots=True)
class Due:
    """A follow-up as the chasing job reads it: the columns a reminder needs, without
    the ORM's bookkeeping (a pass reads a thousand of them)."""

    id: int
    group_id: str
    room_id: str
    number: int
    text: str
    assignee: str
    creator: str
    due_at: datetime | None
    partner_id: int | None
    origin: str
    status: str
    closed_at: datetime | None
    next_reminder_at: datetime | None
    reminders_sent: int
    overdue_reminders: int


_DUE_COLUMNS = [FOLLOWUPS.c[name] for name in Due.__dataclass_fields__]


@dataclass(frozen=True)
class Filter:
    """Which follow-ups a list shows. `statuses` empty means every status."""

    statuses: tuple[str, ...] = (OPEN,)
    assignee: str | None = None
    partner_id: int | None = None
    due_before: datetime | None = None  # due strictly before this instant
    due_after: datetime | None = None  # due at or after it
    closed_since: datetime | None = None
    closed_before: datetime | None = None


class FollowupRepository(GroupRepository):
    async def create(
        self,
        *,
        text: str,
        assignee: str,
        creator: str,
        room_id: str,
        due_at: datetime | None,
        partner_id: int | None,
        origin: str,
        next_reminder_at: datetime | None,
        now: datetime,
    ) -> Followup:
        """A new open follow-up, numbered after the group's last one."""
        last = await self.session.scalar(
            select(func.max(Followup.number)).where(Followup.group_id == self.group)
        )
        followup = Followup(
            group_id=self.group,
            number=(last or 0) + 1,
            text=text,
            assignee=assignee,
            creator=creator,
            room_id=room_id,
            due_at=due_at,
            partner_id=partner_id,
            origin=origin,
            status=OPEN,
            next_reminder_at=next_reminder_at,
            reminders_sent=0,
            overdue_reminders=0,
            created_at=now,
            updated_at=now,
        )
        self.session.add(followup)
        await self.session.flush()
        await self.record(followup, "created", actor=creator, now=now, detail={"origin": origin})
        return followup

    async def get(self, number: int) -> Followup | None:
        return await self.session.scalar(
            select(Followup).where(Followup.group_id == self.group, Followup.number == number)
        )

    async def by_ids(self, ids: Iterable[int]) -> Sequence[Followup]:
        wanted = list(ids)
        if not wanted:
            return []
        rows = await self.session.scalars(
            select(Followup)
            .where(Followup.group_id == self.group, Followup.id.in_(wanted))
            .order_by(Followup.number)
        )
        return rows.all()

    async def record(
        self,
        followup: Followup,
        kind: str,
        *,
        actor: str,
        now: datetime,
        text: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> FollowupEvent:
        """A line of the follow-up's history."""
        event = FollowupEvent(
            followup_id=followup.id, kind=kind, actor=actor, at=now, text=text, detail=detail or {}
        )
        self.session.add(event)
        followup.updated_at = now
        await self.session.flush()
        return event

    async def reschedule(self, changes: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Change many follow-ups at once (a pass of reminders): (id, values) pairs, in
        one statement per set of columns, on the table (no ORM bookkeeping: objects
        already loaded keep what they read)."""
        by_columns: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = {}
        for followup_id, values in changes:
            by_columns.setdefault(tuple(sorted(values)), []).append((followup_id, values))
        for columns, rows in by_columns.items():
            if self.dialect == "postgresql":
                arrays: dict[str, Any] = {"group": self.group, "row_id": [i for i, _ in rows]}
                for column in columns:
                    arrays[f"new_{column}"] = [values[column] for _, values in rows]
                await self.session.execute(_reschedule_arrays(columns), arrays)
                continue
            await self.session.execute(
                _reschedule(columns),
                [
                    {
                        "row_id": followup_id,
                        "group": self.group,
                        **{f"new_{column}": value for column, value in values.items()},
                    }
                    for followup_id, values in rows
                ],
            )

    async def history(self, followup: Followup) -> Sequence[FollowupEvent]:
        rows = await self.session.scalars(
            select(FollowupEvent)
            .where(FollowupEvent.followup_id == followup.id)
            .order_by(FollowupEvent.at, FollowupEvent.id)
        )
        return rows.all()

    def _where(self, where: Filter) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [Followup.group_id == self.group]
        if where.statuses:
            conditions.append(Followup.status.in_(where.statuses))
        if where.assignee is not None:
            conditions.append(Followup.assignee == where.assignee)
        if where.partner_id is not None:
            conditions.append(Followup.partner_id == where.partner_id)
        if where.due_before is not None:
            conditions.append(Followup.due_at < where.due_before)
        if where.due_after is not None:
            conditions.append(Followup.due_at >= where.due_after)
        if where.closed_since is not None:
            conditions.append(Followup.closed_at >= where.closed_since)
        if where.closed_before is not None:
            conditions.append(Followup.closed_at < where.closed_before)
        return conditions

    async def find(
        self, where: Filter, *, limit: int, offset: int = 0
    ) -> tuple[Sequence[Followup], int]:
        """A page of follow-ups (soonest due first, those without a due date last; closed
        ones most recently closed first) and how many there are in all."""
        conditions = self._where(where)
        total = await self.session.scalar(
            select(func.count()).select_from(Followup).where(*conditions)
        )
        if where.statuses == (OPEN,) and (where.due_before or where.due_after):
            # No follow-up without a due date is kept: the index gives the order.
            order: list[Any] = [Followup.due_at, Followup.number]
        elif where.statuses == (OPEN,):
            order = [Followup.due_at.is_(None), Followup.due_at, Followup.number]
        else:
            order = [Followup.closed_at.is_(None), Followup.closed_at.desc(), Followup.number]
        rows = await self.session.scalars(
            select(Followup).where(*conditions).order_by(*order).limit(limit).offset(offset)
        )
        return rows.all(), int(total or 0)

    async def overdue_by_assignee(self, now: datetime, *, limit: int) -> list[tuple[str, int]]:
        """Who has overdue follow-ups, and how many, the most first."""
        count = func.count()
        rows = await self.session.execute(
            select(Followup.assignee, count)
            .where(
                Followup.group_id == self.group,
                Followup.status == OPEN,
                Followup.due_at < now,
            )
            .group_by(Followup.assignee)
            .order_by(count.desc(), Followup.assignee)
            .limit(limit)
        )
        return [(assignee, int(n)) for assignee, n in rows]

    async def due(self, now: datetime, *, limit: int) -> Sequence[Followup]:
        """Open follow-ups whose next reminder has come, the earliest first."""
        rows = await self.session.scalars(
            select(Followup)
            .where(
                Followup.next_reminder_at <= now,
                Followup.group_id == self.group,
                Followup.status == OPEN,
            )
            .order_by(Followup.next_reminder_at, Followup.number)
            .limit(limit)
        )
        return rows.all()

    async def open_for_partner(self, partner_id: int) -> Sequence[Followup]:
        rows = await self.session.scalars(
            select(Followup)
            .where(
                Followup.group_id == self.group,
                Followup.partner_id == partner_id,
                Followup.status == OPEN,
            )
            .order_by(Followup.number)
        )
        return rows.all()

    async def retarget_partner(self, source: int, target: int) -> None:
        """Follow-ups about a partner merged into another now concern that one."""
        await self.session.execute(
            update(Followup)
            .where(Followup.group_id == self.group, Followup.partner_id == source)
            .values(partner_id=target)
        )

    async def involving(self, user_id: str) -> Sequence[Followup]:
        """Follow-ups a member is the assignee or the creator of."""
        rows = await self.session.scalars(
            select(Followup)
            .where(
                Followup.group_id == self.group,
                or_(Followup.assignee == user_id, Followup.creator == user_id),
            )
            .order_by(Followup.number)
        )
        return rows.all()

    async def forget_actor(self, user_id: str, marker: str) -> None:
        """A member erased: their name leaves the history lines they wrote."""
        ids = select(Followup.id).where(Followup.group_id == self.group)
        await self.session.execute(
            update(FollowupEvent)
            .where(FollowupEvent.actor == user_id, FollowupEvent.followup_id.in_(ids))
            .values(actor=marker)
        )

    async def open_of(self, user_id: str) -> Sequence[Followup]:
        """A member's open follow-ups (they leave: someone must take them over)."""
        rows, _ = await self.find(Filter(assignee=user_id), limit=1000)
        return rows

    # --- Personal data: the text of follow-ups and of their history.

    async def containing(self, patterns: Sequence[str]) -> Sequence[Followup]:
        """Follow-ups whose text may hold one of these LIKE patterns (every one when
        there is none): the caller checks each."""
        rows = await self.session.scalars(
            select(Followup)
            .where(Followup.group_id == self.group, self.mentioning(Followup.text, patterns))
            .order_by(Followup.number)
        )
        return rows.all()

    async def events_containing(
        self, patterns: Sequence[str]
    ) -> Sequence[tuple[FollowupEvent, Followup]]:
        """History lines whose text or detail may hold one of these patterns."""
        rows = await self.session.execute(
            select(FollowupEvent, Followup)
            .join(Followup, Followup.id == FollowupEvent.followup_id)
            .where(
                Followup.group_id == self.group,
                or_(
                    self.mentioning(FollowupEvent.text, patterns),
                    self.mentioning(cast(FollowupEvent.detail, Text), patterns),
                ),
            )
            .order_by(FollowupEvent.at, FollowupEvent.id)
        )
        return [(event, followup) for event, followup in rows]


class FollowupSchedule(Repository):
    """What the chasing job reads across groups: when the next reminder is due, and
    which groups have some due."""

    async def next_due(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(Followup.next_reminder_at)).where(
                and_(Followup.next_reminder_at.is_not(None), Followup.status == OPEN)
            )
        )

    async def due(self, now: datetime, *, limit: int) -> list[Due]:
        """Open follow-ups whose next reminder has come, in every group, the earliest
        first (the range of `next_reminder_at` is all that is read)."""
        rows = await self.session.execute(
            select(*_DUE_COLUMNS)
            .where(FOLLOWUPS.c.next_reminder_at <= now, FOLLOWUPS.c.status == OPEN)
            .order_by(FOLLOWUPS.c.next_reminder_at, FOLLOWUPS.c.id)
            .limit(limit)
        )
        return [Due(*row) for row in rows]

    async def record_many(
        self, lines: Sequence[tuple[int, dict[str, Any]]], kind: str, *, now: datetime
    ) -> None:
        """The same history line, by the bot, for many follow-ups the job has just read
        (a pass of reminders, every group's), in one statement: (follow-up id, detail)
        pairs; their `updated_at` is the caller's to set."""
        if not lines:
            return
        if self.dialect == "postgresql":
            await self.session.execute(
                _record_arrays(),
                {
                    "kind": kind,
                    "at": now,
                    "followup_id": [followup_id for followup_id, _ in lines],
                    "detail": [detail for _, detail in lines],
                },
            )
            return
        await self.session.execute(
            insert(EVENTS),
            [
                {
                    "followup_id": followup_id,
                    "kind": kind,
                    "actor": "",
                    "at": now,
                    "text": None,
                    "detail": detail,
                }
                for followup_id, detail in lines
            ],
        )

    async def groups_due(self, now: datetime) -> list[str]:
        rows = await self.session.scalars(
            select(Followup.group_id)
            .where(Followup.next_reminder_at <= now, Followup.status == OPEN)
            .distinct()
        )
        return sorted(rows.all())
