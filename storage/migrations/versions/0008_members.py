"""members: join requests, and how each member came into a room

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 03:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> storage.types.UTCDateTime:
    return storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "join_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("notified_at", _utc(), nullable=True),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", _utc(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("group_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_join_requests")),
    )
    with op.batch_alter_table("join_requests") as batch_op:
        batch_op.create_index(
            "ix_join_requests_group_status", ["group_id", "status", "created_at"], unique=False
        )
        batch_op.create_index("ix_join_requests_group_user", ["group_id", "user_id"], unique=False)
        batch_op.create_index(
            "ix_join_requests_status_notified", ["status", "notified_at"], unique=False
        )
        batch_op.create_index(
            "ix_join_requests_status_expires", ["status", "expires_at"], unique=False
        )
    op.create_table(
        "admissions",
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("joined_at", _utc(), nullable=True),
        sa.Column("left_at", _utc(), nullable=True),
        sa.Column("invited_by", sa.String(length=255), nullable=True),
        sa.Column("approved_by", sa.String(length=255), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("power_level", sa.Integer(), nullable=True),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("group_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "user_id", name=op.f("pk_admissions")),
    )
    with op.batch_alter_table("admissions") as batch_op:
        batch_op.create_index("ix_admissions_group_user", ["group_id", "user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("admissions")
    op.drop_table("join_requests")
