"""The partners' repository: organisations, their tags, people and history, and search.

Every write that matters to the group goes through `_event`, which appends a line to
the partner's history and keeps `last_interaction_at` (what `stale` reads) up to date.
Search reads two small index tables kept here: `partner_terms` (folded words, looked
up by prefix on the primary key) and `partner_grams` (trigrams of names and tags, the
candidates of typo-tolerant matching, ranked with rapidfuzz).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import (
    ColumnElement,
    String,
    bindparam,
    case,
    delete,
    desc,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import aliased

from storage.models import (
    Partner,
    PartnerEvent,
    PartnerGram,
    PartnerPerson,
    PartnerStatus,
    PartnerTag,
    PartnerTerm,
)
from storage.repos.base import GroupRepository
from storage.repos.links import LinkRepository
from storage.search import fold, like_pattern, prefix_range, redact, squash, trigrams, words

# History lines that are contact with the partner: `stale` measures the time since
# the last of them. Edits of the card (a website fixed, a tag added) are not.
INTERACTIONS = frozenset({"created", "note", "status", "link", "merged", "person_added"})

# Fields of the card that `update` may change, with the name they have in history.
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
PERSON_FIELDS = ("name", "role", "email", "phone", "notes")

FUZZY_CUTOFF = 70.0  # rapidfuzz WRatio, 0-100: below it a name is not "close"
MAX_TERMS = 6  # words of a query that are looked up (the longest ones)
RARITY_PROBE = 1000  # index rows counted to tell a rare word from a common one
TAG_SEPARATOR = "\x1f"  # between aggregated tag labels (labels never hold control characters)


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


@dataclass(frozen=True)
class Hit:
    """A partner found by `search`, and why: rank 0 exact name ... 5 close (typo)."""

    partner: Partner
    tags: list[str]
    rank: int
    reason: str  # name | tag | text | close
    detail: str | None = None  # the tag, or the note that matched
    at: datetime | None = None  # when that note was written


@dataclass
class Card:
    """A partner's card, apart from the partner's own row."""

    tags: list[str]
    people: list[PartnerPerson]
    recent: list[PartnerEvent]  # newest first
    total: int  # history lines in all


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int
    capped: bool  # more partners matched than were counted


@dataclass
class MergeReport:
    people: int = 0
    events: int = 0
    tags: int = 0
    filled: list[str] = field(default_factory=list)


@dataclass
class Erasure:
    people: int = 0
    events: int = 0
    notes: int = 0
    partners: list[str] = field(default_factory=list)


class PartnerRepository(GroupRepository):
    """One group's organisations, people and history; no handler writes SQL of its own.

    Every query is narrowed to the group; a partner of another group is never found,
    even by its id.
    """

    # --- Reading one partner.

    async def get(self, partner_id: int) -> Partner | None:
        partner = await self.session.get(Partner, partner_id)
        return partner if partner is not None and partner.group_id == self.group else None

    async def by_key(self, name_key: str) -> Partner | None:
        """The partner with this folded name, removed or not (names stay unique)."""
        return await self.session.scalar(
            select(Partner).where(Partner.group_id == self.group, Partner.name_key == name_key)
        )

    async def by_prefix(
        self, prefix: str, *, removed: bool = False, limit: int = 10
    ) -> list[Partner]:
        """Partners whose folded name starts with `prefix`, alphabetically."""
        # LIKE rather than a range: name_key has the database's collation, whose order
        # need not keep a prefix's strings together (10,000 names scan in a millisecond).
        rows = await self.session.scalars(
            select(Partner)
            .where(
                Partner.group_id == self.group,
                _alive(removed),
                Partner.name_key.like(like_pattern(prefix, anywhere=False), escape="\\"),
            )
            .order_by(Partner.name_key)
            .limit(limit)
        )
        return list(rows)

    async def similar(self, text: str, *, removed: bool = False, limit: int = 3) -> list[Partner]:
        """Names close to `text`: containing it, else within a typo or two of it."""
        key = squash(text)
        if not key:
            return []
        rows = await self.session.scalars(
            select(Partner)
            .where(
                Partner.group_id == self.group,
                _alive(removed),
                Partner.name_key.like(like_pattern(key), escape="\\"),
            )
            .order_by(func.length(Partner.name_key), Partner.name_key)
            .limit(limit)
        )
        found = list(rows)
        if len(found) < limit:
            for partner_id, *_ in await self._close(key, removed=removed, limit=limit):
                partner = await self.get(partner_id)
                if partner is not None and partner not in found:
                    found.append(partner)
        return found[:limit]

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
        """What a partner's card shows, in two statements: its tags, last history lines
        and how many there are (one query), and its people."""
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
        rows = (
            await self.session.execute(
                select(PartnerEvent, total, self._tag_list(partner_id))
                .where(PartnerEvent.id.in_(select(newest.c.id)))
                .order_by(PartnerEvent.at.desc(), PartnerEvent.id.desc())
            )
        ).all()
        events = [event for event, _, _ in rows]
        return Card(
            tags=_split(rows[0][2]) if rows else [],
            people=await self.people(partner_id),
            recent=events[:recent],
            total=int(rows[0][1]) if rows else 0,
        )

    # --- Lists.

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
        return [Listed(p, _split(tags)) for p, tags, _ in rows], int(rows[0][2])

    def _tag_list(self, partner_id: int | None = None) -> Any:
        """A partner's tag labels as one string (a scalar subquery, correlated with
        Partner unless an id is given), to be split by `_split`."""
        joined = _joined_labels(self.dialect)
        if partner_id is not None:
            return select(joined).where(PartnerTag.partner_id == partner_id).scalar_subquery()
        return (
            select(joined)
            .where(PartnerTag.partner_id == Partner.id)
            .correlate(Partner)
            .scalar_subquery()
        )

    # --- Search.

    async def search(self, text: str, *, limit: int = 20, cap: int = 200) -> SearchResult:
        """Partners whose name, tags, description, people or notes match `text`.

        Ranked: exact name, name prefix, name containing the text, tag, other text
        (every word of the query starts a word there); and only when nothing matched,
        names and tags within a typo or two ("close"). Each kind of match reads at most
        `cap` + 1 rows, so a common word costs no more than a rare one; the three kinds
        are one statement (on SQLite a round trip costs more than these queries).
        """
        key = squash(text)
        pattern = like_pattern(key)
        # partner id -> (sort key, reason, matching tag)
        found: dict[int, tuple[tuple[int, str], str, str | None]] = {}

        def keep(partner_id: int, order: tuple[int, str], reason: str, tag: str | None) -> None:
            if partner_id not in found or found[partner_id][0] > order:
                found[partner_id] = (order, reason, tag)

        terms = await self._rarest_first(words(text))
        params: dict[str, Any] = {"pattern": pattern, "group": self.group}
        params["tag_low"], params["tag_high"] = prefix_range(key)
        for index, term in enumerate(terms):
            params[f"low{index}"], params[f"high{index}"] = prefix_range(term)
        statement = _search_statement(len(terms), cap)
        sources: dict[str, set[int]] = {"name": set(), "tag": set(), "text": set()}
        rows = await self.session.execute(statement, params)
        for partner_id, name_key, source, tag in rows:
            sources[source].add(partner_id)
            if name_key is None:
                continue  # removed
            if source == "name":
                rank = 0 if name_key == key else 1 if name_key.startswith(key) else 2
                keep(partner_id, (rank, name_key), "name", None)
            else:
                keep(partner_id, (3 if source == "tag" else 4, name_key), source, tag)
        capped = max(len(ids) for ids in sources.values()) > cap or len(found) > cap
        if not found:
            for position, (partner_id, _name_key, _score, close_tag) in enumerate(
                await self._close(key, removed=False)
            ):
                keep(partner_id, (5, f"{position:04d}"), "close", close_tag)
        page = sorted(found.items(), key=lambda item: item[1][0])[:limit]
        ids = [partner_id for partner_id, _ in page]
        # The partners shown, their tags, and for those found in their text the latest
        # note holding the longest word (correlated LIMIT 1 scans on (partner_id, at)).
        texts = [i for i, (_, reason, _) in page if reason == "text"]
        longest = max(terms, key=len) if terms else ""
        rows = await self.session.execute(
            _shown_statement(self.dialect),
            {"ids": ids, "texts": texts or [-1], "note_pattern": like_pattern(longest)},
        )
        partners = {p.id: (p, _split(labels), at, note) for p, labels, at, note in rows}
        hits = []
        for partner_id, ((rank, _), reason, tag) in page:
            partner, labels, at, note = partners[partner_id]
            detail = note if note is not None else _label(labels, tag)
            hits.append(Hit(partner, labels, rank, reason, detail, at))
        return SearchResult(hits, min(len(found), cap), capped)

    async def _rarest_first(self, terms: Sequence[str]) -> list[str]:
        """The query's words, the one starting the fewest indexed words first (it drives
        the search; the others are probes). Counting stops at RARITY_PROBE rows a word:
        beyond that a word is common, whatever its count."""
        unique = sorted(set(terms), key=len, reverse=True)[:MAX_TERMS]
        if len(unique) < 2:
            return unique
        counts = []
        for term in unique:
            low, high = prefix_range(term)
            sample = (
                select(PartnerTerm.partner_id)
                .where(
                    PartnerTerm.group_id == self.group,
                    PartnerTerm.term >= low,
                    PartnerTerm.term < high,
                )
                .limit(RARITY_PROBE)
                .subquery()
            )
            counts.append(select(func.count()).select_from(sample).scalar_subquery())
        row = (await self.session.execute(select(*counts))).one()
        order = sorted(range(len(unique)), key=lambda i: (row[i], -len(unique[i])))
        return [unique[i] for i in order]

    async def _close(
        self, key: str, *, removed: bool, limit: int = 10
    ) -> list[tuple[int, str, float, str | None]]:
        """(id, name_key, score, tag) of partners whose name or a tag is within a typo or
        two of `key`, best first.

        The trigram table gives the candidates (those sharing the most trigrams with
        the query); rapidfuzz ranks them against the name and each tag.
        """
        grams = sorted(trigrams(key))
        if not grams:
            return []
        shared = func.count().label("shared")
        best = (
            select(PartnerGram.partner_id)
            .where(PartnerGram.group_id == self.group, PartnerGram.gram.in_(grams))
            .group_by(PartnerGram.partner_id)
            .order_by(desc(shared), PartnerGram.partner_id)
            .limit(40)
            .subquery()
        )
        rows = await self.session.execute(
            select(Partner.id, Partner.name_key, PartnerTag.tag, PartnerTag.label)
            .join(best, best.c.partner_id == Partner.id)
            .outerjoin(PartnerTag, PartnerTag.partner_id == Partner.id)
            .where(Partner.group_id == self.group, _alive(removed))
        )
        scores: dict[int, tuple[float, str, str | None]] = {}
        for partner_id, name_key, tag, label in rows:
            if partner_id not in scores:
                scores[partner_id] = (fuzz.WRatio(key, name_key), name_key, None)
            if tag is not None:
                score = fuzz.WRatio(key, tag)
                if score > scores[partner_id][0]:
                    scores[partner_id] = (score, name_key, label)
        scored = [
            (partner_id, name_key, score, label)
            for partner_id, (score, name_key, label) in scores.items()
            if score >= FUZZY_CUTOFF
        ]
        scored.sort(key=lambda item: (-item[2], item[1]))
        return scored[:limit]

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

    # --- People.

    async def add_person(
        self,
        partner: Partner,
        *,
        name: str,
        actor: str,
        now: datetime,
        role: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        notes: str | None = None,
    ) -> PartnerPerson:
        person = PartnerPerson(
            partner_id=partner.id,
            name=name,
            name_key=squash(name),
            role=role,
            email=email,
            phone=phone,
            notes=notes,
            created_at=now,
            updated_at=now,
        )
        self.session.add(person)
        await self.session.flush()
        filled = [f for f in PERSON_FIELDS if f != "name" and getattr(person, f)]
        await self._event(
            partner,
            "person_added",
            actor=actor,
            now=now,
            text=name,
            detail={"person_id": person.id, "fields": filled},
        )
        await self._add_terms(partner.id, words(f"{name} {role or ''}"))
        return person

    async def update_person(
        self,
        partner: Partner,
        person: PartnerPerson,
        changes: dict[str, Any],
        *,
        actor: str,
        now: datetime,
    ) -> list[str]:
        """Change a person's details; history names the fields, never their values."""
        done = [k for k, v in changes.items() if k in PERSON_FIELDS and getattr(person, k) != v]
        if not done:
            return done
        for name in done:
            setattr(person, name, changes[name])
        if "name" in done:
            person.name_key = squash(person.name)
        person.updated_at = now
        await self._event(
            partner,
            "person_edited",
            actor=actor,
            now=now,
            text=person.name,
            detail={"person_id": person.id, "fields": done},
        )
        if {"name", "role"} & set(done):
            await self.reindex(partner.id)
        return done

    async def remove_person(
        self, partner: Partner, person: PartnerPerson, *, actor: str, now: datetime
    ) -> None:
        await self.session.delete(person)
        await self._event(
            partner,
            "person_removed",
            actor=actor,
            now=now,
            text=person.name,
            detail={"person_id": person.id},
        )
        await self.reindex(partner.id)

    async def people_named(
        self, name_key: str, email: str | None = None, *, partner_id: int | None = None
    ) -> list[tuple[PartnerPerson, Partner]]:
        """People (not erased) with this folded name or this e-mail, with their partner."""
        matches: list[ColumnElement[bool]] = [PartnerPerson.name_key == name_key]
        if email:
            matches.append(func.lower(PartnerPerson.email) == email.lower())
        query = (
            select(PartnerPerson, Partner)
            .join(Partner, Partner.id == PartnerPerson.partner_id)
            .where(
                Partner.group_id == self.group,
                PartnerPerson.erased_at.is_(None),
                or_(*matches),
            )
            .order_by(Partner.name_key, PartnerPerson.id)
        )
        if partner_id is not None:
            query = query.where(Partner.id == partner_id)
        rows = await self.session.execute(query)
        return [(person, partner) for person, partner in rows]

    async def person_events(
        self, person_ids: Sequence[int], name_key: str, *, partner_id: int | None = None
    ) -> list[tuple[PartnerEvent, Partner]]:
        """History lines about these people, or naming someone with this name (since removed)."""
        query = (
            select(PartnerEvent, Partner)
            .join(Partner, Partner.id == PartnerEvent.partner_id)
            .where(
                Partner.group_id == self.group,
                PartnerEvent.kind.in_(("person_added", "person_edited", "person_removed")),
            )
            .order_by(PartnerEvent.at, PartnerEvent.id)
        )
        if partner_id is not None:
            query = query.where(Partner.id == partner_id)
        rows = await self.session.execute(query)
        ids = set(person_ids)
        return [
            (event, partner)
            for event, partner in rows
            if event.detail.get("person_id") in ids or event.text_key == name_key
        ]

    async def notes_mentioning(
        self, needles: Sequence[str], *, partner_id: int | None = None
    ) -> list[tuple[PartnerEvent, Partner]]:
        """Notes whose folded text contains one of `needles` (a name, an e-mail, a phone)."""
        wanted = [n for n in needles if n]
        if not wanted:
            return []
        query = (
            select(PartnerEvent, Partner)
            .join(Partner, Partner.id == PartnerEvent.partner_id)
            .where(
                Partner.group_id == self.group,
                PartnerEvent.kind.in_(("note", "status", "link")),
                or_(*(PartnerEvent.text_key.like(like_pattern(n), escape="\\") for n in wanted)),
            )
            .order_by(PartnerEvent.at, PartnerEvent.id)
        )
        if partner_id is not None:
            query = query.where(Partner.id == partner_id)
        rows = await self.session.execute(query)
        return [(e, p) for e, p in rows]

    async def erase_people(
        self,
        people: Sequence[tuple[PartnerPerson, Partner]],
        events: Sequence[tuple[PartnerEvent, Partner]],
        notes: Sequence[tuple[PartnerEvent, Partner]],
        *,
        needles: Sequence[str],
        marker: str,
        actor: str,
        now: datetime,
    ) -> Erasure:
        """Blank people's details, scrub the history lines about them, redact notes.

        What stays is an anonymised `person_erased` line per person: that someone was
        erased, by whom and when, and nothing that says who.
        """
        erasure = Erasure()
        touched: dict[int, Partner] = {}
        for person, partner in people:
            person.name = ""
            person.name_key = ""
            person.role = person.email = person.phone = person.notes = None
            person.erased_at = person.updated_at = now
            erasure.people += 1
            touched[partner.id] = partner
        for event, partner in events:
            event.text = event.text_key = None
            event.detail = {"person_id": event.detail.get("person_id"), "erased": True}
            erasure.events += 1
            touched[partner.id] = partner
        for event, partner in notes:
            text = redact(event.text or "", needles, marker)
            if text != event.text:
                event.text, event.text_key = text, fold(text)
                erasure.notes += 1
                touched[partner.id] = partner
        await self.session.flush()
        for person, partner in people:
            await self._event(
                partner, "person_erased", actor=actor, now=now, detail={"person_id": person.id}
            )
        for partner in touched.values():
            await self.reindex(partner.id)
        erasure.partners = sorted({p.name for p in touched.values()}, key=fold)
        return erasure

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

    # --- Keeping history and the search tables.

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

    async def _set_tags(self, partner_id: int, labels: Sequence[str]) -> None:
        await self.session.execute(delete(PartnerTag).where(PartnerTag.partner_id == partner_id))
        self.session.add_all(
            PartnerTag(group_id=self.group, partner_id=partner_id, tag=key, label=label)
            for key, label in _tag_keys(labels).items()
        )
        await self.session.flush()

    async def reindex(self, partner_id: int) -> None:
        """Rebuild a partner's search rows from what is stored now (after an edit, an erasure)."""
        await self.session.execute(delete(PartnerTerm).where(PartnerTerm.partner_id == partner_id))
        await self.session.execute(delete(PartnerGram).where(PartnerGram.partner_id == partner_id))
        partner = await self.get(partner_id)
        if partner is None:
            return
        tags = (await self.tags_of([partner_id]))[partner_id]
        people = await self.people(partner_id)
        notes = await self.session.scalars(
            select(PartnerEvent.text).where(
                PartnerEvent.partner_id == partner_id,
                PartnerEvent.kind == "note",
                PartnerEvent.text.is_not(None),
            )
        )
        texts = [partner.description or ""]
        texts += [f"{p.name} {p.role or ''}" for p in people]
        texts += [t for t in notes if t]
        await self._index(partner_id, name=partner.name, tags=tags, texts=texts)

    async def _index(
        self,
        partner_id: int,
        *,
        name: str,
        tags: Sequence[str] = (),
        texts: Sequence[str] = (),
    ) -> None:
        """Add search rows: words of everything, trigrams of the name and tags."""
        grams = trigrams(name)
        terms = words(name)
        for tag in tags:
            grams |= trigrams(tag)
            terms += words(tag)
        for text in texts:
            terms += words(text)
        await self._add_terms(partner_id, terms)
        if grams:
            await self._insert_ignore(
                PartnerGram,
                [
                    {"group_id": self.group, "gram": g, "partner_id": partner_id}
                    for g in sorted(grams)
                ],
            )

    async def _add_terms(self, partner_id: int, terms: Iterable[str]) -> None:
        unique = sorted(set(terms))
        if unique:
            await self._insert_ignore(
                PartnerTerm,
                [{"group_id": self.group, "term": t, "partner_id": partner_id} for t in unique],
            )

    async def _insert_ignore(
        self, model: type[PartnerTerm] | type[PartnerGram], rows: list[dict[str, Any]]
    ) -> None:
        for start in range(0, len(rows), 500):
            await self.session.execute(
                self.insert(model).values(rows[start : start + 500]).on_conflict_do_nothing()
            )


def _alive(removed: bool) -> ColumnElement[bool]:
    """Partners in use (the default), or those removed and not merged (restorable)."""
    if removed:
        return Partner.removed_at.is_not(None) & Partner.merged_into_id.is_(None)
    return Partner.removed_at.is_(None)


def _conditions(group: str, where: PartnerFilter) -> list[ColumnElement[bool]]:
    conditions = [Partner.group_id == group, _alive(where.removed)]
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


@functools.cache
def _search_statement(terms: int, cap: int) -> Any:
    """The statement of `search` for a number of words, built once (building it costs
    more than running it): names, tags and words matching, `cap` + 1 rows of each.

    Rows are (partner id, name_key or NULL when removed, source, folded tag). Parameters:
    `group`, `pattern` (LIKE, escaped with backslash), and `low<i>`/`high<i>` the prefix
    range of each word, longest first.
    """
    pattern: Any = bindparam("pattern", type_=String())
    group: Any = bindparam("group", type_=String())
    names = (
        select(Partner.id, Partner.name_key, literal("name"), null())
        .where(
            Partner.group_id == group,
            _alive(False),
            Partner.name_key.like(pattern, escape="\\"),
        )
        .order_by(Partner.name_key)
        .limit(cap + 1)
        .subquery()
    )
    tags = (
        select(
            PartnerTag.partner_id,
            _name_of(PartnerTag.partner_id),
            literal("tag"),
            PartnerTag.tag,
        )
        .where(
            PartnerTag.group_id == group,
            PartnerTag.tag >= bindparam("tag_low"),
            PartnerTag.tag < bindparam("tag_high"),
        )
        .limit(cap + 1)
        .subquery()
    )
    members = [select(names), select(tags)]
    if terms:
        # Reads partner_terms only, so that every planner drives it from the longest
        # word's range of the primary key; it stops before any name is looked up. A
        # partner may come twice (two of its words share the prefix): callers keep one.
        inner = select(PartnerTerm.partner_id).where(
            PartnerTerm.group_id == group,
            PartnerTerm.term >= bindparam("low0"),
            PartnerTerm.term < bindparam("high0"),
        )
        for index in range(1, terms):
            other = aliased(PartnerTerm)
            # A correlated probe with LIMIT 1 rather than EXISTS: PostgreSQL turns EXISTS
            # into a hash semi-join reading the other word's whole range, where probing
            # (partner_id, term) for the rows before the LIMIT is cheap.
            probe = (
                select(literal(1))
                .where(
                    other.group_id == group,
                    other.partner_id == PartnerTerm.partner_id,
                    other.term >= bindparam(f"low{index}"),
                    other.term < bindparam(f"high{index}"),
                )
                .limit(1)
                .scalar_subquery()
            )
            inner = inner.where(probe.is_not(None))
        matches = inner.limit(2 * (cap + 1)).subquery()
        members.append(
            select(matches.c.partner_id, _name_of(matches.c.partner_id), literal("text"), null())
        )
    return union_all(*members)


def _joined_labels(dialect: str) -> Any:
    """A partner's tag labels joined in one string, in this database's SQL."""
    if dialect == "postgresql":
        return func.string_agg(PartnerTag.label, TAG_SEPARATOR)
    return func.group_concat(PartnerTag.label, TAG_SEPARATOR)


@functools.cache
def _shown_statement(dialect: str) -> Any:
    """The partners a search shows, their tags, and for those found in their text the
    latest note holding the longest word (correlated LIMIT 1 scans on (partner_id, at)).
    Built once per dialect, like `_search_statement`: parameters `ids`, `texts`,
    `note_pattern`."""
    tag_list = (
        select(_joined_labels(dialect))
        .where(PartnerTag.partner_id == Partner.id)
        .correlate(Partner)
        .scalar_subquery()
    )
    note_at, note_text = (
        case(
            (
                Partner.id.in_(bindparam("texts", expanding=True)),
                select(column)
                .where(
                    PartnerEvent.partner_id == Partner.id,
                    PartnerEvent.kind == "note",
                    PartnerEvent.text_key.like(bindparam("note_pattern"), escape="\\"),
                )
                .order_by(PartnerEvent.at.desc(), PartnerEvent.id.desc())
                .limit(1)
                .correlate(Partner)
                .scalar_subquery(),
            )
        )
        for column in (PartnerEvent.at, PartnerEvent.text)
    )
    return select(Partner, tag_list, note_at, note_text).where(
        Partner.id.in_(bindparam("ids", expanding=True))
    )


def _name_of(partner_id: Any) -> Any:
    """The folded name of a partner in use (NULL when removed), as a scalar subquery."""
    return select(Partner.name_key).where(Partner.id == partner_id, _alive(False)).scalar_subquery()


def _label(labels: Sequence[str], tag: str | None) -> str | None:
    """The label of a (folded) tag among a partner's labels."""
    if tag is None:
        return None
    return next((label for label in labels if fold(label) == tag), tag)


def _split(tags: str | None) -> list[str]:
    """Tag labels from `_tag_list`, alphabetically (case and accents aside)."""
    return sorted(tags.split(TAG_SEPARATOR), key=fold) if tags else []


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
