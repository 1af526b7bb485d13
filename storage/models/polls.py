"""The steering committee's tables: polls and their votes, the decision log, and the
proposals waiting for the committee (COPIL)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, GroupOwned


class PollStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Voters(enum.StrEnum):
    """Who may vote: the members of the room, its moderators (the COPIL), or a list."""

    MEMBERS = "members"
    MODERATORS = "moderators"
    LIST = "list"


class Poll(GroupOwned, Base):
    """A question put to a vote, posted as a native Matrix poll (or, when secret, as a
    message asking for votes by direct message)."""

    __tablename__ = "polls"
    __table_args__ = (
        UniqueConstraint("group_id", "number", name="uq_polls_group_number"),
        # What the deadline job reads: open polls whose deadline or reminder has come.
        Index("ix_polls_next_due", "next_due_at"),
        Index("ix_polls_group_status", "group_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    number: Mapped[int]
    room_id: Mapped[str] = mapped_column(String(255))
    question: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    creator: Mapped[str] = mapped_column(String(255))
    voters: Mapped[str] = mapped_column(String(16))
    voter_list: Mapped[list[str]] = mapped_column(JSON, default=list)
    quorum: Mapped[int | None]
    max_choices: Mapped[int] = mapped_column(default=1)
    secret: Mapped[bool] = mapped_column(default=False)
    partner_id: Mapped[int | None]
    proposal_id: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16))
    closes_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]  # the 24-hour reminder went out
    next_due_at: Mapped[datetime | None]  # the reminder or the deadline, whichever first
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(255))


class PollVote(Base):
    """A person's vote on a poll: their last one counts; withdrawing deletes it."""

    __tablename__ = "poll_votes"
    __table_args__ = (UniqueConstraint("poll_id", "voter", name="uq_poll_votes_poll_voter"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    voter: Mapped[str] = mapped_column(String(255))
    choices: Mapped[list[int]] = mapped_column(JSON, default=list)  # option indexes, from 0
    via: Mapped[str] = mapped_column(String(16))  # native, command, reply, direct
    at: Mapped[datetime]


class PollRefusal(Base):
    """Someone not eligible tried to vote: they are told why once per poll."""

    __tablename__ = "poll_refusals"
    __table_args__ = (UniqueConstraint("poll_id", "voter", name="uq_poll_refusals_poll_voter"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    voter: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime]


class Decision(GroupOwned, Base):
    """A line of the decision log: from a closed poll, recorded by a moderator, or a
    proposal's outcome. A decision taken back (a meeting's `!undo` of its `!agreed`) is
    withdrawn, not deleted: its number is never given again, and the log no longer
    shows it."""

    __tablename__ = "decisions"
    __table_args__ = (
        UniqueConstraint("group_id", "number", name="uq_decisions_group_number"),
        Index("ix_decisions_group_decided", "group_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    number: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    text_key: Mapped[str] = mapped_column(Text)  # folded, for search
    outcome: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # poll, manual, proposal, meeting
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    poll_id: Mapped[int | None]
    room_id: Mapped[str | None] = mapped_column(String(255))
    event_id: Mapped[str | None] = mapped_column(String(255))  # the poll's event
    partner_id: Mapped[int | None]
    actor: Mapped[str] = mapped_column(String(255))
    decided_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(255))


class ProposalStatus(enum.StrEnum):
    PENDING = "pending"
    POLLED = "polled"  # put to a vote; the poll's outcome decides
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    POSTPONED = "postponed"
    # Taken back before the committee saw it (a meeting's `!undo` of its `!copil`): out
    # of the queue, its number never given again.
    WITHDRAWN = "withdrawn"


class Proposal(GroupOwned, Base):
    """A proposal submitted to the steering committee (COPIL), until it is decided."""

    __tablename__ = "proposals"
    __table_args__ = (
        UniqueConstraint("group_id", "number", name="uq_proposals_group_number"),
        Index("ix_proposals_group_status", "group_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    number: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(255))
    origin: Mapped[str] = mapped_column(String(16))  # command, meeting
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    poll_id: Mapped[int | None]
    decision_id: Mapped[int | None]
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(255))
