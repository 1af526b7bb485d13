"""The bot's own commands (help, about, settings, roles, status, groups, personal data):
the `core` domain. Its messages are the YAML files of this folder."""

from pathlib import Path

from commands.core import privacy  # noqa: F401 (declares person-data and forget-person)
from commands.core.commands import router
from commands.kit.domain import Domain

DOMAIN = Domain(name="core", router=router, messages=Path(__file__).parent)
