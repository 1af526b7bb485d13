"""The partners domain's router and its `!partner` (`!partenaire`) group, on which every
command module of the domain declares its sub-commands."""

from __future__ import annotations

from commands.kit.registry import Router

router = Router("partners")
PARTNER = router.group("partner", fr="partenaire", aliases=("partners", "partenaires"))
