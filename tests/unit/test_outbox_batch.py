"""The outbox's batch insert on each backend: rows as `add` writes them, in one go."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import OutboxEvent, OutboxStatus
from storage.repos.core import Outgoing, Ref

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.upgrade()
    yield database
    await database.dispose()


def _rows() -> list[Outgoing]:
    return [
        Outgoing(
            room_id="!room",
            event_type="m.room.message",
            content={"body": f"reminder {n}", "m.mentions": {"user_ids": [f"@u{n}:x"]}},
            now=NOW,
            group="g",
            ref=Ref("followups", "reminder", f"{n},{n + 10}"),
            origin=f"followups:g:{n}:slot",
        )
        for n in range(5)
    ] + [
        # A direct message, and a second row of the same origin (its own transaction id).
        Outgoing(
            room_id=None,
            user_id="@u0:x",
            event_type="m.room.message",
            content={"body": "à toi"},
            now=NOW,
            group="g",
            origin="followups:g:0:slot",
        ),
    ]


async def test_add_many_writes_what_add_writes_in_order(db: Database) -> None:
    async with db.unit_of_work() as uow:
        one_by_one = [
            await uow.outbox.add(
                room_id=row.room_id,
                user_id=row.user_id,
                event_type=row.event_type,
                content=row.content,
                now=row.now,
                group=row.group,
                ref=row.ref,
                origin=row.origin,
            )
            for row in _rows()
        ]
        await uow.rollback()  # nothing of it was written
        txn_ids = await uow.outbox.add_many(_rows())
        queued = list(uow.outbox.added)
    assert txn_ids == one_by_one
    assert len(set(txn_ids)) == len(txn_ids)
    async with db.unit_of_work() as uow:
        stored = (await uow.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))).all()
    assert [row.txn_id for row in stored] == txn_ids
    assert [row.id for row in queued] == [row.id for row in stored]
    for row, given in zip(stored, _rows(), strict=True):
        assert (row.room_id, row.user_id, row.content, row.group_id) == (
            given.room_id,
            given.user_id,
            given.content,
            given.group,
        )
        assert Ref.of(row) == given.ref
        assert row.status == OutboxStatus.PENDING
        assert row.created_at == row.next_attempt_at == NOW


async def test_add_many_refuses_a_message_to_nowhere_before_writing(db: Database) -> None:
    nowhere = Outgoing(room_id=None, event_type="m.room.message", content={}, now=NOW)
    async with db.unit_of_work() as uow:
        expected = await uow.outbox.add_many(_rows()[:1])
        await uow.rollback()
        with pytest.raises(ValueError, match="only a message to a user"):
            await uow.outbox.add_many([*_rows(), nowhere])
        assert uow.outbox.added == []
        assert await uow.outbox.add_many([]) == []
        # The refused batch took no transaction id: the next row gets the first of its origin.
        assert await uow.outbox.add_many(_rows()[:1]) == expected
