"""The minutes: written from the stored items of a meeting, in the room's language, shaped
like the group's own ("CR de la réunion du ..."): title and date, written by (the
chairs), who was present, each topic with what was said, the decisions, the proposals
submitted to the COPIL, the actions by person, the postponed topics, the next meeting.

They are rendered anew from the database whenever asked (`!minutes N`, `!minutes export
N md|html|log`), so an amendment or an erasure shows in every later copy. Markdown and
HTML come from Jinja2 templates beside this module, labelled from the message catalog;
the HTML escapes what members typed, the Markdown backslash-escapes it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader

from commands.kit.args import Arg, Opt, Page
from commands.kit.context import MAX_CONTENT_BYTES, Context, content_size, message_content
from commands.kit.errors import CommandError, shorten
from commands.kit.i18n import Catalog, Rendered
from commands.kit.registry import Args
from commands.meetings.records import ENDED, PLANNED, RUNNING, names_of, repo, require_chair
from commands.meetings.router import MINUTES
from commands.meetings.vocabulary import FORMAT, ItemText, Number
from storage.models import AgendaOrigin, ItemKind, Meeting, MeetingItem

TEMPLATES = Path(__file__).parent / "templates"
PAGE = 15
MIME = {"md": "text/markdown", "html": "text/html", "log": "text/plain"}
EXTENSION = {"md": "md", "html": "html", "log": "txt"}
CONTENT_KINDS = (
    ItemKind.INFO,
    ItemKind.IDEA,
    ItemKind.AGREED,
    ItemKind.COPIL,
    ItemKind.ACTION,
    ItemKind.LINK,
)

# What Markdown reads as markup in running text; a backslash makes each literal. ("#"
# is markup only at the start of a line, where the templates never put members' text.)
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>|~])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_BLANK_LINES = re.compile(r"\n{3,}")


def markdown_escape(value: Any) -> str:
    """Text as Markdown shows it literally, on one line."""
    text = " ".join(str(value).split())
    return _ENTITY.sub("&amp;", _MARKDOWN.sub(r"\\\1", text))


@functools.cache
def environments(catalog: Catalog) -> tuple[Environment, Environment]:
    """The minutes' Jinja2 environments (HTML, Markdown): overlays of the catalog's,
    so that they share its filters and its defusing of `@room`; the HTML one escapes,
    the Markdown one leaves escaping to the `md` filter."""
    html = catalog.env.overlay(loader=FileSystemLoader(TEMPLATES), cache_size=20)
    text = catalog.env.overlay(autoescape=False, loader=FileSystemLoader(TEMPLATES), cache_size=20)
    text.filters = {**text.filters, "md": markdown_escape}
    return html, text


def _local(tz: str, when: Any) -> Any:
    return when.astimezone(ZoneInfo(tz)) if when is not None else None


def join_names(ctx: Context, names: Sequence[str]) -> str:
    """ "Erwan, Alice et Vincent" (in English, "… and …")."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {ctx.t.text('meetings.and')} {names[-1]}"


async def following(ctx: Context, meeting: Meeting) -> Meeting | None:
    """The meeting after this one in its room: the next one held, else the planned one."""
    meetings = repo(ctx)
    if meeting.number is not None:
        after = await meetings.by_number(meeting.number + 1)
        if after is not None and after.room_id == meeting.room_id:
            return after
    return await meetings.in_room(meeting.room_id, PLANNED)


async def collect(ctx: Context, meeting: Meeting) -> dict[str, Any]:
    """Everything the minutes show, from the stored items (`m` in the templates)."""
    meetings = repo(ctx)
    tz = (await ctx.services.room(ctx.uow, meeting.room_id)).timezone
    items = list(await meetings.items(meeting))
    attendees = await meetings.attendees(meeting)
    people = [*meeting.chairs, *(i.author for i in items), *(i.assignee or "" for i in items)]
    names = await names_of(ctx, meeting, people)

    def long_date(when: Any, clock: bool = False) -> str | None:
        return ctx.t.long_date(when, tz, clock=clock) if when is not None else None

    def view(item: MeetingItem) -> dict[str, Any]:
        return {
            "kind": item.kind,
            "text": item.text,
            "who": names.get(item.author, item.author),
            "assignee": names.get(item.assignee or "", item.assignee),
            "due": long_date(item.due_at),
            "number": item.ref_number,
            "url": item.url,
            "at": item.at,
        }

    topics: list[dict[str, Any]] = []
    by_topic: dict[int, dict[str, Any]] = {}
    general: list[dict[str, Any]] = []
    postponed: list[str] = []
    for item in items:
        if item.kind == ItemKind.TOPIC:
            topic: dict[str, Any] = {
                "text": item.text,
                "owner": item.owner,
                "items": [],
                "postponed": False,
            }
            topics.append(topic)
            by_topic[item.id] = topic
        elif item.kind == ItemKind.LATER:
            found = by_topic.get(item.topic_id or 0)
            if found is not None:
                found["postponed"] = True
            postponed.append(found["text"] if found is not None else item.text)
        elif item.kind in CONTENT_KINDS:
            target = by_topic.get(item.topic_id or 0)
            (target["items"] if target is not None else general).append(view(item))
    actions: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        if item.kind == ItemKind.ACTION:
            who = names.get(item.assignee or "", item.assignee or "")
            actions.setdefault(who, []).append(view(item))
    not_reached = []
    if meeting.status == ENDED:
        not_reached = [
            a.text
            for a in await meetings.agenda(meeting)
            if a.origin not in (AgendaOrigin.PROPOSAL, AgendaOrigin.FOLLOWUPS)
        ]
    start = meeting.started_at or meeting.scheduled_at or meeting.created_at
    after = await following(ctx, meeting)
    next_when = None
    if after is not None:
        next_when = after.started_at if after.status != PLANNED else after.scheduled_at
    short = _local(tz, start).strftime("%d/%m/%Y" if ctx.t.locale == "fr" else "%Y-%m-%d")
    return {
        "number": meeting.number,
        "title": meeting.title,
        "running": meeting.status == RUNNING,
        "short_date": short,
        "date": long_date(start),
        "start": _local(tz, start).strftime("%H:%M"),
        "end": _local(tz, meeting.ended_at).strftime("%H:%M") if meeting.ended_at else None,
        "chairs": join_names(ctx, [names.get(c, c) for c in meeting.chairs]),
        "present": join_names(ctx, [a.name for a in attendees if a.present]),
        "present_count": sum(1 for a in attendees if a.present),
        "absent": join_names(ctx, [a.name for a in attendees if not a.present]),
        "general": general,
        "topics": topics,
        "decisions": [view(i) for i in items if i.kind == ItemKind.AGREED],
        "copil": [view(i) for i in items if i.kind == ItemKind.COPIL],
        "actions": [{"who": who, "items": rows} for who, rows in actions.items()],
        "postponed": postponed,
        "not_reached": not_reached,
        "next": {
            "date": long_date(next_when, clock=True),
            "title": after.title if after is not None else None,
            "held": after is not None and after.status != PLANNED,
            "number": after.number if after is not None else None,
        },
        "amendments": [
            {"who": names.get(i.author, i.author), "date": long_date(i.at), "text": i.text}
            for i in items
            if i.kind == ItemKind.AMENDMENT
        ],
    }


def render(ctx: Context, data: dict[str, Any], form: str) -> str:
    """The minutes as `md` (Markdown), `html` (a whole page) or `body` (the HTML of a
    Matrix message)."""
    html, text = environments(ctx.services.catalog)
    if form == "md":
        markdown = text.get_template("minutes.md.j2").render(m=data, t=ctx.t)
        return _BLANK_LINES.sub("\n\n", markdown).strip() + "\n"
    name = "minutes.html.j2" if form == "html" else "minutes_body.html.j2"
    return html.get_template(name).render(m=data, t=ctx.t, locale=ctx.t.locale).strip() + "\n"


async def log_text(ctx: Context, meeting: Meeting) -> str:
    """The raw log of a meeting: every message typed while it ran, as typed."""
    tz = (await ctx.services.room(ctx.uow, meeting.room_id)).timezone
    lines = [ctx.t.text("meetings.log.heading", number=meeting.number, title=meeting.title)]
    for line in await repo(ctx).log_lines(meeting):
        clock = _local(tz, line.at).strftime("%H:%M")
        body = line.body.replace("\r\n", "\n").replace("\n", "\n    ")
        lines.append(f"[{clock}] <{line.sender}> {body}")
    return "\n".join(lines) + "\n"


def file_name(ctx: Context, data: dict[str, Any], form: str) -> str:
    stem = ctx.t.text("meetings.minutes.filename", number=data["number"])
    if form == "log":
        stem = ctx.t.text("meetings.log.filename", number=data["number"])
    return f"{stem}.{EXTENSION[form]}"


async def send_files(
    ctx: Context, meeting: Meeting, forms: Sequence[str], data: dict[str, Any] | None = None
) -> None:
    """Post the minutes (and the log) as files in the room, in reply to the command."""
    if data is None:
        data = await collect(ctx, meeting)
    for form in forms:
        if form == "log":
            content = await log_text(ctx, meeting)
        else:
            content = render(ctx, data, form)
        name = file_name(ctx, data, form)
        await ctx.send_file(
            name,
            MIME[form],
            content.encode("utf-8"),
            "meetings.minutes.file_caption",
            form=form,
            number=data["number"],
            name=name,
        )


async def held(ctx: Context, number: int) -> Meeting:
    meeting = await repo(ctx).by_number(number)
    if meeting is None:
        raise CommandError("meetings.minutes.unknown", number=number, prefix=ctx.prefix)
    return meeting


# --- Commands.


@MINUTES.default_command(
    args=[Arg("number", Number(), required=False)],
    options=[Opt("page", Page(minimum=1), fr="page")],
)
async def show(ctx: Context, args: Args) -> None:
    """The minutes of meeting N; without N, the list of meetings held."""
    ctx.require_group()
    if args["number"] is None:
        await listing(ctx, args["page"] or 1)
        return
    meeting = await held(ctx, args["number"])
    data = await collect(ctx, meeting)
    rendered = Rendered(render(ctx, data, "md").rstrip(), render(ctx, data, "body").rstrip())
    if content_size(message_content(rendered, reply_to=ctx.event_id)) <= MAX_CONTENT_BYTES:
        await ctx.send_rendered(rendered)
        return
    # Too long for one message: the whole minutes as a file.
    await send_files(ctx, meeting, ("md",), data)


async def listing(ctx: Context, page: int) -> None:
    rows, total = await repo(ctx).held(limit=PAGE, offset=(page - 1) * PAGE)
    pages = max(1, -(-total // PAGE))
    if page > pages:
        raise CommandError("meetings.page_out_of_range", page=page, pages=pages)
    lines = []
    for meeting in rows:
        tz = (await ctx.services.room(ctx.uow, meeting.room_id)).timezone
        items = await repo(ctx).items(meeting)
        lines.append(
            {
                "number": meeting.number,
                "title": shorten(meeting.title or "", 120) or None,
                "date": ctx.t.long_date(meeting.started_at or ctx.now, tz),
                "running": meeting.status == RUNNING,
                "topics": sum(1 for i in items if i.kind == ItemKind.TOPIC),
                "decisions": sum(1 for i in items if i.kind == ItemKind.AGREED),
                "actions": sum(1 for i in items if i.kind == ItemKind.ACTION),
            }
        )
    await ctx.reply(
        "meetings.minutes.list", items=lines, total=total, page=page, pages=pages, prefix=ctx.prefix
    )


@MINUTES.command(
    "export",
    fr="exporter",
    aliases=("fichier", "file", "telecharger", "télécharger"),
    args=[Arg("number", Number()), Arg("format", FORMAT, required=False)],
)
async def export(ctx: Context, args: Args) -> None:
    """Send the minutes of meeting N again as files: md, html (both by default) or the
    raw log."""
    ctx.require_group()
    meeting = await held(ctx, args["number"])
    forms = (args["format"],) if args["format"] else ("md", "html")
    await ctx.audit("minutes.export", number=meeting.number, forms=list(forms))
    await send_files(ctx, meeting, forms)


@MINUTES.command(
    "amend",
    fr="amender",
    aliases=("corriger", "rectifier", "rectificatif", "correct"),
    args=[Arg("number", Number()), Arg("text", ItemText(), rest=True)],
)
async def amend(ctx: Context, args: Args) -> None:
    """A chair of meeting N adds a correction to its minutes, once it has ended."""
    ctx.require_group()
    meeting = await held(ctx, args["number"])
    if meeting.status != ENDED:
        raise CommandError(
            "meetings.minutes.amend_running", number=meeting.number, prefix=ctx.prefix
        )
    await require_chair(ctx, meeting, moderators=True)
    text = " ".join(args["text"].split())
    await repo(ctx).add_item(
        meeting,
        kind=ItemKind.AMENDMENT.value,
        text=text,
        author=ctx.sender,
        now=ctx.now,
        topic_id=None,
        event_id=ctx.event_id,
    )
    await ctx.audit("minutes.amend", number=meeting.number)
    await ctx.reply("meetings.minutes.amended", number=meeting.number, text=text, prefix=ctx.prefix)
