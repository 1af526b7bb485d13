"""Fixtures shared by every test: database URLs on each backend, settings, a test bot."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bot.config import RoomSettings, Settings
from commands.kit.clock import FakeClock
from storage.db import Database
from tests.botkit import ALICE, ROOM, TestBot

PG_URL = os.environ.get("PASSERELLE_TEST_PG_URL")

# The group that rows of the template database would belong to (it holds none).
DEFAULT_GROUP = ROOM

# Friday 27 November 2026, 10:00 in Paris.
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`backend` runs a test on SQLite, and on PostgreSQL when PASSERELLE_TEST_PG_URL is set."""
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", ["sqlite", "postgresql"] if PG_URL else ["sqlite"])


@pytest.fixture
def backend() -> str:  # replaced by the parametrization above
    return "sqlite"


async def _pg_admin(statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    assert PG_URL is not None
    url = make_url(PG_URL)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _pg_url(name: str) -> str:
    assert PG_URL is not None
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


async def _migrate(url: str) -> None:
    database = Database(url)
    try:
        await database.upgrade(default_group=DEFAULT_GROUP)
    finally:
        await database.dispose()


def _run_aside(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to its end on a loop of its own (a session fixture may be first
    asked for from inside a test's running loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated once for the session; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("template") / "passerelle.db"
    _run_aside(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated once; each test's database is created from it."""
    name = f"passerelle_tpl_{uuid.uuid4().hex[:12]}"
    _run_aside(_pg_admin(f'CREATE DATABASE "{name}"'))
    _run_aside(_migrate(_pg_url(name)))
    try:
        yield name
    finally:
        _run_aside(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def empty_db_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database on the backend under test (for the migrations' own tests)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"passerelle_t_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A database at the latest schema on the backend under test, copied from the
    session's migrated template (migrating costs more than most tests)."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "passerelle.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("pg_template")
    name = f"passerelle_t_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    try:
        yield _pg_url(name)
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings.model_validate(
        {
            "admins": [ALICE],
            "rooms": [RoomSettings(id=ROOM, locale="fr", timezone="Europe/Paris")],
            "database": {"url": db_url},
            # Tests that count what the bot sends over weeks would count the weekly
            # digest too; tests/domain/test_digest.py turns it on.
            "digest": {"enabled": False},
            # Nor do they expect the bot to change the room's join rule at start
            # (tests/domain/test_members.py and the members' Synapse tests do).
            "members": {"knock_join_rule": False},
        }
    )


@pytest.fixture
async def bot(settings: Settings, clock: FakeClock) -> AsyncIterator[TestBot]:
    test_bot = TestBot(settings, clock)
    await test_bot.start()
    try:
        yield test_bot
    finally:
        await test_bot.close()


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


TIERS = ("unit", "domain", "console", "integration")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its tier, from its folder: `pytest -m unit` runs one tier."""
    root = Path(__file__).resolve().parent
    for item in items:
        parts = item.path.resolve().relative_to(root).parts
        if parts and parts[0] in TIERS:
            item.add_marker(getattr(pytest.mark, parts[0]))
