"""A unit of work: one session, one transaction, every repository bound to it."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repos.base import GroupRepository
from storage.repos.conversation import ConversationRepository
from storage.repos.core import (
    AuditRepository,
    DirectRoomRepository,
    InboxRepository,
    OutboxRepository,
    RoomMemberRepository,
    RoomRepository,
    StateRepository,
)

R = TypeVar("R", bound=GroupRepository)


class UnitOfWork:
    """Handlers get one of these (through their context); the caller that opened it
    commits it.

    The runtime's tables have a repository each here. A domain's records belong to a
    group and are reached through `repo(Repository, group)`, bound to that group.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.rooms = RoomRepository(session)
        self.room_members = RoomMemberRepository(session)
        self.direct_rooms = DirectRoomRepository(session)
        self.inbox = InboxRepository(session)
        self.outbox = OutboxRepository(session)
        self.state = StateRepository(session)
        self.audit = AuditRepository(session)
        self.conversation = ConversationRepository(session)
        self._scoped: dict[tuple[type[Any], str], GroupRepository] = {}

    def repo(self, kind: type[R], group: str) -> R:
        """The repository `kind`, reading and writing within `group` only."""
        key = (kind, group)
        found = self._scoped.get(key)
        if found is None:
            found = self._scoped[key] = kind(self.session, group)
        assert isinstance(found, kind)
        return found

    async def rollback(self) -> None:
        """Undo everything written so far; what follows runs in a new transaction."""
        await self.session.rollback()
        self.inbox.added.clear()
        self.outbox.added.clear()
        self.outbox.forget_origins()
