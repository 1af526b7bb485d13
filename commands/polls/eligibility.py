"""Who may vote on a poll: the members of its room, the group's moderators (the COPIL),
or a list of users."""

from __future__ import annotations

from collections.abc import Sequence

from commands.kit.context import Context
from storage.models import Role, Voters


async def eligible_voters(
    ctx: Context, kind: Voters, listed: Sequence[str], room_id: str, group: str
) -> list[str]:
    """The user ids who may vote, sorted."""
    if kind == Voters.LIST:
        return sorted(set(listed))
    if kind == Voters.MODERATORS:
        return await ctx.services.moderators(ctx.uow, group)
    return sorted({m.user_id for m in await ctx.uow.room_members.joined(room_id)})


async def may_vote(
    ctx: Context, kind: Voters, listed: Sequence[str], room_id: str, user: str
) -> bool:
    if kind == Voters.LIST:
        return user in listed
    if kind == Voters.MODERATORS:
        return await ctx.role_of(user) >= Role.MODERATOR
    return await ctx.uow.room_members.membership(room_id, user) == "join"
