"""Assigning follow-ups and moving them along: create, list, show, done, snooze,
reassign, edit, cancel."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from commands.followups import records
from commands.followups.records import LINK, check_may_change, first_reminder, get, get_open, repo
from commands.followups.router import FOLLOWUP, router
from commands.followups.views import line
from commands.followups.vocabulary import (
    O_DUE,
    O_PARTNER,
    O_TEXT,
    FollowupText,
    Later,
    Listing,
    ListingArg,
    Number,
    due_value,
)
from commands.kit.args import Arg, Opt, Page, Text, User
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.registry import Args
from commands.kit.text import leading_users
from storage.models import Followup, FollowupOrigin, FollowupStatus
from storage.repos.core import Ref
from storage.repos.followups import Filter
from storage.repos.partners import PartnerRepository

PAGE = 15
MAX_ASSIGNEES = 10
NOTE = Arg("note", Text(1000, metavar="note"), required=False, rest=True)


def created_ref(followups: list[Followup]) -> Ref:
    """What the answer to a creation is about: a ✅ on it closes these follow-ups."""
    return Ref("followups", "created", ",".join(str(f.id) for f in followups))


async def create(
    ctx: Context,
    *,
    text: str,
    assignee: str,
    due_at: datetime | None,
    partner_id: int | None,
    origin: FollowupOrigin,
) -> Followup:
    """A new follow-up in this context's room (the meetings' `!action` uses it too)."""
    room = ctx.room.room_id if not ctx.direct else (ctx.settings.main_room(ctx.group or "") or "")
    followup = await repo(ctx).create(
        text=text,
        assignee=assignee,
        creator=ctx.sender,
        room_id=room or ctx.room.room_id,
        due_at=due_at,
        partner_id=partner_id,
        origin=origin.value,
        next_reminder_at=await first_reminder(ctx, due_at, room or ctx.room.room_id),
        now=ctx.now,
    )
    if partner_id is not None:
        partner = await ctx.repo(PartnerRepository).get(partner_id)
        if partner is not None:
            await ctx.repo(PartnerRepository).link(
                partner,
                type_=LINK,
                ref=str(followup.number),
                text=text,
                actor=ctx.sender,
                now=ctx.now,
            )
    return followup


@FOLLOWUP.default_command(args=[Arg("text", FollowupText(), rest=True)], options=[O_DUE, O_PARTNER])
async def add(ctx: Context, args: Args) -> None:
    """Assign a follow-up: to the members mentioned first (one each), else to yourself."""
    ctx.require_group()
    mentioned, text = leading_users(args["text"])
    if not text:
        raise CommandError("followups.no_text", usage=FOLLOWUP.default)
    if len(mentioned) > MAX_ASSIGNEES:
        raise CommandError("followups.too_many", limit=MAX_ASSIGNEES)
    assignees = [user or ctx.sender for user in mentioned] or [ctx.sender]
    partner = await ctx.lookup("partner", args["partner"]) if args["partner"] else None
    due_at = due_value(args["due"])
    created = [
        await create(
            ctx,
            text=text,
            assignee=user,
            due_at=due_at,
            partner_id=partner.id if partner else None,
            origin=FollowupOrigin.COMMAND,
        )
        for user in dict.fromkeys(assignees)
    ]
    await ctx.audit("followup.add", numbers=[f.number for f in created])
    await ctx.reply(
        "followups.created",
        about=created_ref(created),
        items=[{"number": f.number, "assignee": f.assignee} for f in created],
        text=text,
        due=t_due(ctx, due_at),
        partner=partner.name if partner else None,
        reminder=created[0].next_reminder_at,
        tz=ctx.room.timezone,
        prefix=ctx.prefix,
    )


def t_due(ctx: Context, due_at: datetime | None) -> str | None:
    """A due date in full, as the answer repeats it."""
    return ctx.t.long_date(due_at, ctx.room.timezone) if due_at is not None else None


@router.command(
    "followups",
    fr="relances",
    aliases=("follow-ups", "actions"),
    args=[Arg("filter", ListingArg(), required=False)],
    options=[O_PARTNER, Opt("page", Page(minimum=1), fr="page")],
)
async def listing(ctx: Context, args: Args) -> None:
    """List follow-ups: yours (default), someone's, overdue, due this week, all, done."""
    ctx.require_group()
    chosen: Listing = args["filter"] or Listing("mine")
    where, heading = _filter(ctx, chosen)
    partner = await ctx.lookup("partner", args["partner"]) if args["partner"] else None
    if partner is not None:
        where = Filter(
            statuses=where.statuses,
            assignee=where.assignee if args["filter"] else None,
            partner_id=partner.id,
            due_before=where.due_before,
            due_after=where.due_after,
            closed_since=where.closed_since,
        )
    page = args["page"] or 1
    rows, total = await repo(ctx).find(where, limit=PAGE, offset=(page - 1) * PAGE)
    pages = max(1, -(-total // PAGE))
    if page > pages:
        raise CommandError("followups.page_out_of_range", page=page, pages=pages)
    names = await ctx.repo(PartnerRepository).names(
        {f.partner_id for f in rows if f.partner_id is not None}
    )
    await ctx.reply(
        "followups.list",
        heading=heading,
        user=chosen.user or ctx.sender,
        partner=partner.name if partner else None,
        items=[line(f, ctx.now, names.get(f.partner_id or 0)) for f in rows],
        total=total,
        page=page,
        pages=pages,
        tz=ctx.room.timezone,
        prefix=ctx.prefix,
    )


def _filter(ctx: Context, chosen: Listing) -> tuple[Filter, str]:
    if chosen.kind == "mine":
        return Filter(assignee=ctx.sender), "mine"
    if chosen.kind == "user":
        return Filter(assignee=chosen.user), "user"
    if chosen.kind == "overdue":
        return Filter(due_before=ctx.now), "overdue"
    if chosen.kind == "week":
        return Filter(due_before=_end_of_week(ctx)), "week"
    if chosen.kind == "done":
        statuses = (FollowupStatus.DONE.value, FollowupStatus.CANCELLED.value)
        return Filter(statuses=statuses), "done"
    return Filter(), "all"


def _end_of_week(ctx: Context) -> datetime:
    """Next Monday 00:00 in the room's time zone: 'this week' ends on Sunday night."""
    local = ctx.now.astimezone(ZoneInfo(ctx.room.timezone))
    monday = local.date() + timedelta(days=7 - local.weekday())
    return datetime.combine(monday, datetime.min.time(), tzinfo=local.tzinfo)


@FOLLOWUP.command(
    "show", fr="voir", aliases=("history", "historique"), args=[Arg("number", Number())]
)
async def show(ctx: Context, args: Args) -> None:
    """A follow-up and its history: created, reminded, snoozed, reassigned, done."""
    followup = await get(ctx, args["number"])
    partner = await records.partner_of(ctx, followup)
    events = await repo(ctx).history(followup)
    await ctx.reply(
        "followups.show",
        f=line(followup, ctx.now, partner.name if partner else None),
        events=[
            {"kind": e.kind, "actor": e.actor, "at": e.at, "text": e.text, "detail": e.detail}
            for e in events
        ],
        tz=ctx.room.timezone,
    )


@router.command(
    "done",
    fr="fait",
    aliases=("faite", "termine", "terminé", "finished", "complete"),
    args=[Arg("number", Number()), NOTE],
)
async def done(ctx: Context, args: Args) -> None:
    """Mark a follow-up done (with an optional note for its history)."""
    followup = await get_open(ctx, args["number"])
    await check_may_change(ctx, followup)
    await records.close(ctx, followup, FollowupStatus.DONE, note=args["note"])
    await ctx.audit("followup.done", number=followup.number)
    await ctx.reply("followups.done", number=followup.number, text=followup.text, by=ctx.sender)


@router.command(
    "cancel",
    fr="annuler",
    aliases=("abandon", "abandonner"),
    args=[Arg("number", Number()), NOTE],
)
async def cancel(ctx: Context, args: Args) -> None:
    """Cancel a follow-up that is no longer needed (with an optional reason)."""
    followup = await get_open(ctx, args["number"])
    await check_may_change(ctx, followup)
    await records.close(ctx, followup, FollowupStatus.CANCELLED, note=args["note"])
    await ctx.audit("followup.cancel", number=followup.number)
    await ctx.reply("followups.cancelled", number=followup.number, text=followup.text)


@router.command(
    "snooze",
    fr="reporter",
    aliases=("repousser", "postpone", "delay", "decaler", "décaler"),
    args=[Arg("number", Number()), Arg("when", Later(), rest=True)],
)
async def snooze(ctx: Context, args: Args) -> None:
    """Move a follow-up's due date: to a date ('lundi 14h') or by a duration ('3d')."""
    followup = await get_open(ctx, args["number"])
    await check_may_change(ctx, followup)
    before = followup.due_at
    await _set_due(ctx, followup, args["when"])
    await repo(ctx).record(
        followup,
        "snoozed",
        actor=ctx.sender,
        now=ctx.now,
        detail={"from": _iso(before), "to": _iso(followup.due_at)},
    )
    await ctx.audit("followup.snooze", number=followup.number)
    await ctx.reply(
        "followups.snoozed",
        number=followup.number,
        due=t_due(ctx, followup.due_at),
        reminder=followup.next_reminder_at,
        tz=ctx.room.timezone,
    )


async def _set_due(ctx: Context, followup: Followup, due_at: datetime | None) -> None:
    """A new due date: chased afresh from it (or not at all, without one)."""
    followup.due_at = due_at
    followup.reminders_sent = 0
    followup.overdue_reminders = 0
    followup.next_reminder_at = await first_reminder(ctx, due_at, followup.room_id)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@router.command(
    "reassign",
    fr="reattribuer",
    aliases=("réattribuer", "assign", "attribuer", "reaffecter", "réaffecter"),
    args=[Arg("number", Number()), Arg("user", User())],
)
async def reassign(ctx: Context, args: Args) -> None:
    """Give a follow-up to another member."""
    followup = await get_open(ctx, args["number"])
    await check_may_change(ctx, followup)
    before, after = followup.assignee, args["user"]
    if before == after:
        raise CommandError("followups.same_assignee", number=followup.number, user=after)
    followup.assignee = after
    await repo(ctx).record(
        followup, "reassigned", actor=ctx.sender, now=ctx.now, detail={"from": before, "to": after}
    )
    await ctx.audit("followup.reassign", number=followup.number)
    await ctx.reply(
        "followups.reassigned",
        mentions=[after],
        number=followup.number,
        text=followup.text,
        before=before,
        after=after,
    )


@FOLLOWUP.command(
    "edit",
    fr="modifier",
    aliases=("change", "changer"),
    args=[Arg("number", Number())],
    options=[O_DUE, O_TEXT],
)
async def edit(ctx: Context, args: Args) -> None:
    """Change a follow-up's due date (`due=-` for none) or text."""
    followup = await get_open(ctx, args["number"])
    await check_may_change(ctx, followup)
    changes: dict[str, Any] = {}
    if args["due"] is not None:
        due_at = due_value(args["due"])
        changes["due"] = (_iso(followup.due_at), _iso(due_at))
        await _set_due(ctx, followup, due_at)
    if args["text"] is not None:
        text = args["text"].strip()
        if not text:
            raise CommandError("followups.no_text", usage=FOLLOWUP.subcommands["edit"])
        changes["text"] = (followup.text, text)
        followup.text = text
    if not changes:
        raise CommandError("followups.edit.nothing", usage=FOLLOWUP.subcommands["edit"])
    await repo(ctx).record(
        followup,
        "edited",
        actor=ctx.sender,
        now=ctx.now,
        detail={name: {"from": b, "to": a} for name, (b, a) in changes.items()},
    )
    await ctx.audit("followup.edit", number=followup.number, fields=sorted(changes))
    await ctx.reply(
        "followups.edited",
        number=followup.number,
        text=followup.text,
        due=t_due(ctx, followup.due_at),
        fields=sorted(changes),
    )


@router.on_request("followups.create")
async def create_for_another_domain(
    ctx: Context,
    *,
    text: str,
    assignee: str,
    due_at: datetime | None = None,
    partner_id: int | None = None,
    origin: str = FollowupOrigin.MEETING.value,
) -> dict[str, Any]:
    """A follow-up another domain asks for (a meeting's `!action`): its number, and when
    it is first chased."""
    followup = await create(
        ctx,
        text=text,
        assignee=assignee,
        due_at=due_at,
        partner_id=partner_id,
        origin=FollowupOrigin(origin),
    )
    return {"id": followup.id, "number": followup.number, "reminder": followup.next_reminder_at}
