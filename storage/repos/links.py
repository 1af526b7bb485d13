"""Links between records of different domains, kept in one indexed table: a follow-up
about a partner, a decision taken in a meeting. Each domain reads the links that point
at its records without knowing the other domain's tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from storage.models import Link
from storage.repos.base import GroupRepository


class LinkRepository(GroupRepository):
    async def add(
        self,
        source: tuple[str, str | int],
        target: tuple[str, str | int],
        *,
        actor: str,
        now: datetime,
        text: str | None = None,
    ) -> Link:
        """Record that `source` (kind, id) concerns `target` (kind, id)."""
        link = Link(
            group_id=self.group,
            source_kind=source[0],
            source_id=str(source[1]),
            target_kind=target[0],
            target_id=str(target[1]),
            text=text,
            open=True,
            actor=actor,
            created_at=now,
        )
        self.session.add(link)
        await self.session.flush()
        return link

    async def to(
        self, target: tuple[str, str | int], *, source_kind: str | None = None, open_only: bool
    ) -> Sequence[Link]:
        """Links pointing at a record, oldest first (only the open ones if asked)."""
        query = select(Link).where(
            Link.group_id == self.group,
            Link.target_kind == target[0],
            Link.target_id == str(target[1]),
        )
        if source_kind is not None:
            query = query.where(Link.source_kind == source_kind)
        if open_only:
            query = query.where(Link.open.is_(True))
        return (await self.session.scalars(query.order_by(Link.created_at, Link.id))).all()

    async def of(self, source: tuple[str, str | int]) -> Sequence[Link]:
        """Links from a record, oldest first."""
        rows = await self.session.scalars(
            select(Link)
            .where(
                Link.group_id == self.group,
                Link.source_kind == source[0],
                Link.source_id == str(source[1]),
            )
            .order_by(Link.created_at, Link.id)
        )
        return rows.all()

    async def close(self, source: tuple[str, str | int], *, now: datetime) -> int:
        """Mark every link from a record closed (the follow-up is done); returns how many."""
        result = await self.session.execute(
            update(Link)
            .where(
                Link.group_id == self.group,
                Link.source_kind == source[0],
                Link.source_id == str(source[1]),
                Link.open.is_(True),
            )
            .values(open=False, closed_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def retarget(self, kind: str, old_id: str | int, new_id: str | int) -> int:
        """Point links at another record (a partner merged into another)."""
        result = await self.session.execute(
            update(Link)
            .where(
                Link.group_id == self.group,
                Link.target_kind == kind,
                Link.target_id == str(old_id),
            )
            .values(target_id=str(new_id))
        )
        return int(getattr(result, "rowcount", 0) or 0)
