"""The people at partners, and their personal data: adding, changing and removing
someone; finding everything the contact book stores on a person, and erasing it (a
data-protection request): their records, the history lines about them, and their
name, e-mail or phone wherever else they are written (notes, descriptions, edits)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, func, literal_column, or_, select

from storage.models import Link, Partner, PartnerEvent, PartnerPerson
from storage.personal import PersonMatcher, email_key, name_key, phone_key
from storage.repos.partners.index import PartnerIndex
from storage.search import fold, squash, words

PERSON_FIELDS = ("name", "role", "email", "phone", "notes")
# The details that identify someone: their previous values are kept in history (see
# `update_person`), so that erasing them later finds what they were too.
IDENTIFYING = ("name", "email", "phone")
PERSON_EVENTS = ("person_added", "person_edited", "person_removed")
NOTE_EVENTS = ("note", "status", "link")
TEXT_DETAILS = ("created", "edited", "person_edited")


@dataclass
class Erasure:
    """What `erase_personal_data` did: people blanked, history lines about them scrubbed
    or naming them redacted, notes redacted, cards (descriptions, other people's notes)
    redacted, and the partners whose people were erased."""

    people: int = 0
    events: int = 0
    notes: int = 0
    cards: int = 0
    partners: list[str] = field(default_factory=list)


@dataclass
class PersonFindings:
    """Everything of the contact book that is about a person or mentions them."""

    people: list[tuple[PartnerPerson, Partner]] = field(default_factory=list)
    # History lines about the person (added, changed, removed): scrubbed whole.
    own: list[tuple[PartnerEvent, Partner]] = field(default_factory=list)
    # Other history lines that mention them: notes, status comments, links (`NOTE_EVENTS`)
    # and the rest (an edit whose values name them, a partner's creation).
    notes: list[tuple[PartnerEvent, Partner]] = field(default_factory=list)
    events: list[tuple[PartnerEvent, Partner]] = field(default_factory=list)
    # Partners whose card mentions them (name, description, website), other people whose
    # role or notes do, and links to partners whose text does.
    cards: list[Partner] = field(default_factory=list)
    others: list[tuple[PartnerPerson, Partner]] = field(default_factory=list)
    links: list[tuple[Link, Partner]] = field(default_factory=list)


class PartnerPeople(PartnerIndex):
    """The people at a group's partners. History names the fields changed and keeps the
    previous values of those that identify someone (name, e-mail, phone), which an
    erasure finds and erases with the rest."""

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
        """Change a person's details; history names the fields changed, and keeps the
        previous name, e-mail and phone (`before`) so that an erasure finds them."""
        done = [k for k, v in changes.items() if k in PERSON_FIELDS and getattr(person, k) != v]
        if not done:
            return done
        before = {k: getattr(person, k) for k in done if k in IDENTIFYING and getattr(person, k)}
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
            detail={
                "person_id": person.id,
                "fields": done,
                **({"before": before} if before else {}),
            },
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

    # --- Personal data (data-protection requests).

    def _of_group(self, partner_column: Any, partner_id: int | None) -> ColumnElement[bool]:
        """Rows of the group's partners (or of one of them), checked row by row.

        What narrows a search for a person is its text conditions: the database should
        read the table through once and test this on the rows that match, not go
        partner by partner through the table's index, five times slower (hence `+ 0`,
        which keeps SQLite's planner from that index).
        """
        partners = select(Partner.id).where(Partner.group_id == self.group)
        if partner_id is not None:
            return and_(partner_column == partner_id, partner_column.in_(partners))
        scanned: ColumnElement[bool] = (partner_column + literal_column("0")).in_(partners)
        return scanned

    async def _partners(self, ids: Iterable[int]) -> dict[int, Partner]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        rows = await self.session.scalars(
            select(Partner).where(Partner.group_id == self.group, Partner.id.in_(wanted))
        )
        return {p.id: p for p in rows}

    async def people_identified(
        self, *, name: str | None, email: str | None, phone: str | None, partner_id: int | None
    ) -> list[tuple[PartnerPerson, Partner]]:
        """The people (not erased) that are this person: their name (folded), e-mail or
        phone number is the one given, now or before a change."""
        matches: list[ColumnElement[bool]] = []
        if name:
            matches.append(PartnerPerson.name_key == squash(name))
        if email:
            matches.append(func.lower(PartnerPerson.email) == email.strip().lower())
        if phone:
            digits = [c for c in phone_key(phone) if c.isdigit()]
            matches.append(PartnerPerson.phone.like("%" + "%".join(digits) + "%"))
        query = (
            select(PartnerPerson, Partner)
            .join(Partner, Partner.id == PartnerPerson.partner_id)
            .where(Partner.group_id == self.group, PartnerPerson.erased_at.is_(None))
            .order_by(Partner.name_key, PartnerPerson.id)
        )
        if partner_id is not None:
            query = query.where(Partner.id == partner_id)
        rows = [
            (person, partner)
            for person, partner in await self.session.execute(query.where(or_(*matches)))
            if _is(person, name=name, email=email, phone=phone)
        ]
        # Someone whose name, e-mail or phone was the one given before a change.
        wanted = PersonMatcher(
            names=[name] if name else (),
            emails=[email] if email else (),
            phones=[phone] if phone else (),
        )
        earlier = await self.session.execute(
            select(PartnerEvent.detail).where(
                PartnerEvent.kind == "person_edited",
                self.mentioning(cast(PartnerEvent.detail, Text), wanted.like_patterns()),
                self._of_group(PartnerEvent.partner_id, partner_id),
            )
        )
        known = {person.id for person, _ in rows}
        ids = {
            detail.get("person_id")
            for (detail,) in earlier
            if _is_before(detail.get("before") or {}, name=name, email=email, phone=phone)
        } - known
        if ids:
            more = await self.session.execute(query.where(PartnerPerson.id.in_(ids)))
            rows += [(person, partner) for person, partner in more]
        rows.sort(key=lambda row: (row[1].name_key, row[0].id))
        return rows

    async def people_with_ids(
        self, person_ids: Sequence[int]
    ) -> list[tuple[PartnerPerson, Partner]]:
        """These people (of the group, not erased) with their partner, by partner name."""
        if not person_ids:
            return []
        rows = await self.session.execute(
            select(PartnerPerson, Partner)
            .join(Partner, Partner.id == PartnerPerson.partner_id)
            .where(
                Partner.group_id == self.group,
                PartnerPerson.erased_at.is_(None),
                PartnerPerson.id.in_(list(person_ids)),
            )
            .order_by(Partner.name_key, PartnerPerson.id)
        )
        return [(person, partner) for person, partner in rows]

    async def previous_values(self, person_ids: Sequence[int]) -> dict[int, dict[str, list[str]]]:
        """{person id: {field: values it had before}} from their history's edits."""
        found: dict[int, dict[str, list[str]]] = {i: {} for i in person_ids}
        if not person_ids:
            return found
        rows = await self.session.scalars(
            select(PartnerEvent.detail)
            .where(
                PartnerEvent.kind == "person_edited",
                PartnerEvent.detail["person_id"].as_integer().in_(list(person_ids)),
                self._of_group(PartnerEvent.partner_id, None),
            )
            .order_by(PartnerEvent.at, PartnerEvent.id)
        )
        for detail in rows:
            values = found[int(detail["person_id"])]
            for key, value in (detail.get("before") or {}).items():
                if isinstance(value, str) and value not in values.setdefault(key, []):
                    values[key].append(value)
        return found

    async def personal_data(
        self,
        matcher: PersonMatcher,
        people: Sequence[tuple[PartnerPerson, Partner]],
        *,
        partner_id: int | None = None,
    ) -> PersonFindings:
        """What the contact book keeps on a person (`people`: their records) or says of
        them (`matcher`): the database picks the rows that may mention them, the matcher
        reads those only."""
        found = PersonFindings(people=list(people))
        ids = [p.id for p, _ in people]
        narrow = [Partner.id == partner_id] if partner_id is not None else []
        raw = matcher.like_patterns()
        folded = matcher.folded_like_patterns()
        history = list(
            await self.session.scalars(
                select(PartnerEvent)
                .where(
                    or_(
                        self.mentioning(PartnerEvent.text_key, folded),
                        # Only these lines keep texts in their detail (a card, its edits,
                        # a person's earlier details); the others keep codes.
                        PartnerEvent.kind.in_(TEXT_DETAILS)
                        & self.mentioning(cast(PartnerEvent.detail, Text), raw),
                        PartnerEvent.kind.in_(PERSON_EVENTS)
                        & PartnerEvent.detail["person_id"].as_integer().in_(ids),
                    ),
                    self._of_group(PartnerEvent.partner_id, partner_id),
                )
                .order_by(PartnerEvent.at, PartnerEvent.id)
            )
        )
        others = list(
            await self.session.scalars(
                select(PartnerPerson)
                .where(
                    or_(
                        self.mentioning(PartnerPerson.role, raw),
                        self.mentioning(PartnerPerson.notes, raw),
                    ),
                    PartnerPerson.erased_at.is_(None),
                    PartnerPerson.id.not_in(ids),
                    self._of_group(PartnerPerson.partner_id, partner_id),
                )
                .order_by(PartnerPerson.id)
            )
        )
        links = list(
            await self.session.scalars(
                select(Link)
                .where(
                    Link.group_id == self.group,
                    Link.target_kind == "partner",
                    *([Link.target_id == str(partner_id)] if partner_id is not None else []),
                    self.mentioning(Link.text, raw),
                )
                .order_by(Link.created_at, Link.id)
            )
        )
        partners = await self._partners(
            [
                *(e.partner_id for e in history),
                *(o.partner_id for o in others),
                *(int(k.target_id) for k in links if k.target_id.isdigit()),
            ]
        )
        for event in history:
            partner = partners[event.partner_id]
            about = event.kind in PERSON_EVENTS and (
                event.detail.get("person_id") in ids or matcher.mentions(event.text or "")
            )
            if about:
                found.own.append((event, partner))
            elif matcher.mentions(event.text or ""):
                (found.notes if event.kind in NOTE_EVENTS else found.events).append(
                    (event, partner)
                )
            elif matcher.mentions_json(event.detail, html_keys=frozenset()):
                found.events.append((event, partner))
        found.others = sorted(
            (
                (o, partners[o.partner_id])
                for o in others
                if matcher.mentions(o.role or "") or matcher.mentions(o.notes or "")
            ),
            key=lambda row: (row[1].name_key, row[0].id),
        )
        found.links = [
            (k, partners[int(k.target_id)])
            for k in links
            if int(k.target_id) in partners and matcher.mentions(k.text or "")
        ]
        cards = await self.session.scalars(
            select(Partner)
            .where(
                Partner.group_id == self.group,
                *narrow,
                or_(
                    self.mentioning(Partner.name, raw),
                    self.mentioning(Partner.description, raw),
                    self.mentioning(Partner.website, raw),
                ),
            )
            .order_by(Partner.name_key)
        )
        found.cards = [p for p in cards if any(matcher.mentions(v or "") for v in _card_texts(p))]
        return found

    async def erase_personal_data(
        self,
        found: PersonFindings,
        matcher: PersonMatcher,
        *,
        marker: str,
        actor: str,
        now: datetime,
    ) -> Erasure:
        """Blank the person's records, scrub the history lines about them, and replace
        every mention of them elsewhere (notes, edits, descriptions, other people's notes,
        links) with `marker`.

        What stays is an anonymised `person_erased` line per person: that someone was
        erased, by whom and when, and nothing that says who.
        """
        erasure = Erasure()
        touched: dict[int, Partner] = {}
        for person, partner in found.people:
            person.name = ""
            person.name_key = ""
            person.role = person.email = person.phone = person.notes = None
            person.erased_at = person.updated_at = now
            erasure.people += 1
            touched[partner.id] = partner
        for event, partner in found.own:
            event.text = event.text_key = None
            event.detail = {"person_id": event.detail.get("person_id"), "erased": True}
            erasure.events += 1
            touched[partner.id] = partner
        for event, partner in [*found.notes, *found.events]:
            if event.text is not None:
                event.text = matcher.redact(event.text, marker)
                event.text_key = fold(event.text)
            event.detail = matcher.redact_json(event.detail, marker, html_keys=frozenset())
            if event.kind in NOTE_EVENTS:
                erasure.notes += 1
            else:
                erasure.events += 1
            touched[partner.id] = partner
        for link, partner in found.links:
            link.text = matcher.redact(link.text or "", marker)
            erasure.notes += 1
            touched[partner.id] = partner
        for partner in found.cards:
            await self._redact_card(partner, matcher, marker)
            erasure.cards += 1
            touched[partner.id] = partner
        for person, partner in found.others:
            if person.role is not None:
                person.role = matcher.redact(person.role, marker)
            if person.notes is not None:
                person.notes = matcher.redact(person.notes, marker)
            erasure.cards += 1
            touched[partner.id] = partner
        await self.session.flush()
        for person, partner in found.people:
            await self._event(
                partner, "person_erased", actor=actor, now=now, detail={"person_id": person.id}
            )
        for partner in touched.values():
            await self.reindex(partner.id)
        erasure.partners = sorted({partner.name for _, partner in found.people}, key=fold)
        return erasure

    async def _redact_card(self, partner: Partner, matcher: PersonMatcher, marker: str) -> None:
        """A partner's name, description and website with the person taken out. A name
        that would then be another partner's keeps its number, to stay unique."""
        if partner.description is not None:
            partner.description = matcher.redact(partner.description, marker)
        if partner.website is not None:
            partner.website = matcher.redact(partner.website, marker)
        name = matcher.redact(partner.name, marker)
        if name != partner.name:
            twin = await self.session.scalar(
                select(Partner.id).where(
                    Partner.group_id == self.group,
                    Partner.name_key == squash(name),
                    Partner.id != partner.id,
                )
            )
            partner.name = name if twin is None else f"{name} #{partner.id}"
            partner.name_key = squash(partner.name)


def _card_texts(partner: Partner) -> tuple[str | None, ...]:
    return (partner.name, partner.description, partner.website)


def _is(person: PartnerPerson, *, name: str | None, email: str | None, phone: str | None) -> bool:
    """Whether this record is the person named, or with this e-mail or phone."""
    return bool(
        (name and person.name_key == squash(name))
        or (email and person.email and email_key(person.email) == email_key(email))
        or (phone and person.phone and phone_key(person.phone) == phone_key(phone))
    )


def _is_before(
    before: dict[str, Any], *, name: str | None, email: str | None, phone: str | None
) -> bool:
    """Whether previous values (a `person_edited` line's) were this name, e-mail or phone."""
    earlier = {k: v for k, v in before.items() if isinstance(v, str)}
    return bool(
        (name and "name" in earlier and name_key(earlier["name"]) == name_key(name))
        or (email and "email" in earlier and email_key(earlier["email"]) == email_key(email))
        or (phone and "phone" in earlier and phone_key(earlier["phone"]) == phone_key(phone))
    )
