"""`!person-data` and `!forget-person` (`!donnees-personne`, `!oublier-personne`): what
every domain keeps on a person, with the bot's own copies of what named them, and
erasing all of it (see `commands.kit.privacy`)."""

from __future__ import annotations

from commands.core.commands import router
from commands.kit import privacy

privacy.declare(router)
