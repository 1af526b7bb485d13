"""inbox and outbox ids are never reused on SQLite (AUTOINCREMENT)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 03:00:00.000000

Without AUTOINCREMENT, SQLite gives a new row the highest id plus one: once retention
deletes the newest rows, their ids come back. The runtime orders events and messages
by id, so they must only grow. PostgreSQL's sequences never go back: nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in ("inbox", "outbox"):
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in ("inbox", "outbox"):
        with op.batch_alter_table(table, recreate="always"):
            pass
