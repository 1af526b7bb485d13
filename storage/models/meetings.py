"""The meetings' tables: a meeting (planned, running, ended), its agenda, what was said
during it (the items the minutes are written from), who was there, and its raw log."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, GroupOwned


class MeetingStatus(enum.StrEnum):
    PLANNED = "planned"  # the next meeting of a room: its agenda, maybe a date
    RUNNING = "running"
    ENDED = "ended"


class ItemKind(enum.StrEnum):
    """What a line of the minutes is (MeetBot's vocabulary)."""

    TOPIC = "topic"
    INFO = "info"
    IDEA = "idea"
    AGREED = "agreed"  # a decision, in the decision log
    COPIL = "copil"  # a proposal submitted to the steering committee
    ACTION = "action"  # a follow-up, chased by the follow-ups domain
    LINK = "link"
    LATER = "later"  # the current topic is postponed to the next meeting
    AMENDMENT = "amendment"  # added by a chair after the meeting


class AgendaOrigin(enum.StrEnum):
    """Where an agenda item comes from."""

    MANUAL = "manual"
    POSTPONED = "postponed"  # a topic postponed at the last meeting
    NOT_REACHED = "not_reached"  # an item the last meeting did not reach
    PROPOSAL = "proposal"  # a proposal waiting for the COPIL
    FOLLOWUPS = "followups"  # the line on open and overdue follow-ups


class AgendaStatus(enum.StrEnum):
    OPEN = "open"
    TAKEN = "taken"  # taken as a topic during the meeting
    REMOVED = "removed"  # kept so that a removed proposal is not added back


class Meeting(GroupOwned, Base):
    """A meeting of a room: planned (at most one per room), running (at most one per
    room), then ended. `number` is given when it starts, per group."""

    __tablename__ = "meetings"
    __table_args__ = (
        UniqueConstraint("group_id", "number", name="uq_meetings_group_number"),
        Index("ix_meetings_group_room_status", "group_id", "room_id", "status"),
        # What the scheduled job reads: the next reminder or series step of each meeting.
        Index("ix_meetings_next_due", "next_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    number: Mapped[int | None]
    room_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    scheduled_at: Mapped[datetime | None]
    scheduled_by: Mapped[str | None] = mapped_column(String(255))
    # A series: the rule as an iCalendar RRULE, the words it was typed in, and the
    # first meeting of the series (its anchor: the week parity of "every other week").
    rule: Mapped[str | None] = mapped_column(String(255))
    rule_text: Mapped[str | None] = mapped_column(Text)
    series_start: Mapped[datetime | None]
    sequence: Mapped[int] = mapped_column(default=0)  # the invitation's version
    # The agenda reminder the day before (None: sent, or none wanted), and the next
    # instant the scheduled job has something to do for this meeting.
    reminder_at: Mapped[datetime | None]
    next_due_at: Mapped[datetime | None]
    chairs: Mapped[list[str]] = mapped_column(JSON, default=list)
    current_topic_id: Mapped[int | None]
    started_at: Mapped[datetime | None]
    started_by: Mapped[str | None] = mapped_column(String(255))
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AgendaItem(Base):
    """A point of a meeting's agenda, in its order (`position`)."""

    __tablename__ = "meeting_agenda"
    __table_args__ = (Index("ix_meeting_agenda_meeting", "meeting_id", "status", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(255))
    duration_minutes: Mapped[int | None]
    origin: Mapped[str] = mapped_column(String(16))
    proposal_id: Mapped[int | None]  # a proposal's item: which one
    from_meeting: Mapped[int | None]  # a carried item: the number of the meeting it left
    status: Mapped[str] = mapped_column(String(16))
    added_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class MeetingItem(Base):
    """A line of the minutes, in the order it was said (`seq`), under a topic."""

    __tablename__ = "meeting_items"
    __table_args__ = (Index("ix_meeting_items_meeting", "meeting_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    topic_id: Mapped[int | None]  # the topic item this one was said under
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime]
    event_id: Mapped[str | None] = mapped_column(String(255))
    assignee: Mapped[str | None] = mapped_column(String(255))  # an action's
    due_at: Mapped[datetime | None]  # an action's
    owner: Mapped[str | None] = mapped_column(String(255))  # a topic's, from its agenda item
    url: Mapped[str | None] = mapped_column(Text)  # a link's
    # What another domain recorded for it: the follow-up, decision or proposal (its id
    # and the number members see); an agenda item taken as a topic.
    ref_id: Mapped[int | None]
    ref_number: Mapped[int | None]
    agenda_item_id: Mapped[int | None]


class Attendee(Base):
    """Someone at a meeting: a member who spoke (`user_id`), or a name typed with
    `!present` (people without a chat account); `present` is false for `!absent`."""

    __tablename__ = "meeting_attendees"
    __table_args__ = (Index("ix_meeting_attendees_meeting", "meeting_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    present: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(16))  # spoke, listed, chair
    at: Mapped[datetime]


class LogLine(Base):
    """A message typed in the room while the meeting ran, as it was typed."""

    __tablename__ = "meeting_log"
    __table_args__ = (Index("ix_meeting_log_meeting", "meeting_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    sender: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str | None] = mapped_column(String(255))
    msgtype: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
