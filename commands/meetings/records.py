"""What every meeting command shares: the room's running and planned meetings, who
chairs, who is present, and how members are named in the minutes."""

from __future__ import annotations

from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.text import fold
from commands.meetings.settings import MeetingsSettings
from storage.models import Meeting, MeetingStatus, Role
from storage.repos.meetings import MeetingRepository

PLANNED = MeetingStatus.PLANNED.value
RUNNING = MeetingStatus.RUNNING.value
ENDED = MeetingStatus.ENDED.value
MAX_LOG_BODY = 8000  # a message longer than this is logged cut (a pasted document)


def repo(ctx: Context) -> MeetingRepository:
    return ctx.repo(MeetingRepository)


def rules(ctx: Context) -> MeetingsSettings:
    return ctx.settings.section(MeetingsSettings)


def room_of(ctx: Context) -> str:
    """The room a command is about: its own, or the group's main room from a direct
    message."""
    if ctx.direct:
        return ctx.settings.main_room(ctx.require_group()) or ctx.room.room_id
    return ctx.room.room_id


def require_room(ctx: Context) -> str:
    """Meetings are held in the group's room, not in a direct message."""
    ctx.require_group()
    if ctx.direct:
        raise CommandError("meetings.in_room_only")
    return ctx.room.room_id


async def running(ctx: Context) -> Meeting | None:
    if ctx.group is None:
        return None
    return await repo(ctx).in_room(room_of(ctx), RUNNING)


async def require_running(ctx: Context) -> Meeting:
    """The meeting in progress in this room, or a clear answer that there is none."""
    require_room(ctx)
    meeting = await running(ctx)
    if meeting is None:
        raise CommandError("meetings.none_running", prefix=ctx.prefix)
    return meeting


async def require_chair(ctx: Context, meeting: Meeting, *, moderators: bool = False) -> None:
    """Only the meeting's chairs (and, where `moderators`, the group's moderators) may."""
    if ctx.sender in meeting.chairs:
        return
    if moderators and await ctx.role_of(ctx.sender) >= Role.MODERATOR:
        return
    raise CommandError("meetings.not_chair", chairs=list(meeting.chairs), prefix=ctx.prefix)


def localpart(user_id: str) -> str:
    """'@alice:fablab.test' -> 'alice': a member without a display name."""
    return user_id.removeprefix("@").split(":", 1)[0]


async def names_of(ctx: Context, meeting: Meeting, user_ids: list[str]) -> dict[str, str]:
    """How the minutes name these members: their display name in the room, else the
    name they were listed under, else their user name."""
    wanted = [u for u in dict.fromkeys(user_ids) if u]
    shown = {u: localpart(u) for u in wanted}
    for attendee in await repo(ctx).attendees(meeting):
        if attendee.user_id in shown:
            shown[attendee.user_id] = attendee.name
    shown.update(await repo(ctx).display_names(meeting.room_id, wanted))
    return shown


async def mark_present(
    ctx: Context, meeting: Meeting, user_id: str, *, source: str, force: bool = False
) -> bool:
    """A member is present (they spoke, or were named); True when newly so. `force`
    brings back someone marked absent; speaking does too."""
    meetings = repo(ctx)
    found = await meetings.attendee_of(meeting, user_id)
    if found is not None:
        if found.present or not force:
            return False
        found.present = True
        return True
    name = (await meetings.display_names(meeting.room_id, [user_id])).get(user_id)
    name = name or localpart(user_id)
    for listed in await meetings.attendees(meeting):
        if listed.user_id is None and same_name(listed.name, name):
            # Named before they spoke ("!present Erwan"): the same person, now with an account.
            was_present = listed.present
            listed.user_id, listed.present = user_id, True
            return not was_present
    await meetings.add_attendee(meeting, name=name, user_id=user_id, source=source, now=ctx.now)
    return True


def same_name(a: str, b: str) -> bool:
    return " ".join(fold(a).split()) == " ".join(fold(b).split())
