"""Chasing: the scheduled job that reminds assignees, the ✅ that closes a follow-up
from its reminder, and the follow-up a partner gets when it becomes interested.

The job reads what is due from the database (`next_reminder_at`), sends one message per
person and place with everything due for them, and stores each follow-up's next slot
after now: a downtime across several slots gives one reminder, not one per slot.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from commands.followups import records
from commands.followups.commands import create
from commands.followups.policy import add_working_days, allowed, reminder_after
from commands.followups.records import repo, rules
from commands.followups.router import router
from commands.followups.views import line
from commands.kit.context import MAX_CONTENT_BYTES, Context, content_size, message_content
from commands.kit.events import Reaction, Signal
from commands.kit.i18n import Rendered
from commands.kit.jobs import Places
from storage.models import FollowupOrigin, FollowupStatus
from storage.repos.core import Outgoing, Ref
from storage.repos.followups import Due, FollowupRepository, FollowupSchedule
from storage.repos.partners import PartnerRepository
from storage.uow import UnitOfWork

DONE_KEYS = frozenset({"✅", "✔", "☑", "✓"})
# Follow-ups reminded in one pass at most; the rest go at the next pass, a moment later.
BATCH = 5000


@dataclass
class Batch:
    """The reminders of one pass for one person in one place."""

    ctx: Context
    assignee: str
    direct: bool
    slot: datetime  # when the first of them was due to be reminded
    items: list[Due] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)

    @property
    def notified(self) -> list[str]:
        """Whom the message notifies: in a direct message, the assignee alone."""
        return [self.assignee] if self.direct else self.mentions


@dataclass
class Pass:
    """What one pass writes, gathered across rooms, then written in a few statements
    (the job's one transaction holds them all: the reminders and the next slots commit
    together, or neither does)."""

    batches: list[Batch] = field(default_factory=list)
    # (id, new values) of each follow-up, by group; (id, detail) of its history line.
    changes: dict[str, list[tuple[int, dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Reminder:
    """A batch's message, rendered, and what it is about."""

    batch: Batch
    data: dict[str, Any]
    rendered: Rendered
    content: dict[str, Any]
    about: Ref
    origin: str  # the same reminder, queued again after a lost commit, keeps its txn id


class ChaseJob:
    name = "followups.chase"

    async def next_due(self, uow: UnitOfWork) -> datetime | None:
        return await FollowupSchedule(uow.session).next_due()

    async def run_due(self, now: datetime, uow: UnitOfWork, places: Places) -> int:
        # One query across groups (it reads the due range of `next_reminder_at` only),
        # then one context per room.
        due = await FollowupSchedule(uow.session).due(now, limit=BATCH)
        by_room: dict[tuple[str, str], list[Due]] = defaultdict(list)
        for followup in due:
            by_room[(followup.group_id, followup.room_id)].append(followup)
        work = Pass()
        moderators: dict[str, list[str]] = {}
        handled = 0
        for (group, room_id), followups in by_room.items():
            ctx = await places.room(room_id)
            if ctx.group != group:  # the room changed groups since: act for the record's
                ctx.group = group
            if group not in moderators:
                moderators[group] = await _moderators(ctx)
            handled += self._room(ctx, followups, moderators[group], work)
        names = await _partner_names(work.batches)
        # The messages in one INSERT, then the rows' next slots and their history, all in
        # the job's transaction: a reminder is queued exactly when its slot moves on.
        await self._queue([self._render(batch, names) for batch in work.batches], uow)
        await self._write_rows(work, uow, now)
        return handled

    @staticmethod
    def _room(ctx: Context, followups: Sequence[Due], moderators: list[str], work: Pass) -> int:
        """One room's due follow-ups, grouped into reminders (one per person and place);
        nothing is written yet."""
        assert ctx.group is not None
        settings = rules(ctx)
        policy = settings.policy(ctx.room.room_id)
        tz = ctx.room.timezone
        changes = work.changes[ctx.group]
        go = allowed(ctx.now, policy, tz)
        if go > ctx.now:  # quiet hours, or a weekend: everything waits until allowed
            changes += [(f.id, {"next_reminder_at": go}) for f in followups]
            return 0
        zone = ZoneInfo(tz)

        # A slot depends on the local day a follow-up is due, not on its hour.
        @functools.cache
        def slot(day: date) -> datetime:
            return reminder_after(day, ctx.now, policy, tz)

        batches: dict[tuple[str, str], Batch] = {}
        late: dict[int, int] = {}  # the overdue reminders of each, this one included
        for followup in followups:
            assert followup.due_at is not None  # only follow-ups with a due date are chased
            overdue = followup.due_at < ctx.now
            late[followup.id] = followup.overdue_reminders + (1 if overdue else 0)
            mentions = [followup.assignee]
            if overdue and late[followup.id] >= policy.mention_creator_from:
                mentions.append(followup.creator)
            if overdue and late[followup.id] >= policy.mention_moderators_from:
                mentions += moderators
            escalated = len(set(mentions)) > 1
            direct = policy.deliver == "dm" and not escalated
            key = (followup.assignee, "dm" if direct else "room")
            batch = batches.get(key)
            if batch is None:
                first = followup.next_reminder_at or ctx.now
                batch = batches[key] = Batch(ctx, followup.assignee, direct, first)
            batch.items.append(followup)
            batch.mentions += [m for m in mentions if m not in batch.mentions]
            changes.append(
                (
                    followup.id,
                    {
                        "reminders_sent": followup.reminders_sent + 1,
                        "overdue_reminders": late[followup.id],
                        "next_reminder_at": slot(followup.due_at.astimezone(zone).date()),
                        "updated_at": ctx.now,
                    },
                )
            )
        for batch in batches.values():
            work.batches.append(batch)
            work.events += [
                (f.id, {"overdue": late[f.id], "direct": batch.direct}) for f in batch.items
            ]
        return len(followups)

    @staticmethod
    async def _write_rows(work: Pass, uow: UnitOfWork, now: datetime) -> None:
        """The follow-ups' next slots, one statement a group, and their history, one."""
        for group, changes in work.changes.items():
            await uow.repo(FollowupRepository, group).reschedule(changes)
        await FollowupSchedule(uow.session).record_many(work.events, "reminded", now=now)

    @staticmethod
    def _render(batch: Batch, names: dict[str, dict[int, str]]) -> Reminder:
        ctx = batch.ctx
        assert ctx.group is not None
        partners = names[ctx.group]
        data: dict[str, Any] = {
            "assignee": batch.assignee,
            "items": [line(f, ctx.now, partners.get(f.partner_id or 0)) for f in batch.items],
            "others": [m for m in batch.mentions if m != batch.assignee],
            "tz": ctx.room.timezone,
            "prefix": ctx.prefix,
        }
        about = Ref("followups", "reminder", ",".join(str(f.id) for f in batch.items))
        origin = f"followups:{ctx.group}:{about.id}:{batch.slot.isoformat()}"
        rendered = ctx.t("followups.reminder", **data)
        content = message_content(rendered, mentions=batch.notified)
        return Reminder(batch, data, rendered, content, about, origin)

    @staticmethod
    async def _queue(reminders: Sequence[Reminder], uow: UnitOfWork) -> None:
        """Queue the reminders in order, as `ctx.notice` (in the room) and `ctx.to_user`
        (a direct message) would, in one statement."""
        pending: list[Outgoing] = []
        for reminder in reminders:
            batch, ctx = reminder.batch, reminder.batch.ctx
            if content_size(reminder.content) > MAX_CONTENT_BYTES:
                # Too long for one event: the context sends it as a file, in its turn.
                await uow.outbox.add_many(pending)
                pending.clear()
                ctx.origin = reminder.origin
                if batch.direct:
                    await ctx.to_user(
                        batch.assignee,
                        "followups.reminder",
                        about=reminder.about,
                        mentions=batch.notified,
                        **reminder.data,
                    )
                else:
                    await ctx.send_rendered(
                        reminder.rendered,
                        reply=False,
                        about=reminder.about,
                        mentions=batch.notified,
                    )
                continue
            pending.append(
                Outgoing(
                    room_id=None if batch.direct else ctx.room.room_id,
                    user_id=batch.assignee if batch.direct else None,
                    event_type="m.room.message",
                    content=reminder.content,
                    now=ctx.now,
                    inbox_id=ctx.inbox_id,
                    group=ctx.group,
                    ref=reminder.about,
                    origin=reminder.origin,
                )
            )
        await uow.outbox.add_many(pending)


async def _partner_names(batches: Sequence[Batch]) -> dict[str, dict[int, str]]:
    """The names of the partners the reminders mention, by group: one query a group."""
    wanted: dict[str, set[int]] = defaultdict(set)
    contexts: dict[str, Context] = {}
    for batch in batches:
        group = batch.ctx.group
        assert group is not None
        contexts.setdefault(group, batch.ctx)
        wanted[group].update(f.partner_id for f in batch.items if f.partner_id is not None)
    return {
        group: await ctx.repo(PartnerRepository).names(wanted[group])
        for group, ctx in contexts.items()
    }


async def _moderators(ctx: Context) -> list[str]:
    """Who the fifth overdue reminder calls on: the group's moderators (the steering
    committee), else the configured administrators."""
    if ctx.group is None:
        return list(ctx.settings.admins)
    stored = await ctx.services.moderators(ctx.uow, ctx.group, configured=False)
    return stored or list(ctx.settings.admins)


def _done_key(key: str) -> bool:
    return key.replace("\ufe0f", "").strip() in DONE_KEYS


@router.on_reaction(about=("followups", "reminder"), where=lambda e: _done_key(e.key))
async def reminder_reaction(ctx: Context, event: Reaction) -> None:
    await _close_by_reaction(ctx, event)


@router.on_reaction(about=("followups", "created"), where=lambda e: _done_key(e.key))
async def creation_reaction(ctx: Context, event: Reaction) -> None:
    await _close_by_reaction(ctx, event)


async def _close_by_reaction(ctx: Context, event: Reaction) -> None:
    """A ✅ by the assignee or the creator closes the follow-ups the message was about;
    anyone else's is ignored."""
    if event.target is None or ctx.group is None:
        return
    ids = [int(i) for i in event.target.id.split(",") if i.isdigit()]
    closed = []
    for followup in await repo(ctx).by_ids(ids):
        if followup.status != FollowupStatus.OPEN:
            continue
        if ctx.sender not in (followup.assignee, followup.creator):
            continue
        await records.close(ctx, followup, FollowupStatus.DONE, note=None)
        closed.append(followup)
    if not closed:
        return
    await ctx.audit("followup.done", numbers=[f.number for f in closed], by="reaction")
    await ctx.send_rendered(
        ctx.t(
            "followups.done_by_reaction",
            items=[{"number": f.number, "text": f.text} for f in closed],
            by=ctx.sender,
        ),
        reply_to=event.relates_to,
    )


@router.on_signal("partners.status")
async def partner_interested(ctx: Context, signal: Signal) -> None:
    """A partner that becomes interested, with nobody following it up, gets a follow-up
    for its owner (or whoever changed the status), due in a few working days."""
    days = rules(ctx).interested_followup_days
    if signal.data.get("after") != "interested" or days <= 0 or ctx.group is None:
        return
    partner_id = int(signal.data["partner_id"])
    if await repo(ctx).open_for_partner(partner_id):
        return
    room = ctx.settings.main_room(ctx.group) if ctx.direct else ctx.room.room_id
    policy = rules(ctx).policy(room or ctx.room.room_id)
    due_at = add_working_days(ctx.now, days, policy, ctx.room.timezone)
    assignee = str(signal.data.get("owner") or ctx.sender)
    followup = await create(
        ctx,
        text=ctx.t.text("followups.auto.text", name=signal.data["name"]),
        assignee=assignee,
        due_at=due_at,
        partner_id=partner_id,
        origin=FollowupOrigin.AUTOMATIC,
    )
    await ctx.reply(
        "followups.auto.created",
        about=Ref("followups", "created", str(followup.id)),
        mentions=[assignee],
        number=followup.number,
        assignee=assignee,
        name=signal.data["name"],
        due=ctx.t.long_date(due_at, ctx.room.timezone),
    )


@router.on_signal("partners.merged")
async def partner_merged(ctx: Context, signal: Signal) -> None:
    """Follow-ups about a duplicate now concern the partner it was merged into."""
    await repo(ctx).retarget_partner(int(signal.data["source"]), int(signal.data["target"]))


JOB = ChaseJob()
