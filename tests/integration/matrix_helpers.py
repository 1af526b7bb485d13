"""Helpers for tests that talk to the real Synapse started by the `synapse` fixture."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from nio import AsyncClient, AsyncClientConfig, SyncResponse

# Every account the `matrix_user` factory creates has this password unless the
# test asks for another one.
DEFAULT_PASSWORD = "correct horse battery staple"


class MatrixUserFactory(Protocol):
    """The `matrix_user` fixture: register a fresh account, return a logged-in client."""

    async def __call__(
        self, name: str = "user", *, password: str = DEFAULT_PASSWORD, admin: bool = False
    ) -> AsyncClient: ...


def unique_localpart(name: str = "user") -> str:
    """A localpart no other test has used (Synapse lowercases localparts)."""
    return f"{name.lower()}-{uuid.uuid4().hex[:10]}"


def client_config() -> AsyncClientConfig:
    """nio settings for tests: fail instead of retrying forever.

    By default nio sleeps and retries on every 429 and every connection error, for
    ever. Tests want to see a 429 (``max_limit_exceeded=0`` turns it into an error
    response), and a dead server should fail a test rather than hang it (two retries
    absorb a pooled keep-alive connection that a server restart closed).
    """
    return AsyncClientConfig(
        encryption_enabled=False,
        store_sync_tokens=False,
        max_limit_exceeded=0,
        max_timeouts=2,
        request_timeout=30,
    )


def _sync_events(response: SyncResponse, room_id: str) -> Iterator[Any]:
    """The events of one room in a sync response, whatever the user's membership."""
    joined = response.rooms.join.get(room_id)
    if joined is not None:
        yield from joined.state
        yield from joined.timeline.events
    invited = response.rooms.invite.get(room_id)
    if invited is not None:
        yield from invited.invite_state
    left = response.rooms.leave.get(room_id)
    if left is not None:
        yield from left.state
        yield from left.timeline.events


async def wait_for_event(
    client: AsyncClient,
    room_id: str,
    predicate: Callable[[Any], bool],
    timeout: float = 10,  # noqa: ASYNC109
) -> Any:
    """Sync `client` until an event of `room_id` satisfies `predicate`; return it.

    Only events that reach the client through the syncs made by this call count:
    those after the client's current sync position (``client.next_batch``), or the
    initial sync's timeline and state if the client has never synced. The events are
    nio's objects (``RoomMessageText``, ``RoomMemberEvent``, ``InviteMemberEvent``
    for an invite, ...). Raises `TimeoutError` after `timeout` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last_error: object = None
    while (remaining := deadline - loop.time()) > 0:
        # Long-poll for at most one second so that the deadline is honoured.
        poll_ms = max(1, int(min(remaining, 1.0) * 1000))
        try:
            async with asyncio.timeout(remaining + 1):
                response = await client.sync(timeout=poll_ms)
        except TimeoutError:
            break
        if not isinstance(response, SyncResponse):
            last_error = response
            await asyncio.sleep(0.1)
            continue
        for event in _sync_events(response, room_id):
            if predicate(event):
                return event
    detail = f" (last sync error: {last_error})" if last_error is not None else ""
    raise TimeoutError(
        f"no matching event in {room_id} for {client.user_id} within {timeout} s{detail}"
    )
