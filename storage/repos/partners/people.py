"""The people at partners, and their personal data: adding, changing and removing
someone; finding everything stored on a person; erasing it (a data-protection request)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from storage.models import Partner, PartnerEvent, PartnerPerson
from storage.repos.partners.index import PartnerIndex
from storage.search import fold, like_pattern, redact, squash, words

PERSON_FIELDS = ("name", "role", "email", "phone", "notes")


@dataclass
class Erasure:
    """What `erase_people` did: people blanked, history lines scrubbed, notes redacted,
    and the partners concerned."""

    people: int = 0
    events: int = 0
    notes: int = 0
    partners: list[str] = field(default_factory=list)


class PartnerPeople(PartnerIndex):
    """The people at a group's partners; history names the fields changed, never values."""

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
