"""The weekly digest's tables: when each group's next digest goes out, and who asked
not to receive it by direct message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import GROUP_LENGTH, Base


class DigestSchedule(Base):
    """A group's digest: its weekly slot (local weekday and time in the main room's
    time zone) and the next one, stored so that a slot missed during a downtime is
    sent once after the restart, labelled with its period."""

    __tablename__ = "digest_schedules"
    __table_args__ = (Index("ix_digest_schedules_next", "next_at"),)

    group_id: Mapped[str] = mapped_column(String(GROUP_LENGTH), primary_key=True)
    weekday: Mapped[int]  # 0 is Monday
    clock: Mapped[str] = mapped_column(String(5))  # "09:00", local
    next_at: Mapped[datetime]
    last_sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(255))


class DigestOptOut(Base):
    """A member who does not want the digest by direct message (`!digest off`)."""

    __tablename__ = "digest_optouts"

    group_id: Mapped[str] = mapped_column(String(GROUP_LENGTH), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    at: Mapped[datetime]
