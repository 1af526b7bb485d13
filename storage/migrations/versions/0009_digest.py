"""the weekly digest: each group's schedule, who opted out of direct messages, and the
indexes its reads of a week need (follow-ups late by person and done in a period;
partners added, touched and gone quiet); the outbox's references grow beyond 64
characters (a reminder grouping many follow-ups)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 03:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> storage.types.UTCDateTime:
    return storage.types.UTCDateTime(timezone=True)


PARTNER_INDEXES = {
    "ix_partners_group_alive_created": ["group_id", "removed_at", "created_at"],
    "ix_partners_group_alive_updated": ["group_id", "removed_at", "updated_at"],
    "ix_partners_group_alive_status_interaction": [
        "group_id",
        "removed_at",
        "status",
        "last_interaction_at",
    ],
}


def upgrade() -> None:
    # A reminder grouping many follow-ups names them all (a ✅ on it closes them): the
    # outbox's reference to what a message was about outgrows 64 characters.
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "outbox", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ) as batch_op:
            batch_op.alter_column("ref_id", type_=sa.Text(), existing_nullable=True)
    else:
        op.alter_column("outbox", "ref_id", type_=sa.Text(), existing_nullable=True)
    with op.batch_alter_table("followups") as batch_op:
        batch_op.drop_index("ix_followups_group_status_due")
        batch_op.create_index(
            "ix_followups_group_status_due", ["group_id", "status", "due_at", "assignee"]
        )
        batch_op.create_index(
            "ix_followups_group_status_closed", ["group_id", "status", "closed_at"]
        )
    with op.batch_alter_table("partners") as batch_op:
        for name, columns in PARTNER_INDEXES.items():
            batch_op.create_index(name, columns)
    op.create_table(
        "digest_schedules",
        sa.Column("group_id", sa.String(length=255), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("clock", sa.String(length=5), nullable=False),
        sa.Column("next_at", _utc(), nullable=False),
        sa.Column("last_sent_at", _utc(), nullable=True),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_digest_schedules")),
    )
    with op.batch_alter_table("digest_schedules") as batch_op:
        batch_op.create_index("ix_digest_schedules_next", ["next_at"], unique=False)
    op.create_table(
        "digest_optouts",
        sa.Column("group_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_digest_optouts")),
    )


def downgrade() -> None:
    op.drop_table("digest_optouts")
    op.drop_table("digest_schedules")
    with op.batch_alter_table("partners") as batch_op:
        for name in PARTNER_INDEXES:
            batch_op.drop_index(name)
    if op.get_bind().dialect.name != "sqlite":  # SQLite does not hold the length anyway
        op.alter_column("outbox", "ref_id", type_=sa.String(length=64), existing_nullable=True)
    with op.batch_alter_table("followups") as batch_op:
        batch_op.drop_index("ix_followups_group_status_closed")
        batch_op.drop_index("ix_followups_group_status_due")
        batch_op.create_index("ix_followups_group_status_due", ["group_id", "status", "due_at"])
