"""Migration 0003: rows written before groups existed join the configured room's group."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from storage.db import Database
from storage.models import Role
from storage.repos.core import MemberRepository
from storage.repos.partners import PartnerRepository

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


async def test_existing_rows_join_the_default_group(empty_db_url: str) -> None:
    db = Database(empty_db_url)
    try:
        await db.upgrade(revision="0002")
        async with db.engine.begin() as conn:
            stamp = NOW.replace(tzinfo=None) if db.is_sqlite else NOW
            await conn.execute(
                text(
                    "INSERT INTO partners (name, name_key, kind, social_economy, status, "
                    "created_at, updated_at, last_interaction_at) VALUES "
                    "('KidiTap', 'kiditap', 'company', false, 'idea', :t, :t, :t)"
                ),
                {"t": stamp},
            )
            await conn.execute(
                text("INSERT INTO partner_tags (partner_id, tag, label) VALUES (1, 'jeux', 'jeux')")
            )
            await conn.execute(
                text("INSERT INTO partner_terms (term, partner_id) VALUES ('kiditap', 1)")
            )
            await conn.execute(
                text(
                    "INSERT INTO partner_people (partner_id, name, name_key, created_at, "
                    "updated_at) VALUES (1, 'Anne', 'anne', :t, :t)"
                ),
                {"t": stamp},
            )
            await conn.execute(
                text(
                    "INSERT INTO partner_history (partner_id, at, actor, kind, text, detail) "
                    "VALUES (1, :t, '@bob:x', 'note', 'Atelier', '{}')"
                ),
                {"t": stamp},
            )
            await conn.execute(
                text("INSERT INTO partner_grams (gram, partner_id) VALUES (' ki', 1)")
            )
            await conn.execute(
                text(
                    "INSERT INTO members (user_id, role, created_at, updated_at) "
                    "VALUES ('@carol:x', 2, :t, :t)"
                ),
                {"t": stamp},
            )
            await conn.execute(
                text(
                    "INSERT INTO pending_actions (user_id, room_id, kind, payload, at) "
                    "VALUES ('@carol:x', '!r', 'partner_import', '{}', :t)"
                ),
                {"t": stamp},
            )
        await db.upgrade(default_group="partenariats")
        assert await db.current_revision() == Database.head_revision()
        async with db.unit_of_work() as uow:
            book = uow.repo(PartnerRepository, "partenariats")
            kidi = await book.by_key("kiditap")
            assert kidi is not None
            assert (await book.tags_of([kidi.id]))[kidi.id] == ["jeux"]
            assert [hit.partner.name for hit in (await book.search("kidi")).hits] == ["KidiTap"]
            # Rebuilding tables on SQLite cascaded nothing away.
            assert [p.name for p in await book.people(kidi.id)] == ["Anne"]
            events, total = await book.history(kidi.id)
            assert (total, events[0].text) == (1, "Atelier")
            members = uow.repo(MemberRepository, "partenariats")
            assert await members.role_of("@carol:x") == Role.MODERATOR
            # Another group sees none of it.
            assert await uow.repo(PartnerRepository, "!ailleurs").by_key("kiditap") is None
            assert await uow.repo(MemberRepository, "!ailleurs").role_of("@carol:x") == Role.MEMBER
            pending = await uow.conversation.pending("@carol:x", "!r", "partners", "import")
            assert pending is not None
    finally:
        await db.dispose()
