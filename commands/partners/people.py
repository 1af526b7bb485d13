"""The people at a partner: add someone, change their details, remove them
(`!partner person add|edit|remove`)."""

from __future__ import annotations

from commands.kit.args import NOBODY, Arg, Choice, Email, Opt, Phone, Text, Word
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.registry import Args
from commands.kit.text import name_text
from commands.partners import views
from commands.partners.resolve import book, resolve_partner
from commands.partners.router import PARTNER
from commands.partners.vocabulary import PartnerName
from storage.models import Partner, PartnerPerson
from storage.search import squash

PERSON_ACTION = Choice(
    ("add", "edit", "remove"),
    aliases={
        "ajouter": "add",
        "nouveau": "add",
        "nouvelle": "add",
        "new": "add",
        "modifier": "edit",
        "changer": "edit",
        "change": "edit",
        "retirer": "remove",
        "supprimer": "remove",
        "enlever": "remove",
        "delete": "remove",
    },
    label="partner.person_action",
    metavar="person_action",
)
O_PERSON_NAME = Opt("name", Word(200, metavar="name"), fr="nom", aliases=("rename", "renommer"))
PERSON_OPTIONS = (
    Opt("role", Word(200, metavar="text"), fr="role", aliases=("rôle", "fonction", "poste")),
    Opt("email", Email(), fr="email", aliases=("courriel", "mail", "mel", "e-mail")),
    Opt("phone", Phone(), fr="tel", aliases=("téléphone", "telephone", "tél", "phone_number")),
    Opt("notes", Text(2000), fr="notes", aliases=("note",)),
    O_PERSON_NAME,
)


@PARTNER.command(
    "person",
    fr="personne",
    aliases=("contact", "people", "personnes"),
    args=[
        Arg("action", PERSON_ACTION),
        Arg("partner", PartnerName()),
        Arg("person", Word(200, metavar="person")),
    ],
    options=PERSON_OPTIONS,
)
async def person(ctx: Context, args: Args) -> None:
    """Add, change or remove someone at a partner (name, role, e-mail, phone, notes)."""
    partner = await resolve_partner(ctx, args["partner"])
    repo = book(ctx)
    details = {
        k: (None if args[k] in (NOBODY, "-") else args[k])
        for k in ("role", "email", "phone", "notes")
        if args[k] is not None
    }
    if args["action"] == "add":
        if args["name"] is not None:
            raise CommandError(
                "core.error.unknown_option",
                usage=PARTNER.subcommands["person"],
                option=O_PERSON_NAME.key_for(ctx.room.locale),
            )
        name = name_text(args["person"])
        if any(p.name_key == squash(name) for p in await repo.people(partner.id)):
            raise CommandError("partners.person.duplicate", partner=partner.name, person=name)
        added = await repo.add_person(partner, name=name, actor=ctx.sender, now=ctx.now, **details)
        await ctx.audit("partner.person.add", partner_id=partner.id, person_id=added.id)
        await ctx.reply("partners.person.added", partner=partner.name, person=views.person(added))
        return
    found = await _person_at(ctx, partner, args["person"])
    if args["action"] == "remove":
        await repo.remove_person(partner, found, actor=ctx.sender, now=ctx.now)
        await ctx.audit("partner.person.remove", partner_id=partner.id, person_id=found.id)
        await ctx.reply("partners.person.removed", partner=partner.name, person=found.name)
        return
    if args["name"] is not None:
        new_name = details["name"] = name_text(args["name"])
        others = [p for p in await repo.people(partner.id) if p.id != found.id]
        if any(p.name_key == squash(new_name) for p in others):
            raise CommandError("partners.person.duplicate", partner=partner.name, person=new_name)
    if not details:
        raise CommandError("partners.person.nothing", usage=PARTNER.subcommands["person"])
    done = await repo.update_person(partner, found, details, actor=ctx.sender, now=ctx.now)
    if not done:
        await ctx.reply("partners.person.unchanged", partner=partner.name, person=found.name)
        return
    await ctx.audit("partner.person.edit", partner_id=partner.id, person_id=found.id, fields=done)
    await ctx.reply(
        "partners.person.edited", partner=partner.name, person=views.person(found), fields=done
    )


async def _person_at(ctx: Context, partner: Partner, text: str) -> PartnerPerson:
    """Someone at the partner: their exact name (case and accents aside) or a unique prefix."""
    people = await book(ctx).people(partner.id)
    key = squash(text)
    exact = [p for p in people if p.name_key == key]
    if exact:
        return exact[0]
    prefixed = [p for p in people if p.name_key.startswith(key)]
    if len(prefixed) == 1:
        return prefixed[0]
    raise CommandError(
        "partners.person.unknown",
        partner=partner.name,
        person=text,
        people=[p.name for p in (prefixed or people)],
        ambiguous=len(prefixed) > 1,
    )
