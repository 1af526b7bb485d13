"""The polls domain's router and its command groups: `!poll` (`!sondage`),
`!decision` (`!décision`) and `!proposal` (`!proposition`)."""

from __future__ import annotations

from commands.kit.registry import Router

router = Router("polls")
POLL = router.group("poll", fr="sondage")
DECISION = router.group("decision", fr="décision", aliases=("decision",))
PROPOSAL = router.group("proposal", fr="proposition")
