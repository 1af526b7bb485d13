"""Who is in: the welcome a new member gets, `!members` (roles, when each joined, who
let them in), and what a departure leaves to the moderators (open follow-ups to give
to someone else)."""

from __future__ import annotations

from typing import Any

from commands.kit.args import Opt, Page
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.events import Membership
from commands.kit.registry import Args
from commands.members.records import (
    admissions,
    clean,
    context_in,
    first,
    fitted,
    group_room,
    is_moderators_room,
    moderators,
    moderators_room,
    requests,
    rules,
)
from commands.members.requests import decide
from commands.members.router import router
from commands.members.settings import fill
from storage.models import Admission, RequestStatus, Role
from storage.repos.core import MemberRepository
from storage.repos.followups import FollowupRepository

PAGE = 25
FOLLOWUPS_SHOWN = 20
MODERATOR_LEVEL = 50


# --- Joining.


@router.on_membership("join")
async def joined(ctx: Context, event: Membership) -> None:
    """A new member: how they came in is kept, they are welcomed by direct message, and
    a moderator gets their power level (when configured)."""
    if ctx.group is None:
        return
    room = ctx.room.room_id
    admission = await admissions(ctx).ensure(room, event.user, now=ctx.now)
    admission.joined_at, admission.left_at, admission.updated_at = ctx.now, None, ctx.now
    request = await requests(ctx).pending_of(event.user)
    if request is not None:
        # Let in without the bot (an invitation it did not see): the request is settled.
        decide(ctx, request, RequestStatus.APPROVED, by=admission.invited_by, note=None)
        admission.request_id = request.id
        admission.approved_by = admission.approved_by or admission.invited_by
    await ctx.audit("members.join", user=event.user, approved_by=admission.approved_by)
    if is_moderators_room(ctx.settings, room):
        return
    template = rules(ctx.settings).welcome.for_locale(ctx.room.locale)
    name = clean(event.display_name, 80) or event.user
    text = fill(template, {"user": event.user, "name": name, "prefix": ctx.prefix})
    await ctx.to_user(event.user, "members.welcome", lines=text.splitlines(), prefix=ctx.prefix)
    await grant_power(ctx, admission)


async def grant_power(ctx: Context, admission: Admission) -> bool:
    """Give a moderator (not an administrator: they may hold more) their power level in
    the group's room, once; True when it was asked for."""
    if not rules(ctx.settings).moderator_power_level or admission.power_level is not None:
        return False
    if admission.room_id != group_room(ctx.settings, admission.group_id):
        return False
    if await ctx.role_of(admission.user_id) != Role.MODERATOR:
        return False
    await ctx.set_power_level(admission.user_id, MODERATOR_LEVEL, room_id=admission.room_id)
    admission.power_level, admission.updated_at = MODERATOR_LEVEL, ctx.now
    await ctx.audit("members.power", user=admission.user_id, level=MODERATOR_LEVEL)
    return True


async def take_back_power(ctx: Context, admission: Admission) -> bool:
    """Take back the power level the bot gave someone who is no moderator any more."""
    if admission.power_level is None or await ctx.role_of(admission.user_id) == Role.MODERATOR:
        return False
    await ctx.set_power_level(admission.user_id, 0, room_id=admission.room_id)
    admission.power_level, admission.updated_at = None, ctx.now
    await ctx.audit("members.power", user=admission.user_id, level=0)
    return True


# --- Leaving.


@router.on_membership("leave", "ban", where=lambda e: e.previous == "join")
async def left(ctx: Context, event: Membership) -> None:
    """A member left or was removed: their open follow-ups are listed to the moderators,
    to be given to someone else."""
    if ctx.group is None:
        return
    room = ctx.room.room_id
    admission = await admissions(ctx).ensure(room, event.user, now=ctx.now)
    admission.left_at, admission.updated_at = ctx.now, ctx.now
    removed_by = event.sender if event.sender != event.user else None
    if is_moderators_room(ctx.settings, room):
        await ctx.audit("members.leave", user=event.user, removed_by=removed_by)
        return
    open_ = await ctx.repo(FollowupRepository).open_of(event.user)
    await ctx.audit(
        "members.leave", user=event.user, removed_by=removed_by, open_followups=len(open_)
    )
    if not open_:
        return
    target = moderators_room(ctx.settings, ctx.group) or room
    there = await context_in(ctx, target)
    shown, more = first(open_, FOLLOWUPS_SHOWN)

    def build(width: int) -> dict[str, Any]:
        return {
            "user": event.user,
            "removed_by": removed_by,
            "banned": event.membership == "ban",
            "items": [
                {"number": f.number, "text": clean(f.text, width), "due": f.due_at} for f in shown
            ],
            "more": more,
            "tz": there.room.timezone,
            "prefix": there.prefix,
        }

    rendered = fitted(there.t, "members.left.followups", build)
    await there.send_rendered(rendered, reply=False, mentions=await moderators(ctx, ctx.group))


# --- The list.


@router.command(
    "members",
    fr="membres",
    aliases=("who", "qui"),
    options=[Opt("page", Page(minimum=1), fr="page")],
)
async def members(ctx: Context, args: Args) -> None:
    """The members of the group's room: role, when they joined, who let them in."""
    group = ctx.require_group()
    room = group_room(ctx.settings, group)
    if room is None:
        raise CommandError("members.list.no_room")
    joined = await ctx.uow.room_members.joined(room)
    roles = {
        m.user_id: Role(m.role)
        for m in await ctx.uow.repo(MemberRepository, group).with_role_at_least(Role.MODERATOR)
    }
    roles.update(dict.fromkeys(ctx.settings.admins, Role.ADMIN))
    people = sorted(joined, key=lambda m: (-roles.get(m.user_id, Role.MEMBER), m.user_id))
    total = len(people)
    page = args["page"] or 1
    pages = max(1, -(-total // PAGE))
    if page > pages:
        raise CommandError("members.page_out_of_range", page=page, pages=pages)
    shown = people[(page - 1) * PAGE : page * PAGE]
    came_in = await admissions(ctx).in_room(room, [m.user_id for m in shown])

    def build(width: int) -> dict[str, Any]:
        ids = max(width, 40)  # user ids too, only when nothing else would fit
        items = []
        for member in shown:
            admission = came_in.get(member.user_id)
            items.append(
                {
                    "user": clean(member.user_id, ids),
                    "name": clean(member.display_name, min(width, 60)),
                    "role": roles.get(member.user_id, Role.MEMBER).key,
                    "joined": admission.joined_at if admission else None,
                    "approved_by": clean(admission.approved_by, ids) if admission else None,
                    "invited_by": clean(admission.invited_by, ids) if admission else None,
                }
            )
        return {
            "items": items,
            "total": total,
            "page": page,
            "pages": pages,
            "tz": ctx.room.timezone,
            "prefix": ctx.prefix,
        }

    await ctx.send_rendered(fitted(ctx.t, "members.list", build))
