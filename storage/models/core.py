"""The runtime's tables: rooms, people and roles, inbox, outbox, state, audit, and the
generic conversation memory (last lists, pending confirmations) and cross-domain links."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import GROUP_LENGTH, Base, GroupOwned


class Role(enum.IntEnum):
    """Roles are ordered: a moderator can do what a member can, and so on."""

    MEMBER = 1
    MODERATOR = 2
    ADMIN = 3

    @classmethod
    def from_name(cls, name: str) -> Role:
        return cls[name.upper()]

    @property
    def key(self) -> str:
        return self.name.lower()


class InboxStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    IGNORED = "ignored"
    # An encrypted event whose room key has not arrived: still to be handled, and its
    # room's later events wait behind it.
    WAITING = "waiting"
    # An encrypted event given up on (no key in time, or one that cannot be read).
    UNREADABLE = "unreadable"


# The statuses of events still to be handled.
UNHANDLED = (InboxStatus.PENDING, InboxStatus.WAITING)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxAction(enum.StrEnum):
    """What an outbox row asks of the homeserver."""

    MESSAGE = "message"  # an event in a room (or in a user's direct-message room)
    INVITE = "invite"
    KICK = "kick"  # also refuses a knock
    REDACT = "redact"
    STATE = "state"
    POWER_LEVEL = "power_level"


class Room(Base):
    """Per-room settings; a room without a row uses the configured defaults."""

    __tablename__ = "rooms"

    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    locale: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Member(Base):
    """A person's role in a group, keyed on the Matrix user id (never a display name)."""

    __tablename__ = "members"

    group_id: Mapped[str] = mapped_column(String(GROUP_LENGTH), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    role: Mapped[int] = mapped_column(Integer, default=Role.MEMBER)
    display_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RoomMember(Base):
    """Who is in a room (joined, invited, knocking, left), as the room's events told."""

    __tablename__ = "room_members"
    __table_args__ = (Index("ix_room_members_user", "user_id", "membership"),)

    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    membership: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime]


class DirectRoom(Base):
    """The one direct-message room the bot keeps with a user.

    `room_id` is empty while the room is being created; `group_id` is the group the
    user chose to act for there, when they belong to several.
    """

    __tablename__ = "direct_rooms"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    group_id: Mapped[str | None] = mapped_column(String(GROUP_LENGTH))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class InboxEvent(Base):
    """An event the bot may act on, stored with the sync token that brought it."""

    __tablename__ = "inbox"
    # Ids never reused, even once old rows are pruned: the runtime orders by them.
    __table_args__ = (
        Index("ix_inbox_room_status", "room_id", "status", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    room_id: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(128))
    state_key: Mapped[str | None] = mapped_column(String(255))  # a state event's (membership)
    content: Mapped[dict[str, Any]]
    origin_ts: Mapped[datetime]
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=InboxStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]
    # The group the event was handled for (set when handled).
    group_id: Mapped[str | None] = mapped_column(String(GROUP_LENGTH))


class OutboxEvent(Base):
    """A message or room action to send. Its transaction id is fixed when written, so a
    retry never posts twice.

    A message goes to `room_id`, or, when that is empty, to the direct-message room of
    `user_id` (opened at send time). `ref_*` say what the message was about (a reminder,
    a poll), so that a reaction or a poll response to it can be traced back.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_outbox_event_id", "event_id"),
        {"sqlite_autoincrement": True},  # ids never reused (see InboxEvent)
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    txn_id: Mapped[str] = mapped_column(String(64), unique=True)
    action: Mapped[str] = mapped_column(String(16), default=OutboxAction.MESSAGE)
    room_id: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(128))
    state_key: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[dict[str, Any]]
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id", ondelete="SET NULL"))
    group_id: Mapped[str | None] = mapped_column(String(GROUP_LENGTH))
    ref_domain: Mapped[str | None] = mapped_column(String(32))
    ref_kind: Mapped[str | None] = mapped_column(String(32))
    ref_id: Mapped[str | None] = mapped_column(Text)  # a reminder's: its follow-ups' ids
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    event_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    # A file to upload before sending (an export); the content gets its URL then.
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    attachment_name: Mapped[str | None] = mapped_column(String(255))
    attachment_type: Mapped[str | None] = mapped_column(String(100))


class BotState(Base):
    """Small named values the runtime keeps: sync token, access token, device id."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class AuditEntry(Base):
    """Who changed what, when: settings, roles, and every domain write."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_group_at", "group_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(255))
    room_id: Mapped[str | None] = mapped_column(String(255))
    group_id: Mapped[str | None] = mapped_column(String(GROUP_LENGTH))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]


class LastList(Base):
    """The numbered list a user last saw from a domain, so `!partner show 3` means the
    third line of it."""

    __tablename__ = "last_lists"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    domain: Mapped[str] = mapped_column(String(32), primary_key=True)
    ids: Mapped[dict[str, Any]]
    at: Mapped[datetime]


class PendingAction(Base):
    """Something a user previewed and must confirm (an import, an erasure), kept between
    two commands."""

    __tablename__ = "pending_actions"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    domain: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[dict[str, Any]]
    at: Mapped[datetime]


class Link(GroupOwned, Base):
    """A record of one domain that concerns a record of another: a follow-up about a
    partner, a decision taken in a meeting. Open until the source is closed."""

    __tablename__ = "links"
    __table_args__ = (
        Index("ix_links_target", "group_id", "target_kind", "target_id", "open"),
        Index("ix_links_source", "group_id", "source_kind", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # Kinds of record: "followup", "partner", "decision", "meeting" ...
    source_kind: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    open: Mapped[bool] = mapped_column(default=True)
    actor: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
