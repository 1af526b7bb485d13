"""Runs the jobs the domains declared: reminders, poll deadlines, digests.

The database is the source of truth (see `commands.kit.jobs` for the guarantee a job
gets). `run_due(now)` is one pass, which the runtime's loop and the tests' fake clock
both call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from commands.kit.jobs import Job, Places
from commands.kit.services import Services
from storage.db import is_outage

logger = logging.getLogger(__name__)

MAX_BACKOFF = 60  # seconds between passes at most, while a job keeps failing


class Scheduler:
    def __init__(self, services: Services, jobs: Sequence[Job] = ()) -> None:
        self.services = services
        self.jobs: list[Job] = list(jobs)
        # Jobs that failed at the last pass, and how many passes in a row some failed:
        # the runtime waits longer between passes then, instead of retrying at once.
        self.failed: list[str] = []
        self.failing_passes = 0

    def register(self, job: Job) -> None:
        self.jobs.append(job)

    async def next_due(self) -> datetime | None:
        async with self.services.db.unit_of_work() as uow:
            times = [t for job in self.jobs if (t := await job.next_due(uow)) is not None]
        return min(times) if times else None

    async def run_due(self, now: datetime) -> int:
        """One pass over every job, each in its own transaction; a failing job is logged
        and rolled back, and tried again at the next pass."""
        done = 0
        failed: list[str] = []
        for job in self.jobs:
            try:
                async with self.services.db.unit_of_work() as uow:
                    done += await job.run_due(now, uow, Places(self.services, uow, now))
            except Exception as exc:
                if is_outage(exc):
                    raise  # the database is away: the runtime waits, then every job runs again
                logger.exception("scheduled job %s failed at %s", job.name, now.isoformat())
                failed.append(job.name)
        self.failed = failed
        self.failing_passes = self.failing_passes + 1 if failed else 0
        return done

    def backoff(self) -> float:
        """Seconds to wait before the next pass when jobs keep failing (0 otherwise):
        a job whose item is due and fails is not retried in a tight loop."""
        if not self.failing_passes:
            return 0.0
        return float(min(MAX_BACKOFF, 2**self.failing_passes))
