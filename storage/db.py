"""Engine, sessions and schema upgrades for one database URL."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_URL = "sqlite+aiosqlite:///passerelle.db"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _sqlite_pragmas(
    dbapi_connection: Any, _record: Any, *, background_checkpoints: bool = False
) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted and overwritten content is zeroed, not left in free pages (erasure).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    if background_checkpoints:
        # The write-ahead log is folded into the file by `Database.fold_log`, which the
        # bot runs in the background: otherwise the commit that takes the log past
        # 1,000 pages would fold all of it, and whatever that commit answers would wait.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()
    # The driver would open transactions itself, lazily (a deferred BEGIN before the
    # first INSERT, or none before a SAVEPOINT): `_begin_immediate` opens them instead.
    dbapi_connection.isolation_level = None


def _migration_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite during schema changes: foreign keys are not enforced.

    Changing a table on SQLite means rebuilding it (Alembic's batch mode): the old
    table is dropped, and with foreign keys on, dropping it would first delete, in
    cascade, every row that refers to it. SQLite's documentation asks for them off
    during such changes; `upgrade` checks them once the migrations are done.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_immediate(connection: Connection) -> None:
    """Take SQLite's write lock when a unit of work starts, waiting for it if needed.

    A deferred transaction that has read and then writes must upgrade its lock; if
    another connection is writing at that moment, SQLite fails at once with "database
    is locked" (the busy timeout does not apply to an upgrade). BEGIN IMMEDIATE waits
    (busy_timeout) for the lock up front instead, so the loops' transactions queue.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class DatabaseUnavailable(Exception):
    """The database cannot be opened or reached; the message says why, in one line."""


def is_outage(exc: BaseException) -> bool:
    """Whether an error means the database is away (down, unreachable, restarting, a
    connection cut, SQLite's file locked too long), rather than a bug: the caller
    should wait and try the same work again."""
    if isinstance(exc, DatabaseUnavailable | OSError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    # asyncpg's own errors, raised outside SQLAlchemy's wrapping (while connecting).
    module = type(exc).__module__
    return module.startswith("asyncpg") and "Connection" in type(exc).__name__


def describe(exc: BaseException) -> str:
    """One line on a database error for the log: the driver's error, never the SQL
    statement or its parameters (they hold what people typed)."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    return f"{type(inner).__name__}: {text[:200]}" if text else type(inner).__name__


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None for another database, or one in memory)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_private(path: Path) -> None:
    """Create the database file readable by its owner only (0600), or narrow an existing
    one and its write-ahead log (SQLite gives those the database file's mode)."""
    try:
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        # SQLite writes its log (-wal, -shm) beside the file: a database in a folder the
        # bot cannot write would fail at every try, for ever, instead of once here.
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise PermissionError(path.parent)
        if not os.access(path, os.R_OK | os.W_OK):
            raise DatabaseUnavailable(
                f"cannot open the database file {path}: it is not readable and writable by "
                f"user id {os.getuid()}"
            )
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if file.exists() and file.stat().st_mode & 0o077:
                file.chmod(0o600)
                logger.info("%s was readable by others; now by its owner only", file)
    except PermissionError:
        folder = path.parent.resolve()
        raise DatabaseUnavailable(
            f"cannot create or open the database file {path}: the folder {folder} is not "
            f"writable by user id {os.getuid()}"
        ) from None
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot open the database file {path}: {exc.strerror}") from None


class Database:
    """The engine and session factory; the only way code reaches the database."""

    def __init__(self, url: str = DEFAULT_URL, *, background_checkpoints: bool = False) -> None:
        """`background_checkpoints` (SQLite): no commit folds the write-ahead log into
        the database file; whoever asks for it calls `fold_log` regularly (the bot's
        runtime does, every second)."""
        self.url = url
        path = sqlite_path(url)
        if path is not None:
            make_private(path)
        self.engine: AsyncEngine = create_async_engine(url, pool_pre_ping=not self.is_sqlite)
        self.background_checkpoints = background_checkpoints and self.is_sqlite
        if self.is_sqlite:
            pragmas = functools.partial(
                _sqlite_pragmas, background_checkpoints=self.background_checkpoints
            )
            event.listen(self.engine.sync_engine, "connect", pragmas)
            event.listen(self.engine.sync_engine, "begin", _begin_immediate)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def kind(self) -> str:
        return self.engine.dialect.name

    async def upgrade(self, *, default_group: str | None = None, revision: str = "head") -> None:
        """Bring the schema to the latest migration (the bot does this on start).

        `default_group` is the group that rows written before groups existed belong to
        (the configured room's); a migration that introduces group ownership reads it.
        """
        if revision == "head" and await self.current_revision() == self.head_revision():
            return  # the usual start: nothing to do, and nothing to load for it

        def run(connection: Connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            cfg.attributes["default_group"] = default_group
            command.upgrade(cfg, revision)
            if connection.dialect.name == "sqlite":
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migrations broke {len(broken)} foreign keys")

        engine = self.engine
        if self.is_sqlite:
            engine = create_async_engine(self.url)
            event.listen(engine.sync_engine, "connect", _migration_pragmas)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(run)
        finally:
            if engine is not self.engine:
                await engine.dispose()
        logger.info("database schema is at %s", await self.current_revision())

    async def current_revision(self) -> str | None:
        def read(connection: Connection) -> str | None:
            return MigrationContext.configure(connection).get_current_revision()

        async with self.engine.connect() as conn:
            return await conn.run_sync(read)

    @staticmethod
    @functools.cache
    def head_revision() -> str | None:
        return ScriptDirectory.from_config(alembic_config()).get_current_head()

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """One transaction: committed when the block ends normally, rolled back otherwise.

        Inside, `rollback()` may undo what was written so far and go on in a fresh
        transaction (the router does so when a command is refused).
        """
        async with self.sessions() as session:
            try:
                yield UnitOfWork(session)
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def checkpoint(self) -> None:
        """After an erasure: fold SQLite's write-ahead log into the database file and
        empty it, so that erased text does not linger in the log (a no-op elsewhere)."""
        if not self.is_sqlite:
            return
        async with self.engine.connect() as conn:
            # On the driver's connection: outside any transaction, which would keep the
            # log in use (the engine opens one at the first statement).
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def fold_log(self) -> int:
        """SQLite: fold the write-ahead log into the database file as far as readers
        allow, without waiting for anyone (a passive checkpoint); the pages of the log
        still not in the file afterwards (0: all of them are). Nothing to do elsewhere."""
        if not self.is_sqlite:
            return 0
        async with self.engine.connect() as conn:
            # Outside any transaction, as `checkpoint` below.
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            cursor = await driver.execute("PRAGMA wal_checkpoint(PASSIVE)")
            row = await cursor.fetchone()
            await cursor.close()
        if row is None or row[1] < 0:  # -1: not in WAL mode (a database in memory)
            return 0
        return int(row[1]) - int(row[2])

    async def dispose(self) -> None:
        await self.engine.dispose()
