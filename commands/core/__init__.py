"""The bot's own commands (help, about, settings, roles, status, groups): the `core` domain."""

from pathlib import Path

from commands.core.commands import router
from commands.kit.domain import Domain

DOMAIN = Domain(name="core", router=router, messages=Path(__file__).parent / "messages.yaml")
