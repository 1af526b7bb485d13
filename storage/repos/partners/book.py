"""The partners' repository: one group's contact book, read and written.

`PartnerRepository` is what handlers use (`ctx.repo(PartnerRepository)`): here, a
partner's card and history, writing it, links to other domains' records, merges and
removal; joined from the other parts, each a repository of its own bound to the group:
`lists` (pages of partners), `search` (finding them), `people` (the people at partners
and their personal data) and `index` (the search tables every write keeps up to date),
all standing on `records.PartnerRecords`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from storage.models import (
    Link,
    Partner,
    PartnerEvent,
    PartnerGram,
    PartnerPerson,
    PartnerStatus,
    PartnerTag,
    PartnerTerm,
)
from storage.repos.links import LinkRepository
from storage.repos.partners.activity import PartnerActivity
from storage.repos.partners.index import index_rows
from storage.repos.partners.lists import PartnerLists
from storage.repos.partners.people import PartnerPeople
from storage.repos.partners.records import split_tags
from storage.repos.partners.search import PartnerSearch
from storage.search import fold, squash, words

# Fields of the card that `update` may change, with the name they have in history.
BULK = 1000  # partners created per statement by `create_many`

FIELDS = (
    "name",
    "kind",
    "status",
    "social_economy",
    "owner",
    "consortium_member",
    "website",
    "description",
    "tags",
)


@dataclass
class Card:
    """A partner's card, apart from the partner's own row."""

    tags: list[str]
    people: list[PartnerPerson]
    recent: list[PartnerEvent]  # newest first
    total: int  # history lines in all
    open_links: bool = False  # records of other domains (a follow-up) still open about it


@dataclass
class MergeReport:
    """What `merge` moved from the duplicate, and the target's fields it filled in."""

    people: int = 0
    events: int = 0
    tags: int = 0
    filled: list[str] = field(default_factory=list)


class PartnerRepository(PartnerPeople, PartnerSearch, PartnerLists, PartnerActivity):
    """One group's organisations, people and history; no handler writes SQL of its own.

    Every query is narrowed to the group; a partner of another group is never found,
    even by its id. Finding, listing and the people come from the parts it joins.
    """

    # --- Reading one partner.

    async def by_key(self, name_key: str) -> Partner | None:
        """The partner with this folded name, removed or not (names stay unique)."""
        return await self.session.scalar(
            select(Partner).where(Partner.group_id == self.group, Partner.name_key == name_key)
        )

    async def history(
        self, partner_id: int, *, limit: int = 10, offset: int = 0
    ) -> tuple[list[PartnerEvent], int]:
        """A partner's history, newest first, and how many lines it has."""
        rows = (
            await self.session.execute(
                select(PartnerEvent, func.count().over())
                .where(PartnerEvent.partner_id == partner_id)
                .order_by(PartnerEvent.at.desc(), PartnerEvent.id.desc())
                .limit(limit)
                .offset(offset)
            )
        ).all()
        if rows:
            return [event for event, _ in rows], int(rows[0][1])
        total = await self.session.scalar(
            select(func.count())
            .select_from(PartnerEvent)
            .where(PartnerEvent.partner_id == partner_id)
        )
        return [], int(total or 0)

    async def card(self, partner_id: int, *, recent: int = 5) -> Card:
        """What a partner's card shows, in two statements: its tags, last history lines,
        how many there are and whether other records link to it (one query), and its
        people."""
        newest = (
            select(PartnerEvent.id)
            .where(PartnerEvent.partner_id == partner_id)
            .order_by(PartnerEvent.at.desc(), PartnerEvent.id.desc())
            .limit(recent)
            .subquery()
        )
        total = (
            select(func.count())
            .select_from(PartnerEvent)
            .where(PartnerEvent.partner_id == partner_id)
            .scalar_subquery()
        )
        linked = (
            select(Link.id)
            .where(
                Link.group_id == self.group,
                Link.target_kind == "partner",
                Link.target_id == str(partner_id),
                Link.open.is_(True),
            )
            .exists()
        )
        rows = (
            await self.session.execute(
                select(PartnerEvent, total, self._tag_list(partner_id), linked)
                .where(PartnerEvent.id.in_(select(newest.c.id)))
                .order_by(PartnerEvent.at.desc(), PartnerEvent.id.desc())
            )
        ).all()
        events = [row[0] for row in rows]
        return Card(
            tags=split_tags(rows[0][2]) if rows else [],
            people=await self.people(partner_id),
            recent=events[:recent],
            total=int(rows[0][1]) if rows else 0,
            open_links=bool(rows[0][3]) if rows else False,
        )

    # --- Writing a partner.

    async def create(
        self,
        *,
        name: str,
        kind: str,
        status: str,
        actor: str,
        now: datetime,
        social_economy: bool = False,
        owner: str | None = None,
        consortium_member: str | None = None,
        website: str | None = None,
        description: str | None = None,
        tags: Sequence[str] = (),
        source: str = "command",
    ) -> Partner:
        partner = Partner(
            group_id=self.group,
            name=name,
            name_key=squash(name),
            kind=kind,
            status=status,
            social_economy=social_economy,
            owner=owner,
            consortium_member=consortium_member,
            website=website,
            description=description,
            created_at=now,
            updated_at=now,
            last_interaction_at=now,
        )
        self.session.add(partner)
        await self.session.flush()
        self.session.add_all(
            PartnerTag(group_id=self.group, partner_id=partner.id, tag=key, label=label)
            for key, label in _tag_keys(tags).items()
        )
        card = {f: _plain(getattr(partner, f)) for f in FIELDS if f not in ("name", "tags")}
        card["tags"] = list(_tag_keys(tags).values())
        await self._event(
            partner, "created", actor=actor, now=now, detail={"source": source, "card": card}
        )
        await self._index(partner.id, name=name, tags=tags, texts=[description or ""])
        return partner

    async def create_many(
        self, rows: Sequence[dict[str, Any]], *, actor: str, now: datetime, source: str
    ) -> int:
        """Create many partners at once (an import), as `create` would one by one: their
        rows, tags, `created` history lines and search rows, in a few statements per
        thousand partners rather than a few per partner. Each row holds `create`'s
        keyword arguments (name, kind, status, optional fields, tags)."""
        created = 0
        for start in range(0, len(rows), BULK):
            chunk = rows[start : start + BULK]
            values = [
                {
                    "group_id": self.group,
                    "name": row["name"],
                    "name_key": squash(row["name"]),
                    "kind": row["kind"],
                    "status": row["status"],
                    "social_economy": bool(row.get("social_economy", False)),
                    "owner": row.get("owner"),
                    "consortium_member": row.get("consortium_member"),
                    "website": row.get("website"),
                    "description": row.get("description"),
                    "created_at": now,
                    "updated_at": now,
                    "last_interaction_at": now,
                }
                for row in chunk
            ]
            ids = {
                key: partner_id
                for partner_id, key in await self.session.execute(
                    insert(Partner).returning(Partner.id, Partner.name_key), values
                )
            }
            tags, events, terms, grams = [], [], [], []
            for row, value in zip(chunk, values, strict=True):
                partner_id = ids[value["name_key"]]
                labels = _tag_keys(row.get("tags", ()))
                tags += [
                    {"group_id": self.group, "partner_id": partner_id, "tag": k, "label": v}
                    for k, v in labels.items()
                ]
                card = {f: _plain(value[f]) for f in FIELDS if f not in ("name", "tags")}
                card["tags"] = list(labels.values())
                events.append(
                    {
                        "partner_id": partner_id,
                        "at": now,
                        "actor": actor,
                        "kind": "created",
                        "text": None,
                        "text_key": None,
                        "detail": {"source": source, "card": card},
                    }
                )
                words_, grams_ = index_rows(
                    row["name"], row.get("tags", ()), [row.get("description") or ""]
                )
                terms += [
                    {"group_id": self.group, "term": t, "partner_id": partner_id} for t in words_
                ]
                grams += [
                    {"group_id": self.group, "gram": g, "partner_id": partner_id} for g in grams_
                ]
            # On the tables, not the mapped classes: the driver's executemany.
            tag_table: Any = PartnerTag.__table__
            history: Any = PartnerEvent.__table__
            if tags:
                await self.session.execute(insert(tag_table), tags)
            await self.session.execute(insert(history), events)
            await self._insert_ignore(PartnerTerm, terms)
            await self._insert_ignore(PartnerGram, grams)
            created += len(chunk)
        return created

    async def update(
        self,
        partner: Partner,
        changes: dict[str, Any],
        *,
        actor: str,
        now: datetime,
        note: str | None = None,
    ) -> dict[str, tuple[Any, Any]]:
        """Apply field changes; history gets one `edited` line and, apart, a `status` line.

        Returns {field: (before, after)} for what actually changed.
        """
        done: dict[str, tuple[Any, Any]] = {}
        current_tags = (await self.tags_of([partner.id]))[partner.id]
        for name, value in changes.items():
            if name not in FIELDS:
                raise ValueError(f"unknown partner field {name!r}")
            if name == "tags":
                before_keys = _tag_keys(current_tags)
                after_keys = _tag_keys(value)
                # Tags are a set (shown alphabetically): only what is in it counts.
                if sorted(before_keys.items()) != sorted(after_keys.items()):
                    done["tags"] = (current_tags, sorted(after_keys.values(), key=fold))
                continue
            before = getattr(partner, name)
            if before != value:
                done[name] = (_plain(before), _plain(value))
        if not done:
            return done
        status = done.pop("status", None)
        for name, (_before, after) in done.items():
            if name == "tags":
                await self._set_tags(partner.id, changes["tags"])
            else:
                setattr(partner, name, changes[name])
            if name == "name":
                partner.name_key = squash(after)
        if done:
            await self._event(
                partner,
                "edited",
                actor=actor,
                now=now,
                detail={"changes": {k: list(v) for k, v in done.items()}},
            )
        if status is not None:
            partner.status = changes["status"]
            await self._event(
                partner,
                "status",
                actor=actor,
                now=now,
                text=note,
                detail={"from": status[0], "to": status[1]},
            )
            done["status"] = status
        if {"name", "tags", "description"} & done.keys():
            await self.reindex(partner.id)
        await self.session.flush()
        return done

    async def add_note(
        self, partner: Partner, text: str, *, actor: str, now: datetime
    ) -> PartnerEvent:
        event = await self._event(partner, "note", actor=actor, now=now, text=text)
        await self._add_terms(partner.id, words(text))
        return event

    async def link(
        self,
        partner: Partner,
        *,
        type_: str,
        ref: str,
        text: str | None,
        actor: str,
        now: datetime,
    ) -> PartnerEvent:
        """Record that a follow-up, poll or meeting (`type_` and its number `ref`)
        concerns the partner: a line of its history (an interaction) and an open link
        in the links table, which the card reads."""
        await LinkRepository(self.session, self.group).add(
            (type_, ref), ("partner", partner.id), actor=actor, now=now, text=text
        )
        return await self._event(
            partner,
            "link",
            actor=actor,
            now=now,
            text=text,
            detail={"type": type_, "ref": ref},
        )

    async def link_done(
        self,
        partner: Partner,
        *,
        type_: str,
        ref: str,
        text: str | None,
        note: str | None,
        actor: str,
        now: datetime,
    ) -> PartnerEvent:
        """Record that a follow-up about the partner was done: an interaction."""
        return await self._event(
            partner,
            "link_done",
            actor=actor,
            now=now,
            text=text,
            detail={"type": type_, "ref": ref, "note": note},
        )

    async def close_link(self, type_: str, ref: str, *, now: datetime) -> int:
        """Close the links from one follow-up (poll, meeting) to partners; returns how many."""
        return await LinkRepository(self.session, self.group).close((type_, ref), now=now)

    async def remove(self, partner: Partner, *, actor: str, now: datetime) -> None:
        partner.removed_at = now
        await self._event(partner, "removed", actor=actor, now=now)

    async def restore(self, partner: Partner, *, actor: str, now: datetime) -> None:
        partner.removed_at = None
        await self._event(partner, "restored", actor=actor, now=now)

    async def merge(
        self, source: Partner, target: Partner, *, actor: str, now: datetime
    ) -> MergeReport:
        """Fold `source` into `target`: people, tags, history and empty fields move over.

        `source` stays, removed and pointing at `target`, so its name keeps answering
        with where it went.
        """
        report = MergeReport()
        for name in ("owner", "consortium_member", "website", "description"):
            if getattr(target, name) in (None, "") and getattr(source, name) not in (None, ""):
                setattr(target, name, getattr(source, name))
                report.filled.append(name)
        if source.social_economy and not target.social_economy:
            target.social_economy = True
            report.filled.append("social_economy")
        source_tags = (await self.tags_of([source.id]))[source.id]
        target_tags = (await self.tags_of([target.id]))[target.id]
        merged_tags = _tag_keys([*target_tags, *source_tags])
        report.tags = len(merged_tags) - len(_tag_keys(target_tags))
        await self._set_tags(target.id, list(merged_tags.values()))
        await self._set_tags(source.id, [])
        kept = {p.name_key: p for p in await self.people(target.id)}
        for person in await self.people(source.id):
            twin = kept.get(person.name_key)
            if twin is None:
                person.partner_id = target.id
            else:
                for name in ("role", "email", "phone", "notes"):
                    if not getattr(twin, name) and getattr(person, name):
                        setattr(twin, name, getattr(person, name))
                await self.session.delete(person)
            report.people += 1
        moved = await self.session.execute(
            update(PartnerEvent)
            .where(PartnerEvent.partner_id == source.id)
            .values(partner_id=target.id)
        )
        report.events = int(getattr(moved, "rowcount", 0) or 0)
        target.last_interaction_at = max(target.last_interaction_at, source.last_interaction_at)
        source.removed_at = now
        source.merged_into_id = target.id
        await self.session.flush()
        await self._event(
            target,
            "merged",
            actor=actor,
            now=now,
            text=source.name,
            detail={"from_id": source.id, "people": report.people, "events": report.events},
        )
        await self._event(
            source,
            "merged_into",
            actor=actor,
            now=now,
            text=target.name,
            detail={"into_id": target.id},
        )
        await self.reindex(target.id)
        await self.reindex(source.id)
        return report

    # --- Import support.

    async def by_keys(self, name_keys: Iterable[str]) -> dict[str, Partner]:
        keys = list(set(name_keys))
        found: dict[str, Partner] = {}
        for start in range(0, len(keys), 500):
            rows = await self.session.scalars(
                select(Partner).where(
                    Partner.group_id == self.group, Partner.name_key.in_(keys[start : start + 500])
                )
            )
            found.update({p.name_key: p for p in rows})
        return found

    # --- Tags.

    async def _set_tags(self, partner_id: int, labels: Sequence[str]) -> None:
        """Replace a partner's tags (labels differing only by case or accents count once)."""
        await self.session.execute(
            delete(PartnerTag).where(
                PartnerTag.group_id == self.group, PartnerTag.partner_id == partner_id
            )
        )
        self.session.add_all(
            PartnerTag(group_id=self.group, partner_id=partner_id, tag=key, label=label)
            for key, label in _tag_keys(labels).items()
        )
        await self.session.flush()


def _tag_keys(labels: Iterable[str]) -> dict[str, str]:
    """{folded key: label as first written}, in the order given, duplicates dropped."""
    keys: dict[str, str] = {}
    for label in labels:
        text = " ".join(label.split())
        key = fold(text)
        if key and key not in keys:
            keys[key] = text
    return keys


def _plain(value: Any) -> Any:
    """A value as history's JSON keeps it."""
    if isinstance(value, PartnerStatus):
        return value.value
    return value
