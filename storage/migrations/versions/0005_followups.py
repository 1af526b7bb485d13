"""follow-ups and their history

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 04:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> storage.types.UTCDateTime:
    return storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "followups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("assignee", sa.String(length=255), nullable=False),
        sa.Column("creator", sa.String(length=255), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("due_at", _utc(), nullable=True),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("next_reminder_at", _utc(), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("overdue_reminders", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.Column("group_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followups")),
        sa.UniqueConstraint("group_id", "number", name="uq_followups_group_number"),
    )
    with op.batch_alter_table("followups") as batch_op:
        batch_op.create_index(
            "ix_followups_next_reminder", ["next_reminder_at", "group_id"], unique=False
        )
        batch_op.create_index(
            "ix_followups_group_status_due", ["group_id", "status", "due_at"], unique=False
        )
        batch_op.create_index(
            "ix_followups_group_assignee", ["group_id", "assignee", "status"], unique=False
        )
    op.create_table(
        "followup_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("followup_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["followup_id"],
            ["followups.id"],
            name=op.f("fk_followup_events_followup_id_followups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_events")),
    )
    with op.batch_alter_table("followup_events") as batch_op:
        batch_op.create_index("ix_followup_events_followup", ["followup_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_table("followup_events")
    op.drop_table("followups")
