"""The bot's own housekeeping, run by the scheduler like the domains' jobs: copies of
messages and audit entries older than the configured retention are deleted."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.config import RetentionSettings
from commands.kit.jobs import Places
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

# Rows deleted per table and pass: each pass is one short transaction, and the next
# one follows at once while there is more to delete.
BATCH = 2000


class RetentionJob:
    """Deletes handled events, sent messages (and audit entries, when configured) once
    they are older than the retention period."""

    name = "retention"

    def __init__(self, settings: RetentionSettings) -> None:
        self.messages = timedelta(days=settings.messages_days)
        self.audit = timedelta(days=settings.audit_days) if settings.audit_days else None

    async def next_due(self, uow: UnitOfWork) -> datetime | None:
        times = [
            t + self.messages
            for t in (await uow.inbox.oldest_done(), await uow.outbox.oldest_done())
            if t is not None
        ]
        if self.audit is not None and (oldest := await uow.audit.oldest()) is not None:
            times.append(oldest + self.audit)
        return min(times) if times else None

    async def run_due(self, now: datetime, uow: UnitOfWork, places: Places) -> int:
        pruned = await uow.inbox.prune(now - self.messages, limit=BATCH)
        pruned += await uow.outbox.prune(now - self.messages, limit=BATCH)
        if self.audit is not None:
            pruned += await uow.audit.prune(now - self.audit, limit=BATCH)
        if pruned:
            logger.info("retention: %d old rows deleted", pruned)
        return pruned
