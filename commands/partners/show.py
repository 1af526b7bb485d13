"""Reading one partner: its card (status, owner, people, last interactions, open
follow-ups) and its whole history, a page at a time."""

from __future__ import annotations

from commands.kit.args import Arg
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.registry import Args
from commands.partners import views
from commands.partners.resolve import book, resolve_partner
from commands.partners.router import PARTNER
from commands.partners.vocabulary import O_PAGE, PartnerName
from storage.repos.links import LinkRepository

CARD_EVENTS = 5  # last interactions on a card
HISTORY_PAGE = 15


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
    followups = (
        await ctx.repo(LinkRepository).to(
            ("partner", partner.id), source_kind="followup", open_only=True
        )
        if card.open_links
        else []
    )
    await ctx.reply(
        "partners.card",
        p=partner,
        tags=card.tags,
        people=[views.person(p) for p in card.people],
        events=[views.event(e) for e in card.recent],
        more=card.total - len(card.recent),
        followups=[views.link(link) for link in followups],
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
        events=[views.event(e) for e in events],
        page=page,
        pages=pages,
        total=total,
        tz=ctx.room.timezone,
    )
