"""Membership's tables: people asking to join a group's room, and how each member came
in (when they joined, who approved or invited them)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, GroupOwned


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class RequestSource(enum.StrEnum):
    """How someone asked: a Matrix knock, or `!join` in a direct message with the bot
    (clients without knocking)."""

    KNOCK = "knock"
    DM = "dm"


class JoinRequest(GroupOwned, Base):
    """Someone asking to join a room of the group, until a moderator decides (or it
    expires). A person has at most one pending request per group."""

    __tablename__ = "join_requests"
    __table_args__ = (
        Index("ix_join_requests_group_status", "group_id", "status", "created_at"),
        Index("ix_join_requests_group_user", "group_id", "user_id"),
        # What the notifying job reads: pending requests the moderators were not told of.
        Index("ix_join_requests_status_notified", "status", "notified_at"),
        Index("ix_join_requests_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    room_id: Mapped[str] = mapped_column(String(255))  # the room they asked to join
    user_id: Mapped[str] = mapped_column(String(255))
    # As their client showed it when they asked: shown beside the user id, never trusted.
    display_name: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]  # asked again (a new reason): the moderators are told again
    notified_at: Mapped[datetime | None]  # when the moderators were told of it
    expires_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)  # the reason given for a refusal


class Admission(GroupOwned, Base):
    """How a member came into a room: when they joined (None: before the bot knew the
    room), who approved their request or invited them, and the power level the bot
    gave them (a moderator's), so that it can take it back."""

    __tablename__ = "admissions"
    __table_args__ = (Index("ix_admissions_group_user", "group_id", "user_id"),)

    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    joined_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    invited_by: Mapped[str | None] = mapped_column(String(255))
    approved_by: Mapped[str | None] = mapped_column(String(255))
    request_id: Mapped[int | None]
    power_level: Mapped[int | None]
    updated_at: Mapped[datetime]
