"""A follow-up as the messages show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from storage.models import FollowupStatus


class Shown(Protocol):
    """What a line shows of a follow-up: a stored one, or the chasing job's lighter
    read of it (`storage.repos.followups.Due`)."""

    @property
    def number(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def assignee(self) -> str: ...
    @property
    def creator(self) -> str: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def status(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def closed_at(self) -> datetime | None: ...
    @property
    def next_reminder_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a list (`followups.line`). Templates read its fields as attributes,
    which Jinja finds at once (a dict's keys come after a failed attribute lookup: a
    pass of reminders renders a thousand lines)."""

    number: int
    text: str
    assignee: str
    creator: str
    due: datetime | None
    overdue: bool
    late_days: int
    partner: str | None
    status: str
    origin: str
    closed: datetime | None
    next: datetime | None


def line(followup: Shown, now: datetime, partner: str | None) -> Line:
    """One line of a list (`followups.line`)."""
    overdue = (
        followup.status == FollowupStatus.OPEN
        and followup.due_at is not None
        and followup.due_at < now
    )
    return Line(
        number=followup.number,
        text=followup.text,
        assignee=followup.assignee,
        creator=followup.creator,
        due=followup.due_at,
        overdue=overdue,
        late_days=(now - followup.due_at).days if overdue and followup.due_at else 0,
        partner=partner,
        status=followup.status,
        origin=followup.origin,
        closed=followup.closed_at,
        next=followup.next_reminder_at,
    )
