"""Scheduling: `!meeting schedule WHEN [title] [every=RULE]` sets the next meeting, posts
its calendar invitation (.ics) and pre-fills its agenda; `!meeting cancel [series]` calls
it off (a series skips to its next date, or stops); the scheduled job sends the agenda
the day before and moves a series on when one of its meetings was not held.

What the job has to do is stored with each planned meeting (`reminder_at`, and
`next_due_at`, the earliest of the reminder and of the moment a series' meeting is given
up): after a downtime, a reminder that fell due is sent once if the meeting is still to
come, and a series skips to its next date after now, whatever it missed.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur

from commands.kit.args import Arg, Choice, ParseContext, Text
from commands.kit.context import Context
from commands.kit.errors import ArgError, CommandError
from commands.kit.jobs import Places
from commands.kit.registry import Args
from commands.kit.text import tokenize
from commands.kit.timeparse import parse_datetime
from commands.meetings import agenda
from commands.meetings.records import PLANNED, RUNNING, repo, require_room, rules
from commands.meetings.recurrence import Rule, next_date
from commands.meetings.router import MEETING
from commands.meetings.settings import MeetingsSettings
from commands.meetings.vocabulary import O_EVERY, O_TITLE
from storage.models import Meeting, Role
from storage.repos.meetings import MeetingRepository, MeetingSchedule
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

MAX_DATE_WORDS = 8  # a date in words is at most this long ("le premier mardi du mois à 18h")
TITLE_LENGTH = 300
# `!meeting cancel series`: the whole series, not only its next date.
SERIES = Choice(
    ("series",),
    {"serie": "series", "recurrence": "series", "all": "series", "tout": "series"},
    label="meetings.cancel_scope",
    metavar="series",
)


def split_when(text: str, pctx: ParseContext) -> tuple[datetime, str]:
    """A meeting's date and title typed together: `"mardi 18h" Bilan`, or without
    quotes the longest start of the line that reads as a date (`mardi 18h Bilan`)."""
    tokens = tokenize(text)
    if not tokens:
        raise ArgError("core.arg.empty")

    def read(phrase: str) -> datetime | None:
        return parse_datetime(phrase, now=pctx.now, tz=pctx.timezone, locale=pctx.locale)

    when: datetime | None = None
    used = 0
    if tokens[0].quoted:
        when, used = read(tokens[0].value), 1
        shown = tokens[0].value
    else:
        for count in range(min(len(tokens), MAX_DATE_WORDS), 0, -1):
            words = [t.value for t in tokens[:count]]
            if all(len(w) <= 2 and not any(c.isdigit() for c in w) for w in words):
                continue  # "à", "un", "a": dateparser reads some short words as a day
            when = read(" ".join(words))
            if when is not None:
                used = count
                break
        shown = " ".join(t.value for t in tokens[:MAX_DATE_WORDS])
    if when is None:
        raise ArgError("meetings.arg.not_date", value=shown)
    if when <= pctx.now:
        raise ArgError("meetings.arg.past", value=shown, when=when, tz=pctx.timezone)
    rest = tokens[used:]
    title = " ".join(t.value if t.quoted else t.raw for t in rest).strip()
    return when, " ".join(title.split())[:TITLE_LENGTH]


def plan_due(meeting: Meeting, settings: MeetingsSettings, tz: str, now: datetime) -> None:
    """When the job next has something to do for a planned meeting: its agenda reminder
    (the set number of days before, at the reminder hour, if still ahead), and for a
    series the moment its meeting is given up if nobody starts it."""
    reminder = None
    when = meeting.scheduled_at
    if when is not None and settings.reminder_days_before > 0:
        zone = ZoneInfo(tz)
        day = when.astimezone(zone).date() - timedelta(days=settings.reminder_days_before)
        at = datetime.combine(day, settings.reminder_time, tzinfo=zone).astimezone(UTC)
        if now < at < when:
            reminder = at
    meeting.reminder_at = reminder
    skip = None
    if meeting.rule and when is not None:
        skip = when + timedelta(hours=settings.skip_after_hours)
    times = [t for t in (reminder, skip) if t is not None]
    meeting.next_due_at = min(times) if times else None


def set_series(meeting: Meeting, rule: Rule | None, words: str | None, first: datetime) -> None:
    meeting.rule = rule.rrule() if rule is not None else None
    meeting.rule_text = words if rule is not None else None
    meeting.series_start = first if rule is not None else None


# --- The invitation.


def ics(
    meeting: Meeting,
    *,
    tz: str,
    minutes: int,
    summary: str,
    description: str,
    group: str,
    cancelled: bool = False,
) -> bytes:
    """The meeting as an iCalendar file (RFC 5545), with its series' rule if it has one:
    calendars show it at the room's local time, and update it on a later version (one
    `cancelled` marks it so, the whole series with it)."""
    assert meeting.scheduled_at is not None
    zone = ZoneInfo(tz)
    start = meeting.scheduled_at.astimezone(zone)
    calendar = Calendar()
    calendar.add("prodid", "-//Passerelle//Meetings//FR")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    # Stable across restarts: a calendar updates the event it already has.
    key = hashlib.sha256(group.encode()).hexdigest()[:12]
    event.add("uid", f"meeting-{meeting.id}-{key}@passerelle")
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", meeting.updated_at.astimezone(UTC))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=minutes))
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if meeting.rule:
        event.add("rrule", vRecur.from_ical(meeting.rule))
    if cancelled:
        event.add("status", "CANCELLED")
    calendar.add_component(event)
    calendar.add_missing_timezones(
        first_date=date(start.year - 1, 1, 1), last_date=date(start.year + 3, 1, 1)
    )
    data: bytes = calendar.to_ical()
    return data


async def invitation(
    ctx: Context, meeting: Meeting, views: list[dict[str, Any]], *, cancelled: bool = False
) -> None:
    """Post the meeting's .ics file in the room (or, `cancelled`, the file that calls it
    off in the calendars that have it)."""
    summary = meeting.title or ctx.t.text("meetings.ics.summary")
    lines = [agenda.topic_text(ctx, v) for v in views]
    description = "\n".join(f"{n}. {text}" for n, text in enumerate(lines, start=1))
    if description:
        description = f"{ctx.t.text('meetings.ics.agenda')}\n{description}"
    data = ics(
        meeting,
        tz=ctx.room.timezone,
        minutes=rules(ctx).duration_minutes,
        summary=summary,
        description=description,
        group=ctx.require_group(),
        cancelled=cancelled,
    )
    assert meeting.scheduled_at is not None
    local = meeting.scheduled_at.astimezone(ZoneInfo(ctx.room.timezone))
    stem = ctx.t.text("meetings.ics.cancelled_filename" if cancelled else "meetings.ics.filename")
    name = f"{stem}-{local:%Y-%m-%d}.ics"
    caption = "meetings.ics.cancelled_caption" if cancelled else "meetings.ics.caption"
    await ctx.send_file(name, "text/calendar", data, caption, name=name)


# --- The command.


@MEETING.command(
    "schedule",
    fr="planifier",
    aliases=("programmer", "prevoir", "prévoir", "fixer", "plan"),
    args=[Arg("when", Text(600, metavar="date_title"), rest=True)],
    options=[O_EVERY, O_TITLE],
)
async def schedule(ctx: Context, args: Args) -> None:
    """Set the next meeting: its date, a title, a recurrence in words; posts the
    invitation and pre-fills the agenda with what the last meeting left open."""
    require_room(ctx)
    try:
        when, typed_title = split_when(args["when"], ctx.parse_context)
    except ArgError as exc:
        exc.usage = MEETING.subcommands["schedule"]
        raise
    title = " ".join((args["title"] or typed_title).split()) or None
    rule, words = args["every"] or (None, None)
    first = when
    if rule is not None:
        found = next_date(
            rule.rrule(), anchor=when, after=when, tz=ctx.room.timezone, inclusive=True
        )
        if found is None:
            raise CommandError("meetings.arg.not_rule", value=words)
        first = found
    meeting = await agenda.planned(ctx, create=True)
    assert meeting is not None
    before = meeting.scheduled_at
    if before is not None or meeting.sequence > 0:
        # A new version of an invitation already sent (moved, or set again after a
        # cancellation): calendars update the event they have.
        meeting.sequence += 1
    meeting.scheduled_at = first
    meeting.scheduled_by = ctx.sender
    meeting.updated_at = ctx.now
    if title:
        meeting.title = title
    set_series(meeting, rule, words, first)
    await agenda.prefill(ctx, meeting)
    plan_due(meeting, rules(ctx), ctx.room.timezone, ctx.now)
    items = await repo(ctx).agenda(meeting)
    views = await agenda.item_views(ctx, items)
    await ctx.audit("meeting.schedule", meeting=meeting.id, series=meeting.rule is not None)
    await ctx.reply(
        "meetings.scheduled",
        date=ctx.t.long_date(first, ctx.room.timezone),
        before=ctx.t.long_date(before, ctx.room.timezone) if before else None,
        title=meeting.title,
        rule=words,
        moved=first != when,
        reminder=meeting.reminder_at,
        agenda={"items": views, "total": agenda.total_minutes(items)},
        tz=ctx.room.timezone,
        prefix=ctx.prefix,
    )
    await invitation(ctx, meeting, views)


@MEETING.command(
    "cancel",
    fr="annuler",
    aliases=("annulation", "décommander", "call-off"),
    args=[Arg("scope", SERIES, required=False)],
)
async def cancel(ctx: Context, args: Args) -> None:
    """Call off the next meeting (whoever scheduled it, or a moderator): no reminder,
    its agenda waits for the next one. In a series this date is skipped and the next one
    set; `series` stops the series."""
    room = require_room(ctx)
    meetings = repo(ctx)
    current = await meetings.in_room(room, RUNNING)
    if current is not None:
        raise CommandError("meetings.cancel.running", number=current.number, prefix=ctx.prefix)
    meeting = await agenda.planned(ctx, create=False)
    if meeting is None or meeting.scheduled_at is None:
        raise CommandError("meetings.cancel.nothing", prefix=ctx.prefix)
    if ctx.sender != meeting.scheduled_by and await ctx.role_of(ctx.sender) < Role.MODERATOR:
        raise CommandError("meetings.cancel.not_allowed", by=meeting.scheduled_by)
    tz = ctx.room.timezone
    when = meeting.scheduled_at
    whole_series = args["scope"] == "series"
    if whole_series and not meeting.rule:
        raise CommandError(
            "meetings.cancel.not_series", date=ctx.t.long_date(when, tz), prefix=ctx.prefix
        )
    following = None
    if meeting.rule and meeting.series_start is not None and not whole_series:
        following = next_date(
            meeting.rule, anchor=meeting.series_start, after=max(ctx.now, when), tz=tz
        )
    if following is not None:
        scope = "occurrence"  # this date only: the series goes on
    elif meeting.rule:
        scope = "series"  # stopped, or it had no more dates
    else:
        scope = "one"
    points = len(await meetings.agenda(meeting))
    data = {
        "scope": scope,
        "last": scope == "series" and not whole_series,
        "date": ctx.t.long_date(when, tz),
        "title": meeting.title,
        "rule": meeting.rule_text,
        "points": points,
    }
    meeting.sequence += 1
    meeting.updated_at = ctx.now
    await ctx.audit(
        "meeting.cancel",
        meeting=meeting.id,
        scope=scope,
        date=when.isoformat(),
        next=following.isoformat() if following is not None else None,
    )
    if following is not None:
        # This date of the series is skipped: the next one takes its agenda, and the
        # series' invitation starts from it.
        meeting.scheduled_at = following
        plan_due(meeting, rules(ctx), tz, ctx.now)
        await ctx.reply(
            "meetings.cancelled",
            m=data,
            next=ctx.t.long_date(following, tz),
            reminder=meeting.reminder_at,
            tz=tz,
            prefix=ctx.prefix,
        )
        await invitation(ctx, meeting, await agenda.item_views(ctx, await meetings.agenda(meeting)))
        return
    await ctx.reply(
        "meetings.cancelled", m=data, next=None, reminder=None, tz=tz, prefix=ctx.prefix
    )
    await invitation(ctx, meeting, [], cancelled=True)
    # No date left: no reminder, nothing for the job; the agenda stays for whichever
    # meeting is set or started next.
    meeting.scheduled_at = meeting.reminder_at = meeting.next_due_at = None
    set_series(meeting, None, None, when)


async def next_of_series(ctx: Context, ended: Meeting) -> Meeting | None:
    """After a meeting of a series, the next one: the room's planned meeting (created
    if none) gets the series' next date, unless it already has a date."""
    if not ended.rule or ended.series_start is None:
        return None
    after = max(ctx.now, ended.scheduled_at or ctx.now)
    when = next_date(ended.rule, anchor=ended.series_start, after=after, tz=ctx.room.timezone)
    if when is None:
        return None
    meeting = await agenda.planned(ctx, create=True)
    assert meeting is not None
    if meeting.scheduled_at is None:
        meeting.scheduled_at = when
        meeting.scheduled_by = ended.scheduled_by
        meeting.title = meeting.title or ended.title
        meeting.rule, meeting.rule_text = ended.rule, ended.rule_text
        meeting.series_start = ended.series_start
        meeting.updated_at = ctx.now
        plan_due(meeting, rules(ctx), ctx.room.timezone, ctx.now)
    return meeting


# --- The job: the reminder the day before, and series that move on.


class MeetingsJob:
    name = "meetings.schedule"

    async def next_due(self, uow: UnitOfWork) -> datetime | None:
        return await MeetingSchedule(uow.session).next_due()

    async def run_due(self, now: datetime, uow: UnitOfWork, places: Places) -> int:
        handled = 0
        for group in await MeetingSchedule(uow.session).groups_due(now):
            for meeting in await uow.repo(MeetingRepository, group).due(now):
                ctx = await places.room(meeting.room_id)
                if ctx.group != group:
                    # The room now belongs to another group: nothing to do for it here.
                    meeting.next_due_at = None
                    continue
                await self._one(ctx, meeting)
                handled += 1
        return handled

    async def _one(self, ctx: Context, meeting: Meeting) -> None:
        settings = rules(ctx)
        tz = ctx.room.timezone
        if meeting.reminder_at is not None and meeting.reminder_at <= ctx.now:
            slot = meeting.reminder_at
            meeting.reminder_at = None
            if meeting.scheduled_at is not None and meeting.scheduled_at > ctx.now:
                await self._remind(ctx, meeting, slot)
        when = meeting.scheduled_at
        if (
            meeting.status == PLANNED
            and meeting.rule
            and meeting.series_start is not None
            and when is not None
            and when + timedelta(hours=settings.skip_after_hours) <= ctx.now
        ):
            following = next_date(meeting.rule, anchor=meeting.series_start, after=ctx.now, tz=tz)
            ctx.origin = f"meetings:{ctx.group}:skip:{meeting.id}:{when.isoformat()}"
            meeting.scheduled_at = following
            meeting.sequence += 1
            meeting.updated_at = ctx.now
            await ctx.notice(
                "meetings.series.skipped",
                missed=ctx.t.long_date(when, tz),
                next=ctx.t.long_date(following, tz) if following else None,
                title=meeting.title,
                prefix=ctx.prefix,
            )
            logger.info("meeting %s of group series moved on", meeting.id)
        plan_due(meeting, settings, tz, ctx.now)

    @staticmethod
    async def _remind(ctx: Context, meeting: Meeting, slot: datetime) -> None:
        assert meeting.scheduled_at is not None
        await agenda.prefill(ctx, meeting)
        items = await repo(ctx).agenda(meeting)
        # The same reminder, sent again after a lost commit, keeps its transaction id.
        ctx.origin = f"meetings:{ctx.group}:reminder:{meeting.id}:{slot.isoformat()}"
        await ctx.notice(
            "meetings.reminder",
            date=ctx.t.long_date(meeting.scheduled_at, ctx.room.timezone),
            title=meeting.title,
            agenda={
                "items": await agenda.item_views(ctx, items),
                "total": agenda.total_minutes(items),
            },
            prefix=ctx.prefix,
        )


JOB = MeetingsJob()
