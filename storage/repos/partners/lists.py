"""Many of a group's partners at once: a page of those a filter keeps (`list`, `stale`,
`export`), with their tags and how many match in all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select

from storage.models import Partner, PartnerTag
from storage.repos.partners.records import PartnerRecords, alive, split_tags


@dataclass(frozen=True)
class PartnerFilter:
    """What `list`, `export` and `stale` narrow the partners to; None means any."""

    status: str | None = None
    statuses: tuple[str, ...] | None = None
    kind: str | None = None
    tag: str | None = None  # folded
    owner: str | None = None
    consortium_member: str | None = None
    social_economy: bool | None = None
    removed: bool = False
    quiet_since: datetime | None = None  # last interaction before this instant


@dataclass(frozen=True)
class Listed:
    """A partner as a line of a list: the row and its tag labels."""

    partner: Partner
    tags: list[str]


class PartnerLists(PartnerRecords):
    """Pages of a group's partners, filtered and ordered."""

    async def page(
        self, where: PartnerFilter, *, limit: int | None, offset: int = 0, order: str = "name"
    ) -> tuple[list[Listed], int]:
        """One page of partners matching `where`, and how many match in all.

        One statement: the rows, their tags (aggregated) and the total (a scalar
        subquery), since on SQLite each round trip costs more than the query.
        """
        conditions = _conditions(self.group, where)
        total = select(func.count()).select_from(Partner).where(*conditions).scalar_subquery()
        query = select(Partner, self._tag_list(), total).where(*conditions)
        if order == "quiet":
            query = query.order_by(Partner.last_interaction_at, Partner.name_key)
        else:
            query = query.order_by(Partner.name_key)
        if limit is not None:
            query = query.limit(limit).offset(offset)
        rows = (await self.session.execute(query)).all()
        if not rows:
            count = await self.session.scalar(
                select(func.count()).select_from(Partner).where(*conditions)
            )
            return [], int(count or 0)
        return [Listed(p, split_tags(tags)) for p, tags, _ in rows], int(rows[0][2])


def _conditions(group: str, where: PartnerFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a filter, the group's first."""
    conditions = [Partner.group_id == group, alive(where.removed)]
    if where.status is not None:
        conditions.append(Partner.status == where.status)
    if where.statuses is not None:
        conditions.append(Partner.status.in_(where.statuses))
    if where.kind is not None:
        conditions.append(Partner.kind == where.kind)
    if where.owner is not None:
        conditions.append(Partner.owner == where.owner)
    if where.consortium_member is not None:
        conditions.append(Partner.consortium_member == where.consortium_member)
    if where.social_economy is not None:
        conditions.append(Partner.social_economy.is_(where.social_economy))
    if where.quiet_since is not None:
        conditions.append(Partner.last_interaction_at < where.quiet_since)
    if where.tag is not None:
        conditions.append(
            Partner.id.in_(
                select(PartnerTag.partner_id).where(
                    PartnerTag.group_id == group, PartnerTag.tag == where.tag
                )
            )
        )
    return conditions
