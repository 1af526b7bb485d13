"""The search index of the partners, kept beside their rows: `partner_terms` (folded
words of names, tags, descriptions, people and notes) and `partner_grams` (trigrams of
names and tags, the candidates of typo-tolerant matching). `search` reads them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select

from storage.models import PartnerEvent, PartnerGram, PartnerTerm
from storage.repos.partners.records import PartnerRecords
from storage.search import trigrams, words


def index_rows(
    name: str, tags: Sequence[str] = (), texts: Sequence[str] = ()
) -> tuple[list[str], list[str]]:
    """The search rows of a partner: the words of everything, the trigrams of the name
    and tags (each once, sorted)."""
    grams = trigrams(name)
    terms = words(name)
    for tag in tags:
        grams |= trigrams(tag)
        terms += words(tag)
    for text in texts:
        terms += words(text)
    return sorted(set(terms)), sorted(grams)


class PartnerIndex(PartnerRecords):
    """Writing a group's partners into the search tables (rows only ever added, except
    by `reindex`, which rebuilds one partner's from what is stored now)."""

    async def reindex(self, partner_id: int) -> None:
        """Rebuild a partner's search rows from what is stored now (after an edit, an erasure)."""
        for model in (PartnerTerm, PartnerGram):
            await self.session.execute(
                delete(model).where(model.group_id == self.group, model.partner_id == partner_id)
            )
        partner = await self.get(partner_id)
        if partner is None:
            return
        tags = (await self.tags_of([partner_id]))[partner_id]
        people = await self.people(partner_id)
        notes = await self.session.scalars(
            select(PartnerEvent.text).where(
                PartnerEvent.partner_id == partner_id,
                PartnerEvent.kind == "note",
                PartnerEvent.text.is_not(None),
            )
        )
        texts = [partner.description or ""]
        texts += [f"{p.name} {p.role or ''}" for p in people]
        texts += [t for t in notes if t]
        await self._index(partner_id, name=partner.name, tags=tags, texts=texts)

    async def _index(
        self,
        partner_id: int,
        *,
        name: str,
        tags: Sequence[str] = (),
        texts: Sequence[str] = (),
    ) -> None:
        """Add search rows: words of everything, trigrams of the name and tags."""
        terms, grams = index_rows(name, tags, texts)
        await self._add_terms(partner_id, terms)
        if grams:
            await self._insert_ignore(
                PartnerGram,
                [{"group_id": self.group, "gram": g, "partner_id": partner_id} for g in grams],
            )

    async def _add_terms(self, partner_id: int, terms: Iterable[str]) -> None:
        unique = sorted(set(terms))
        if unique:
            await self._insert_ignore(
                PartnerTerm,
                [{"group_id": self.group, "term": t, "partner_id": partner_id} for t in unique],
            )

    async def _insert_ignore(
        self, model: type[PartnerTerm] | type[PartnerGram], rows: list[dict[str, Any]]
    ) -> None:
        """Insert rows, skipping those already there (a word seen twice): one statement,
        compiled once, executed for every row by the driver."""
        if rows:
            # On the table, not the mapped class: the driver's executemany, without the
            # ORM's bookkeeping for each of (for an import) a hundred thousand rows.
            table: Any = model.__table__
            await self.session.execute(self.insert(table).on_conflict_do_nothing(), rows)
