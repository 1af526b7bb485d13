"""How one domain names another's records without importing its code.

A follow-up, a decision or an agenda item may concern a partner: the user types
`partner=KidiTap` (a name, a prefix, a number from their last list) and the partners
domain, which knows how its records are named, resolves it. It declares that in its
descriptor (`Domain.lookups`); the others call `Context.lookup("partner", text)` and
get the record's id and name, or the partners domain's own clear answer (an unknown
name, a choice between several).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from commands.kit.context import Context


@dataclass(frozen=True)
class Named:
    """A record of another domain, as a command names it."""

    kind: str
    id: int
    name: str


Lookup = Callable[["Context", str], Awaitable[Named]]
