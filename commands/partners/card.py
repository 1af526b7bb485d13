"""Writing a partner's card: add one, change its fields, move it along the pipeline, note
what was said. The group's rules (excluded kinds, the consortium) are checked here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from commands.kit.args import Arg, Text
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.registry import Args
from commands.kit.text import fold
from commands.partners.resolve import (
    book,
    check_name,
    consortium_member,
    owner_of,
    resolve_partner,
    rules,
    unique_name,
)
from commands.partners.router import PARTNER
from commands.partners.vocabulary import (
    MAX_TAGS,
    O_CONSORTIUM,
    O_DESCRIPTION,
    O_FORCE,
    O_KIND,
    O_NAME,
    O_OWNER,
    O_SOCIAL,
    O_STATUS,
    O_TAGS,
    O_WEBSITE,
    PartnerName,
    StatusAndNote,
)
from storage.models import Partner, PartnerKind, PartnerStatus, Role


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
    """The group's rule: a partner is active once it formalised with a consortium member."""
    if status == PartnerStatus.ACTIVE and member is None and rules(ctx).consortium_members:
        raise CommandError(
            "partners.active_needs_consortium", choices=rules(ctx).consortium_members
        )


def _tags(current: Sequence[str], change: tuple[str, list[str]]) -> list[str]:
    """The tags after a `tags=` option (see `vocabulary.Tags`): set, or added and removed."""
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


async def _status_changed(ctx: Context, partner: Partner, before: str) -> None:
    """Tell the other domains (follow-ups: an interested partner must be answered)."""
    await ctx.emit(
        "partners.status",
        partner_id=partner.id,
        name=partner.name,
        owner=partner.owner,
        before=before,
        after=partner.status,
    )


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
    await unique_name(ctx, name)
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
        owner=owner_of(ctx, args["owner"]),
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
    await _status_changed(ctx, partner, "")


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
        await unique_name(ctx, changes["name"], current=partner)
    if args["kind"] is not None:
        if args["kind"] != partner.kind:
            await _check_kind(ctx, args["kind"], args["force"])
        changes["kind"] = args["kind"]
    if args["social"] is not None:
        changes["social_economy"] = args["social"]
    if args["owner"] is not None:
        changes["owner"] = owner_of(ctx, args["owner"])
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
    if "status" in done:
        await _status_changed(ctx, partner, done["status"][0])


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
    await _status_changed(ctx, partner, before)


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
