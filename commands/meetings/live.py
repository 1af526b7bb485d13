"""Meeting mode: `!meeting start`, then the commands that write the minutes as the
meeting goes (MeetBot's: topic, info, idea, agreed, action, link; and the group's own:
copil, later, present), and `!meeting end`, which posts a short summary and the minutes
as files. Who chairs is in `chairs`, taking a line back in `undo`.

The starter chairs the meeting; chairs add and remove chairs, set the topics, record
what was agreed, postpone a topic, undo and end. Everyone may add information, ideas,
links, actions, proposals for the COPIL, and name who is present. What is typed in the
room while a meeting runs is kept in its raw log, and whoever speaks is present.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from commands.kit.args import Arg, Text, Website
from commands.kit.context import Context
from commands.kit.errors import ArgError, CommandError, shorten
from commands.kit.events import Message, Signal
from commands.kit.registry import Args
from commands.kit.text import fold, leading_users
from commands.meetings import agenda, minutes, schedule
from commands.meetings.records import (
    ENDED,
    MAX_LOG_BODY,
    PLANNED,
    RUNNING,
    mark_present,
    names_of,
    repo,
    require_chair,
    require_room,
    require_running,
    room_of,
    same_name,
)
from commands.meetings.router import MEETING, router, top_command
from commands.meetings.vocabulary import O_DUE, O_TITLE, ItemText, split_names
from storage.models import AgendaItem, AgendaStatus, ItemKind, Meeting, MeetingItem
from storage.repos.core import Ref

logger = logging.getLogger(__name__)

NEXT = frozenset({"next", "suivant", "suivante", "prochain", "prochaine"})
AGENDA_NUMBER = re.compile(r"#?\d{1,6}")  # `!topic 3`: the agenda's point 3
MAX_ACTION_USERS = 10
SUMMARY_LINES = 10  # decisions and actions listed in the room at the end, at most
SUMMARY_TEXT = 160  # each cut to this
TEXT_ARG = Arg("text", ItemText(), required=False, rest=True)


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


def _required(value: str | None, usage: str) -> str:
    text = _text(value)
    if not text:
        raise CommandError("meetings.no_text", usage=top_command(usage))
    return text


async def _topic(ctx: Context, meeting: Meeting) -> MeetingItem | None:
    if meeting.current_topic_id is None:
        return None
    return await repo(ctx).item(meeting, meeting.current_topic_id)


# --- Starting and ending.


@MEETING.default_command()
async def status(ctx: Context, args: Args) -> None:
    """The meeting in progress, or the next one planned."""
    ctx.require_group()
    meetings = repo(ctx)
    room = room_of(ctx)
    current = await meetings.in_room(room, RUNNING)
    if current is not None:
        topic = await _topic(ctx, current)
        await ctx.reply(
            "meetings.status.running",
            number=current.number,
            title=current.title,
            since=current.started_at,
            chairs=list(current.chairs),
            topic=topic.text if topic is not None else None,
            count=len(await meetings.items(current)),
            tz=ctx.room.timezone,
            prefix=ctx.prefix,
        )
        return
    planned = await meetings.in_room(room, PLANNED)
    await ctx.reply(
        "meetings.status.planned",
        date=(
            ctx.t.long_date(planned.scheduled_at, ctx.room.timezone)
            if planned is not None and planned.scheduled_at is not None
            else None
        ),
        title=planned.title if planned is not None else None,
        rule=planned.rule_text if planned is not None else None,
        agenda=await agenda.agenda_data(ctx, planned),
        prefix=ctx.prefix,
    )


@MEETING.command(
    "start",
    fr="commencer",
    aliases=("début", "demarrer", "démarrer", "ouvrir", "open", "begin", "startmeeting"),
    args=[Arg("title", Text(300, metavar="title"), required=False, rest=True)],
)
async def start(ctx: Context, args: Args) -> None:
    """Open a meeting in this room (its planned one, with its agenda); the starter chairs."""
    room = require_room(ctx)
    meetings = repo(ctx)
    current = await meetings.in_room(room, RUNNING)
    if current is not None:
        raise CommandError(
            "meetings.already_running",
            number=current.number,
            since=current.started_at,
            chairs=list(current.chairs),
            tz=ctx.room.timezone,
            prefix=ctx.prefix,
        )
    meeting = await agenda.planned(ctx, create=True)
    assert meeting is not None
    planned_for = meeting.scheduled_at
    meeting.status = RUNNING
    meeting.number = await meetings.next_number()
    meeting.started_at, meeting.started_by = ctx.now, ctx.sender
    meeting.chairs = [ctx.sender]
    meeting.title = _text(args["title"]) or meeting.title
    meeting.reminder_at = meeting.next_due_at = None
    meeting.updated_at = ctx.now
    await agenda.prefill(ctx, meeting)
    await mark_present(ctx, meeting, ctx.sender, source="chair")
    await ctx.audit("meeting.start", number=meeting.number)
    await ctx.reply(
        "meetings.started",
        number=meeting.number,
        title=meeting.title,
        chair=ctx.sender,
        planned=ctx.t.long_date(planned_for, ctx.room.timezone) if planned_for else None,
        agenda=await agenda.agenda_data(ctx, meeting),
        prefix=ctx.prefix,
    )


@MEETING.command(
    "end",
    fr="fin",
    aliases=("terminer", "clore", "cloturer", "clôturer", "finir", "stop", "endmeeting"),
)
async def end(ctx: Context, args: Args) -> None:
    """Close the meeting (its chairs, or a moderator): the next agenda gets what is left
    open, the room a short summary, and the minutes come as Markdown and HTML files."""
    meeting = await require_running(ctx)
    await require_chair(ctx, meeting, moderators=True)
    meeting.status = ENDED
    meeting.ended_at, meeting.ended_by = ctx.now, ctx.sender
    meeting.current_topic_id = None
    meeting.updated_at = ctx.now
    items = list(await repo(ctx).items(meeting))
    # The next meeting: the series' next date, or the room's next meeting as it stands;
    # what was left open goes to its agenda.
    after = await schedule.next_of_series(ctx, meeting) or await agenda.planned(ctx, create=True)
    assert after is not None
    carried = await agenda.carry_over(ctx, meeting, items, after)
    await agenda.prefill(ctx, after)
    await ctx.audit("meeting.end", number=meeting.number, items=len(items), carried=carried)
    data = await minutes.collect(ctx, meeting)
    await ctx.reply("meetings.ended", m=_summary(data), carried=carried, prefix=ctx.prefix)
    await minutes.send_files(ctx, meeting, ("md", "html"), data)
    logger.info("meeting %s ended with %d items", meeting.id, len(items))


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    """What the room sees at the end: counts, and the first decisions and actions, cut
    short; the rest is in the files."""

    def short(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "text": shorten(r["text"], SUMMARY_TEXT)} for r in rows[:SUMMARY_LINES]]

    actions = [a for group in data["actions"] for a in group["items"]]
    return {
        **data,
        "topic_count": len(data["topics"]),
        "decisions": short(data["decisions"]),
        "decision_count": len(data["decisions"]),
        "copil_count": len(data["copil"]),
        "actions": short(actions),
        "action_count": len(actions),
        "postponed": [shorten(p, SUMMARY_TEXT) for p in data["postponed"][:SUMMARY_LINES]],
        "postponed_count": len(data["postponed"]),
        "present": shorten(data["present"], 600),
        "title": shorten(data["title"] or "", 200) or None,
    }


# --- What the minutes are written from.


@router.command(
    "topic",
    fr="sujet",
    aliases=("point", "theme", "thème"),
    args=[TEXT_ARG],
    options=[O_TITLE],
)
async def topic(ctx: Context, args: Args) -> None:
    """Set the current topic (a chair): its text; `next`, or a number N, takes the next
    agenda point or point N (a topic that is only a number: `title=2027`)."""
    meeting = await require_running(ctx)
    await require_chair(ctx, meeting)
    title = _text(args["title"])
    text = " ".join(part for part in (title, _text(args["text"])) if part)
    if not text:
        raise CommandError("meetings.no_text", usage=top_command("topic"))
    meetings = repo(ctx)
    owner = None
    agenda_item_id = None
    point = None if title else await _agenda_point(ctx, meeting, text)
    if point is not None:
        view = (await agenda.item_views(ctx, [point], short=False))[0]
        point.status = AgendaStatus.TAKEN.value
        text, owner, agenda_item_id = agenda.topic_text(ctx, view), point.owner, point.id
    item = await meetings.add_item(
        meeting,
        kind=ItemKind.TOPIC.value,
        text=text,
        author=ctx.sender,
        now=ctx.now,
        topic_id=None,
        owner=owner,
        agenda_item_id=agenda_item_id,
        event_id=ctx.event_id,
    )
    meeting.current_topic_id = item.id
    left = len(await meetings.agenda(meeting))
    count = sum(1 for i in await meetings.items(meeting) if i.kind == ItemKind.TOPIC)
    await ctx.reply("meetings.topic", number=count, text=text, owner=owner, left=left)


async def _agenda_point(ctx: Context, meeting: Meeting, text: str) -> AgendaItem | None:
    """The agenda point a topic names: `next` the first one left, a number N the Nth
    as `!agenda` shows them; None for a topic given in words."""
    folded = fold(text)
    if folded not in NEXT and not AGENDA_NUMBER.fullmatch(text):
        return None
    items = await repo(ctx).agenda(meeting)
    if folded in NEXT:
        if not items:
            raise CommandError("meetings.agenda.empty", prefix=ctx.prefix)
        return items[0]
    number = int(text.lstrip("#"))
    if not 1 <= number <= len(items):
        raise CommandError(
            "meetings.topic.no_such_point", number=number, count=len(items), prefix=ctx.prefix
        )
    return items[number - 1]


async def _note(
    ctx: Context, meeting: Meeting, kind: ItemKind, text: str, **fields: Any
) -> MeetingItem:
    return await repo(ctx).add_item(
        meeting,
        kind=kind.value,
        text=text,
        author=ctx.sender,
        now=ctx.now,
        event_id=ctx.event_id,
        **fields,
    )


@router.command("info", fr="info", aliases=("information", "note"), args=[TEXT_ARG])
async def info(ctx: Context, args: Args) -> None:
    """A piece of information for the minutes, under the current topic."""
    meeting = await require_running(ctx)
    await _note(ctx, meeting, ItemKind.INFO, _required(args["text"], "info"))
    await ctx.react("📝")


@router.command("idea", fr="idée", aliases=("idee", "idees", "idées", "ideas"), args=[TEXT_ARG])
async def idea(ctx: Context, args: Args) -> None:
    """An idea for the minutes, under the current topic."""
    meeting = await require_running(ctx)
    await _note(ctx, meeting, ItemKind.IDEA, _required(args["text"], "idea"))
    await ctx.react("💡")


@router.command(
    "link",
    fr="lien",
    aliases=("liens", "links"),
    args=[Arg("url", Text(600, metavar="url")), TEXT_ARG],
)
async def link(ctx: Context, args: Args) -> None:
    """A link for the minutes (http or https), with what it is."""
    meeting = await require_running(ctx)
    try:
        url = Website().parse(args["url"], ctx.parse_context)
    except ArgError as exc:
        exc.usage = top_command("link")
        raise
    if not url:
        raise CommandError("core.arg.bad_website", value=args["url"], usage=top_command("link"))
    await _note(ctx, meeting, ItemKind.LINK, _text(args["text"]) or url, url=url)
    await ctx.react("🔗")


@router.command(
    "agreed",
    fr="accord",
    aliases=("d'accord", "daccord", "accepted", "agree", "convenu", "decide", "décidé"),
    args=[TEXT_ARG],
)
async def agreed(ctx: Context, args: Args) -> None:
    """What the meeting agreed (a chair): in the minutes and in the decision log."""
    meeting = await require_running(ctx)
    await require_chair(ctx, meeting)
    text = _required(args["text"], "agreed")
    # Written first: the decision log tells the meetings of the decision (`polls.decision`)
    # in this transaction, and this item is how the handler knows it is already here.
    item = await _note(ctx, meeting, ItemKind.AGREED, text)
    recorded = await ctx.request("polls.record_decision", text=text, source="meeting")
    item.ref_id, item.ref_number = int(recorded["id"]), int(recorded["number"])
    await ctx.audit("meeting.agreed", number=meeting.number, decision=item.ref_number)
    await ctx.reply("meetings.agreed", number=item.ref_number, text=text, prefix=ctx.prefix)


@router.command(
    "copil",
    fr="copil",
    aliases=("soumettre", "submit", "steering"),
    args=[TEXT_ARG],
)
async def copil(ctx: Context, args: Args) -> None:
    """A proposal submitted to the steering committee (COPIL): it joins the queue of
    proposals and the minutes' "decisions submitted to the COPIL"."""
    meeting = await require_running(ctx)
    text = _required(args["text"], "copil")
    queued = await ctx.request("polls.propose", text=text, origin="meeting")
    await _note(
        ctx,
        meeting,
        ItemKind.COPIL,
        text,
        ref_id=int(queued["id"]),
        ref_number=int(queued["number"]),
    )
    await ctx.audit("meeting.copil", number=meeting.number, proposal=queued["number"])
    await ctx.reply("meetings.copil", number=queued["number"], text=text, prefix=ctx.prefix)


@router.command(
    "action", fr="action", aliases=("tache", "tâche", "todo"), args=[TEXT_ARG], options=[O_DUE]
)
async def action(ctx: Context, args: Args) -> None:
    """An action for the members mentioned first (one follow-up each, chased until it
    is done); `moi`/`me` is yourself."""
    meeting = await require_running(ctx)
    users, text = leading_users(_text(args["text"]))
    if not users:
        raise CommandError("meetings.action.no_assignee", usage=top_command("action"))
    if not text:
        raise CommandError("meetings.no_text", usage=top_command("action"))
    if len(users) > MAX_ACTION_USERS:
        raise CommandError("meetings.action.too_many", limit=MAX_ACTION_USERS)
    due_at = args["due"]
    made = []
    for user in dict.fromkeys(u or ctx.sender for u in users):
        created = await ctx.request(
            "followups.create", text=text, assignee=user, due_at=due_at, origin="meeting"
        )
        await _note(
            ctx,
            meeting,
            ItemKind.ACTION,
            text,
            assignee=user,
            due_at=due_at,
            ref_id=int(created["id"]),
            ref_number=int(created["number"]),
        )
        made.append({"id": created["id"], "number": created["number"], "assignee": user})
    await ctx.audit("meeting.action", number=meeting.number, followups=[m["number"] for m in made])
    await ctx.reply(
        "meetings.action",
        # A ✅ on this answer closes the follow-ups, as on the follow-ups' own answer.
        about=Ref("followups", "created", ",".join(str(m["id"]) for m in made)),
        items=made,
        text=text,
        due=ctx.t.long_date(due_at, ctx.room.timezone) if due_at else None,
        prefix=ctx.prefix,
    )


@router.command(
    "later",
    fr="plus-tard",
    aliases=("plustard", "reporter-sujet", "report", "postpone-topic", "next-time"),
)
async def later(ctx: Context, args: Args) -> None:
    """Postpone the current topic to the next meeting's agenda (a chair)."""
    meeting = await require_running(ctx)
    await require_chair(ctx, meeting)
    current = await _topic(ctx, meeting)
    if current is None:
        raise CommandError("meetings.later.no_topic", prefix=ctx.prefix)
    if await repo(ctx).postponed(meeting, current.id):
        raise CommandError("meetings.later.already", text=current.text, prefix=ctx.prefix)
    await _note(ctx, meeting, ItemKind.LATER, current.text, topic_id=current.id)
    await ctx.reply("meetings.later", text=current.text, prefix=ctx.prefix)


# --- Who is there.


@router.command(
    "present",
    fr="présents",
    aliases=("present", "présent", "presents", "presence", "présence", "here"),
    args=[Arg("names", Text(2000, metavar="names"), required=False, rest=True)],
)
async def present(ctx: Context, args: Args) -> None:
    """Name who is present (people without an account too); alone, the list."""
    meeting = await require_running(ctx)
    await _presence(ctx, meeting, args["names"], present=True)


@router.command(
    "absent",
    fr="absent",
    aliases=("absents", "excuse", "excusé", "excusés", "excuses", "excused"),
    args=[Arg("names", Text(2000, metavar="names"), required=False, rest=True)],
)
async def absent(ctx: Context, args: Args) -> None:
    """Name who is absent (excused, or left)."""
    meeting = await require_running(ctx)
    await _presence(ctx, meeting, args["names"], present=False)


async def _presence(ctx: Context, meeting: Meeting, text: str | None, *, present: bool) -> None:
    meetings = repo(ctx)
    changed: list[str] = []
    if _text(text):
        attendees = list(await meetings.attendees(meeting))
        people = split_names(_text(text))
        for user_id, name in people:
            if user_id is not None:
                found = await meetings.attendee_of(meeting, user_id)
                if found is None and present:
                    await mark_present(ctx, meeting, user_id, source="listed")
                    changed.append(user_id)
                    continue
                if found is None:
                    found = await meetings.add_attendee(
                        meeting,
                        name=(await names_of(ctx, meeting, [user_id]))[user_id],
                        user_id=user_id,
                        source="listed",
                        now=ctx.now,
                        present=False,
                    )
                    changed.append(found.name)
                    continue
            else:
                found = next((a for a in attendees if same_name(a.name, name)), None)
                if found is None:
                    found = await meetings.add_attendee(
                        meeting,
                        name=name,
                        user_id=None,
                        source="listed",
                        now=ctx.now,
                        present=present,
                    )
                    attendees.append(found)
                    changed.append(found.name)
                    continue
            if found.present != present:
                found.present = present
            changed.append(found.name)
    everyone = await meetings.attendees(meeting)
    await ctx.reply(
        "meetings.presence",
        changed=changed,
        present=present,
        here=[a.name for a in everyone if a.present],
        away=[a.name for a in everyone if not a.present],
    )


# --- What happens in the room while a meeting runs.


@router.on_message()
async def log_message(ctx: Context, event: Message) -> bool:
    """Messages of the room go to the running meeting's raw log, and whoever speaks is
    present; with no meeting running, the message is none of this domain's business."""
    if ctx.group is None or ctx.direct:
        return False
    meeting = await repo(ctx).in_room(ctx.room.room_id, RUNNING)
    if meeting is None:
        return False
    body = event.body if len(event.body) <= MAX_LOG_BODY else event.body[: MAX_LOG_BODY - 1] + "…"
    await repo(ctx).log(
        meeting,
        sender=event.sender,
        body=body,
        msgtype=event.msgtype,
        event_id=event.event_id,
        now=ctx.now,
    )
    await mark_present(ctx, meeting, event.sender, source="spoke", force=True)
    return True


@router.on_signal("polls.decision")
async def decision_recorded(ctx: Context, signal: Signal) -> None:
    """A decision recorded while a meeting runs in the room (`!decision add`, a poll that
    closed) goes to its minutes, under the current topic; one recorded by `!agreed`
    is there already."""
    if ctx.group is None:
        return
    meetings = repo(ctx)
    if ctx.direct:
        meeting = await meetings.running_anywhere()
    else:
        meeting = await meetings.in_room(ctx.room.room_id, RUNNING)
    if meeting is None:
        return
    decision_id, number = int(signal.data["decision_id"]), int(signal.data["number"])
    if ctx.event_id is not None:
        waiting = await meetings.waiting_decision(meeting, ctx.event_id)
        if waiting is not None and waiting.kind == ItemKind.AGREED:
            waiting.ref_id, waiting.ref_number = decision_id, number
            return
    await meetings.add_item(
        meeting,
        kind=ItemKind.AGREED.value,
        text=str(signal.data.get("text") or ""),
        author=ctx.sender,
        now=ctx.now,
        event_id=ctx.event_id,
        ref_id=decision_id,
        ref_number=number,
    )
