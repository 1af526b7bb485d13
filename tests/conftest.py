"""Fixtures shared by every test: database URLs on each backend, settings, a test bot."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.config import RoomSettings, Settings
from commands.kit.clock import FakeClock
from tests.botkit import ALICE, ROOM, TestBot

PG_URL = os.environ.get("PASSERELLE_TEST_PG_URL")

# Friday 27 November 2026, 10:00 in Paris.
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`backend` runs a test on SQLite, and on PostgreSQL when PASSERELLE_TEST_PG_URL is set."""
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", ["sqlite", "postgresql"] if PG_URL else ["sqlite"])


@pytest.fixture
def backend() -> str:  # replaced by the parametrization above
    return "sqlite"


async def _pg_database() -> tuple[str, str]:
    import asyncpg  # type: ignore[import-untyped]

    assert PG_URL is not None
    url = make_url(PG_URL)
    name = f"passerelle_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False), name


async def _pg_drop(name: str) -> None:
    import asyncpg

    assert PG_URL is not None
    url = make_url(PG_URL)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def db_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database on the backend under test."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'passerelle.db'}"
        return
    url, name = await _pg_database()
    try:
        yield url
    finally:
        await _pg_drop(name)


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
