"""The database goes away and comes back: the bot rides it out as it rides out a
homeserver outage, with no restart from outside, and every command is answered once.

PostgreSQL is reached through a TCP relay that the test cuts (every connection
dropped, new ones refused, as a stopped server would) and restores. These tests need
a PostgreSQL server (PASSERELLE_TEST_PG_URL, as `.ci/run` sets when one answers).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, _pg_admin, _pg_url

from .botrun import BotWorld
from .tcp_proxy import TcpRelay

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.skipif(PG_URL is None, reason="needs PostgreSQL (PASSERELLE_TEST_PG_URL)"),
]

COMMANDS = 30


@pytest_asyncio.fixture(loop_scope="session")
async def relayed(world: BotWorld) -> AsyncIterator[TcpRelay]:
    """A fresh PostgreSQL database for the bot, reached through a relay."""
    assert PG_URL is not None
    name = f"passerelle_outage_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    target = make_url(_pg_url(name))
    async with TcpRelay(target.host or "127.0.0.1", target.port or 5432) as relay:
        world.database_url = target.set(host="127.0.0.1", port=relay.port).render_as_string(
            hide_password=False
        )
        try:
            yield relay
        finally:
            await world.kill_bot()
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("seconds", [10, 20])
async def test_an_outage_during_a_burst_loses_and_doubles_nothing(
    world: BotWorld, relayed: TcpRelay, caplog: pytest.LogCaptureFixture, seconds: int
) -> None:
    caplog.set_level(logging.WARNING, logger="bot")
    assert world.alice is not None
    await world.start_bot()
    watcher = await world.watcher()
    sent: list[str] = []
    for number in range(COMMANDS):
        if number == 10:
            relayed.cut()
            outage = asyncio.get_running_loop().time()
        sent.append(await world.send(world.alice, f"!quisuisje {number}"))
        await asyncio.sleep(0.1)
    await asyncio.sleep(max(0.0, seconds - (asyncio.get_running_loop().time() - outage)))
    assert world.task is not None
    assert not world.task.done()
    relayed.restore()
    back = asyncio.get_running_loop().time()
    await watcher.wait_for_replies(COMMANDS, timeout=60)
    took = asyncio.get_running_loop().time() - back
    await watcher.stop()
    replies = watcher.replies()
    assert sorted(replies) == sorted(sent)
    assert all(len(replies[event_id]) == 1 for event_id in sent)
    warnings = [r.getMessage() for r in caplog.records]
    assert any("the database is unreachable" in w for w in warnings)
    assert any("the database is reachable again" in w for w in warnings)
    # Within seconds: the bot tries the database again at most 5 s apart.
    assert took < 10, f"answered {took:.1f} s after the database came back"


async def test_a_start_while_the_database_is_down_waits_for_it(
    world: BotWorld, relayed: TcpRelay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot")
    relayed.cut()
    await world.start_bot(wait=False)
    await asyncio.sleep(3)
    assert world.task is not None
    assert not world.task.done()
    waiting = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert waiting, "no line says the database is unreachable"
    assert all("next try in" in line and "\n" not in line for line in waiting)
    relayed.restore()
    assert world.runtime is not None
    await asyncio.wait_for(world.runtime.synced.wait(), 30)
    assert world.alice is not None
    watcher = await world.watcher()
    command = await world.send(world.alice, "!quisuisje")
    await watcher.wait_for_replies(1, timeout=30)
    await watcher.stop()
    assert list(watcher.replies()) == [command]
