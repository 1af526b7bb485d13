"""Personal data in the contact book: the people at partners (and the values they had
before a change), the history lines about them, and their name, e-mail or phone written
anywhere else (notes, status comments, edits of a card, descriptions, other people's
notes, links). `!partner person-data` and `!partner forget-person` are the kit's
commands (`commands.kit.privacy`), narrowed to the contact book (and by `partner=` to
one partner); `!person-data` and `!forget-person` cover it with every other domain."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from commands.kit import privacy
from commands.kit.args import Opt
from commands.kit.context import Context
from commands.kit.privacy import Finding, Person, Scope, Tally, shorten
from commands.partners import views
from commands.partners.resolve import book, resolve_partner
from commands.partners.router import PARTNER
from commands.partners.vocabulary import PartnerName
from storage.models import Partner, PartnerEvent, PartnerPerson
from storage.personal import PersonMatcher
from storage.repos.partners.people import PersonFindings

DOMAIN = "partners"
CARD_FIELDS = ("name", "description", "website")
DETAILS = ("role", "email", "phone", "notes")


class PartnersPersonalData:
    """The contact book's side of a data-protection request (see `privacy.PersonalData`)."""

    async def identify(self, ctx: Context, person: Person, scope: Scope) -> None:
        """The people that are this person (by the name, e-mail or phone typed, now or
        before a change), and what else identifies them: their details, earlier ones."""
        repo = book(ctx)
        kind, query = person.kind, person.query.strip()
        people = await repo.people_identified(
            name=query if kind == "name" else None,
            email=query if kind == "email" else None,
            phone=query if kind == "phone" else None,
            partner_id=await _partner_id(ctx, scope),
        )
        ids = [p.id for p, _ in people]
        person.records[DOMAIN] = ids
        previous = await repo.previous_values(ids)
        for someone, _ in people:
            earlier = previous[someone.id]
            person.add(
                names=[someone.name, *earlier.get("name", [])],
                emails=[someone.email, *earlier.get("email", [])],
                phones=[someone.phone, *earlier.get("phone", [])],
            )

    async def find(
        self, ctx: Context, person: Person, scope: Scope, *, masked: bool, limit: int
    ) -> list[Finding]:
        found, matcher = await _found(ctx, person, scope)
        lines = _Lines(ctx, matcher, masked=masked)
        previous = await book(ctx).previous_values([p.id for p, _ in found.people])
        history = sorted([*found.own, *found.events], key=lambda r: (r[0].at, r[0].id))
        notes = [lines.event(e, p) for e, p in found.notes[:limit]]
        notes += [lines.link(k.text or "", p) for k, p in found.links[: limit - len(notes)]]
        cards = [lines.card(p) for p in found.cards[:limit]]
        cards += [lines.other(o, p) for o, p in found.others[: limit - len(cards)]]
        return [
            Finding(
                "",
                len(found.people),
                [lines.person(s, p, previous[s.id]) for s, p in found.people[:limit]],
            ),
            Finding(
                "partners.privacy.events",
                len(history),
                [lines.event(e, p) for e, p in history[:limit]],
            ),
            Finding("partners.privacy.notes", len(found.notes) + len(found.links), notes),
            Finding("partners.privacy.cards", len(found.cards) + len(found.others), cards),
        ]

    async def erase(
        self, ctx: Context, person: Person, scope: Scope, *, marker: str
    ) -> list[Tally]:
        found, matcher = await _found(ctx, person, scope)
        erasure = await book(ctx).erase_personal_data(
            found, matcher, marker=marker, actor=ctx.sender, now=ctx.now
        )
        tallies = [
            Tally("partners.erased.people", erasure.people, erasure.partners),
            Tally("partners.erased.events", erasure.events),
            Tally("partners.erased.notes", erasure.notes),
        ]
        if erasure.cards:
            tallies.append(Tally("partners.erased.cards", erasure.cards))
        return tallies


PRIVACY = PartnersPersonalData()
privacy.declare(PARTNER, PRIVACY, options=[Opt("partner", PartnerName(), fr="partenaire")])


async def _partner_id(ctx: Context, scope: Scope) -> int | None:
    text = scope.options.get("partner")
    return (await resolve_partner(ctx, str(text))).id if text else None


async def _found(
    ctx: Context, person: Person, scope: Scope
) -> tuple[PersonFindings, PersonMatcher]:
    repo = book(ctx)
    matcher = person.matcher()
    people = await repo.people_with_ids(person.records.get(DOMAIN, []))
    found = await repo.personal_data(matcher, people, partner_id=await _partner_id(ctx, scope))
    return found, matcher


class _Lines:
    """The lines of an answer about a person: in full (what is kept on them), or with
    them shortened to initials (a preview, posted in the room)."""

    def __init__(self, ctx: Context, matcher: PersonMatcher, *, masked: bool) -> None:
        self.ctx = ctx
        self.matcher = matcher
        self.masked = masked
        self.tz = ctx.room.timezone

    def text(self, text: str | None) -> str | None:
        """A text as the answer shows it: cut short, and masked in a preview."""
        if text is None:
            return None
        if self.masked:
            return self.matcher.excerpt(text, width=privacy.EXCERPT) or shorten(text, 60)
        return shorten(text)

    def person(self, someone: PartnerPerson, partner: Partner, before: dict[str, Any]) -> Markup:
        if self.masked:
            return self.ctx.t.html(
                "partners.privacy.person_masked",
                partner=partner.name,
                name=self.text(someone.name),
                fields=[f for f in DETAILS if getattr(someone, f)],
            )
        shown = {**views.person(someone), "notes": shorten(someone.notes)}
        return self.ctx.t.html(
            "partners.privacy.person",
            partner=partner.name,
            x=shown,
            before=before,
            tz=self.tz,
        )

    def event(self, entry: PartnerEvent, partner: Partner) -> Markup:
        quotes = []
        if entry.kind in ("created", "edited", "merged", "merged_into"):
            # A card's creation or edit: the values that mention them (a description).
            texts = self.matcher.texts(entry.detail, html_keys=frozenset())
            quotes = [q for q in map(self.text, texts) if q]
        before = entry.detail.get("before") if not self.masked else None
        return self.ctx.t.html(
            "partners.privacy.event",
            partner=partner.name,
            e={**views.event(entry), "text": self.text(entry.text)},
            quotes=quotes[:3],
            before=before if isinstance(before, dict) else {},
            tz=self.tz,
        )

    def link(self, text: str, partner: Partner) -> Markup:
        return self.ctx.t.html("partners.privacy.link", partner=partner.name, text=self.text(text))

    def card(self, partner: Partner) -> Markup:
        fields = [
            {"field": f, "text": self.text(getattr(partner, f))}
            for f in CARD_FIELDS
            if self.matcher.mentions(getattr(partner, f) or "")
        ]
        name = self.text(partner.name) if self.matcher.mentions(partner.name) else partner.name
        return self.ctx.t.html("partners.privacy.card", partner=name, fields=fields)

    def other(self, someone: PartnerPerson, partner: Partner) -> Markup:
        fields = [
            {"field": f, "text": self.text(getattr(someone, f))}
            for f in ("role", "notes")
            if self.matcher.mentions(getattr(someone, f) or "")
        ]
        return self.ctx.t.html(
            "partners.privacy.other", partner=partner.name, name=someone.name, fields=fields
        )
