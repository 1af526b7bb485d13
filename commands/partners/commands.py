"""Partners: the group's contact book, a small CRM driven from chat.

The minutes of 30/05/2015 set its rules: partners in the broad sense (companies,
institutions, associations, foundations, craftsmen, chambers, schools), preferably
from the social and solidarity economy; the project's structural partners (local
public authorities) out of scope; a partner "effective" (active) once it has
formalised an agreement with one of the consortium's members. And the complaint
that started it all: interest shown by partners left without an answer, which is
what `stale` is for.

A partner is named in any command by its exact name (case and accents aside), a
unique prefix of it, or its number in the last list the user saw.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from commands.kit import conversation
from commands.kit.args import Arg, ArgType, Choice, Integer, Opt, ParseContext, Text, User, Word
from commands.kit.context import Context
from commands.kit.errors import ArgError, CommandError
from commands.kit.registry import Args, Router
from commands.kit.text import CONTROL, USER_ID, fold
from commands.partners.settings import PartnersSettings
from storage.models import (
    Link,
    Partner,
    PartnerEvent,
    PartnerKind,
    PartnerPerson,
    PartnerStatus,
    Role,
)
from storage.repos.links import LinkRepository
from storage.repos.partners import Erasure, Hit, Listed, PartnerFilter, PartnerRepository
from storage.search import squash

router = Router("partners")
PARTNER = router.group("partner", fr="partenaire", aliases=("partners", "partenaires"))

PAGE = 20  # lines of a list, of search results
HISTORY_PAGE = 15
CARD_EVENTS = 5  # last interactions on a card
STALE_DAYS = 30  # `stale` without a number of days
MAX_TAGS = 20
IMPORT_MAX_ROWS = 5000
IMPORT_MAX_BYTES = 5 * 1024 * 1024
IMPORT_PREVIEW_LINES = 5
IMPORT_MAX_ERRORS = 10
IMPORT_TTL = timedelta(days=1)
IMPORT = conversation.Pending("partners", "import", ttl=IMPORT_TTL)
ME = "\x00me"  # `owner=me`: the sender
NOBODY = ""  # `owner=-`: nobody

KINDS = tuple(k.value for k in PartnerKind)
STATUSES = tuple(s.value for s in PartnerStatus)


def _key(text: str) -> str:
    """A vocabulary word with case, accents, spaces and punctuation left out."""
    return re.sub(r"[\W_]+", "", fold(text))


class Vocabulary(Choice):
    """A Choice typed as its code or its label in either language: `interesse`,
    `Intéressé`, `interested`, `"en négociation"`, `en-negociation` all work."""

    def __init__(
        self, values: Sequence[str], aliases: dict[str, str], *, label: str, metavar: str
    ) -> None:
        super().__init__(values, aliases, label=label, metavar=metavar)
        self.lookup = {_key(v): v for v in values} | {_key(k): v for k, v in aliases.items()}

    def parse(self, raw: str, pctx: ParseContext) -> str:
        value = self.lookup.get(_key(raw))
        if value is None:
            raise ArgError("core.arg.not_choice", value=raw, choices=self.values, label=self.label)
        return value


KIND = Vocabulary(
    KINDS,
    {
        "entreprise": "company",
        "société": "company",
        "societe": "company",
        "business": "company",
        "magasin": "company",
        "shop": "company",
        "asso": "association",
        "fondation": "foundation",
        "artisan": "craft",
        "artisans": "craft",
        "artisanat": "craft",
        "craftsman": "craft",
        "chambre": "chamber",
        "chambre consulaire": "chamber",
        "cci": "chamber",
        "chambre de métiers": "chamber",
        "école": "school",
        "université": "school",
        "university": "school",
        "collectivité": "public_authority",
        "collectivité territoriale": "public_authority",
        "public authority": "public_authority",
        "local authority": "public_authority",
        "mairie": "public_authority",
        "autre": "other",
    },
    label="partner.kind",
    metavar="kind",
)
STATUS = Vocabulary(
    STATUSES,
    {
        "idée": "idea",
        "à contacter": "to_contact",
        "contacter": "to_contact",
        "todo": "to_contact",
        "contacté": "contacted",
        "intéressé": "interested",
        "en négociation": "negotiating",
        "négociation": "negotiating",
        "negotiation": "negotiating",
        "actif": "active",
        "actif (formalisé)": "active",
        "formalisé": "active",
        "active (formalised)": "active",
        "formalised": "active",
        "formalized": "active",
        "effectif": "active",
        "en pause": "paused",
        "pause": "paused",
        "décliné": "declined",
        "refusé": "declined",
    },
    label="partner.status",
    metavar="status",
)
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
IMPORT_ACTION = Choice(
    ("confirm", "cancel"),
    aliases={"confirmer": "confirm", "valider": "confirm", "ok": "confirm", "annuler": "cancel"},
    label="partner.import_action",
    metavar="import_action",
)


class YesNo(ArgType[bool]):
    metavar = "yesno"
    TRUE = frozenset({"oui", "o", "yes", "y", "true", "vrai", "1", "x"})
    FALSE = frozenset({"non", "n", "no", "false", "faux", "0"})

    def parse(self, raw: str, pctx: ParseContext) -> bool:
        word = fold(raw.strip())
        if word in self.TRUE:
            return True
        if word in self.FALSE:
            return False
        raise ArgError("partners.arg.not_yesno", value=raw)


class Owner(User):
    """The member who follows a partner: @user:server, `me` (moi), or `-` for nobody."""

    def parse(self, raw: str, pctx: ParseContext) -> str:
        word = fold(raw.strip())
        if word in ("me", "moi"):
            return ME
        if word in ("-", "personne", "nobody", "none", "aucun"):
            return NOBODY
        return super().parse(raw, pctx)


class Email(ArgType[str]):
    metavar = "email"
    PATTERN = re.compile(r"[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[^@\s<>(),;:\".]{2,}")

    def parse(self, raw: str, pctx: ParseContext) -> str:
        text = raw.strip()
        if text == "-":
            return NOBODY
        if len(text) > 254 or not self.PATTERN.fullmatch(text) or ".." in text:
            raise ArgError("partners.arg.bad_email", value=raw)
        return text


class Phone(ArgType[str]):
    """A phone number as people write it: digits, spaces, dots, dashes, a leading +."""

    metavar = "phone"
    PATTERN = re.compile(r"\+?[0-9 .\-()/]+")

    def parse(self, raw: str, pctx: ParseContext) -> str:
        text = " ".join(raw.split())
        if text == "-":
            return NOBODY
        digits = sum(c.isdigit() for c in text)
        if not self.PATTERN.fullmatch(text) or not 6 <= digits <= 15:
            raise ArgError("partners.arg.bad_phone", value=raw)
        return text


class Website(ArgType[str]):
    """An http(s) address; `kiditap.fr` means https://kiditap.fr."""

    metavar = "website"

    def parse(self, raw: str, pctx: ParseContext) -> str:
        text = raw.strip()
        if text == "-":
            return NOBODY
        if "://" not in text:
            text = f"https://{text}"
        try:
            parts = urlsplit(text)
            host = parts.hostname or ""
        except ValueError:
            host = ""
        if (
            parts.scheme not in ("http", "https")
            or "." not in host
            or any(c.isspace() for c in text)
            or len(text) > 500
        ):
            raise ArgError("partners.arg.bad_website", value=raw)
        return text


class Tags(ArgType[tuple[str, list[str]]]):
    """`outils,bois` sets the tags; `+bois` adds, `-bois` removes; `-` clears them."""

    metavar = "tags"

    def parse(self, raw: str, pctx: ParseContext) -> tuple[str, list[str]]:
        text = raw.strip()
        if text == "-":
            return "set", []
        items = [" ".join(i.split()) for i in text.split(",")]
        items = [i for i in items if i]
        if items and all(i[0] in "+-" for i in items):
            adds = [i[1:].strip() for i in items if i[0] == "+"]
            removes = [i[1:].strip() for i in items if i[0] == "-"]
            return "change", [f"+{a}" for a in adds if a] + [f"-{r}" for r in removes if r]
        if any(len(i) > 50 for i in items):
            raise ArgError("partners.arg.tag_too_long", limit=50)
        if len(items) > MAX_TAGS:
            raise ArgError("partners.arg.too_many_tags", limit=MAX_TAGS)
        return "set", items


class PartnerName(Word):
    metavar = "partner"

    def __init__(self, metavar: str | None = None) -> None:
        super().__init__(200, metavar)


class Days(Integer):
    metavar = "days"


class Page(Integer):
    metavar = "page"


class StatusAndNote(ArgType[tuple[str, str | None]]):
    """`interested`, `"à contacter"`, `en négociation suite au salon`: a status (one to
    three words) and, after it, an optional comment for the history."""

    metavar = "status_note"

    def parse(self, raw: str, pctx: ParseContext) -> tuple[str, str | None]:
        words = raw.split()
        for size in (3, 2, 1):
            if len(words) >= size:
                value = STATUS.lookup.get(_key(" ".join(words[:size])))
                if value is not None:
                    note = " ".join(words[size:]).strip() or None
                    return value, note
        return STATUS.parse(words[0] if words else raw, pctx), None


YESNO = YesNo()
OWNER = Owner()

# Options of the card, shared by add, edit and the list filters.
O_KIND = Opt("kind", KIND, fr="type", aliases=("type", "genre", "nature"))
O_STATUS = Opt("status", STATUS, fr="statut", aliases=("etat", "état"))
O_TAGS = Opt("tags", Tags(), fr="etiquettes", aliases=("tag", "étiquettes", "étiquette"))
O_SOCIAL = Opt(
    "social",
    YESNO,
    fr="ess",
    aliases=("social_economy", "economie_sociale", "économie_sociale", "esus"),
)
O_OWNER = Opt("owner", OWNER, fr="suivi", aliases=("responsable", "referent", "référent"))
O_CONSORTIUM = Opt(
    "consortium",
    Word(100, metavar="consortium"),
    fr="entite",
    aliases=("entité", "consortium_member", "structure"),
)
O_WEBSITE = Opt("website", Website(), fr="site", aliases=("web", "url", "siteweb", "site_web"))
O_DESCRIPTION = Opt("description", Text(2000), fr="description", aliases=("desc",))
O_FORCE = Opt("force", YESNO, fr="forcer")
O_NAME = Opt("name", PartnerName(metavar="name"), fr="nom", aliases=("rename", "renommer"))
O_PAGE = Opt("page", Page(minimum=1), fr="page")
O_TAG_FILTER = Opt("tag", Word(50, metavar="tag"), fr="etiquette", aliases=("étiquette", "tags"))
O_REMOVED = Opt("removed", YESNO, fr="supprimes", aliases=("supprimés",))
FILTERS = (O_STATUS, O_KIND, O_TAG_FILTER, O_OWNER, O_CONSORTIUM, O_SOCIAL, O_REMOVED)

O_PERSON_NAME = Opt("name", Word(200, metavar="name"), fr="nom", aliases=("rename", "renommer"))
PERSON_OPTIONS = (
    Opt("role", Word(200, metavar="text"), fr="role", aliases=("rôle", "fonction", "poste")),
    Opt("email", Email(), fr="email", aliases=("courriel", "mail", "mel", "e-mail")),
    Opt("phone", Phone(), fr="tel", aliases=("téléphone", "telephone", "tél", "phone_number")),
    Opt("notes", Text(2000), fr="notes", aliases=("note",)),
    O_PERSON_NAME,
)


def book(ctx: Context) -> PartnerRepository:
    """The contact book of the group the command acts for."""
    return ctx.repo(PartnerRepository)


def rules(ctx: Context) -> PartnersSettings:
    return ctx.settings.section(PartnersSettings)


# --- Naming a partner in a command.


async def resolve_partner(ctx: Context, text: str, *, removed: bool = False) -> Partner:
    """The partner a user means: exact name, number from their last list, unique prefix.

    With `removed`, among removed partners (for `restore`). Ambiguity answers with
    numbered choices, which become the user's last list; an unknown name suggests.
    """
    repo = book(ctx)
    key = squash(text)
    if not key:
        raise CommandError("core.arg.empty")
    exact = await repo.by_key(key)
    if exact is not None:
        if exact.merged_into_id is not None:
            into = await repo.get(exact.merged_into_id)
            raise CommandError(
                "partners.merged_name", name=exact.name, into=into.name if into else "?"
            )
        if (exact.removed_at is not None) == removed:
            return exact
        if removed:
            raise CommandError("partners.not_removed", name=exact.name)
        raise CommandError("partners.removed_name", name=exact.name)
    number = conversation.as_number(text)
    if number is not None:
        return await _from_last_list(ctx, number, removed=removed)
    matches = await repo.by_prefix(key, removed=removed, limit=10)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise conversation.ambiguous(
            "partners",
            "partners.ambiguous",
            [p.id for p in matches],
            text=text,
            choices=[p.name for p in matches],
        )
    similar = await repo.similar(text, removed=removed)
    raise CommandError(
        "partners.unknown", text=text, suggestions=[p.name for p in similar], removed=removed
    )


async def _from_last_list(ctx: Context, number: int, *, removed: bool) -> Partner:
    partner_id = await conversation.pick(ctx, "partners", number)
    partner = await book(ctx).get(int(partner_id))
    if partner is None:
        raise CommandError("core.list.not_in", number=number, first=1, last=0)
    if partner.merged_into_id is not None:
        into = await book(ctx).get(partner.merged_into_id)
        raise CommandError(
            "partners.merged_name", name=partner.name, into=into.name if into else "?"
        )
    if (partner.removed_at is not None) != removed:
        key = "partners.not_removed" if removed else "partners.removed_name"
        raise CommandError(key, name=partner.name)
    return partner


def check_name(text: str) -> str:
    """A new partner's name as it will be shown; refuses what could not be named back."""
    name = " ".join(text.split())
    if not name or not squash(name):
        raise CommandError("core.arg.empty")
    if CONTROL.search(name):
        raise CommandError("core.error.control_chars")
    if len(name) > 200:
        raise CommandError("core.arg.too_long", limit=200)
    if re.fullmatch(r"#?\d+", name):
        raise CommandError("partners.numeric_name", name=name)
    return name


async def _unique_name(ctx: Context, name: str, *, current: Partner | None = None) -> None:
    other = await book(ctx).by_key(squash(name))
    if other is None or other is current:
        return
    if other.merged_into_id is not None:
        raise CommandError("partners.duplicate_merged", name=name, existing=other.name)
    if other.removed_at is not None:
        raise CommandError("partners.duplicate_removed", name=name, existing=other.name)
    raise CommandError("partners.duplicate", name=name, existing=other.name)


def consortium_member(ctx: Context, text: str) -> str | None:
    """One of the configured consortium members (case, accents, a unique prefix aside)."""
    if text.strip() == "-":
        return None
    members = rules(ctx).consortium_members
    if not members:
        raise CommandError("partners.no_consortium", value=text)
    key = _key(text)
    exact = [m for m in members if _key(m) == key]
    prefixed = [m for m in members if _key(m).startswith(key)] if key else []
    initials = [m for m in members if _key("".join(w[0] for w in m.split())) == key]
    for found in (exact, prefixed, initials):
        if len(found) == 1:
            return found[0]
    raise CommandError("partners.bad_consortium", value=text, choices=members)


async def _check_kind(ctx: Context, kind: str, force: bool | None) -> None:
    """The group's rule: excluded kinds (public authorities) need a moderator's force."""
    if kind not in rules(ctx).excluded_kinds:
        return
    moderator = await ctx.role_of(ctx.sender) >= Role.MODERATOR
    if force and moderator:
        return
    raise CommandError(
        "partners.excluded", kind=kind, moderator=moderator, forced=bool(force), prefix=ctx.prefix
    )


def _needs_consortium(ctx: Context, status: str, member: str | None) -> None:
    if status == PartnerStatus.ACTIVE and member is None and rules(ctx).consortium_members:
        raise CommandError(
            "partners.active_needs_consortium", choices=rules(ctx).consortium_members
        )


def _owner(ctx: Context, value: str | None) -> str | None:
    if value == ME:
        return ctx.sender
    return value or None


def _tags(current: Sequence[str], change: tuple[str, list[str]]) -> list[str]:
    mode, items = change
    if mode == "set":
        return items
    tags = list(current)
    for item in items:
        key = fold(item[1:])
        tags = [t for t in tags if fold(t) != key]
        if item[0] == "+":
            tags.append(item[1:])
    if len(tags) > MAX_TAGS:
        raise CommandError("partners.arg.too_many_tags", limit=MAX_TAGS)
    return tags


# --- Views handed to the templates.


def _line(listed: Listed, number: int) -> dict[str, Any]:
    p = listed.partner
    return {
        "n": number,
        "name": p.name,
        "kind": p.kind,
        "status": p.status,
        "social": p.social_economy,
        "owner": p.owner,
        "consortium": p.consortium_member,
        "tags": listed.tags,
        "last": p.last_interaction_at,
    }


def _event(event: PartnerEvent) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "at": event.at,
        "actor": event.actor,
        "text": event.text,
        "detail": event.detail,
    }


def _link(link: Link) -> dict[str, Any]:
    """A record of another domain about the partner (an open follow-up), as a card line."""
    return {
        "kind": "link",
        "at": link.created_at,
        "actor": link.actor,
        "text": link.text,
        "detail": {"type": link.source_kind, "ref": link.source_id, "open": link.open},
    }


def _person(person: PartnerPerson) -> dict[str, Any]:
    return {
        "name": person.name,
        "role": person.role,
        "email": person.email,
        "phone": person.phone,
        "notes": person.notes,
        "created_at": person.created_at,
        "updated_at": person.updated_at,
    }


async def _show_list(
    ctx: Context, key: str, rows: Sequence[Listed], *, total: int, page: int, **data: Any
) -> None:
    """Reply with a numbered page; its numbers become the sender's last list."""
    offset = (page - 1) * PAGE
    pages = max(1, -(-total // PAGE))
    if rows:
        await conversation.remember(ctx, "partners", [r.partner.id for r in rows], offset=offset)
    await ctx.reply(
        key,
        lines=[_line(r, offset + i + 1) for i, r in enumerate(rows)],
        total=total,
        page=page,
        pages=pages,
        first=offset + 1,
        last=offset + len(rows),
        tz=ctx.room.timezone,
        prefix=ctx.prefix,
        **data,
    )


def _filter(ctx: Context, args: Args) -> PartnerFilter:
    tag = args.get("tag")
    return PartnerFilter(
        status=args.get("status"),
        kind=args.get("kind"),
        tag=" ".join(fold(tag).split()) if tag else None,
        owner=_owner(ctx, args.get("owner")) if args.get("owner") is not None else None,
        consortium_member=consortium_member(ctx, args["consortium"])
        if args.get("consortium")
        else None,
        social_economy=args.get("social"),
        removed=bool(args.get("removed")),
    )


def _filters_shown(where: PartnerFilter) -> list[dict[str, Any]]:
    """The filters in force, as (field, value) for the answer's heading."""
    shown = {
        "removed": True if where.removed else None,
        "status": where.status,
        "kind": where.kind,
        "tags": [where.tag] if where.tag else None,
        "owner": where.owner,
        "consortium_member": where.consortium_member,
        "social_economy": where.social_economy,
    }
    return [{"field": k, "value": v} for k, v in shown.items() if v is not None]


# --- Commands.


@PARTNER.command(
    "add",
    fr="ajouter",
    aliases=("new", "nouveau", "creer", "créer"),
    args=[Arg("name", PartnerName(metavar="name"))],
    options=[
        O_KIND,
        O_STATUS,
        O_TAGS,
        O_SOCIAL,
        O_OWNER,
        O_CONSORTIUM,
        O_WEBSITE,
        O_DESCRIPTION,
        O_FORCE,
    ],
)
async def add(ctx: Context, args: Args) -> None:
    """Add an organisation to the contact book."""
    name = check_name(args["name"])
    await _unique_name(ctx, name)
    kind = args["kind"] or PartnerKind.OTHER.value
    await _check_kind(ctx, kind, args["force"])
    status = args["status"] or PartnerStatus.IDEA.value
    member = consortium_member(ctx, args["consortium"]) if args["consortium"] else None
    _needs_consortium(ctx, status, member)
    tags = _tags([], args["tags"]) if args["tags"] else []
    partner = await book(ctx).create(
        name=name,
        kind=kind,
        status=status,
        social_economy=bool(args["social"]),
        owner=_owner(ctx, args["owner"]),
        consortium_member=member,
        website=args["website"] or None,
        description=args["description"],
        tags=tags,
        actor=ctx.sender,
        now=ctx.now,
    )
    await ctx.audit("partner.add", partner_id=partner.id, name=partner.name, kind=kind)
    await ctx.reply(
        "partners.added",
        name=partner.name,
        kind=kind,
        status=status,
        social=partner.social_economy,
        owner=partner.owner,
        tags=tags,
        prefix=ctx.prefix,
    )


@PARTNER.command(
    "edit",
    fr="modifier",
    aliases=("change", "changer", "set"),
    args=[Arg("partner", PartnerName())],
    options=[
        O_NAME,
        O_KIND,
        O_STATUS,
        O_TAGS,
        O_SOCIAL,
        O_OWNER,
        O_CONSORTIUM,
        O_WEBSITE,
        O_DESCRIPTION,
        O_FORCE,
    ],
)
async def edit(ctx: Context, args: Args) -> None:
    """Change fields of a partner's card: `field=value`, `-` to clear one."""
    partner = await resolve_partner(ctx, args["partner"])
    changes: dict[str, Any] = {}
    if args["name"] is not None:
        changes["name"] = check_name(args["name"])
        await _unique_name(ctx, changes["name"], current=partner)
    if args["kind"] is not None:
        if args["kind"] != partner.kind:
            await _check_kind(ctx, args["kind"], args["force"])
        changes["kind"] = args["kind"]
    if args["social"] is not None:
        changes["social_economy"] = args["social"]
    if args["owner"] is not None:
        changes["owner"] = _owner(ctx, args["owner"])
    if args["consortium"] is not None:
        changes["consortium_member"] = consortium_member(ctx, args["consortium"])
    if args["website"] is not None:
        changes["website"] = args["website"] or None
    if args["description"] is not None:
        changes["description"] = None if args["description"].strip() == "-" else args["description"]
    if args["tags"] is not None:
        current = (await book(ctx).tags_of([partner.id]))[partner.id]
        changes["tags"] = _tags(current, args["tags"])
    if args["status"] is not None:
        changes["status"] = args["status"]
    if not changes:
        raise CommandError("partners.edit.nothing", usage=PARTNER.subcommands["edit"])
    _needs_consortium(
        ctx,
        changes.get("status", partner.status),
        changes.get("consortium_member", partner.consortium_member),
    )
    name = partner.name
    done = await book(ctx).update(partner, changes, actor=ctx.sender, now=ctx.now)
    if not done:
        await ctx.reply("partners.edit.unchanged", name=name)
        return
    await ctx.audit("partner.edit", partner_id=partner.id, fields=sorted(done))
    await ctx.reply(
        "partners.edit.done",
        name=name,
        changes=[{"field": f, "before": b, "after": a} for f, (b, a) in done.items()],
    )


@PARTNER.command(
    "status",
    fr="statut",
    aliases=("etat", "état"),
    args=[Arg("partner", PartnerName()), Arg("status", StatusAndNote(), rest=True)],
    options=[O_CONSORTIUM],
)
async def status(ctx: Context, args: Args) -> None:
    """Move a partner along the pipeline; the change (and comment) goes to its history."""
    partner = await resolve_partner(ctx, args["partner"])
    new, note = args["status"]
    changes: dict[str, Any] = {"status": new}
    member = partner.consortium_member
    if args["consortium"] is not None:
        member = changes["consortium_member"] = consortium_member(ctx, args["consortium"])
    if new == partner.status and member == partner.consortium_member:
        raise CommandError("partners.status.same", name=partner.name, status=new)
    _needs_consortium(ctx, new, member)
    before = partner.status
    await book(ctx).update(partner, changes, actor=ctx.sender, now=ctx.now, note=note)
    await ctx.audit("partner.status", partner_id=partner.id, before=before, after=new)
    await ctx.reply(
        "partners.status.changed", name=partner.name, before=before, after=new, member=member
    )


@PARTNER.command(
    "note",
    fr="note",
    aliases=("noter", "comment", "commentaire"),
    args=[Arg("partner", PartnerName()), Arg("text", Text(4000), rest=True)],
)
async def note(ctx: Context, args: Args) -> None:
    """Write down what was said or done with a partner, in its history."""
    partner = await resolve_partner(ctx, args["partner"])
    await book(ctx).add_note(partner, args["text"], actor=ctx.sender, now=ctx.now)
    await ctx.audit("partner.note", partner_id=partner.id)
    await ctx.reply("partners.noted", name=partner.name)


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
        name = " ".join(args["person"].split())
        if any(p.name_key == squash(name) for p in await repo.people(partner.id)):
            raise CommandError("partners.person.duplicate", partner=partner.name, person=name)
        added = await repo.add_person(partner, name=name, actor=ctx.sender, now=ctx.now, **details)
        await ctx.audit("partner.person.add", partner_id=partner.id, person_id=added.id)
        await ctx.reply("partners.person.added", partner=partner.name, person=_person(added))
        return
    found = await _person_at(ctx, partner, args["person"])
    if args["action"] == "remove":
        await repo.remove_person(partner, found, actor=ctx.sender, now=ctx.now)
        await ctx.audit("partner.person.remove", partner_id=partner.id, person_id=found.id)
        await ctx.reply("partners.person.removed", partner=partner.name, person=found.name)
        return
    if args["name"] is not None:
        new_name = details["name"] = " ".join(args["name"].split())
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
        "partners.person.edited", partner=partner.name, person=_person(found), fields=done
    )


async def _person_at(ctx: Context, partner: Partner, text: str) -> PartnerPerson:
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


@PARTNER.command(
    "show",
    fr="voir",
    aliases=("card", "fiche", "details", "détails", "info"),
    args=[Arg("partner", PartnerName(), rest=True)],
)
async def show(ctx: Context, args: Args) -> None:
    """A partner's card: status, who follows it, people, last interactions, open follow-ups."""
    partner = await resolve_partner(ctx, args["partner"])
    card = await book(ctx).card(partner.id, recent=CARD_EVENTS)
    followups = await ctx.repo(LinkRepository).to(
        ("partner", partner.id), source_kind="followup", open_only=True
    )
    await ctx.reply(
        "partners.card",
        p=partner,
        tags=card.tags,
        people=[_person(p) for p in card.people],
        events=[_event(e) for e in card.recent],
        more=card.total - len(card.recent),
        followups=[_link(link) for link in followups],
        tz=ctx.room.timezone,
        prefix=ctx.prefix,
    )


@PARTNER.command(
    "history",
    fr="historique",
    aliases=("log", "journal"),
    args=[Arg("partner", PartnerName(), rest=True)],
    options=[O_PAGE],
)
async def history(ctx: Context, args: Args) -> None:
    """Everything that happened with a partner, newest first, who and when."""
    partner = await resolve_partner(ctx, args["partner"])
    page = args["page"] or 1
    events, total = await book(ctx).history(
        partner.id, limit=HISTORY_PAGE, offset=(page - 1) * HISTORY_PAGE
    )
    pages = max(1, -(-total // HISTORY_PAGE))
    if page > pages:
        raise CommandError("partners.page_out_of_range", page=page, pages=pages)
    await ctx.reply(
        "partners.history",
        name=partner.name,
        events=[_event(e) for e in events],
        page=page,
        pages=pages,
        total=total,
        tz=ctx.room.timezone,
    )


@PARTNER.command(
    "list",
    fr="liste",
    aliases=("ls", "lister", "all", "tous"),
    options=[*FILTERS, O_PAGE],
)
async def list_(ctx: Context, args: Args) -> None:
    """Partners, alphabetically, a page at a time, narrowed by status, kind, tag, owner..."""
    where = _filter(ctx, args)
    page = args["page"] or 1
    rows, total = await book(ctx).page(where, limit=PAGE, offset=(page - 1) * PAGE)
    if page > 1 and not rows and total:
        raise CommandError("partners.page_out_of_range", page=page, pages=-(-total // PAGE))
    await _show_list(
        ctx, "partners.list", rows, total=total, page=page, filters=_filters_shown(where)
    )


@PARTNER.command(
    "find",
    fr="chercher",
    aliases=("search", "rechercher", "cherche", "trouver"),
    args=[Arg("text", Text(200), rest=True)],
)
async def find(ctx: Context, args: Args) -> None:
    """Search names, tags, descriptions, people and notes; forgiving of accents and typos."""
    result = await book(ctx).search(args["text"], limit=PAGE)
    hits = result.hits
    if hits:
        await conversation.remember(ctx, "partners", [h.partner.id for h in hits])
    await ctx.reply(
        "partners.found",
        text=args["text"],
        hits=[_hit(h, i + 1) for i, h in enumerate(hits)],
        total=result.total,
        capped=result.capped,
        close=bool(hits) and hits[0].reason == "close",
        tz=ctx.room.timezone,
        prefix=ctx.prefix,
    )


def _hit(hit: Hit, number: int) -> dict[str, Any]:
    line = _line(Listed(hit.partner, hit.tags), number)
    detail = hit.detail
    if detail is not None and len(detail) > 120:
        detail = detail[:117].rstrip() + "…"
    return {**line, "reason": hit.reason, "detail": detail, "at": hit.at}


@PARTNER.command(
    "stale",
    fr="dormants",
    aliases=("dormant", "sleeping", "endormis", "oublies", "oubliés"),
    args=[Arg("days", Days(minimum=1, maximum=3650), required=False)],
    options=[O_PAGE],
)
async def stale(ctx: Context, args: Args) -> None:
    """Interested or negotiating partners nobody has talked to for a while (30 days)."""
    days = args["days"] or STALE_DAYS
    page = args["page"] or 1
    where = PartnerFilter(
        statuses=(PartnerStatus.INTERESTED.value, PartnerStatus.NEGOTIATING.value),
        quiet_since=ctx.now - timedelta(days=days),
    )
    rows, total = await book(ctx).page(where, limit=PAGE, offset=(page - 1) * PAGE, order="quiet")
    if page > 1 and not rows and total:
        raise CommandError("partners.page_out_of_range", page=page, pages=-(-total // PAGE))
    await _show_list(
        ctx,
        "partners.stale",
        rows,
        total=total,
        page=page,
        days=days,
        ages=[(ctx.now - r.partner.last_interaction_at).days for r in rows],
    )


@PARTNER.command(
    "merge",
    fr="fusionner",
    aliases=("fusion",),
    args=[Arg("duplicate", PartnerName(metavar="duplicate")), Arg("partner", PartnerName())],
    role=Role.MODERATOR,
)
async def merge(ctx: Context, args: Args) -> None:
    """Fold a duplicate into the partner to keep: people, tags, history move over."""
    source = await resolve_partner(ctx, args["duplicate"])
    target = await resolve_partner(ctx, args["partner"])
    if source.id == target.id:
        raise CommandError("partners.merge.same", name=source.name)
    report = await book(ctx).merge(source, target, actor=ctx.sender, now=ctx.now)
    await ctx.repo(LinkRepository).retarget("partner", source.id, target.id)
    await ctx.audit("partner.merge", source_id=source.id, target_id=target.id, source=source.name)
    await ctx.reply(
        "partners.merge.done",
        source=source.name,
        target=target.name,
        people=report.people,
        events=report.events,
        tags=report.tags,
        filled=report.filled,
    )


@PARTNER.command(
    "remove",
    fr="supprimer",
    aliases=("delete", "rm"),
    args=[Arg("partner", PartnerName(), rest=True)],
    role=Role.MODERATOR,
)
async def remove(ctx: Context, args: Args) -> None:
    """Take a partner out of the lists; `restore` brings it back with its history."""
    partner = await resolve_partner(ctx, args["partner"])
    await book(ctx).remove(partner, actor=ctx.sender, now=ctx.now)
    await ctx.audit("partner.remove", partner_id=partner.id, name=partner.name)
    await ctx.reply("partners.removed", name=partner.name, prefix=ctx.prefix)


@PARTNER.command(
    "restore",
    fr="restaurer",
    aliases=("undelete", "retablir", "rétablir"),
    args=[Arg("partner", PartnerName(), rest=True)],
    role=Role.MODERATOR,
)
async def restore(ctx: Context, args: Args) -> None:
    """Bring back a removed partner, as it was."""
    partner = await resolve_partner(ctx, args["partner"], removed=True)
    await book(ctx).restore(partner, actor=ctx.sender, now=ctx.now)
    await ctx.audit("partner.restore", partner_id=partner.id, name=partner.name)
    await ctx.reply("partners.restored", name=partner.name)


# --- Personal data: what is stored on someone, and erasing it.


@dataclass
class _Found:
    people: list[tuple[PartnerPerson, Partner]]
    events: list[tuple[PartnerEvent, Partner]]
    notes: list[tuple[PartnerEvent, Partner]]
    needles: list[str]


async def _personal_data(ctx: Context, text: str, partner_text: str | None) -> _Found:
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
        people=[{**_person(p), "partner": partner.name} for p, partner in found.people],
        events=[{**_event(e), "partner": partner.name} for e, partner in found.events],
        notes=[{**_event(e), "partner": partner.name} for e, partner in found.notes],
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


# --- Export and import.

COLUMNS = (
    "name",
    "kind",
    "status",
    "social_economy",
    "tags",
    "owner",
    "consortium_member",
    "website",
    "description",
    "created_at",
    "updated_at",
    "last_interaction_at",
)
READ_ONLY = frozenset({"created_at", "updated_at", "last_interaction_at"})
COLUMN_ALIASES = {
    "nom": "name",
    "type": "kind",
    "statut": "status",
    "ess": "social_economy",
    "etiquettes": "tags",
    "suivi": "owner",
    "entite": "consortium_member",
    "site": "website",
}


def export_csv(rows: Sequence[Listed]) -> bytes:
    """UTF-8 with a byte-order mark (spreadsheets then read accents right), comma-separated,
    one row per partner; codes (kind, status) in English, times in ISO 8601 UTC."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for listed in rows:
        p = listed.partner
        writer.writerow(
            [
                p.name,
                p.kind,
                p.status,
                "yes" if p.social_economy else "no",
                ", ".join(listed.tags),
                p.owner or "",
                p.consortium_member or "",
                p.website or "",
                p.description or "",
                p.created_at.isoformat(),
                p.updated_at.isoformat(),
                p.last_interaction_at.isoformat(),
            ]
        )
    return out.getvalue().encode("utf-8-sig")


@PARTNER.command(
    "export",
    fr="exporter",
    aliases=("csv",),
    options=list(FILTERS),
)
async def export(ctx: Context, args: Args) -> None:
    """The partners as a CSV file posted in the room (the same filters as `list`)."""
    where = _filter(ctx, args)
    rows, total = await book(ctx).page(where, limit=None)
    if not rows:
        raise CommandError("partners.export.empty")
    await ctx.audit("partner.export", count=total)
    await ctx.send_file(
        ctx.t.text("partners.export.filename"),
        "text/csv",
        export_csv(rows),
        "partners.export.caption",
        count=total,
        prefix=ctx.prefix,
    )


@dataclass
class _Plan:
    create: list[dict[str, Any]]
    update: list[dict[str, Any]]
    skip: list[dict[str, Any]]

    def counts(self) -> list[int]:
        return [len(self.create), len(self.update), len(self.skip)]


def read_csv(ctx: Context, data: bytes) -> list[dict[str, Any]]:
    """Check a posted CSV file and turn its rows into clean values; refuse it whole otherwise.

    Columns: those of the export (or their French names), `name` required, any subset
    of the others; read-only ones (times) are ignored. An empty cell leaves a field as
    it is. UTF-8 with or without BOM; `,` or `;` between cells.
    """
    if len(data) > IMPORT_MAX_BYTES:
        raise CommandError("partners.import.too_big", limit=IMPORT_MAX_BYTES // (1024 * 1024))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise CommandError("partners.import.not_utf8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CommandError("partners.import.not_utf8", line=line) from exc
    if not text.strip():
        raise CommandError("partners.import.empty")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        table = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise CommandError("partners.import.malformed", error=str(exc)) from exc
    header = [_key(h) for h in table[0]]
    columns = [COLUMN_ALIASES.get(h, _column(h)) for h in header]
    unknown = [raw for raw, c in zip(table[0], columns, strict=True) if c is None]
    if unknown or "name" not in columns:
        raise CommandError(
            "partners.import.bad_columns",
            unknown=unknown,
            missing_name="name" not in columns,
            expected=list(COLUMNS),
        )
    names = [c for c in columns if c is not None]
    doubled = sorted({c for c in names if names.count(c) > 1})
    if doubled:
        raise CommandError("partners.import.duplicate_columns", columns=doubled)
    body = [
        (number, row)
        for number, row in enumerate(table[1:], start=2)
        if any(c.strip() for c in row)
    ]
    if len(body) > IMPORT_MAX_ROWS:
        raise CommandError("partners.import.too_many_rows", rows=len(body), limit=IMPORT_MAX_ROWS)
    if not body:
        raise CommandError("partners.import.empty")
    errors: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, cells in body:
        if len(cells) != len(columns):
            errors.append(
                {
                    "line": number,
                    "key": "partners.import.row.width",
                    "data": {"cells": len(cells), "columns": len(columns)},
                }
            )
            continue
        record = {c: v.strip() for c, v in zip(names, cells, strict=True) if c not in READ_ONLY}
        try:
            row = _row(ctx, record)
        except CommandError as exc:
            errors.append({"line": number, "key": exc.key, "data": exc.data})
            continue
        key = squash(row["name"])
        if key in seen:
            errors.append(
                {
                    "line": number,
                    "key": "partners.import.row.duplicate",
                    "data": {"name": row["name"], "other": seen[key]},
                }
            )
            continue
        seen[key] = number
        rows.append({"line": number, **row})
    if errors:
        raise CommandError(
            "partners.import.invalid",
            errors=[
                {"line": e["line"], "text": ctx.t(e["key"], **e["data"]).plain}
                for e in errors[:IMPORT_MAX_ERRORS]
            ],
            more=max(0, len(errors) - IMPORT_MAX_ERRORS),
            count=len(errors),
        )
    return rows


def _split_tags(text: str) -> list[str]:
    tags = [" ".join(t.split()) for t in re.split(r"[,;]", text)]
    tags = [t for t in tags if t]
    if any(len(t) > 50 for t in tags):
        raise ArgError("partners.arg.tag_too_long", limit=50)
    if len(tags) > MAX_TAGS:
        raise ArgError("partners.arg.too_many_tags", limit=MAX_TAGS)
    return tags


def _column(key: str) -> str | None:
    for column in COLUMNS:
        if _key(column) == key:
            return column
    return None


def _row(ctx: Context, record: dict[str, str]) -> dict[str, Any]:
    """One CSV row's values, checked with the same rules as the commands."""
    pctx = ctx.parse_context
    if not record.get("name"):
        raise CommandError("partners.import.row.no_name")
    row: dict[str, Any] = {"name": check_name(record["name"])}
    if record.get("kind"):
        row["kind"] = KIND.parse(record["kind"], pctx)
    if record.get("status"):
        row["status"] = STATUS.parse(record["status"], pctx)
    if record.get("social_economy"):
        row["social_economy"] = YESNO.parse(record["social_economy"], pctx)
    if record.get("tags"):
        row["tags"] = _split_tags(record["tags"])
    if record.get("owner"):
        if not USER_ID.fullmatch(record["owner"]):
            raise ArgError("core.arg.not_user", value=record["owner"])
        row["owner"] = record["owner"]
    if record.get("consortium_member"):
        row["consortium_member"] = consortium_member(ctx, record["consortium_member"])
    if record.get("website"):
        row["website"] = Website().parse(record["website"], pctx)
    if record.get("description"):
        row["description"] = record["description"][:2000]
    return row


FIELD_OF_COLUMN = {
    "kind": "kind",
    "status": "status",
    "social_economy": "social_economy",
    "tags": "tags",
    "owner": "owner",
    "consortium_member": "consortium_member",
    "website": "website",
    "description": "description",
}


async def _plan(ctx: Context, rows: Sequence[dict[str, Any]], *, force: bool) -> _Plan:
    """What confirming would do with each row, against the partners stored now."""
    repo = book(ctx)
    existing = await repo.by_keys(squash(r["name"]) for r in rows)
    excluded = set(rules(ctx).excluded_kinds)
    members = rules(ctx).consortium_members
    tags = await repo.tags_of(p.id for p in existing.values() if p.removed_at is None)
    plan = _Plan([], [], [])
    for row in rows:
        partner = existing.get(squash(row["name"]))
        if partner is None:
            kind = row.get("kind", PartnerKind.OTHER.value)
            if kind in excluded and not force:
                plan.skip.append(
                    {"line": row["line"], "name": row["name"], "why": "excluded", "kind": kind}
                )
                continue
            status = row.get("status", PartnerStatus.IDEA.value)
            if status == PartnerStatus.ACTIVE and members and not row.get("consortium_member"):
                plan.skip.append({"line": row["line"], "name": row["name"], "why": "no_consortium"})
                continue
            plan.create.append({"line": row["line"], "name": row["name"], "row": row})
            continue
        if partner.removed_at is not None:
            why = "merged" if partner.merged_into_id is not None else "removed"
            plan.skip.append({"line": row["line"], "name": partner.name, "why": why})
            continue
        changes: dict[str, Any] = {}
        for column, field_ in FIELD_OF_COLUMN.items():
            if column not in row:
                continue
            current = tags[partner.id] if field_ == "tags" else getattr(partner, field_)
            if field_ == "tags":
                if sorted(map(fold, row["tags"])) != sorted(map(fold, current)):
                    changes["tags"] = row["tags"]
            elif row[column] != current:
                changes[field_] = row[column]
        if row["name"] != partner.name:
            changes["name"] = row["name"]
        if "kind" in changes and changes["kind"] in excluded and not force:
            plan.skip.append(
                {
                    "line": row["line"],
                    "name": partner.name,
                    "why": "excluded",
                    "kind": changes["kind"],
                }
            )
            continue
        status = changes.get("status", partner.status)
        member = changes.get("consortium_member", partner.consortium_member)
        if status == PartnerStatus.ACTIVE and members and not member:
            plan.skip.append({"line": row["line"], "name": partner.name, "why": "no_consortium"})
            continue
        if not changes:
            plan.skip.append({"line": row["line"], "name": partner.name, "why": "unchanged"})
            continue
        plan.update.append(
            {
                "line": row["line"],
                "name": partner.name,
                "id": partner.id,
                "changes": changes,
                "before": {
                    f: (tags[partner.id] if f == "tags" else getattr(partner, f)) for f in changes
                },
            }
        )
    return plan


async def _preview(ctx: Context, plan: _Plan, *, file: str, changed: bool = False) -> None:
    await ctx.reply(
        "partners.import.preview",
        file=file,
        create=plan.create[:IMPORT_PREVIEW_LINES],
        update=plan.update[:IMPORT_PREVIEW_LINES],
        skip=plan.skip[:IMPORT_PREVIEW_LINES],
        counts=plan.counts(),
        changed=changed,
        prefix=ctx.prefix,
    )


@PARTNER.command(
    "import",
    fr="importer",
    args=[Arg("action", IMPORT_ACTION, required=False)],
    options=[O_FORCE],
    role=Role.MODERATOR,
)
async def import_(ctx: Context, args: Args) -> None:
    """Preview what a CSV file you posted would create or update; `confirm` applies it all."""
    if args["action"] is None:
        file, url = await ctx.posted_file()
        rows = read_csv(ctx, await ctx.fetch_file(url))
        force = bool(args["force"])
        plan = await _plan(ctx, rows, force=force)
        payload: dict[str, Any] = {
            "file": file,
            "rows": rows,
            "force": force,
            "counts": plan.counts(),
        }
        await IMPORT.save(ctx, payload)
        await _preview(ctx, plan, file=file)
        return
    pending = await IMPORT.take(ctx)
    if pending is None:
        raise CommandError("partners.import.nothing_pending", prefix=ctx.prefix)
    payload, fresh = pending
    if args["action"] == "cancel":
        await ctx.reply("partners.import.cancelled", file=payload["file"])
        return
    if not fresh:
        await ctx.reply("partners.import.expired", prefix=ctx.prefix)
        return
    plan = await _plan(ctx, payload["rows"], force=payload["force"])
    if plan.counts() != payload["counts"]:
        # The partners changed since the preview: show what confirming would do now.
        payload = {**payload, "counts": plan.counts()}
        await IMPORT.save(ctx, payload)
        await _preview(ctx, plan, file=payload["file"], changed=True)
        return
    await _apply(ctx, plan)
    await ctx.audit(
        "partner.import",
        file=payload["file"],
        created=len(plan.create),
        updated=len(plan.update),
        skipped=len(plan.skip),
    )
    await ctx.reply(
        "partners.import.done",
        file=payload["file"],
        created=len(plan.create),
        updated=len(plan.update),
        skipped=len(plan.skip),
    )


async def _apply(ctx: Context, plan: _Plan) -> None:
    """Create and update everything in the plan: one transaction, so all of it or nothing."""
    repo = book(ctx)
    for item in plan.create:
        row = item["row"]
        await repo.create(
            name=row["name"],
            kind=row.get("kind", PartnerKind.OTHER.value),
            status=row.get("status", PartnerStatus.IDEA.value),
            social_economy=row.get("social_economy", False),
            owner=row.get("owner"),
            consortium_member=row.get("consortium_member"),
            website=row.get("website"),
            description=row.get("description"),
            tags=row.get("tags", []),
            actor=ctx.sender,
            now=ctx.now,
            source="import",
        )
    for item in plan.update:
        partner = await repo.get(item["id"])
        if partner is None:  # removed between plan and apply: cannot happen in one transaction
            raise CommandError("partners.import.changed")
        await repo.update(partner, item["changes"], actor=ctx.sender, now=ctx.now)
