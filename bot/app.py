"""Assembling a bot: settings, database, catalog, registry, pipeline, scheduler."""

from __future__ import annotations

import logging

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.outbox import OutboxSender
from bot.pipeline import Pipeline
from bot.scheduler import Scheduler
from bot.services import Services
from bot.transport import Transport
from commands import core, partners
from commands.i18n import Catalog
from commands.registry import Registry, Router
from storage.db import Database

logger = logging.getLogger(__name__)

ROUTERS: tuple[Router, ...] = (core.router, partners.router)


def build_registry() -> Registry:
    return Registry(ROUTERS)


class Bot:
    """Everything above the transport, shared by the Matrix runtime, the console and tests."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        catalog: Catalog | None = None,
        db: Database | None = None,
    ) -> None:
        self.services = Services(
            settings=settings,
            db=db or Database(settings.database.url),
            catalog=catalog or Catalog.load(),
            registry=build_registry(),
            clock=clock or SystemClock(),
        )
        self.pipeline = Pipeline(self.services)
        self.scheduler = Scheduler(self.services)

    async def start(self) -> None:
        """Upgrade the schema; the bot always runs on the latest one."""
        await self.services.db.upgrade()

    def sender(self, transport: Transport) -> OutboxSender:
        return OutboxSender(self.services, transport)

    async def close(self) -> None:
        await self.services.db.dispose()
