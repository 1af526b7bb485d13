"""What every membership handler shares: the group's rooms as membership sees them (the
room people join, the moderators' room), the moderators, the repositories, and the
display names a request could be mistaken for."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from commands.kit.context import Context
from commands.kit.i18n import Rendered, Translator
from commands.kit.services import Place
from commands.kit.settings import CoreSettings
from commands.kit.text import USER_ID, fold
from commands.members.settings import MembersSettings
from storage.models import JoinRequest, Role
from storage.repos.core import MemberRepository
from storage.repos.members import AdmissionRepository, JoinRequestRepository

# A request's reason and display name are kept at most this long (a knock's reason can
# be as long as an event).
REASON_LENGTH = 500
NAME_LENGTH = 255
# An answer's two bodies (plain and HTML) are kept within this many bytes, well below
# what one event may carry: long texts in it are cut shorter until it fits.
BUDGET = 30_000
WIDTHS = (200, 120, 60, 30, 12)


def rules(settings: CoreSettings) -> MembersSettings:
    return settings.section(MembersSettings)


def requests(ctx: Context, group: str | None = None) -> JoinRequestRepository:
    return ctx.uow.repo(JoinRequestRepository, group or ctx.require_group())


def admissions(ctx: Context, group: str | None = None) -> AdmissionRepository:
    return ctx.uow.repo(AdmissionRepository, group or ctx.require_group())


def moderators_room(settings: CoreSettings, group: str) -> str | None:
    """Where the group's moderators are told things: the configured moderators' room
    when it is one of the group's, else the group's room."""
    configured = rules(settings).moderators_room
    if configured is not None and settings.group_of(configured) == group:
        return configured
    return group_room(settings, group)


def group_room(settings: CoreSettings, group: str) -> str | None:
    """The room people ask to join and members are listed for: the group's first room
    that is not its moderators' room."""
    rooms = settings.group_rooms(group)
    configured = rules(settings).moderators_room
    others = [room for room in rooms if room != configured]
    chosen = others or rooms
    return chosen[0] if chosen else None


def is_moderators_room(settings: CoreSettings, room_id: str) -> bool:
    return rules(settings).moderators_room == room_id


def configured_groups(settings: CoreSettings) -> list[str]:
    """The groups of the configured rooms, in their order."""
    return list(dict.fromkeys(settings.group_of(room.id) for room in settings.rooms))


async def moderators(ctx: Context, group: str) -> list[str]:
    """Who membership news is for: the group's moderators and admins, else the
    configured administrators."""
    stored = await ctx.services.moderators(ctx.uow, group, configured=False)
    return stored or list(ctx.settings.admins)


async def admins(ctx: Context, group: str) -> list[str]:
    """The configured administrators and the group's own."""
    found = await ctx.uow.repo(MemberRepository, group).with_role_at_least(Role.ADMIN)
    return list(dict.fromkeys([*ctx.settings.admins, *(m.user_id for m in found)]))


async def context_in(ctx: Context, room_id: str) -> Context:
    """The same event, acting in another room of the bot (the moderators' room, the
    group a direct message asks to join): what it sends goes there, in that room's
    language, and counts for that room's group."""
    view = await ctx.services.room(ctx.uow, room_id)
    place = Place(view, ctx.settings.group_of(room_id))
    other = Context.at(
        ctx.services,
        ctx.uow,
        place,
        ctx.now,
        sender=ctx.sender,
        event_id=ctx.event_id,
        inbox_id=ctx.inbox_id,
    )
    other.origin = ctx.origin
    return other


def clean(text: str | None, limit: int) -> str | None:
    """A text from a client, its spaces tidied and its length bounded; None when empty."""
    if text is None:
        return None
    tidy = " ".join(text.split())
    if not tidy:
        return None
    return tidy if len(tidy) <= limit else tidy[: limit - 1] + "…"


@dataclass
class Lookalikes:
    """The display names of a group's members (and their user ids), to flag a person
    whose display name copies one of them, or shows someone else's user id: moderators
    decide on the user id, never on a display name."""

    names: dict[str, str] = field(default_factory=dict)  # folded display name -> user id

    @classmethod
    async def of(cls, ctx: Context, group: str) -> Lookalikes:
        found = cls()
        for room_id in ctx.settings.group_rooms(group):
            for member in await ctx.uow.room_members.joined(room_id):
                if member.display_name:
                    found.names.setdefault(fold(member.display_name), member.user_id)
        return found

    def of_user(self, user_id: str, display_name: str | None) -> str | None:
        """The member this person's display name could pass for, if any."""
        if not display_name:
            return None
        shown = USER_ID.search(display_name)
        if shown is not None and shown[0] != user_id:
            return shown[0]
        other = self.names.get(fold(display_name))
        return other if other is not None and other != user_id else None


def request_line(
    request: JoinRequest, lookalikes: Lookalikes, *, tz: str, width: int = WIDTHS[0]
) -> dict[str, Any]:
    """One request as notices and lists show it (`members.request.line`), its free
    texts cut to `width` characters."""
    lookalike = lookalikes.of_user(request.user_id, request.display_name)
    return {
        "user": request.user_id,
        "name": clean(request.display_name, min(width, 80)),
        "reason": clean(request.reason, width),
        "source": request.source,
        "since": request.created_at,
        "lookalike": lookalike,
        "tz": tz,
    }


def fitted(t: Translator, key: str, build: Callable[[int], dict[str, Any]]) -> Rendered:
    """A message that fits in one event: `build(width)` gives its data with every free
    text cut to `width` characters, tried from the widest."""
    for width in WIDTHS:
        rendered = t(key, **build(width))
        if len(rendered.plain.encode()) + len(rendered.html.encode()) <= BUDGET:
            break
    return rendered


def first(items: Sequence[Any], count: int) -> tuple[list[Any], int]:
    """The first `count` items, and how many are left out."""
    shown = list(items[:count])
    return shown, len(items) - len(shown)
