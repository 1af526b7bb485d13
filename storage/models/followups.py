"""The follow-ups' tables: actions assigned to members, and what happened to each."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, GroupOwned


class FollowupStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class FollowupOrigin(enum.StrEnum):
    """Where a follow-up came from: a command, an action of a meeting, or the bot itself
    (a partner that became interested with nobody following it up)."""

    COMMAND = "command"
    MEETING = "meeting"
    AUTOMATIC = "automatic"


class Followup(GroupOwned, Base):
    """An action assigned to one member, chased until it is done or cancelled."""

    __tablename__ = "followups"
    __table_args__ = (
        UniqueConstraint("group_id", "number", name="uq_followups_group_number"),
        # What the chasing job reads: open follow-ups whose next reminder has come.
        Index("ix_followups_next_reminder", "next_reminder_at", "group_id"),
        # Lists by due date, and the digest's late follow-ups counted by person.
        Index("ix_followups_group_status_due", "group_id", "status", "due_at", "assignee"),
        # Done in a period (the digest).
        Index("ix_followups_group_status_closed", "group_id", "status", "closed_at"),
        Index("ix_followups_group_assignee", "group_id", "assignee", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    number: Mapped[int]  # what members type: numbered per group
    text: Mapped[str] = mapped_column(Text)
    assignee: Mapped[str] = mapped_column(String(255))
    creator: Mapped[str] = mapped_column(String(255))
    room_id: Mapped[str] = mapped_column(String(255))  # where it was created; reminders go there
    due_at: Mapped[datetime | None]
    partner_id: Mapped[int | None]
    origin: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    # The next reminder (None: not chased: no due date, or closed), and how many went
    # out since the due date passed (mentions widen with it).
    next_reminder_at: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(default=0)
    overdue_reminders: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class FollowupEvent(Base):
    """A line of a follow-up's history: created, reminded, snoozed, reassigned, edited,
    done, cancelled; who and when, and what changed (`detail`) or was said (`text`)."""

    __tablename__ = "followup_events"
    __table_args__ = (Index("ix_followup_events_followup", "followup_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime]
    text: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
