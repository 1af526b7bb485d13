"""The digest domain's router and its `!digest` group."""

from __future__ import annotations

from commands.kit.registry import Router

router = Router("digest")
DIGEST = router.group("digest", fr="résumé", aliases=("resume", "digest-hebdo", "hebdo"))
