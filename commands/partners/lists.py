"""Many partners at once: the list (filtered, a page at a time), search, and the
interested partners nobody has talked to for a while (`stale`, what the book is for)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from commands.kit import conversation
from commands.kit.args import Arg, Days, Text
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.registry import Args
from commands.partners import views
from commands.partners.resolve import book, partner_filter
from commands.partners.router import PARTNER
from commands.partners.vocabulary import FILTERS, O_PAGE
from storage.models import PartnerStatus
from storage.repos.partners import Listed, PartnerFilter

PAGE = 20  # lines of a list, of search results
STALE_DAYS = 30  # `stale` without a number of days


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
        lines=[views.line(r, offset + i + 1) for i, r in enumerate(rows)],
        total=total,
        page=page,
        pages=pages,
        first=offset + 1,
        last=offset + len(rows),
        tz=ctx.room.timezone,
        prefix=ctx.prefix,
        **data,
    )


@PARTNER.command(
    "list",
    fr="liste",
    aliases=("ls", "lister", "all", "tous"),
    options=[*FILTERS, O_PAGE],
)
async def list_(ctx: Context, args: Args) -> None:
    """Partners, alphabetically, a page at a time, narrowed by status, kind, tag, owner..."""
    where = partner_filter(ctx, args)
    page = args["page"] or 1
    rows, total = await book(ctx).page(where, limit=PAGE, offset=(page - 1) * PAGE)
    if page > 1 and not rows and total:
        raise CommandError("partners.page_out_of_range", page=page, pages=-(-total // PAGE))
    await _show_list(
        ctx, "partners.list", rows, total=total, page=page, filters=views.filters_shown(where)
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
        hits=[views.hit(h, i + 1) for i, h in enumerate(hits)],
        total=result.total,
        capped=result.capped,
        close=bool(hits) and hits[0].reason == "close",
        tz=ctx.room.timezone,
        prefix=ctx.prefix,
    )


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
