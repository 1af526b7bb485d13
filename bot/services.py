"""Everything a running bot shares, built once at start-up and passed down."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

from bot.clock import Clock
from bot.config import Settings
from bot.health import Health
from bot.transport import MediaFetcher
from commands.i18n import Catalog
from commands.registry import Registry
from storage.db import Database
from storage.models import Role
from storage.uow import UnitOfWork


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


@dataclass
class Services:
    settings: Settings
    db: Database
    catalog: Catalog
    registry: Registry
    clock: Clock
    health: Health | None = None  # None in the console, which has no homeserver
    media: MediaFetcher | None = None  # how handlers read a file a user posted
    _rooms: dict[str, RoomView] = field(default_factory=dict, repr=False)

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

    async def role_of(self, uow: UnitOfWork, user_id: str) -> Role:
        """Configured admins are always admins; everyone else has their stored role."""
        if user_id in self.settings.admins:
            return Role.ADMIN
        return await uow.members.role_of(user_id)
