"""What every part of the partners' repository stands on: a group-bound base that reads
one partner's rows (the partner, its tags, its people) and writes its history.

Every write that matters to the group goes through `_event`, which appends a line to
the partner's history and keeps `last_interaction_at` (what `stale` reads) up to date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select

from storage.models import Partner, PartnerEvent, PartnerPerson, PartnerTag
from storage.repos.base import GroupRepository
from storage.search import fold

# History lines that are contact with the partner: `stale` measures the time since
# the last of them. Edits of the card (a website fixed, a tag added) are not.
INTERACTIONS = frozenset(
    {"created", "note", "status", "link", "link_done", "merged", "person_added"}
)

TAG_SEPARATOR = "\x1f"  # between aggregated tag labels (labels never hold control characters)


class PartnerRecords(GroupRepository):
    """One group's partners, read one at a time, and their history written.

    Every query is narrowed to the group; a partner of another group is never found,
    even by its id. The other parts of the repository (`book`, `search`, `people`,
    `index`) build on this one.
    """

    async def get(self, partner_id: int) -> Partner | None:
        partner = await self.session.get(Partner, partner_id)
        return partner if partner is not None and partner.group_id == self.group else None

    async def tags_of(self, partner_ids: Iterable[int]) -> dict[int, list[str]]:
        ids = list(partner_ids)
        tags: dict[int, list[str]] = {i: [] for i in ids}
        if not ids:
            return tags
        rows = await self.session.execute(
            select(PartnerTag.partner_id, PartnerTag.label)
            .where(PartnerTag.group_id == self.group, PartnerTag.partner_id.in_(ids))
            .order_by(PartnerTag.partner_id, PartnerTag.tag)
        )
        for partner_id, label in rows:
            tags[partner_id].append(label)
        return tags

    async def people(self, partner_id: int) -> list[PartnerPerson]:
        rows = await self.session.scalars(
            select(PartnerPerson)
            .where(PartnerPerson.partner_id == partner_id, PartnerPerson.erased_at.is_(None))
            .order_by(PartnerPerson.name_key)
        )
        return list(rows)

    def _tag_list(self, partner_id: int | None = None) -> Any:
        """A partner's tag labels as one string (a scalar subquery, correlated with
        Partner unless an id is given), to be split by `split_tags`."""
        joined = joined_labels(self.dialect)
        if partner_id is not None:
            return select(joined).where(PartnerTag.partner_id == partner_id).scalar_subquery()
        return (
            select(joined)
            .where(PartnerTag.partner_id == Partner.id)
            .correlate(Partner)
            .scalar_subquery()
        )

    async def _event(
        self,
        partner: Partner,
        kind: str,
        *,
        actor: str,
        now: datetime,
        text: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> PartnerEvent:
        """Append a line to the partner's history (an interaction, when `kind` is one)."""
        event = PartnerEvent(
            partner_id=partner.id,
            at=now,
            actor=actor,
            kind=kind,
            text=text,
            text_key=fold(text) if text is not None else None,
            detail=detail or {},
        )
        self.session.add(event)
        partner.updated_at = now
        if kind in INTERACTIONS and (
            partner.last_interaction_at is None or now > partner.last_interaction_at
        ):
            partner.last_interaction_at = now
        await self.session.flush()
        return event


def alive(removed: bool) -> ColumnElement[bool]:
    """Partners in use (the default), or those removed and not merged (restorable)."""
    if removed:
        return Partner.removed_at.is_not(None) & Partner.merged_into_id.is_(None)
    return Partner.removed_at.is_(None)


def joined_labels(dialect: str) -> Any:
    """A partner's tag labels joined in one string, in this database's SQL."""
    if dialect == "postgresql":
        return func.string_agg(PartnerTag.label, TAG_SEPARATOR)
    return func.group_concat(PartnerTag.label, TAG_SEPARATOR)


def split_tags(tags: str | None) -> list[str]:
    """Tag labels from `_tag_list`, alphabetically (case and accents aside)."""
    return sorted(tags.split(TAG_SEPARATOR), key=fold) if tags else []
