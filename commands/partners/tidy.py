"""Keeping the book clean (moderators): fold a duplicate into the partner to keep, take a
partner out of the lists, bring a removed one back."""

from __future__ import annotations

from commands.kit.args import Arg
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.registry import Args
from commands.partners.resolve import book, resolve_partner
from commands.partners.router import PARTNER
from commands.partners.vocabulary import PartnerName
from storage.models import Role
from storage.repos.links import LinkRepository


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
    await ctx.emit("partners.merged", source=source.id, target=target.id)
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
