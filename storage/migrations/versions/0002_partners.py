"""partners (organisations, tags, people, history, search terms), last lists, pending actions, outbox attachments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 16:33:19.121333
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types
from storage.models import TRIGRAM_INDEX

logger = logging.getLogger(__name__)

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "last_lists",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ids", sa.JSON(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "room_id", "kind", name=op.f("pk_last_lists")),
    )
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("social_economy", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("consortium_member", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_interaction_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["partners.id"], name=op.f("fk_partners_merged_into_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("name_key", name=op.f("uq_partners_name_key")),
    )
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partners_last_interaction_at"), ["last_interaction_at"], unique=False
        )
        batch_op.create_index("ix_partners_status_updated", ["status", "updated_at"], unique=False)
        batch_op.create_index("ix_partners_alive_name", ["removed_at", "name_key"], unique=False)

    op.create_table(
        "pending_actions",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "room_id", "kind", name=op.f("pk_pending_actions")),
    )
    op.create_table(
        "partner_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("text_key", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_history_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_history")),
    )
    with op.batch_alter_table("partner_history", schema=None) as batch_op:
        batch_op.create_index("ix_partner_history_partner_at", ["partner_id", "at"], unique=False)

    op.create_table(
        "partner_people",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_people_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_people")),
    )
    with op.batch_alter_table("partner_people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_people_name_key"), ["name_key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_partner_people_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "partner_tags",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column(
            "tag",
            sa.String(length=100).with_variant(sa.String(length=100, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_tags_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_id", "tag", name=op.f("pk_partner_tags")),
    )
    with op.batch_alter_table("partner_tags", schema=None) as batch_op:
        batch_op.create_index("ix_partner_tags_tag_partner", ["tag", "partner_id"], unique=False)

    op.create_table(
        "partner_terms",
        sa.Column(
            "term",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_terms_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("term", "partner_id", name=op.f("pk_partner_terms")),
    )
    with op.batch_alter_table("partner_terms", schema=None) as batch_op:
        batch_op.create_index("ix_partner_terms_partner_term", ["partner_id", "term"], unique=False)

    op.create_table(
        "partner_grams",
        sa.Column("gram", sa.String(length=3), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_grams_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("gram", "partner_id", name=op.f("pk_partner_grams")),
    )
    with op.batch_alter_table("partner_grams", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_grams_partner_id"), ["partner_id"], unique=False
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachment", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("attachment_name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("attachment_type", sa.String(length=100), nullable=True))

    _trigram_index_on_postgresql()


def _trigram_index_on_postgresql() -> None:
    """On PostgreSQL with pg_trgm available, index names for `LIKE '%text%'` (find).

    Optional: without the extension (or the right to create it) find still works, by
    scanning the names; the migration goes on either way.
    """
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            op.execute(
                f"CREATE INDEX {TRIGRAM_INDEX} ON partners USING gin (name_key gin_trgm_ops)"
            )
    except sa.exc.DBAPIError as exc:
        logger.warning("no trigram index on partner names (pg_trgm unavailable): %s", exc)


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("attachment_type")
        batch_op.drop_column("attachment_name")
        batch_op.drop_column("attachment")

    with op.batch_alter_table("partner_grams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_grams_partner_id"))

    op.drop_table("partner_grams")
    with op.batch_alter_table("partner_terms", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_terms_partner_term")

    op.drop_table("partner_terms")
    with op.batch_alter_table("partner_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_tags_tag_partner")

    op.drop_table("partner_tags")
    with op.batch_alter_table("partner_people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_people_partner_id"))
        batch_op.drop_index(batch_op.f("ix_partner_people_name_key"))

    op.drop_table("partner_people")
    with op.batch_alter_table("partner_history", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_history_partner_at")

    op.drop_table("partner_history")
    op.drop_table("pending_actions")
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_index("ix_partners_status_updated")
        batch_op.drop_index("ix_partners_alive_name")
        batch_op.drop_index(batch_op.f("ix_partners_last_interaction_at"))

    op.drop_table("partners")
    op.drop_table("last_lists")
