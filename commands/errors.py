"""Errors meant for the user: each carries a catalog key and the data to render it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from commands.registry import Command, Group


class CommandError(Exception):
    """A command cannot run as typed. The router answers it; nothing is changed."""

    def __init__(self, key: str, /, *, usage: Command | Group | None = None, **data: Any) -> None:
        super().__init__(key)
        self.key = key
        self.data = data
        self.usage = usage


class ArgError(CommandError):
    """An argument did not parse; the parser adds the command's usage line."""


class PermissionDenied(CommandError):
    """The sender lacks the role a command needs."""
