"""meetings: agendas, minutes items, attendees and raw logs

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 03:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> storage.types.UTCDateTime:
    return storage.types.UTCDateTime(timezone=True)


def _meeting_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["meeting_id"],
        ["meetings.id"],
        name=op.f(f"fk_{table}_meeting_id_meetings"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scheduled_at", _utc(), nullable=True),
        sa.Column("scheduled_by", sa.String(length=255), nullable=True),
        sa.Column("rule", sa.String(length=255), nullable=True),
        sa.Column("rule_text", sa.Text(), nullable=True),
        sa.Column("series_start", _utc(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("reminder_at", _utc(), nullable=True),
        sa.Column("next_due_at", _utc(), nullable=True),
        sa.Column("chairs", sa.JSON(), nullable=False),
        sa.Column("current_topic_id", sa.Integer(), nullable=True),
        sa.Column("started_at", _utc(), nullable=True),
        sa.Column("started_by", sa.String(length=255), nullable=True),
        sa.Column("ended_at", _utc(), nullable=True),
        sa.Column("ended_by", sa.String(length=255), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("group_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        sa.UniqueConstraint("group_id", "number", name="uq_meetings_group_number"),
    )
    with op.batch_alter_table("meetings") as batch_op:
        batch_op.create_index(
            "ix_meetings_group_room_status", ["group_id", "room_id", "status"], unique=False
        )
        batch_op.create_index("ix_meetings_next_due", ["next_due_at"], unique=False)

    op.create_table(
        "meeting_agenda",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("from_meeting", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("added_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        _meeting_fk("meeting_agenda"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_agenda")),
    )
    with op.batch_alter_table("meeting_agenda") as batch_op:
        batch_op.create_index(
            "ix_meeting_agenda_meeting", ["meeting_id", "status", "position"], unique=False
        )

    op.create_table(
        "meeting_attendees",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        _meeting_fk("meeting_attendees"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_attendees")),
    )
    with op.batch_alter_table("meeting_attendees") as batch_op:
        batch_op.create_index("ix_meeting_attendees_meeting", ["meeting_id"], unique=False)

    op.create_table(
        "meeting_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("assignee", sa.String(length=255), nullable=True),
        sa.Column("due_at", _utc(), nullable=True),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("ref_id", sa.Integer(), nullable=True),
        sa.Column("ref_number", sa.Integer(), nullable=True),
        sa.Column("agenda_item_id", sa.Integer(), nullable=True),
        _meeting_fk("meeting_items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_items")),
    )
    with op.batch_alter_table("meeting_items") as batch_op:
        batch_op.create_index("ix_meeting_items_meeting", ["meeting_id", "seq"], unique=False)

    op.create_table(
        "meeting_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("sender", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("msgtype", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _meeting_fk("meeting_log"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_log")),
    )
    with op.batch_alter_table("meeting_log") as batch_op:
        batch_op.create_index("ix_meeting_log_meeting", ["meeting_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("meeting_log")
    op.drop_table("meeting_items")
    op.drop_table("meeting_attendees")
    op.drop_table("meeting_agenda")
    op.drop_table("meetings")
