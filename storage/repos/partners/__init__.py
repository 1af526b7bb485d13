"""The partners' repository (see `book`)."""

from storage.repos.partners.book import (
    Card,
    Erasure,
    Hit,
    Listed,
    MergeReport,
    PartnerFilter,
    PartnerRepository,
    SearchResult,
)

__all__ = [
    "Card",
    "Erasure",
    "Hit",
    "Listed",
    "MergeReport",
    "PartnerFilter",
    "PartnerRepository",
    "SearchResult",
]
