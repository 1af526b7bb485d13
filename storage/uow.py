"""A unit of work: one session, one transaction, every repository bound to it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repos.core import (
    AuditRepository,
    InboxRepository,
    MemberRepository,
    OutboxRepository,
    RoomRepository,
    StateRepository,
)
from storage.repos.partners import PartnerRepository


class UnitOfWork:
    """Handlers get one of these; the caller that opened it commits it."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.rooms = RoomRepository(session)
        self.members = MemberRepository(session)
        self.inbox = InboxRepository(session)
        self.outbox = OutboxRepository(session)
        self.state = StateRepository(session)
        self.audit = AuditRepository(session)
        self.partners = PartnerRepository(session)

    async def rollback(self) -> None:
        """Undo everything written so far; what follows runs in a new transaction."""
        await self.session.rollback()
