"""The partners' repository on each backend: schema, search tables, interaction times."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from storage.db import Database
from storage.models import Base, PartnerGram, PartnerTerm, known_to_models
from storage.repos.partners import PartnerFilter, PartnerRepository
from storage.search import trigrams, words

GROUP = "!groupe"

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ACTOR = "@alice:fablab.test"


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.upgrade()
    yield database
    await database.dispose()


async def test_migrations_match_the_models(db: Database) -> None:
    """0002 was written for these models: nothing left for autogenerate to find."""
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(
                MigrationContext.configure(
                    c, opts={"compare_type": True, "include_object": known_to_models}
                ),
                Base.metadata,
            )
        )
    assert diff == []


async def terms_of(db: Database, partner_id: int) -> set[str]:
    async with db.unit_of_work() as uow:
        rows = await uow.session.scalars(
            select(PartnerTerm.term).where(PartnerTerm.partner_id == partner_id)
        )
        return set(rows)


async def test_search_rows_follow_the_card(db: Database) -> None:
    async with db.unit_of_work() as uow:
        kidi = await uow.repo(PartnerRepository, GROUP).create(
            name="KidiTap",
            kind="company",
            status="idea",
            description="Jeux éducatifs",
            tags=["Économie sociale"],
            actor=ACTOR,
            now=NOW,
        )
        kidi_id = kidi.id
    assert await terms_of(db, kidi_id) == {"kiditap", "jeux", "educatifs", "economie", "sociale"}
    async with db.unit_of_work() as uow:
        kidi = await uow.repo(PartnerRepository, GROUP).get(kidi_id)
        assert kidi is not None
        await uow.repo(PartnerRepository, GROUP).add_note(
            kidi, "Œuvre commune, atelier", actor=ACTOR, now=NOW
        )
        await uow.repo(PartnerRepository, GROUP).update(
            kidi, {"name": "Kidi Tap", "description": None}, actor=ACTOR, now=NOW
        )
    assert await terms_of(db, kidi_id) == {
        "kidi",
        "tap",
        "economie",
        "sociale",
        "œuvre",
        "commune",
        "atelier",
    }
    async with db.unit_of_work() as uow:
        grams = set(
            await uow.session.scalars(
                select(PartnerGram.gram).where(PartnerGram.partner_id == kidi_id)
            )
        )
        assert grams == trigrams("Kidi Tap") | trigrams("Économie sociale")
        # Prefixes are ranges of the primary key, non-ASCII included (byte order on PG).
        found = await uow.repo(PartnerRepository, GROUP).search("œuv")
        assert [h.partner.name for h in found.hits] == ["Kidi Tap"]
        assert (
            await uow.repo(PartnerRepository, GROUP).search("educatifs")
        ).hits == []  # description cleared


async def test_interactions_move_last_interaction_but_edits_do_not(db: Database) -> None:
    async with db.unit_of_work() as uow:
        kidi = await uow.repo(PartnerRepository, GROUP).create(
            name="KidiTap", kind="company", status="idea", actor=ACTOR, now=NOW
        )
        later = NOW + timedelta(days=3)
        await uow.repo(PartnerRepository, GROUP).update(
            kidi, {"website": "https://kiditap.fr"}, actor=ACTOR, now=later
        )
        assert (kidi.last_interaction_at, kidi.updated_at) == (NOW, later)
        await uow.repo(PartnerRepository, GROUP).update(
            kidi, {"status": "interested"}, actor=ACTOR, now=later
        )
        assert kidi.last_interaction_at == later
        even_later = later + timedelta(days=1)
        await uow.repo(PartnerRepository, GROUP).link(
            kidi, type_="meeting", ref="4", text=None, actor=ACTOR, now=even_later
        )
        assert kidi.last_interaction_at == even_later
        quiet, total = await uow.repo(PartnerRepository, GROUP).page(
            PartnerFilter(statuses=("interested",), quiet_since=even_later + timedelta(days=1)),
            limit=10,
        )
        assert (total, [q.partner.name for q in quiet]) == (1, ["KidiTap"])


def test_words_and_trigrams() -> None:
    assert words("L'école d'Île-de-France : 3D, a") == ["ecole", "ile", "de", "france", "3d"]
    assert trigrams("Kidi") == {" ki", "kid", "idi", "di "}


async def test_search_reads_a_bounded_number_of_rows(db: Database) -> None:
    async with db.unit_of_work() as uow:
        for number in range(12):
            partner = await uow.repo(PartnerRepository, GROUP).create(
                name=f"Atelier {number:02d}", kind="other", status="idea", actor=ACTOR, now=NOW
            )
            await uow.repo(PartnerRepository, GROUP).add_note(
                partner, "atelier commun", actor=ACTOR, now=NOW
            )
        found = await uow.repo(PartnerRepository, GROUP).search("atelier", limit=5, cap=10)
        assert found.capped
        assert found.total == 10
        assert [h.partner.name for h in found.hits] == [f"Atelier {n:02d}" for n in range(5)]
        # Several words: each must start a word of the partner (the rarest drives).
        found = await uow.repo(PartnerRepository, GROUP).search("commun 07")
        assert [h.partner.name for h in found.hits] == ["Atelier 07"]
