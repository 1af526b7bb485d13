"""The meetings domain's router and its command groups: `!meeting` (`!réunion`),
`!agenda` (`!odj`) and `!minutes` (`!compte-rendu`); the short commands typed during a
meeting (`!topic`, `!info`, `!agreed`, `!action`, ...) are declared on the router."""

from __future__ import annotations

from commands.kit.registry import Command, Router

router = Router("meetings")
MEETING = router.group("meeting", fr="réunion", aliases=("meetings", "réunions"))
AGENDA = router.group("agenda", fr="odj", aliases=("ordre-du-jour", "ordredujour"))
MINUTES = router.group(
    "minutes", fr="compte-rendu", aliases=("cr", "compte-rendus", "comptes-rendus", "compterendu")
)


def top_command(name: str) -> Command:
    """A top-level command of this domain (for the usage line of an error)."""
    return next(e for e in router.entries if isinstance(e, Command) and e.name == name)
