"""Assembling a bot from its domains: settings, database, catalog, registry, event
routing, pipeline, scheduler."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

from bot.config import AppSettings
from bot.domains import DOMAINS
from bot.maintenance import RetentionJob
from bot.outbox import OutboxSender
from bot.pipeline import Pipeline
from bot.scheduler import Scheduler
from commands.kit.clock import Clock, SystemClock
from commands.kit.domain import Domain
from commands.kit.i18n import Catalog
from commands.kit.registry import Registry
from commands.kit.services import Services
from commands.kit.transport import Transport
from storage.db import Database

logger = logging.getLogger(__name__)

# The runtime's own messages (the console's and the demo's feedback).
RUNTIME_MESSAGES = tuple(sorted((Path(__file__).parent / "messages").glob("*.yaml")))


def build_registry(domains: Sequence[Domain] = DOMAINS) -> Registry:
    return Registry([domain.router for domain in domains])


def message_files(domains: Sequence[Domain] = DOMAINS) -> list[Path]:
    return [*RUNTIME_MESSAGES, *(path for domain in domains for path in domain.message_files())]


@functools.cache
def _catalog(files: tuple[Path, ...]) -> Catalog:
    return Catalog.load(files)


def default_catalog(domains: Sequence[Domain] = DOMAINS) -> Catalog:
    """The catalog of these domains, read once per process: bots built in the same
    process (tests) share it."""
    return _catalog(tuple(message_files(domains)))


class Bot:
    """Everything above the transport, shared by the Matrix runtime, the console and tests."""

    def __init__(
        self,
        settings: AppSettings,
        *,
        clock: Clock | None = None,
        catalog: Catalog | None = None,
        db: Database | None = None,
        domains: Sequence[Domain] = DOMAINS,
    ) -> None:
        self.settings = settings
        self.domains = tuple(domains)
        self.services = Services(
            settings=settings,
            db=db or Database(settings.database.url),
            catalog=catalog or default_catalog(self.domains),
            registry=build_registry(self.domains),
            clock=clock or SystemClock(),
            privacy={d.name: d.privacy for d in self.domains if d.privacy is not None},
            lookups={kind: find for d in self.domains for kind, find in d.lookups.items()},
        )
        self.pipeline = Pipeline(self.services)
        jobs = [job for domain in self.domains for job in domain.jobs]
        self.scheduler = Scheduler(self.services, [*jobs, RetentionJob(settings.retention)])

    async def start(self) -> None:
        """Upgrade the schema; the bot always runs on the latest one."""
        await self.services.db.upgrade(default_group=self.settings.default_group)

    def sender(self, transport: Transport) -> OutboxSender:
        return OutboxSender(self.services, transport)

    async def close(self) -> None:
        await self.services.db.dispose()
