"""How the connection to the homeserver is doing, for `!status`, the watchdog and /health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class Health:
    """Updated by the sync loop; read by the status command and the health endpoint."""

    unhealthy_after: timedelta
    started_at: datetime | None = None
    last_sync_at: datetime | None = None
    consecutive_failures: int = 0
    sync_requests: int = 0
    last_error: str | None = None
    connected: bool = False  # False in the console, which has no homeserver
    database_failures: int = 0  # failed passes in a row because the database was away
    database_error: str | None = None

    def sync_ok(self, now: datetime) -> None:
        self.last_sync_at = now
        self.consecutive_failures = 0
        self.last_error = None

    def sync_failed(self, error: str) -> None:
        self.consecutive_failures += 1
        self.last_error = error

    def database_failed(self, error: str) -> None:
        self.database_failures += 1
        self.database_error = error

    def database_ok(self) -> None:
        self.database_failures = 0
        self.database_error = None

    def sync_age(self, now: datetime) -> timedelta | None:
        return None if self.last_sync_at is None else now - self.last_sync_at

    def healthy(self, now: datetime) -> bool:
        """Healthy while the database answers and the last successful sync is recent (or
        start-up is)."""
        if self.database_failures:
            return False
        reference = self.last_sync_at or self.started_at
        return reference is not None and now - reference < self.unhealthy_after
