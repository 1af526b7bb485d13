"""Pure parts of the Matrix runtime: error classification, event conversion, backoff, health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from nio import RoomSendError

from bot.matrix import incoming, send_error
from bot.runtime import sync_backoff
from commands.kit.health import Health


def _error(status: int | None, body: dict[str, object]) -> RoomSendError:
    response = RoomSendError.from_dict(body, "!room")
    response.transport_response = SimpleNamespace(status=status)  # type: ignore[assignment]
    return response


def test_rate_limit_waits_what_the_server_says() -> None:
    error = send_error(
        _error(
            429,
            {"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests", "retry_after_ms": 2500},
        )
    )
    assert error.retry_after == 2.5
    assert not error.permanent


def test_rate_limit_without_delay_waits_five_seconds() -> None:
    assert send_error(_error(429, {"errcode": "M_LIMIT_EXCEEDED"})).retry_after == 5


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 401, None])
def test_server_trouble_is_retried(status: int | None) -> None:
    error = send_error(_error(status, {}))
    assert not error.permanent
    assert error.retry_after is None


@pytest.mark.parametrize(("status", "code"), [(403, "M_FORBIDDEN"), (400, "M_BAD_JSON")])
def test_refusals_are_final(status: int, code: str) -> None:
    assert send_error(_error(status, {"errcode": code, "error": "no"})).permanent


def test_incoming_keeps_the_raw_event() -> None:
    source = {
        "event_id": "$e",
        "sender": "@a:x",
        "type": "m.room.message",
        "origin_server_ts": 1_764_234_000_000,
        "content": {"msgtype": "m.text", "body": "!aide"},
    }
    event = incoming("!room", source)
    assert event is not None
    assert event.content == {"msgtype": "m.text", "body": "!aide"}
    assert event.origin_ts == datetime.fromtimestamp(1_764_234_000, UTC)
    assert incoming("!room", {"type": "m.room.message"}) is None


def test_sync_backoff_is_bounded() -> None:
    delays = [sync_backoff(n) for n in range(1, 12)]
    assert all(0.45 <= d <= 30 for d in delays)
    assert delays[-1] >= 27
    # Ten seconds of errors allow only a handful of requests.
    elapsed, requests = 0.0, 0
    while elapsed < 10:
        requests += 1
        elapsed += sync_backoff(requests)
    assert requests <= 6


def test_health_turns_unhealthy_without_sync_and_recovers() -> None:
    start = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    health = Health(unhealthy_after=timedelta(seconds=90), started_at=start)
    assert health.healthy(start + timedelta(seconds=30))
    assert not health.healthy(start + timedelta(seconds=91))
    health.sync_failed("502")
    health.sync_failed("502")
    assert health.consecutive_failures == 2
    health.sync_ok(start + timedelta(seconds=100))
    assert health.healthy(start + timedelta(seconds=120))
    assert health.consecutive_failures == 0
    assert health.sync_age(start + timedelta(seconds=130)) == timedelta(seconds=30)
