"""Errors meant for the user: each carries a catalog key and the data to render it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from commands.kit.context import Context
    from commands.kit.registry import Command, Group

Keep = Callable[["Context"], Awaitable[None]]

# An error repeats what was typed so the user sees what is wrong; a huge value (a
# pasted text, a CSV cell) is repeated shortened.
ECHO_LIMIT = 200


def shorten(value: Any, limit: int = ECHO_LIMIT) -> Any:
    """A text cut to `limit` characters with an ellipsis; anything else as it is."""
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value


class CommandError(Exception):
    """A command cannot run as typed. The router answers it; nothing is changed.

    `keep`, when given, runs after the handler's changes are rolled back: what the
    refusal itself leaves behind (the numbered choices it offered, so that the user
    can answer with a number).
    """

    def __init__(
        self,
        key: str,
        /,
        *,
        usage: Command | Group | None = None,
        keep: Keep | None = None,
        **data: Any,
    ) -> None:
        super().__init__(key)
        self.key = key
        self.data = {name: shorten(value) for name, value in data.items()}
        self.usage = usage
        self.keep = keep


class ArgError(CommandError):
    """An argument did not parse; the parser adds the command's usage line."""


class PermissionDenied(CommandError):
    """The sender lacks the role a command needs."""
