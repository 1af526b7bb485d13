"""Typed SQLAlchemy models. Alembic owns the schema; see storage/migrations."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


# Created by migration 0002 on PostgreSQL when pg_trgm is available, unknown to the
# models (it cannot exist everywhere): autogenerate and the schema check skip it.
TRIGRAM_INDEX = "ix_partners_name_key_trgm"


def known_to_models(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's include_object: leave the optional trigram index alone."""
    return not (type_ == "index" and name == TRIGRAM_INDEX)


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


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Room(Base):
    """Per-room settings; a room without a row uses the configured defaults."""

    __tablename__ = "rooms"

    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    locale: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Member(Base):
    """A person of the group, keyed on the Matrix user id (never a display name)."""

    __tablename__ = "members"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    role: Mapped[int] = mapped_column(Integer, default=Role.MEMBER)
    display_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class InboxEvent(Base):
    """An event the bot may act on, stored with the sync token that brought it."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_room_status", "room_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    room_id: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(128))
    content: Mapped[dict[str, Any]]
    origin_ts: Mapped[datetime]
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=InboxStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]


class OutboxEvent(Base):
    """An event to send. Its transaction id is fixed when written, so a retry never posts twice."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    txn_id: Mapped[str] = mapped_column(String(64), unique=True)
    room_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(128))
    content: Mapped[dict[str, Any]]
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id", ondelete="SET NULL"))
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
    """Who changed what, when: settings, roles, and later every domain write."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(255))
    room_id: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]


# --- Partners: the group's contact book -------------------------------------------


class Partner(Base):
    """An organisation the group works with, or might."""

    __tablename__ = "partners"
    __table_args__ = (
        Index("ix_partners_status_updated", "status", "updated_at"),
        # Partners in use, alphabetically: the first page of `list`, its count, name search.
        Index("ix_partners_alive_name", "removed_at", "name_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)  # folded: case, accents
    kind: Mapped[str] = mapped_column(String(32))
    social_economy: Mapped[bool] = mapped_column(default=False)
    owner: Mapped[str | None] = mapped_column(String(255))
    consortium_member: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(32))
    website: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_interaction_at: Mapped[datetime] = mapped_column(index=True)
    removed_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))


class PartnerKind(enum.StrEnum):
    """What kind of organisation a partner is (the minutes: companies, institutions, ...)."""

    COMPANY = "company"
    INSTITUTION = "institution"
    ASSOCIATION = "association"
    FOUNDATION = "foundation"
    CRAFT = "craft"
    CHAMBER = "chamber"
    SCHOOL = "school"
    PUBLIC_AUTHORITY = "public_authority"
    OTHER = "other"


class PartnerStatus(enum.StrEnum):
    """Where a relationship stands, in pipeline order; `active` means formalised."""

    IDEA = "idea"
    TO_CONTACT = "to_contact"
    CONTACTED = "contacted"
    INTERESTED = "interested"
    NEGOTIATING = "negotiating"
    ACTIVE = "active"
    PAUSED = "paused"
    DECLINED = "declined"


class PartnerTag(Base):
    __tablename__ = "partner_tags"
    # Partners by tag, and tags by prefix (`find`): a range of this index.
    __table_args__ = (Index("ix_partner_tags_tag_partner", "tag", "partner_id"),)

    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True
    )
    # Folded; byte order on PostgreSQL so that a prefix is a range whatever the collation.
    tag: Mapped[str] = mapped_column(
        String(100).with_variant(String(100, collation="C"), "postgresql"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(100))


class PartnerPerson(Base):
    """Someone at a partner. Erasure blanks the details and keeps an anonymised row."""

    __tablename__ = "partner_people"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    erased_at: Mapped[datetime | None]


class PartnerEvent(Base):
    """One line of a partner's history: a note, a status change, an edit, a link."""

    __tablename__ = "partner_history"
    __table_args__ = (Index("ix_partner_history_partner_at", "partner_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    text_key: Mapped[str | None] = mapped_column(Text)  # folded, for search
    detail: Mapped[dict[str, Any]]


class LastList(Base):
    """The numbered list a user last saw, so `!partner show 3` means the third line."""

    __tablename__ = "last_lists"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    ids: Mapped[dict[str, Any]]
    at: Mapped[datetime]


class PendingAction(Base):
    """Something a user previewed and must confirm (an import), kept between two commands."""

    __tablename__ = "pending_actions"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[dict[str, Any]]
    at: Mapped[datetime]


class PartnerTerm(Base):
    """A folded word of a partner's name, tags, description, people or notes.

    `find` looks words up by prefix on this table's primary key instead of scanning
    every note; the rows of a partner are rebuilt whenever its searchable text changes.
    """

    __tablename__ = "partner_terms"
    __table_args__ = (Index("ix_partner_terms_partner_term", "partner_id", "term"),)

    # Byte order on PostgreSQL, so that a prefix is a range of the primary key whatever
    # the database's collation (SQLite compares bytes already).
    term: Mapped[str] = mapped_column(
        String(64).with_variant(String(64, collation="C"), "postgresql"), primary_key=True
    )
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True
    )


class PartnerGram(Base):
    """A trigram of a partner's name or tags: the candidates of typo-tolerant matching."""

    __tablename__ = "partner_grams"

    gram: Mapped[str] = mapped_column(String(3), primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True, index=True
    )
