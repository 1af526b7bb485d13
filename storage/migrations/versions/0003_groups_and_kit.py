"""groups own their data; outbox actions, refs and direct messages; room members;
generic last lists and pending actions; cross-domain links

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 23:30:00.000000

Every row that existed before belongs to the group of the configured room: the bot
passes it as the `default_group` attribute (`Database.upgrade(default_group=...)`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Used when the caller names no group (a plain `alembic upgrade`): the console's room.
FALLBACK_GROUP = "!console"


def _default_group() -> str:
    config = op.get_context().config
    group = config.attributes.get("default_group") if config is not None else None
    return str(group) if group else FALLBACK_GROUP


def _utc() -> storage.types.UTCDateTime:
    return storage.types.UTCDateTime(timezone=True)


def _rebuild(
    table: str,
    create: Callable[[str], None],
    columns: str,
    select: str,
    *,
    indexes: Sequence[str] = (),
    pk: str | None = None,
    params: dict[str, str] | None = None,
) -> None:
    """Replace a table whose primary key changes: create the new one beside it, copy,
    drop the old one. `select` reads from the old table, renamed `<table>_old`, with
    bound `params`."""
    old = f"{table}_old"
    for index in indexes:
        op.drop_index(index, table_name=table)
    op.rename_table(table, old)
    if pk is not None and op.get_bind().dialect.name == "postgresql":
        # PostgreSQL names constraints per schema: free the name for the new table.
        op.execute(f'ALTER TABLE "{old}" RENAME CONSTRAINT "{pk}" TO "{pk}_old"')
    create(table)
    copy = f'INSERT INTO "{table}" ({columns}) {select.format(old=old)}'
    op.get_bind().execute(sa.text(copy), params or {})
    op.drop_table(old)


def upgrade() -> None:
    group = _default_group()

    # --- Roles per group.
    def members(name: str) -> None:
        op.create_table(
            name,
            sa.Column("group_id", sa.String(length=255), nullable=False),
            sa.Column("user_id", sa.String(length=255), nullable=False),
            sa.Column("role", sa.Integer(), nullable=False),
            sa.Column("display_name", sa.String(length=255), nullable=True),
            sa.Column("created_at", _utc(), nullable=False),
            sa.Column("updated_at", _utc(), nullable=False),
            sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_members")),
        )

    _rebuild(
        "members",
        members,
        "group_id, user_id, role, display_name, created_at, updated_at",
        "SELECT :group, user_id, role, display_name, created_at, updated_at FROM {old}",
        pk="pk_members",
        params={"group": group},
    )

    # --- Who is in which room; direct-message rooms.
    op.create_table(
        "room_members",
        sa.Column("room_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("membership", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "user_id", name=op.f("pk_room_members")),
    )
    op.create_index("ix_room_members_user", "room_members", ["user_id", "membership"])
    op.create_table(
        "direct_rooms",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=True),
        sa.Column("group_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_direct_rooms")),
        sa.UniqueConstraint("room_id", name=op.f("uq_direct_rooms_room_id")),
    )

    # --- Inbox and outbox: groups, actions, references, direct messages.
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("group_id", sa.String(length=255), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("action", sa.String(length=16), nullable=False, server_default="message")
        )
        batch_op.add_column(sa.Column("user_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("state_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("group_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("ref_domain", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("ref_kind", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("ref_id", sa.String(length=64), nullable=True))
        batch_op.alter_column("room_id", existing_type=sa.String(length=255), nullable=True)
        batch_op.create_index("ix_outbox_event_id", ["event_id"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("action", existing_type=sa.String(length=16), server_default=None)

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_id", sa.String(length=255), nullable=True))
        batch_op.create_index("ix_audit_log_group_at", ["group_id", "at"], unique=False)
    op.get_bind().execute(sa.text("UPDATE audit_log SET group_id = :group"), {"group": group})

    # --- Conversation memory, keyed by domain.
    def last_lists(name: str) -> None:
        op.create_table(
            name,
            sa.Column("user_id", sa.String(length=255), nullable=False),
            sa.Column("room_id", sa.String(length=255), nullable=False),
            sa.Column("domain", sa.String(length=32), nullable=False),
            sa.Column("ids", sa.JSON(), nullable=False),
            sa.Column("at", _utc(), nullable=False),
            sa.PrimaryKeyConstraint("user_id", "room_id", "domain", name=op.f("pk_last_lists")),
        )

    _rebuild(
        "last_lists",
        last_lists,
        "user_id, room_id, domain, ids, at",
        "SELECT user_id, room_id, kind, ids, at FROM {old}",
        pk="pk_last_lists",
    )

    def pending_actions(name: str) -> None:
        op.create_table(
            name,
            sa.Column("user_id", sa.String(length=255), nullable=False),
            sa.Column("room_id", sa.String(length=255), nullable=False),
            sa.Column("domain", sa.String(length=32), nullable=False),
            sa.Column("kind", sa.String(length=32), nullable=False),
            sa.Column("payload", sa.JSON(), nullable=False),
            sa.Column("at", _utc(), nullable=False),
            sa.PrimaryKeyConstraint(
                "user_id", "room_id", "domain", "kind", name=op.f("pk_pending_actions")
            ),
        )

    # The partners' import was the only pending action: `partner_import` becomes
    # (partners, import).
    _rebuild(
        "pending_actions",
        pending_actions,
        "user_id, room_id, domain, kind, payload, at",
        "SELECT user_id, room_id, 'partners', 'import', payload, at FROM {old} "
        "WHERE kind = 'partner_import'",
        pk="pk_pending_actions",
    )

    # --- Links between records of different domains.
    op.create_table(
        "links",
        sa.Column("group_id", sa.String(length=255), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_kind", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("target_kind", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
    )
    op.create_index("ix_links_target", "links", ["group_id", "target_kind", "target_id", "open"])
    op.create_index("ix_links_source", "links", ["group_id", "source_kind", "source_id"])

    # --- Partners belong to a group; names are unique within it.
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("group_id", sa.String(length=255), nullable=False, server_default=group)
        )
        batch_op.drop_constraint("uq_partners_name_key", type_="unique")
        batch_op.create_unique_constraint("uq_partners_group_name", ["group_id", "name_key"])
        batch_op.drop_index("ix_partners_status_updated")
        batch_op.drop_index("ix_partners_alive_name")
        batch_op.drop_index("ix_partners_last_interaction_at")
        batch_op.create_index(
            "ix_partners_status_updated", ["group_id", "status", "updated_at"], unique=False
        )
        batch_op.create_index(
            "ix_partners_alive_name", ["group_id", "removed_at", "name_key"], unique=False
        )
        batch_op.create_index(
            "ix_partners_group_interaction", ["group_id", "last_interaction_at"], unique=False
        )
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.alter_column("group_id", existing_type=sa.String(length=255), server_default=None)

    with op.batch_alter_table("partner_tags", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("group_id", sa.String(length=255), nullable=False, server_default=group)
        )
        batch_op.drop_index("ix_partner_tags_tag_partner")
        batch_op.create_index(
            "ix_partner_tags_tag_partner", ["group_id", "tag", "partner_id"], unique=False
        )
    with op.batch_alter_table("partner_tags", schema=None) as batch_op:
        batch_op.alter_column("group_id", existing_type=sa.String(length=255), server_default=None)

    def terms(name: str) -> None:
        op.create_table(
            name,
            sa.Column("group_id", sa.String(length=255), nullable=False),
            sa.Column(
                "term",
                sa.String(length=64).with_variant(
                    sa.String(length=64, collation="C"), "postgresql"
                ),
                nullable=False,
            ),
            sa.Column("partner_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["partner_id"],
                ["partners.id"],
                name=op.f("fk_partner_terms_partner_id_partners"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint(
                "group_id", "term", "partner_id", name=op.f("pk_partner_terms")
            ),
        )

    _rebuild(
        "partner_terms",
        terms,
        "group_id, term, partner_id",
        "SELECT p.group_id, t.term, t.partner_id FROM {old} t JOIN partners p ON p.id = t.partner_id",
        indexes=["ix_partner_terms_partner_term"],
        pk="pk_partner_terms",
    )
    op.create_index("ix_partner_terms_partner_term", "partner_terms", ["partner_id", "term"])

    def grams(name: str) -> None:
        op.create_table(
            name,
            sa.Column("group_id", sa.String(length=255), nullable=False),
            sa.Column("gram", sa.String(length=3), nullable=False),
            sa.Column("partner_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["partner_id"],
                ["partners.id"],
                name=op.f("fk_partner_grams_partner_id_partners"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint(
                "group_id", "gram", "partner_id", name=op.f("pk_partner_grams")
            ),
        )

    _rebuild(
        "partner_grams",
        grams,
        "group_id, gram, partner_id",
        "SELECT p.group_id, g.gram, g.partner_id FROM {old} g JOIN partners p ON p.id = g.partner_id",
        indexes=["ix_partner_grams_partner_id"],
        pk="pk_partner_grams",
    )
    op.create_index("ix_partner_grams_partner_id", "partner_grams", ["partner_id"])

    # Links other domains recorded in a partner's history join the links table.
    history = sa.table(
        "partner_history",
        sa.column("partner_id", sa.Integer()),
        sa.column("at", _utc()),
        sa.column("actor", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("text", sa.Text()),
        sa.column("detail", sa.JSON()),
    )
    links = sa.table(
        "links",
        sa.column("group_id", sa.String()),
        sa.column("source_kind", sa.String()),
        sa.column("source_id", sa.String()),
        sa.column("target_kind", sa.String()),
        sa.column("target_id", sa.String()),
        sa.column("text", sa.Text()),
        sa.column("open", sa.Boolean()),
        sa.column("actor", sa.String()),
        sa.column("created_at", _utc()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            history.c.partner_id, history.c.at, history.c.actor, history.c.text, history.c.detail
        ).where(history.c.kind == "link")
    ).all()
    if rows:
        op.bulk_insert(
            links,
            [
                {
                    "group_id": group,
                    "source_kind": str(detail.get("type") or "unknown")[:32],
                    "source_id": str(detail.get("ref") or "")[:64],
                    "target_kind": "partner",
                    "target_id": str(partner_id),
                    "text": text,
                    "open": bool(detail.get("open", True)),
                    "actor": actor,
                    "created_at": at,
                }
                for partner_id, at, actor, text, detail in rows
                if isinstance(detail, dict)
            ],
        )


def downgrade() -> None:
    raise NotImplementedError("0003 cannot be undone: groups cannot be merged back safely")
