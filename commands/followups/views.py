"""A follow-up as the messages show it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.models import Followup, FollowupStatus


def line(followup: Followup, now: datetime, partner: str | None) -> dict[str, Any]:
    """One line of a list (`followups.line`)."""
    overdue = (
        followup.status == FollowupStatus.OPEN
        and followup.due_at is not None
        and followup.due_at < now
    )
    return {
        "number": followup.number,
        "text": followup.text,
        "assignee": followup.assignee,
        "creator": followup.creator,
        "due": followup.due_at,
        "overdue": overdue,
        "late_days": (now - followup.due_at).days if overdue and followup.due_at else 0,
        "partner": partner,
        "status": followup.status,
        "origin": followup.origin,
        "closed": followup.closed_at,
        "next": followup.next_reminder_at,
    }
