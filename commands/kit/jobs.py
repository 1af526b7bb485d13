"""Scheduled jobs: reminders, poll deadlines, digests. A domain declares its jobs in its
descriptor; the runtime's scheduler runs them.

The guarantee a job gets: the database is the source of truth for what is due. A
job says when it next has something to do (`next_due`) and acts on everything due at
an instant (`run_due`), in one transaction of its own, then records what it did, so
that it is not due any more. The scheduler calls `run_due(now)` at the next pass
after an item falls due, and at start: an item that fell due while the bot was down
is handled once, at the first pass after the restart, not once per slot it missed.
A job that raises is logged, its transaction rolled back, and it runs again at the
next pass.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from commands.kit.context import Context
from commands.kit.services import Place, Services
from storage.uow import UnitOfWork


class Places:
    """Contexts for a job, in a room or in a group's main room, at the pass's instant;
    they share the job's transaction. `await places(room_id)` is `room(room_id)`."""

    def __init__(self, services: Services, uow: UnitOfWork, now: datetime) -> None:
        self.services = services
        self.uow = uow
        self.now = now

    async def __call__(self, room_id: str) -> Context:
        return await self.room(room_id)

    async def room(self, room_id: str) -> Context:
        view = await self.services.room(self.uow, room_id)
        place = Place(view, self.services.settings.group_of(room_id))
        return Context.at(self.services, self.uow, place, self.now)

    async def group(self, group: str) -> Context | None:
        """A context in the group's main room, or None when the group has no room."""
        room = self.services.settings.main_room(group)
        if room is None:
            return None
        view = await self.services.room(self.uow, room)
        return Context.at(self.services, self.uow, Place(view, group), self.now)


class Job(Protocol):
    name: str

    async def next_due(self, uow: UnitOfWork) -> datetime | None:
        """The earliest instant this job has something to do, if any."""
        ...

    async def run_due(self, now: datetime, uow: UnitOfWork, places: Places) -> int:
        """Act on everything due at `now`; return how many items were handled."""
        ...
