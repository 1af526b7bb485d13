"""The partners' repository (see `book`), in parts: `records` (one partner's rows and
history), `lists`, `search`, `people`, `index` and `activity`, joined by
`PartnerRepository`."""

from storage.repos.partners.book import Card, MergeReport, PartnerRepository
from storage.repos.partners.index import PartnerIndex
from storage.repos.partners.lists import Listed, PartnerFilter, PartnerLists
from storage.repos.partners.people import Erasure, PartnerPeople
from storage.repos.partners.records import PartnerRecords
from storage.repos.partners.search import Hit, PartnerSearch, SearchResult

__all__ = [
    "Card",
    "Erasure",
    "Hit",
    "Listed",
    "MergeReport",
    "PartnerFilter",
    "PartnerIndex",
    "PartnerLists",
    "PartnerPeople",
    "PartnerRecords",
    "PartnerRepository",
    "PartnerSearch",
    "SearchResult",
]
