"""Storage on each backend: migrations, the UTC type, inbox and outbox semantics."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from storage.db import Database, DatabaseUnavailable
from storage.models import InboxStatus, OutboxEvent, OutboxStatus, Role
from storage.repos.core import MemberRepository

GROUP = "!groupe"

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.upgrade()
    yield database
    await database.dispose()


async def test_upgrade_brings_an_empty_database_to_head(empty_db_url: str) -> None:
    database = Database(empty_db_url)
    try:
        assert await database.current_revision() is None
        await database.upgrade()
        assert await database.current_revision() == Database.head_revision()
        async with database.engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert {"rooms", "members", "inbox", "outbox", "bot_state", "audit_log"} <= tables
        # Upgrading again is a no-op.
        await database.upgrade()
        assert await database.current_revision() == Database.head_revision()
    finally:
        await database.dispose()


async def test_datetimes_come_back_aware_utc(db: Database) -> None:
    paris = timezone(timedelta(hours=1))
    local = datetime(2026, 11, 27, 10, 0, tzinfo=paris)
    async with db.unit_of_work() as uow:
        await uow.state.set("probe", "x", now=local)
        await uow.audit.record(actor="@a:x", action="probe", now=local)
    async with db.unit_of_work() as uow:
        [entry] = await uow.audit.latest()
    assert entry.at == NOW
    assert entry.at.tzinfo is not None
    assert entry.at.utcoffset() == timedelta(0)


async def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with db.unit_of_work() as uow:
            await uow.audit.record(actor="@a:x", action="probe", now=datetime(2026, 1, 1))


async def test_inbox_keeps_one_row_per_event_id(db: Database) -> None:
    fields = {
        "room_id": "!r",
        "sender": "@a:x",
        "event_type": "m.room.message",
        "content": {"body": "!aide", "msgtype": "m.text"},
        "origin_ts": NOW,
        "now": NOW,
    }
    async with db.unit_of_work() as uow:
        assert await uow.inbox.add(event_id="$1", **fields) is True
        assert await uow.inbox.add(event_id="$1", **fields) is False
        assert await uow.inbox.add(event_id="$2", **fields) is True
    async with db.unit_of_work() as uow:
        pending = await uow.inbox.pending()
        assert [r.event_id for r in pending] == ["$1", "$2"]
        assert pending[0].content == {"body": "!aide", "msgtype": "m.text"}
        await uow.inbox.mark(pending[0].id, InboxStatus.DONE, now=NOW)
    async with db.unit_of_work() as uow:
        assert [r.event_id for r in await uow.inbox.pending()] == ["$2"]
        assert await uow.inbox.count(InboxStatus.DONE) == 1


async def test_outbox_txn_id_is_fixed_at_write(db: Database) -> None:
    async with db.unit_of_work() as uow:
        txn = await uow.outbox.add(room_id="!r", event_type="m.room.message", content={}, now=NOW)
    async with db.unit_of_work() as uow:
        [due] = await uow.outbox.due(NOW)
        assert due.txn_id == txn
        later = NOW + timedelta(seconds=4)
        await uow.outbox.mark_retry(due.id, attempts=1, next_attempt_at=later, error="timeout")
    async with db.unit_of_work() as uow:
        assert await uow.outbox.due(NOW) == []
        [again] = await uow.outbox.due(NOW + timedelta(seconds=5))
        assert again.txn_id == txn
        assert again.attempts == 1
        await uow.outbox.mark_sent(again.id, event_id="$x", now=NOW)
    async with db.unit_of_work() as uow:
        stored = (await uow.session.scalars(select(OutboxEvent))).one()
        assert stored.status == OutboxStatus.SENT
        assert stored.event_id == "$x"


async def test_rollback_leaves_nothing(db: Database) -> None:
    async def failing_handler() -> None:
        async with db.unit_of_work() as uow:
            await uow.repo(MemberRepository, GROUP).set_role("@b:x", Role.MODERATOR, now=NOW)
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError):
        await failing_handler()
    async with db.unit_of_work() as uow:
        assert await uow.repo(MemberRepository, GROUP).role_of("@b:x") == Role.MEMBER


def test_the_database_file_is_private(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.db"
    Database(f"sqlite+aiosqlite:///{fresh}")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    old = tmp_path / "old.db"
    for file in (old, tmp_path / "old.db-wal"):
        file.write_bytes(b"")
        file.chmod(0o644)
    Database(f"sqlite+aiosqlite:///{old}")
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "old.db-wal").stat().st_mode) == 0o600


def test_an_unwritable_folder_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tests may run as root, whom permissions do not stop: the refusal is simulated.
    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(DatabaseUnavailable) as caught:
        Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    assert str(caught.value) == (
        f"cannot create or open the database file {tmp_path / 'bot.db'}: the folder "
        f"{tmp_path} is not writable by user id {os.getuid()}"
    )


def test_a_database_that_cannot_be_opened_is_one_line_from_the_cli(
    tmp_path: Path, repo_root: Path
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "console",
            "--db",
            f"sqlite+aiosqlite:///{not_a_folder}/b.db",
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=repo_root,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"passerelle: cannot open the database file {not_a_folder}/b.db: Not a directory\n"
    )


async def _fill(database: Database, rows: int) -> None:
    """One transaction that writes a few thousand pages (audit entries of 4 KiB)."""
    async with database.unit_of_work() as uow:
        for index in range(rows):
            await uow.audit.record(
                actor="@a:x", action="probe", now=NOW, detail={"text": "x" * 4000, "n": index}
            )


@pytest.mark.parametrize("background", [False, True])
async def test_a_big_commit_folds_the_log_only_without_background_checkpoints(
    tmp_path: Path, background: bool
) -> None:
    path = tmp_path / "fold.db"
    database = Database(f"sqlite+aiosqlite:///{path}", background_checkpoints=background)
    try:
        await database.upgrade()
        await database.fold_log()
        before = path.stat().st_size
        await _fill(database, 1500)  # past SQLite's automatic checkpoint (1,000 pages)
        grown = path.stat().st_size
        if not background:
            # The commit itself folded the log into the file: it waited for that.
            assert grown > before + 1000 * 4096
            return
        # The commit left it all in the log; the file grows when the log is folded.
        assert grown == before
        assert await database.fold_log() == 0  # all of the log is in the file now
        assert path.stat().st_size > before + 1500 * 4096
        async with database.unit_of_work() as uow:
            assert len(await uow.audit.latest(limit=2000)) == 1500
    finally:
        await database.dispose()


async def test_fold_log_on_each_backend(db_url: str) -> None:
    """SQLite folds its log; PostgreSQL has none to fold, and the bot's loop skips it."""
    database = Database(db_url, background_checkpoints=True)
    try:
        await database.upgrade()
        assert database.background_checkpoints is database.is_sqlite
        async with database.unit_of_work() as uow:
            await uow.state.set("probe", "x", now=NOW)
        assert await database.fold_log() == 0
        async with database.unit_of_work() as uow:
            assert await uow.state.get("probe") == "x"
            if database.is_sqlite:  # no commit folds it: the bot's loop does
                pragma = await uow.session.execute(text("PRAGMA wal_autocheckpoint"))
                assert pragma.scalar() == 0
    finally:
        await database.dispose()
