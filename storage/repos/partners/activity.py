"""What happened in a group's contact book over a period (the weekly digest)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select

from storage.models import Partner, PartnerEvent
from storage.repos.partners.records import PartnerRecords, alive


class PartnerActivity(PartnerRecords):
    async def names(self, partner_ids: Iterable[int]) -> dict[int, str]:
        """The names of some partners, by id, in one query (lines naming partners)."""
        wanted = list(partner_ids)
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(Partner.id, Partner.name).where(
                Partner.group_id == self.group, Partner.id.in_(wanted)
            )
        )
        return {int(row[0]): str(row[1]) for row in rows}

    async def created_between(
        self, since: datetime, until: datetime, *, limit: int
    ) -> tuple[Sequence[Partner], int]:
        """Partners added in the period (the first `limit`, oldest first) and how many."""
        conditions = [
            Partner.group_id == self.group,
            alive(False),
            Partner.created_at >= since,
            Partner.created_at < until,
        ]
        total = await self.session.scalar(select(func.count(Partner.id)).where(*conditions))
        rows = await self.session.scalars(
            select(Partner).where(*conditions).order_by(Partner.created_at, Partner.id).limit(limit)
        )
        return rows.all(), int(total or 0)

    async def status_changes_between(
        self, since: datetime, until: datetime, *, limit: int
    ) -> tuple[Sequence[tuple[PartnerEvent, Partner]], int]:
        """Status changes in the period (the first `limit`, oldest first) and how many.
        Only partners touched in the period can have one: they are looked at first."""
        touched = select(Partner.id).where(
            Partner.group_id == self.group, alive(False), Partner.updated_at >= since
        )
        conditions = [
            PartnerEvent.partner_id.in_(touched),
            PartnerEvent.kind == "status",
            PartnerEvent.at >= since,
            PartnerEvent.at < until,
        ]
        total = await self.session.scalar(select(func.count(PartnerEvent.id)).where(*conditions))
        rows = await self.session.execute(
            select(PartnerEvent, Partner)
            .join(Partner, Partner.id == PartnerEvent.partner_id)
            .where(*conditions)
            .order_by(PartnerEvent.at, PartnerEvent.id)
            .limit(limit)
        )
        return [(event, partner) for event, partner in rows], int(total or 0)
