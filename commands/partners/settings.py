"""The group's rules for its contact book: the `partners` section of the config file."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from commands.kit.settings import Section
from storage.models import PartnerKind
from storage.search import fold


def _check_consortium(members: list[str]) -> list[str]:
    seen: set[str] = set()
    for member in members:
        key = fold(member.strip())
        if not key:
            raise ValueError("a consortium member must have a name")
        if key in seen:
            raise ValueError(f'"{member}" is listed twice')
        seen.add(key)
    return [member.strip() for member in members]


def _check_unique_kinds(kinds: list[PartnerKind]) -> list[PartnerKind]:
    return list(dict.fromkeys(kinds))


class PartnersSettings(Section):
    """The group's rules for its contact book."""

    # Kinds of partner outside the group's scope: adding one needs a moderator's `force`.
    excluded_kinds: Annotated[list[PartnerKind], AfterValidator(_check_unique_kinds)] = Field(
        default_factory=lambda: [PartnerKind.PUBLIC_AUTHORITY]
    )
    # The consortium's members: a partner is effective once it formalises with one of them.
    consortium_members: Annotated[list[str], AfterValidator(_check_consortium)] = Field(
        default_factory=list
    )
