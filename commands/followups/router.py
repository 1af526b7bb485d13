"""The follow-ups domain's router: `!followup` (`!relance`) with its sub-commands, and
the short commands members type most (`!done`, `!snooze`, ...)."""

from __future__ import annotations

from commands.kit.registry import Router

router = Router("followups")
FOLLOWUP = router.group("followup", fr="relance", aliases=("follow-up", "action-item"))
