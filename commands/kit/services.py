"""Everything a running bot shares, built once at start-up and passed down, and where
an event takes place: its room, the group it acts for, and whether it is a direct
message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from commands.kit.clock import Clock
from commands.kit.health import Health
from commands.kit.i18n import Catalog, Rendered
from commands.kit.registry import Registry
from commands.kit.settings import CoreSettings
from commands.kit.transport import MediaFetcher
from storage.db import Database
from storage.models import Role
from storage.repos.core import MemberRepository
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from commands.kit.lookup import Lookup
    from commands.kit.privacy import PersonalData


def package_version() -> str:
    try:
        return version("passerelle")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class RoomView:
    """A room's settings as commands see them (stored row, else configured defaults)."""

    room_id: str
    locale: str
    timezone: str


@dataclass(frozen=True)
class Place:
    """Where an event happens and for whom it acts.

    In a group's room, `group` is that room's group. In a direct message (`direct`),
    it is the one group the sender belongs to, or the one they chose; None when they
    belong to none, or to several and have not chosen (`choices` then lists them).
    """

    room: RoomView
    group: str | None
    direct: bool = False
    choices: tuple[str, ...] = ()


@dataclass
class Services:
    settings: CoreSettings
    db: Database
    catalog: Catalog
    registry: Registry
    clock: Clock
    health: Health | None = None  # None in the console, which has no homeserver
    media: MediaFetcher | None = None  # how handlers read a file a user posted
    _rooms: dict[str, RoomView] = field(default_factory=dict, repr=False)
    # What each domain stores about people, by domain, in the order of the domains
    # (for data-protection requests: `person-data`, `forget-person`).
    privacy: dict[str, PersonalData] = field(default_factory=dict)
    # How a domain's records are named by the others' commands, by kind ("partner").
    lookups: dict[str, Lookup] = field(default_factory=dict)
    # (room, user) pairs known to be in the room: asked of the database once each.
    speakers: set[tuple[str, str]] = field(default_factory=set, repr=False)
    # The direct-message rooms, read once; `forget_direct_rooms` after recording one.
    _direct: set[str] | None = field(default=None, repr=False)
    # Set by a handler that erased personal data: once its transaction commits, the
    # pipeline checkpoints the database so the erased text leaves its write-ahead log.
    checkpoint_wanted: bool = False
    # Answers that depend on nothing but the catalog and the commands (the help's
    # index), rendered once per language, prefix and role: `rendered_once`.
    _rendered: dict[tuple[str, ...], Rendered] = field(default_factory=dict, repr=False)

    def rendered_once(self, key: tuple[str, ...], render: Callable[[], Rendered]) -> Rendered:
        """`render()` the first time `key` is asked for, then what it gave."""
        cached = self._rendered.get(key)
        if cached is None:
            cached = self._rendered[key] = render()
        return cached

    @property
    def version(self) -> str:
        return package_version()

    async def room(self, uow: UnitOfWork, room_id: str) -> RoomView:
        """The room's settings, read once and kept: they change only through
        `forget_room`'s callers (the settings command, joining a room)."""
        cached = self._rooms.get(room_id)
        if cached is not None:
            return cached
        row = await uow.rooms.get(room_id)
        if row is not None:
            view = RoomView(room_id, row.locale, row.timezone)
        else:
            configured = self.settings.room(room_id)
            view = RoomView(room_id, configured.locale, configured.timezone)
        self._rooms[room_id] = view
        return view

    def forget_room(self, room_id: str) -> None:
        """Call when a room's settings are written: the next read goes to the database."""
        self._rooms.pop(room_id, None)

    async def role_of(self, uow: UnitOfWork, group: str | None, user_id: str) -> Role:
        """Configured admins are admins everywhere; everyone else has the role stored
        for them in the group (a member, outside any group)."""
        if user_id in self.settings.admins:
            return Role.ADMIN
        if group is None:
            return Role.MEMBER
        return await uow.repo(MemberRepository, group).role_of(user_id)

    async def moderators(
        self, uow: UnitOfWork, group: str, *, configured: bool = True
    ) -> list[str]:
        """The group's moderators (the COPIL) and admins by their stored role, sorted;
        with `configured`, the configured administrators too."""
        stored = await uow.repo(MemberRepository, group).with_role_at_least(Role.MODERATOR)
        found = {m.user_id for m in stored}
        if configured:
            found |= set(self.settings.admins)
        return sorted(found)

    def groups(self, extra_rooms: list[str]) -> list[str]:
        """Every group the bot serves: the configured ones and those of other rooms."""
        groups = [self.settings.group_of(room.id) for room in self.settings.rooms]
        groups += [self.settings.group_of(room) for room in extra_rooms]
        return list(dict.fromkeys(groups))

    def forget_direct_rooms(self) -> None:
        """Call after recording a direct-message room: the next event reads them again."""
        self._direct = None

    async def place(self, uow: UnitOfWork, room_id: str, sender: str) -> Place:
        """Where an event in `room_id` from `sender` acts."""
        if self._direct is None:
            self._direct = set(await uow.direct_rooms.room_ids())
        direct = await uow.direct_rooms.by_room(room_id) if room_id in self._direct else None
        if direct is None:
            room = await self.room(uow, room_id)
            return Place(room, self.settings.group_of(room_id))
        # A direct message acts for the sender's group: the one they chose, else the
        # only one whose rooms they are in.
        candidates = await self.groups_of(uow, direct.user_id)
        group: str | None = None
        if direct.group_id is not None and direct.group_id in candidates:
            group = direct.group_id
        elif len(candidates) == 1:
            group = candidates[0]
        main = self.settings.main_room(group) if group is not None else None
        settings = await self.room(uow, main) if main is not None else None
        room = RoomView(
            room_id,
            settings.locale if settings else self.settings.locale,
            settings.timezone if settings else self.settings.timezone,
        )
        return Place(room, group, direct=True, choices=tuple(candidates) if not group else ())

    async def groups_of(self, uow: UnitOfWork, user_id: str) -> list[str]:
        """The groups whose rooms a user has joined."""
        direct = set(await uow.direct_rooms.room_ids())
        stored = [room for room in await uow.rooms.ids() if room not in direct]
        rooms = [room.id for room in self.settings.rooms] + stored
        joined = await uow.room_members.rooms_of(user_id, rooms)
        return list(dict.fromkeys(self.settings.group_of(room) for room in joined))
