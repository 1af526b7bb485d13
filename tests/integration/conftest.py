"""Fixtures for tests against a real Synapse: `synapse` (one server per session)
and `matrix_user` (fresh accounts with logged-in nio clients).

All the async tests and fixtures here run in the session's event loop: the server
and the clients are created in it and must be used from it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from nio import AsyncClient, LoginResponse
from pytest_asyncio import is_async_test

from bot.homeserver import LocalSynapse, synapse_available

from .botrun import BotWorld
from .matrix_helpers import DEFAULT_PASSWORD, MatrixUserFactory, client_config, unique_localpart

_HERE = Path(__file__).resolve().parent

_NO_SYNAPSE = (
    "matrix-synapse is not installed: the integration tests need a real homeserver "
    "(pip install 'passerelle[dev]' or pip install matrix-synapse)"
)


def _is_here(item: pytest.Item) -> bool:
    return _HERE in item.path.resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests of this directory as integration tests, on the session's loop."""
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if not _is_here(item):
            continue
        item.add_marker(pytest.mark.integration)
        if is_async_test(item) and item.get_closest_marker("asyncio") is None:
            item.add_marker(session_loop)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalSynapse]:
    """A Synapse with raised rate limits, started once for the whole session."""
    if not synapse_available():
        # A missing homeserver is a broken set-up, not a reason to pass quietly.
        pytest.fail(_NO_SYNAPSE)
    server = LocalSynapse(tmp_path_factory.mktemp("synapse"))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def matrix_user(synapse: LocalSynapse) -> AsyncIterator[MatrixUserFactory]:
    """Factory: ``await matrix_user("alice")`` registers a new account (unique
    localpart starting with the name) and returns a logged-in `nio.AsyncClient`.
    The clients are closed at teardown."""
    clients: list[AsyncClient] = []

    async def make(
        name: str = "user", *, password: str = DEFAULT_PASSWORD, admin: bool = False
    ) -> AsyncClient:
        user_id = await synapse.register(unique_localpart(name), password, admin=admin)
        client = AsyncClient(synapse.base_url, user_id, config=client_config())
        clients.append(client)
        response = await client.login(password, device_name="pytest")
        if not isinstance(response, LoginResponse):
            raise AssertionError(f"cannot log in as {user_id}: {response}")
        return client

    try:
        yield make
    finally:
        for client in clients:
            await client.close()


@pytest_asyncio.fixture(loop_scope="session")
async def world(synapse: LocalSynapse, tmp_path: Path) -> AsyncIterator[BotWorld]:
    """A fresh room, bot account, admin and member; the bot is started by the test."""
    bot_world = BotWorld(synapse, tmp_path)
    await bot_world.setup()
    try:
        yield bot_world
    finally:
        await bot_world.close()
