"""What every follow-up command shares: finding one by its number, who may change it,
when it is chased next, and keeping the partner's card in step."""

from __future__ import annotations

from datetime import datetime

from commands.followups.policy import next_reminder
from commands.followups.settings import ChasePolicy, FollowupsSettings
from commands.kit.context import Context
from commands.kit.errors import CommandError
from storage.models import Followup, FollowupStatus, Partner, Role
from storage.repos.followups import FollowupRepository
from storage.repos.partners import PartnerRepository

LINK = "followup"  # the kind of record a partner's card links to


def repo(ctx: Context) -> FollowupRepository:
    return ctx.repo(FollowupRepository)


def rules(ctx: Context) -> FollowupsSettings:
    return ctx.settings.section(FollowupsSettings)


def policy(ctx: Context, room_id: str) -> ChasePolicy:
    return rules(ctx).policy(room_id)


async def timezone_of(ctx: Context, room_id: str) -> str:
    return (await ctx.services.room(ctx.uow, room_id)).timezone


async def first_reminder(
    ctx: Context, due_at: datetime | None, room_id: str, *, after: datetime | None = None
) -> datetime | None:
    """When a follow-up due at `due_at` is first chased (None without a due date)."""
    if due_at is None:
        return None
    tz = await timezone_of(ctx, room_id)
    return next_reminder(due_at, after or ctx.now, policy(ctx, room_id), tz)


async def get(ctx: Context, number: int) -> Followup:
    followup = await repo(ctx).get(number)
    if followup is None:
        raise CommandError("followups.unknown", number=number, prefix=ctx.prefix)
    return followup


async def get_open(ctx: Context, number: int) -> Followup:
    followup = await get(ctx, number)
    if followup.status != FollowupStatus.OPEN:
        raise CommandError(
            "followups.closed", number=number, status=followup.status, prefix=ctx.prefix
        )
    return followup


async def may_change(ctx: Context, followup: Followup, user: str) -> bool:
    """Its assignee, its creator and the moderators may change a follow-up."""
    if user in (followup.assignee, followup.creator):
        return True
    return await ctx.role_of(user) >= Role.MODERATOR


async def check_may_change(ctx: Context, followup: Followup) -> None:
    if not await may_change(ctx, followup, ctx.sender):
        raise CommandError(
            "followups.not_yours",
            number=followup.number,
            assignee=followup.assignee,
            creator=followup.creator,
        )


async def partner_of(ctx: Context, followup: Followup) -> Partner | None:
    if followup.partner_id is None:
        return None
    return await ctx.repo(PartnerRepository).get(followup.partner_id)


async def close(
    ctx: Context, followup: Followup, status: FollowupStatus, *, note: str | None
) -> None:
    """Mark a follow-up done or cancelled: chased no more, off the partner's card, and
    when done, an interaction in the partner's history."""
    followup.status = status.value
    followup.closed_at = ctx.now
    followup.next_reminder_at = None
    kind = "done" if status == FollowupStatus.DONE else "cancelled"
    await repo(ctx).record(followup, kind, actor=ctx.sender, now=ctx.now, text=note)
    partner = await partner_of(ctx, followup)
    if partner is not None:
        book = ctx.repo(PartnerRepository)
        await book.close_link(LINK, str(followup.number), now=ctx.now)
        if status == FollowupStatus.DONE:
            await book.link_done(
                partner,
                type_=LINK,
                ref=str(followup.number),
                text=followup.text,
                note=note,
                actor=ctx.sender,
                now=ctx.now,
            )
