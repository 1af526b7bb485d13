"""decisions can be withdrawn (a meeting's `!undo` of its `!agreed`): when and by whom

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00.000000

A withdrawn decision keeps its row, so that its number is never given to another one
(numbers follow the highest one recorded); the log no longer shows it. A proposal is
withdrawn the same way, by its status (a string column: nothing to change here).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch_op:
        batch_op.add_column(
            sa.Column("withdrawn_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("withdrawn_by", sa.String(length=255), nullable=True))


def downgrade() -> None:
    # Before 0010 nothing is withdrawn: the decisions withdrawn so far would come back
    # into the log, so they leave it for good; a withdrawn proposal reads as rejected,
    # its note saying why.
    op.execute(sa.text("DELETE FROM decisions WHERE withdrawn_at IS NOT NULL"))
    op.execute(sa.text("UPDATE proposals SET status = 'rejected' WHERE status = 'withdrawn'"))
    with op.batch_alter_table("decisions") as batch_op:
        batch_op.drop_column("withdrawn_by")
        batch_op.drop_column("withdrawn_at")
