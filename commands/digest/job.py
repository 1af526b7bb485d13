"""The weekly digest job, and how a digest is delivered (to the room, or to each member
by direct message; the moderators' part only to moderators)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from commands.digest.build import Digest, build
from commands.digest.schedule import last_slot, next_slot, week_before
from commands.digest.settings import WEEKDAYS, DigestSettings
from commands.kit.context import Context
from commands.kit.jobs import Places
from commands.kit.settings import clock
from storage.models import DigestSchedule
from storage.repos.digest import DigestRepository, DigestSchedules
from storage.uow import UnitOfWork


def render_data(ctx: Context, digest: Digest, *, moderator: bool) -> dict[str, Any]:
    tz = ctx.room.timezone
    return {
        "d": digest,
        "s": digest.sections,
        "m": digest.moderators if moderator else {},
        "since": ctx.t.long_date(digest.since, tz, clock=False),
        "until": ctx.t.long_date(digest.until, tz, clock=False),
        "tz": tz,
        "prefix": ctx.prefix,
    }


async def deliver(ctx: Context, digest: Digest, mode: str) -> int:
    """Send a digest; returns how many messages went out."""
    if mode == "room":
        await ctx.notice("digest.body", **render_data(ctx, digest, moderator=False))
        sent = 1
        if any(digest.moderators.values()):
            for moderator in await _moderators(ctx):
                await ctx.to_user(
                    moderator, "digest.moderators", **render_data(ctx, digest, moderator=True)
                )
                sent += 1
        return sent
    optouts = await ctx.repo(DigestRepository).opted_out()
    moderators = set(await _moderators(ctx))
    sent = 0
    for member in await ctx.uow.room_members.joined(ctx.room.room_id):
        if member.user_id in optouts:
            continue
        data = render_data(ctx, digest, moderator=member.user_id in moderators)
        await ctx.to_user(member.user_id, "digest.body", **data)
        sent += 1
    return sent


async def _moderators(ctx: Context) -> list[str]:
    return await ctx.services.moderators(ctx.uow, ctx.require_group())


class DigestJob:
    """Sends each group's digest at its weekly slot. The next slot is stored: a slot
    missed during a downtime is sent once at the restart, for the period it covered."""

    name = "digest.weekly"

    async def next_due(self, uow: UnitOfWork) -> datetime | None:
        return await DigestSchedules(uow.session).next_due()

    async def run_due(self, now: datetime, uow: UnitOfWork, places: Places) -> int:
        rules = places.services.settings.section(DigestSettings)
        schedules = DigestSchedules(uow.session)
        if not rules.enabled:
            await schedules.clear()  # nothing due any more; set again once enabled
            return 0
        known = await schedules.groups()
        for group in places.services.groups([]):
            if group in known:
                continue
            ctx = await places.group(group)
            if ctx is None:
                continue
            weekday = WEEKDAYS.index(rules.weekday)
            first = next_slot(weekday, clock(rules.time), ctx.room.timezone, after=now)
            await ctx.repo(DigestRepository).set_schedule(
                weekday=weekday, clock=rules.time, next_at=first, now=now, by=None
            )
        sent = 0
        for row in await schedules.due(now):
            sent += await self._send(row, now, places, rules.mode)
        return sent

    @staticmethod
    async def _send(row: DigestSchedule, now: datetime, places: Places, mode: str) -> int:
        ctx = await places.group(row.group_id)
        if ctx is None:
            return 0
        tz = ctx.room.timezone
        at = clock(row.clock)
        # Late (a downtime): the latest slot passed, not one digest per missed week.
        until = last_slot(row.weekday, at, tz, at=now)
        digest = await build(ctx, week_before(until, tz), until)
        ctx.origin = f"digest:{row.group_id}:{until.isoformat()}"
        await deliver(ctx, digest, mode)
        row.last_sent_at = now
        row.next_at = next_slot(row.weekday, at, tz, after=now)
        return 1


JOB = DigestJob()
