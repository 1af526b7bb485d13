"""The partners' tables: organisations, their tags, people, history and search rows."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import GROUP_LENGTH, Base, GroupOwned


class Partner(GroupOwned, Base):
    """An organisation the group works with, or might."""

    __tablename__ = "partners"
    __table_args__ = (
        # Names are unique within a group (folded: case and accents aside).
        UniqueConstraint("group_id", "name_key", name="uq_partners_group_name"),
        Index("ix_partners_status_updated", "group_id", "status", "updated_at"),
        # Partners in use, alphabetically: the first page of `list`, its count, name search.
        Index("ix_partners_alive_name", "group_id", "removed_at", "name_key"),
        Index("ix_partners_group_interaction", "group_id", "last_interaction_at"),
        # What the digest reads of a week: added, touched, gone quiet.
        Index("ix_partners_group_alive_created", "group_id", "removed_at", "created_at"),
        Index("ix_partners_group_alive_updated", "group_id", "removed_at", "updated_at"),
        Index(
            "ix_partners_group_alive_status_interaction",
            "group_id",
            "removed_at",
            "status",
            "last_interaction_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))  # folded: case, accents
    kind: Mapped[str] = mapped_column(String(32))
    social_economy: Mapped[bool] = mapped_column(default=False)
    owner: Mapped[str | None] = mapped_column(String(255))
    consortium_member: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(32))
    website: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_interaction_at: Mapped[datetime]
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


class PartnerTag(GroupOwned, Base):
    __tablename__ = "partner_tags"
    # Partners by tag, and tags by prefix (`find`): a range of this index.
    __table_args__ = (Index("ix_partner_tags_tag_partner", "group_id", "tag", "partner_id"),)

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


class PartnerTerm(Base):
    """A folded word of a partner's name, tags, description, people or notes.

    `find` looks words up by prefix on this table's primary key instead of scanning
    every note; the rows of a partner are rebuilt whenever its searchable text changes.
    """

    __tablename__ = "partner_terms"
    __table_args__ = (Index("ix_partner_terms_partner_term", "partner_id", "term"),)

    group_id: Mapped[str] = mapped_column(String(GROUP_LENGTH), primary_key=True)
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

    group_id: Mapped[str] = mapped_column(String(GROUP_LENGTH), primary_key=True)
    gram: Mapped[str] = mapped_column(String(3), primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True, index=True
    )
