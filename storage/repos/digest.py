"""Each group's digest schedule and opt-outs, and the digest job's view across groups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select

from storage.models import DigestOptOut, DigestSchedule
from storage.repos.base import GroupRepository, Repository


class DigestRepository(GroupRepository):
    async def schedule(self) -> DigestSchedule | None:
        return await self.session.get(DigestSchedule, self.group)

    async def set_schedule(
        self, *, weekday: int, clock: str, next_at: datetime, now: datetime, by: str | None
    ) -> DigestSchedule:
        row = await self.schedule()
        if row is None:
            row = DigestSchedule(group_id=self.group, weekday=weekday, clock=clock, next_at=next_at)
            self.session.add(row)
        row.weekday, row.clock, row.next_at = weekday, clock, next_at
        row.updated_at, row.updated_by = now, by
        await self.session.flush()
        return row

    async def opted_out(self) -> set[str]:
        rows = await self.session.scalars(
            select(DigestOptOut.user_id).where(DigestOptOut.group_id == self.group)
        )
        return set(rows.all())

    async def opt(self, user_id: str, *, out: bool, now: datetime) -> bool:
        """Stop (`out`) or resume sending to a member; whether anything changed."""
        found = await self.session.get(DigestOptOut, (self.group, user_id))
        if out and found is None:
            self.session.add(DigestOptOut(group_id=self.group, user_id=user_id, at=now))
            await self.session.flush()
            return True
        if not out and found is not None:
            await self.session.execute(
                delete(DigestOptOut).where(
                    DigestOptOut.group_id == self.group, DigestOptOut.user_id == user_id
                )
            )
            return True
        return False


class DigestSchedules(Repository):
    async def next_due(self) -> datetime | None:
        return await self.session.scalar(select(func.min(DigestSchedule.next_at)))

    async def due(self, now: datetime) -> Sequence[DigestSchedule]:
        rows = await self.session.scalars(
            select(DigestSchedule)
            .where(DigestSchedule.next_at <= now)
            .order_by(DigestSchedule.next_at, DigestSchedule.group_id)
        )
        return rows.all()

    async def clear(self) -> None:
        """Forget every schedule (the digest was turned off)."""
        await self.session.execute(delete(DigestSchedule))

    async def groups(self) -> set[str]:
        return set((await self.session.scalars(select(DigestSchedule.group_id))).all())
