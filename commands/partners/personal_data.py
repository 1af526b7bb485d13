"""Personal data of the people at partners: what is stored on someone (to answer a
data-protection request), and erasing it, history and the bot's own messages included."""

from __future__ import annotations

from dataclasses import dataclass

from commands.kit.args import Arg, Opt, Text
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.registry import Args
from commands.partners import views
from commands.partners.resolve import book, resolve_partner
from commands.partners.router import PARTNER
from commands.partners.vocabulary import PartnerName
from storage.models import Partner, PartnerEvent, PartnerPerson, Role
from storage.repos.partners import Erasure
from storage.search import squash


@dataclass
class _Found:
    people: list[tuple[PartnerPerson, Partner]]
    events: list[tuple[PartnerEvent, Partner]]
    notes: list[tuple[PartnerEvent, Partner]]
    needles: list[str]


async def _personal_data(ctx: Context, text: str, partner_text: str | None) -> _Found:
    """Everything stored on a person named `text` (a name or an e-mail), at one partner or
    all, and the folded strings (name, e-mail, phone) that identify them in free text."""
    repo = book(ctx)
    partner = await resolve_partner(ctx, partner_text) if partner_text else None
    partner_id = partner.id if partner is not None else None
    wanted = " ".join(text.split())
    email = wanted if "@" in wanted else None
    people = await repo.people_named(squash(wanted), email, partner_id=partner_id)
    needles = {squash(wanted)}
    for found, _ in people:
        needles.add(found.name_key)
        for value in (found.email, found.phone):
            if value:
                needles.add(squash(value))
    needles.discard("")
    events = await repo.person_events(
        [p.id for p, _ in people], squash(wanted), partner_id=partner_id
    )
    for event, _ in events:
        if event.text_key:
            needles.add(event.text_key)
    ordered = sorted(needles, key=len, reverse=True)
    notes = await repo.notes_mentioning(ordered, partner_id=partner_id)
    return _Found(people, events, notes, ordered)


@PARTNER.command(
    "person-data",
    fr="donnees-personne",
    aliases=("données-personne", "person_data", "donnees", "données"),
    args=[Arg("person", Text(200, metavar="person"), rest=True)],
    options=[Opt("partner", PartnerName(), fr="partenaire")],
)
async def person_data(ctx: Context, args: Args) -> None:
    """Everything stored on a person (by name or e-mail), to answer a data-protection request."""
    found = await _personal_data(ctx, args["person"], args["partner"])
    await ctx.audit("partner.person.data", people=[p.id for p, _ in found.people])
    await ctx.reply(
        "partners.person_data",
        person=args["person"],
        people=[{**views.person(p), "partner": partner.name} for p, partner in found.people],
        events=[{**views.event(e), "partner": partner.name} for e, partner in found.events],
        notes=[{**views.event(e), "partner": partner.name} for e, partner in found.notes],
        tz=ctx.room.timezone,
        prefix=ctx.prefix,
    )


@PARTNER.command(
    "forget-person",
    fr="oublier-personne",
    aliases=("erase-person", "effacer-personne", "forget_person"),
    args=[Arg("person", Text(200, metavar="person"), rest=True)],
    options=[Opt("partner", PartnerName(), fr="partenaire")],
    role=Role.MODERATOR,
)
async def forget_person(ctx: Context, args: Args) -> None:
    """Erase a person's details, the history lines about them and their name in notes."""
    found = await _personal_data(ctx, args["person"], args["partner"])
    if not (found.people or found.events or found.notes):
        raise CommandError("partners.forget.none", person=args["person"])
    erasure: Erasure = await book(ctx).erase_people(
        found.people,
        found.events,
        found.notes,
        needles=found.needles,
        marker=ctx.t.text("partners.redacted"),
        actor=ctx.sender,
        now=ctx.now,
    )
    # The bot's own copies of the messages that named them (the commands typed, its
    # answers) are blacked out too; the room's messages are the moderators' to redact.
    marker = ctx.t.text("partners.redacted")
    group, rooms = ctx.require_group(), ctx.group_rooms()
    messages = await ctx.uow.inbox.redact(found.needles, marker, group=group, rooms=rooms)
    messages += await ctx.uow.outbox.redact(found.needles, marker, group=group, rooms=rooms)
    # The audit log says that someone was erased, never who.
    await ctx.audit(
        "partner.person.forget",
        people=[p.id for p, _ in found.people],
        events=erasure.events,
        notes=erasure.notes,
        messages=messages,
    )
    await ctx.reply(
        "partners.forget.done",
        people=erasure.people,
        events=erasure.events,
        notes=erasure.notes,
        messages=messages,
        partners=erasure.partners,
    )
