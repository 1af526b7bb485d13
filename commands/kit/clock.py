"""The one source of the current time: real in production, fake in tests and the console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that stands still until told to move (tests, `console --now`)."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        when = _aware(when)
        if when < self._now:
            raise ValueError("the clock only moves forward")
        self._now = when

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("naive datetime given to a clock")
    return when.astimezone(UTC)


class SteppableClock:
    """The real clock until someone sets it; then it stands still where it was set.

    The console uses it: without `--now` it tells the real time, and `/time` moves it.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._frozen = _aware(start) if start is not None else None

    def now(self) -> datetime:
        return self._frozen if self._frozen is not None else datetime.now(UTC)

    def set(self, when: datetime) -> None:
        when = _aware(when)
        if when < self.now() - timedelta(seconds=1):
            raise ValueError("the clock only moves forward")
        self._frozen = max(when, self._frozen) if self._frozen is not None else when
