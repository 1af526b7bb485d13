"""The agenda of the next meeting: built before it (`!agenda add`, `remove`, `move`) and
pre-filled with what the last meeting left open.

The minutes of the group end on "ce CR devra servir à construire les prochains ODJ":
when a meeting ends, the topics it postponed and the agenda items it did not reach go
to the next meeting's agenda; a planned meeting's agenda also lists the proposals
waiting for the steering committee (COPIL) and a line on the open and overdue
follow-ups, kept up to date until the meeting starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from commands.kit.args import Arg, Duration, Opt, Text
from commands.kit.context import Context
from commands.kit.errors import CommandError, shorten
from commands.kit.registry import Args
from commands.meetings.records import PLANNED, RUNNING, repo, require_room, room_of, running
from commands.meetings.router import AGENDA
from commands.meetings.vocabulary import O_OWNER, Number, trailing_user
from storage.models import (
    AgendaItem,
    AgendaOrigin,
    AgendaStatus,
    ItemKind,
    Meeting,
    MeetingItem,
)
from storage.repos.followups import Filter, FollowupRepository

OPEN = AgendaStatus.OPEN.value
TAKEN = AgendaStatus.TAKEN.value
REMOVED = AgendaStatus.REMOVED.value
MAX_ITEMS = 100  # open items on one agenda
MAX_TEXT = 500
LINE_TEXT = 300  # an agenda shown in the room cuts each text to this
MAX_DURATION_MINUTES = 8 * 60

O_DURATION = Opt("duration", Duration(), fr="duree", aliases=("durée", "temps"))


async def planned(ctx: Context, *, create: bool) -> Meeting | None:
    """The room's next meeting (its agenda, maybe a date); created when asked."""
    room = room_of(ctx)
    meetings = repo(ctx)
    meeting = await meetings.in_room(room, PLANNED)
    if meeting is None and create:
        meeting = await meetings.create(room_id=room, by=ctx.sender, now=ctx.now, status=PLANNED)
    return meeting


async def prefill(ctx: Context, meeting: Meeting) -> None:
    """Bring the automatic part of an agenda up to date: each proposal waiting for the
    COPIL (those decided since leave it), and the line on follow-ups once some are
    open. An item removed by hand is not added back."""
    meetings = repo(ctx)
    items = await meetings.agenda(meeting, statuses=(OPEN, TAKEN, REMOVED))
    waiting = await meetings.copil_waiting()
    waiting_ids = {p.id for p in waiting}
    for item in items:
        if (
            item.origin == AgendaOrigin.PROPOSAL
            and item.status == OPEN
            and item.proposal_id not in waiting_ids
        ):
            item.status = REMOVED
    known = {i.proposal_id for i in items if i.origin == AgendaOrigin.PROPOSAL}
    for proposal in waiting:
        if proposal.id not in known:
            await meetings.add_agenda(
                meeting,
                text=proposal.text,
                origin=AgendaOrigin.PROPOSAL.value,
                proposal_id=proposal.id,
                by=proposal.author,
                now=ctx.now,
            )
    if (
        not any(i.origin == AgendaOrigin.FOLLOWUPS for i in items)
        and (await followup_counts(ctx))["open"]
    ):
        await meetings.add_agenda(
            meeting, text="", origin=AgendaOrigin.FOLLOWUPS.value, by="", now=ctx.now
        )


async def carry_over(
    ctx: Context, ended: Meeting, items: Sequence[MeetingItem], to: Meeting
) -> int:
    """What an ended meeting leaves to the next one: the topics it postponed, then the
    agenda items it did not reach (the automatic ones are made afresh). How many."""
    meetings = repo(ctx)
    topics = {i.id: i for i in items if i.kind == ItemKind.TOPIC}
    carried = 0
    for later in (i for i in items if i.kind == ItemKind.LATER):
        topic = topics.get(later.topic_id or 0)
        await meetings.add_agenda(
            to,
            text=topic.text if topic is not None else later.text,
            owner=topic.owner if topic is not None else None,
            origin=AgendaOrigin.POSTPONED.value,
            from_meeting=ended.number,
            by=later.author,
            now=ctx.now,
        )
        carried += 1
    for item in await meetings.agenda(ended):
        if item.origin in (AgendaOrigin.PROPOSAL, AgendaOrigin.FOLLOWUPS):
            continue
        await meetings.add_agenda(
            to,
            text=item.text,
            owner=item.owner,
            duration_minutes=item.duration_minutes,
            origin=AgendaOrigin.NOT_REACHED.value,
            from_meeting=ended.number,
            by=item.added_by,
            now=ctx.now,
        )
        carried += 1
    return carried


async def followup_counts(ctx: Context) -> dict[str, int]:
    """How many follow-ups are open in the group, and how many of them are late."""
    followups = ctx.repo(FollowupRepository)
    _, open_ = await followups.find(Filter(), limit=1)
    _, late = await followups.find(Filter(due_before=ctx.now), limit=1)
    return {"open": open_, "late": late}


async def item_views(
    ctx: Context, items: Sequence[AgendaItem], *, short: bool = True
) -> list[dict[str, Any]]:
    """Agenda items as the messages show them, numbered from 1."""
    proposals = await repo(ctx).proposals([i.proposal_id for i in items if i.proposal_id])
    counts = (
        await followup_counts(ctx)
        if any(i.origin == AgendaOrigin.FOLLOWUPS for i in items)
        else {"open": 0, "late": 0}
    )
    views = []
    for number, item in enumerate(items, start=1):
        proposal = proposals.get(item.proposal_id or 0)
        views.append(
            {
                "number": number,
                "text": shorten(item.text, LINE_TEXT) if short else item.text,
                "owner": item.owner,
                "duration": item.duration_minutes,
                "origin": item.origin,
                "from_meeting": item.from_meeting,
                "proposal": proposal.number if proposal is not None else None,
                "followups": counts,
            }
        )
    return views


def topic_text(ctx: Context, view: dict[str, Any]) -> str:
    """What an agenda item is called once it is taken as a topic."""
    if view["origin"] == AgendaOrigin.FOLLOWUPS:
        return ctx.t.text("meetings.agenda.followups_line", f=view["followups"], prefix="")
    if view["origin"] == AgendaOrigin.PROPOSAL:
        return ctx.t.text(
            "meetings.agenda.proposal_topic", number=view["proposal"], text=view["text"]
        )
    return str(view["text"])


def total_minutes(items: Sequence[AgendaItem]) -> int:
    return sum(i.duration_minutes or 0 for i in items)


async def agenda_data(ctx: Context, meeting: Meeting | None) -> dict[str, Any]:
    """What a message needs to show a meeting's agenda (`meetings.agenda.block`)."""
    if meeting is None:
        return {"items": [], "total": 0}
    items = await repo(ctx).agenda(meeting)
    return {"items": await item_views(ctx, items), "total": total_minutes(items)}


async def agenda_meeting(ctx: Context, *, create: bool) -> Meeting | None:
    """The meeting whose agenda the commands change: the one in progress, else the next."""
    return await running(ctx) or await planned(ctx, create=create)


def _heading(ctx: Context, meeting: Meeting | None) -> dict[str, Any]:
    if meeting is None:
        return {"state": "none"}
    when = meeting.scheduled_at
    return {
        "state": "running" if meeting.status == RUNNING else "planned",
        "number": meeting.number,
        "title": meeting.title,
        "date": ctx.t.long_date(when, ctx.room.timezone) if when is not None else None,
    }


async def _numbered(ctx: Context, meeting: Meeting, number: int) -> tuple[list[AgendaItem], int]:
    items = list(await repo(ctx).agenda(meeting))
    if not 1 <= number <= len(items):
        raise CommandError(
            "meetings.agenda.no_such_item", number=number, count=len(items), prefix=ctx.prefix
        )
    return items, number - 1


# --- Commands.


@AGENDA.default_command()
async def show(ctx: Context, args: Args) -> None:
    """The agenda of the meeting in progress, else of the next meeting."""
    ctx.require_group()
    meeting = await agenda_meeting(ctx, create=False)
    await ctx.reply(
        "meetings.agenda.show",
        m=_heading(ctx, meeting),
        agenda=await agenda_data(ctx, meeting),
        moved=None,
        prefix=ctx.prefix,
    )


@AGENDA.command(
    "add",
    fr="ajouter",
    aliases=("ajout", "new", "nouveau"),
    args=[Arg("text", Text(MAX_TEXT + 300), rest=True)],
    options=[O_DURATION, O_OWNER],
)
async def add(ctx: Context, args: Args) -> None:
    """Add a point to the agenda, with who brings it (@someone at the end, or owner=)
    and how long it should take (duration=20m)."""
    require_room(ctx)
    owner, text = trailing_user(args["text"])
    text = " ".join(text.split())
    if not text:
        raise CommandError("meetings.agenda.no_text", usage=AGENDA.subcommands["add"])
    if len(text) > MAX_TEXT:
        raise CommandError("core.arg.too_long", limit=MAX_TEXT)
    owner = args["owner"] or owner
    minutes = None
    if args["duration"] is not None:
        minutes = max(1, round(args["duration"].total_seconds() / 60))
        if minutes > MAX_DURATION_MINUTES:
            raise CommandError("meetings.agenda.too_long", hours=MAX_DURATION_MINUTES // 60)
    meeting = await agenda_meeting(ctx, create=True)
    assert meeting is not None
    meetings = repo(ctx)
    items = list(await meetings.agenda(meeting))
    if len(items) >= MAX_ITEMS:
        raise CommandError("meetings.agenda.full", limit=MAX_ITEMS)
    item = await meetings.add_agenda(
        meeting,
        text=text,
        owner=owner,
        duration_minutes=minutes,
        origin="manual",
        by=ctx.sender,
        now=ctx.now,
    )
    # The line on follow-ups stays last.
    if items and items[-1].origin == AgendaOrigin.FOLLOWUPS:
        items.insert(len(items) - 1, item)
        await meetings.reorder(items)
    else:
        items.append(item)
    await ctx.audit("agenda.add", meeting=meeting.id)
    await ctx.reply(
        "meetings.agenda.added",
        number=items.index(item) + 1,
        text=text,
        owner=owner,
        duration=minutes,
        m=_heading(ctx, meeting),
        total=total_minutes(items),
        prefix=ctx.prefix,
    )


@AGENDA.command(
    "remove",
    fr="retirer",
    aliases=("supprimer", "enlever", "delete", "del", "rm"),
    args=[Arg("number", Number())],
)
async def remove(ctx: Context, args: Args) -> None:
    """Take a point off the agenda (by its number in `!agenda`)."""
    require_room(ctx)
    meeting = await agenda_meeting(ctx, create=False)
    if meeting is None:
        raise CommandError("meetings.agenda.nothing", prefix=ctx.prefix)
    items, index = await _numbered(ctx, meeting, args["number"])
    item = items.pop(index)
    view = (await item_views(ctx, [item]))[0]
    item.status = REMOVED
    await repo(ctx).reorder(items)
    await ctx.audit("agenda.remove", meeting=meeting.id)
    await ctx.reply(
        "meetings.agenda.removed",
        number=args["number"],
        text=topic_text(ctx, view),
        left=len(items),
    )


@AGENDA.command(
    "move",
    fr="deplacer",
    aliases=("déplacer", "bouger", "mv"),
    args=[Arg("number", Number()), Arg("to", Number())],
)
async def move(ctx: Context, args: Args) -> None:
    """Move agenda point N to place M; the others follow in order."""
    require_room(ctx)
    meeting = await agenda_meeting(ctx, create=False)
    if meeting is None:
        raise CommandError("meetings.agenda.nothing", prefix=ctx.prefix)
    items, index = await _numbered(ctx, meeting, args["number"])
    target = args["to"]
    if target > len(items):
        raise CommandError(
            "meetings.agenda.no_such_item", number=target, count=len(items), prefix=ctx.prefix
        )
    item = items.pop(index)
    items.insert(target - 1, item)
    await repo(ctx).reorder(items)
    await ctx.audit("agenda.move", meeting=meeting.id)
    await ctx.reply(
        "meetings.agenda.show",
        m=_heading(ctx, meeting),
        agenda={"items": await item_views(ctx, items), "total": total_minutes(items)},
        moved=target,
        prefix=ctx.prefix,
    )
