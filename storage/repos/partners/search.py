"""Finding partners from what was typed: a name's prefix, a close name, and `search`
over names, tags and the words of everything else, forgiving of accents and typos.

Search reads the index tables that `index` keeps: `partner_terms` (folded words, looked
up by prefix on the primary key) and `partner_grams` (trigrams of names and tags, the
candidates of typo-tolerant matching, ranked with rapidfuzz).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import String, bindparam, case, desc, func, literal, null, select, union_all
from sqlalchemy.orm import aliased

from storage.models import Partner, PartnerEvent, PartnerGram, PartnerTag, PartnerTerm
from storage.repos.partners.records import PartnerRecords, alive, joined_labels, split_tags
from storage.search import fold, like_pattern, prefix_range, squash, trigrams, words

FUZZY_CUTOFF = 70.0  # rapidfuzz WRatio, 0-100: below it a name is not "close"
MAX_TERMS = 6  # words of a query that are looked up (the longest ones)
RARITY_PROBE = 1000  # index rows counted to tell a rare word from a common one


@dataclass(frozen=True)
class Hit:
    """A partner found by `search`, and why: rank 0 exact name ... 5 close (typo)."""

    partner: Partner
    tags: list[str]
    rank: int
    reason: str  # name | tag | text | close
    detail: str | None = None  # the tag, or the note that matched
    at: datetime | None = None  # when that note was written


@dataclass
class SearchResult:
    """A page of hits, and how many partners matched (counted up to the cap)."""

    hits: list[Hit]
    total: int
    capped: bool  # more partners matched than were counted


class PartnerSearch(PartnerRecords):
    """Finding a group's partners by name, by a close name, or by any word of theirs."""

    async def by_prefix(
        self, prefix: str, *, removed: bool = False, limit: int = 10
    ) -> list[Partner]:
        """Partners whose folded name starts with `prefix`, alphabetically."""
        # LIKE rather than a range: name_key has the database's collation, whose order
        # need not keep a prefix's strings together (10,000 names scan in a millisecond).
        rows = await self.session.scalars(
            select(Partner)
            .where(
                Partner.group_id == self.group,
                alive(removed),
                Partner.name_key.like(like_pattern(prefix, anywhere=False), escape="\\"),
            )
            .order_by(Partner.name_key)
            .limit(limit)
        )
        return list(rows)

    async def similar(self, text: str, *, removed: bool = False, limit: int = 3) -> list[Partner]:
        """Names close to `text`: containing it, else within a typo or two of it."""
        key = squash(text)
        if not key:
            return []
        rows = await self.session.scalars(
            select(Partner)
            .where(
                Partner.group_id == self.group,
                alive(removed),
                Partner.name_key.like(like_pattern(key), escape="\\"),
            )
            .order_by(func.length(Partner.name_key), Partner.name_key)
            .limit(limit)
        )
        found = list(rows)
        if len(found) < limit:
            for partner_id, *_ in await self._close(key, removed=removed, limit=limit):
                partner = await self.get(partner_id)
                if partner is not None and partner not in found:
                    found.append(partner)
        return found[:limit]

    async def search(self, text: str, *, limit: int = 20, cap: int = 200) -> SearchResult:
        """Partners whose name, tags, description, people or notes match `text`.

        Ranked: exact name, name prefix, name containing the text, tag, other text
        (every word of the query starts a word there); and only when nothing matched,
        names and tags within a typo or two ("close"). Each kind of match reads at most
        `cap` + 1 rows, so a common word costs no more than a rare one; the three kinds
        are one statement (on SQLite a round trip costs more than these queries).
        """
        key = squash(text)
        pattern = like_pattern(key)
        # partner id -> (sort key, reason, matching tag)
        found: dict[int, tuple[tuple[int, str], str, str | None]] = {}

        def keep(partner_id: int, order: tuple[int, str], reason: str, tag: str | None) -> None:
            if partner_id not in found or found[partner_id][0] > order:
                found[partner_id] = (order, reason, tag)

        terms = await self._rarest_first(words(text))
        params: dict[str, Any] = {"pattern": pattern, "group": self.group}
        params["tag_low"], params["tag_high"] = prefix_range(key)
        for index, term in enumerate(terms):
            params[f"low{index}"], params[f"high{index}"] = prefix_range(term)
        statement = _search_statement(len(terms), cap)
        sources: dict[str, set[int]] = {"name": set(), "tag": set(), "text": set()}
        rows = await self.session.execute(statement, params)
        for partner_id, name_key, source, tag in rows:
            sources[source].add(partner_id)
            if name_key is None:
                continue  # removed
            if source == "name":
                rank = 0 if name_key == key else 1 if name_key.startswith(key) else 2
                keep(partner_id, (rank, name_key), "name", None)
            else:
                keep(partner_id, (3 if source == "tag" else 4, name_key), source, tag)
        capped = max(len(ids) for ids in sources.values()) > cap or len(found) > cap
        if not found:
            for position, (partner_id, _name_key, _score, close_tag) in enumerate(
                await self._close(key, removed=False)
            ):
                keep(partner_id, (5, f"{position:04d}"), "close", close_tag)
        page = sorted(found.items(), key=lambda item: item[1][0])[:limit]
        ids = [partner_id for partner_id, _ in page]
        # The partners shown, their tags, and for those found in their text the latest
        # note holding the longest word (correlated LIMIT 1 scans on (partner_id, at)).
        texts = [i for i, (_, reason, _) in page if reason == "text"]
        longest = max(terms, key=len) if terms else ""
        rows = await self.session.execute(
            _shown_statement(self.dialect),
            {"ids": ids, "texts": texts or [-1], "note_pattern": like_pattern(longest)},
        )
        partners = {p.id: (p, split_tags(labels), at, note) for p, labels, at, note in rows}
        hits = []
        for partner_id, ((rank, _), reason, tag) in page:
            partner, labels, at, note = partners[partner_id]
            detail = note if note is not None else _label(labels, tag)
            hits.append(Hit(partner, labels, rank, reason, detail, at))
        return SearchResult(hits, min(len(found), cap), capped)

    async def _rarest_first(self, terms: Sequence[str]) -> list[str]:
        """The query's words, the one starting the fewest indexed words first (it drives
        the search; the others are probes). Counting stops at RARITY_PROBE rows a word:
        beyond that a word is common, whatever its count."""
        unique = sorted(set(terms), key=len, reverse=True)[:MAX_TERMS]
        if len(unique) < 2:
            return unique
        counts = []
        for term in unique:
            low, high = prefix_range(term)
            sample = (
                select(PartnerTerm.partner_id)
                .where(
                    PartnerTerm.group_id == self.group,
                    PartnerTerm.term >= low,
                    PartnerTerm.term < high,
                )
                .limit(RARITY_PROBE)
                .subquery()
            )
            counts.append(select(func.count()).select_from(sample).scalar_subquery())
        row = (await self.session.execute(select(*counts))).one()
        order = sorted(range(len(unique)), key=lambda i: (row[i], -len(unique[i])))
        return [unique[i] for i in order]

    async def _close(
        self, key: str, *, removed: bool, limit: int = 10
    ) -> list[tuple[int, str, float, str | None]]:
        """(id, name_key, score, tag) of partners whose name or a tag is within a typo or
        two of `key`, best first.

        The trigram table gives the candidates (those sharing the most trigrams with
        the query); rapidfuzz ranks them against the name and each tag.
        """
        grams = sorted(trigrams(key))
        if not grams:
            return []
        shared = func.count().label("shared")
        best = (
            select(PartnerGram.partner_id)
            .where(PartnerGram.group_id == self.group, PartnerGram.gram.in_(grams))
            .group_by(PartnerGram.partner_id)
            .order_by(desc(shared), PartnerGram.partner_id)
            .limit(40)
            .subquery()
        )
        rows = await self.session.execute(
            select(Partner.id, Partner.name_key, PartnerTag.tag, PartnerTag.label)
            .join(best, best.c.partner_id == Partner.id)
            .outerjoin(PartnerTag, PartnerTag.partner_id == Partner.id)
            .where(Partner.group_id == self.group, alive(removed))
        )
        scores: dict[int, tuple[float, str, str | None]] = {}
        for partner_id, name_key, tag, label in rows:
            if partner_id not in scores:
                scores[partner_id] = (fuzz.WRatio(key, name_key), name_key, None)
            if tag is not None:
                score = fuzz.WRatio(key, tag)
                if score > scores[partner_id][0]:
                    scores[partner_id] = (score, name_key, label)
        scored = [
            (partner_id, name_key, score, label)
            for partner_id, (score, name_key, label) in scores.items()
            if score >= FUZZY_CUTOFF
        ]
        scored.sort(key=lambda item: (-item[2], item[1]))
        return scored[:limit]


@functools.cache
def _search_statement(terms: int, cap: int) -> Any:
    """The statement of `search` for a number of words, built once (building it costs
    more than running it): names, tags and words matching, `cap` + 1 rows of each.

    Rows are (partner id, name_key or NULL when removed, source, folded tag). Parameters:
    `group`, `pattern` (LIKE, escaped with backslash), and `low<i>`/`high<i>` the prefix
    range of each word, longest first.
    """
    pattern: Any = bindparam("pattern", type_=String())
    group: Any = bindparam("group", type_=String())
    names = (
        select(Partner.id, Partner.name_key, literal("name"), null())
        .where(
            Partner.group_id == group,
            alive(False),
            Partner.name_key.like(pattern, escape="\\"),
        )
        .order_by(Partner.name_key)
        .limit(cap + 1)
        .subquery()
    )
    tags = (
        select(
            PartnerTag.partner_id,
            _name_of(PartnerTag.partner_id),
            literal("tag"),
            PartnerTag.tag,
        )
        .where(
            PartnerTag.group_id == group,
            PartnerTag.tag >= bindparam("tag_low"),
            PartnerTag.tag < bindparam("tag_high"),
        )
        .limit(cap + 1)
        .subquery()
    )
    members = [select(names), select(tags)]
    if terms:
        # Reads partner_terms only, so that every planner drives it from the longest
        # word's range of the primary key; it stops before any name is looked up. A
        # partner may come twice (two of its words share the prefix): callers keep one.
        inner = select(PartnerTerm.partner_id).where(
            PartnerTerm.group_id == group,
            PartnerTerm.term >= bindparam("low0"),
            PartnerTerm.term < bindparam("high0"),
        )
        for index in range(1, terms):
            other = aliased(PartnerTerm)
            # A correlated probe with LIMIT 1 rather than EXISTS: PostgreSQL turns EXISTS
            # into a hash semi-join reading the other word's whole range, where probing
            # (partner_id, term) for the rows before the LIMIT is cheap.
            probe = (
                select(literal(1))
                .where(
                    other.group_id == group,
                    other.partner_id == PartnerTerm.partner_id,
                    other.term >= bindparam(f"low{index}"),
                    other.term < bindparam(f"high{index}"),
                )
                .limit(1)
                .scalar_subquery()
            )
            inner = inner.where(probe.is_not(None))
        matches = inner.limit(2 * (cap + 1)).subquery()
        members.append(
            select(matches.c.partner_id, _name_of(matches.c.partner_id), literal("text"), null())
        )
    return union_all(*members)


@functools.cache
def _shown_statement(dialect: str) -> Any:
    """The partners a search shows, their tags, and for those found in their text the
    latest note holding the longest word (correlated LIMIT 1 scans on (partner_id, at)).
    Built once per dialect, like `_search_statement`: parameters `ids`, `texts`,
    `note_pattern`."""
    tag_list = (
        select(joined_labels(dialect))
        .where(PartnerTag.partner_id == Partner.id)
        .correlate(Partner)
        .scalar_subquery()
    )
    note_at, note_text = (
        case(
            (
                Partner.id.in_(bindparam("texts", expanding=True)),
                select(column)
                .where(
                    PartnerEvent.partner_id == Partner.id,
                    PartnerEvent.kind == "note",
                    PartnerEvent.text_key.like(bindparam("note_pattern"), escape="\\"),
                )
                .order_by(PartnerEvent.at.desc(), PartnerEvent.id.desc())
                .limit(1)
                .correlate(Partner)
                .scalar_subquery(),
            )
        )
        for column in (PartnerEvent.at, PartnerEvent.text)
    )
    return select(Partner, tag_list, note_at, note_text).where(
        Partner.id.in_(bindparam("ids", expanding=True))
    )


def _name_of(partner_id: Any) -> Any:
    """The folded name of a partner in use (NULL when removed), as a scalar subquery."""
    return select(Partner.name_key).where(Partner.id == partner_id, alive(False)).scalar_subquery()


def _label(labels: Sequence[str], tag: str | None) -> str | None:
    """The label of a (folded) tag among a partner's labels."""
    if tag is None:
        return None
    return next((label for label in labels if fold(label) == tag), tag)
