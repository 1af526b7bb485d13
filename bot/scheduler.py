"""Everything that falls due: reminders, poll deadlines, digests.

The database is the source of truth. A job says when it next falls due and acts on
what is due at a given instant; `run_due(now)` is one pass, which the runtime's loop
and the tests' fake clock both call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from bot.context import Context
from bot.services import Services
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

ContextFactory = Callable[[str], Awaitable[Context]]


class Job(Protocol):
    name: str

    async def next_due(self, uow: UnitOfWork) -> datetime | None:
        """The earliest instant this job has something to do, if any."""
        ...

    async def run_due(self, now: datetime, uow: UnitOfWork, room: ContextFactory) -> int:
        """Act on everything due at `now`; return how many items were handled."""
        ...


class Scheduler:
    def __init__(self, services: Services, jobs: list[Job] | None = None) -> None:
        self.services = services
        self.jobs: list[Job] = list(jobs or [])

    def register(self, job: Job) -> None:
        self.jobs.append(job)

    async def next_due(self) -> datetime | None:
        async with self.services.db.unit_of_work() as uow:
            times = [t for job in self.jobs if (t := await job.next_due(uow)) is not None]
        return min(times) if times else None

    async def run_due(self, now: datetime) -> int:
        """One pass over every job, each in its own transaction; a failing job is logged."""
        done = 0
        for job in self.jobs:
            try:
                async with self.services.db.unit_of_work() as uow:

                    async def room_context(room_id: str, uow: UnitOfWork = uow) -> Context:
                        view = await self.services.room(uow, room_id)
                        return Context(services=self.services, uow=uow, room=view, now=now)

                    done += await job.run_due(now, uow, room_context)
            except Exception:
                logger.exception("scheduled job %s failed at %s", job.name, now.isoformat())
        return done
