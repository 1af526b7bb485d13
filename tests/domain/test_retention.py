"""Retention: the bot's copies of messages go after `retention.messages_days`, a sent
file's bytes at once, the audit log only when `retention.audit_days` is set."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from storage.models import AuditEntry, InboxEvent, OutboxEvent
from tests.botkit import ALICE, BOB, ROOM, TestBot


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings.model_validate(
        {
            "admins": [ALICE],
            "rooms": [{"id": ROOM}],
            "database": {"url": db_url},
            "retention": {"messages_days": 30, "audit_days": 60},
            "digest": {"enabled": False},  # its weekly message would count here
            "members": {"knock_join_rule": False},  # and the join rule's state event
        }
    )


async def counts(bot: TestBot) -> tuple[int, int, int]:
    found = []
    async with bot.services.db.unit_of_work() as uow:
        for model in (InboxEvent, OutboxEvent, AuditEntry):
            found.append(
                int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)
            )
    return found[0], found[1], found[2]


async def test_old_copies_and_audit_entries_are_deleted(bot: TestBot) -> None:
    await bot.ask("!partenaire ajouter KidiTap", sender=BOB)
    await bot.advance(timedelta(days=20))
    await bot.ask("!partenaire ajouter OceanDataLab", sender=BOB)
    assert await counts(bot) == (2, 2, 2)
    # Thirty days after the first command, its copies go; the second's stay.
    await bot.advance(timedelta(days=10, minutes=1))
    assert await counts(bot) == (1, 1, 2)
    await bot.advance(timedelta(days=30))
    assert await counts(bot) == (0, 0, 1)
    await bot.advance(timedelta(days=30))
    assert await counts(bot) == (0, 0, 0)
    # The partners themselves are the group's memory, not copies: they stay.
    assert "OceanDataLab" in await bot.ask("!partenaire liste", sender=BOB)


async def test_a_sent_file_keeps_no_bytes(bot: TestBot) -> None:
    await bot.ask("!partenaire ajouter KidiTap", sender=BOB)
    [export] = await bot.say("!partenaire exporter", sender=BOB)
    assert export.attachment is not None
    async with bot.services.db.unit_of_work() as uow:
        row = await uow.session.scalar(
            select(OutboxEvent).where(OutboxEvent.attachment_name.is_not(None))
        )
        assert row is not None
        assert row.attachment is None
        assert row.attachment_name == "partenaires.csv"
