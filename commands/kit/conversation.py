"""Conversation helpers every domain uses the same way:

- `remember` / `pick`: a numbered list the user saw, then "3" in a later command means
  its third line (`!partner show 3`);
- `ambiguous`: several records match what was typed, so the answer numbers them and
  they become the user's last list;
- `Pending`: preview, then `confirm` or `cancel` (an import, an erasure).

What they remember is keyed by user, room and domain, so a list or a preview from one
domain never answers another's command.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from commands.kit.context import Context
from commands.kit.errors import CommandError

NUMBER = re.compile(r"#?(\d{1,6})")


def as_number(text: str) -> int | None:
    """`3` or `#3` as a list number; None for anything else."""
    match = NUMBER.fullmatch(text.strip())
    return int(match.group(1)) if match else None


async def remember(ctx: Context, domain: str, ids: Sequence[int | str], *, offset: int = 0) -> None:
    """The numbered lines the user was just shown: line `offset + i + 1` is `ids[i]`."""
    await ctx.uow.conversation.remember_list(
        ctx.sender, ctx.room.room_id, domain, list(ids), offset=offset, now=ctx.now
    )


async def pick(ctx: Context, domain: str, number: int) -> Any:
    """The id behind line `number` of the user's last list from `domain`."""
    last = await ctx.uow.conversation.last_list(ctx.sender, ctx.room.room_id, domain)
    if last is None:
        raise CommandError("core.list.none", number=number)
    ids, offset = last
    index = number - offset - 1
    if not 0 <= index < len(ids):
        raise CommandError(
            "core.list.not_in", number=number, first=offset + 1, last=offset + len(ids)
        )
    return ids[index]


def ambiguous(domain: str, key: str, ids: Sequence[int | str], **data: Any) -> CommandError:
    """The error for "several records match": its answer (`key`, with `data`) numbers
    the choices, and they become the user's last list even though the command failed."""

    async def offer(ctx: Context) -> None:
        await remember(ctx, domain, ids)

    return CommandError(key, keep=offer, **data)


class Pending:
    """An action a user previewed, kept until they confirm or cancel it (or it expires).

    `domain` and `kind` name it ("partners", "import"); one of each per user and room.
    """

    def __init__(self, domain: str, kind: str, *, ttl: timedelta) -> None:
        self.domain = domain
        self.kind = kind
        self.ttl = ttl

    async def save(self, ctx: Context, payload: dict[str, Any]) -> None:
        await ctx.uow.conversation.save_pending(
            ctx.sender, ctx.room.room_id, self.domain, self.kind, payload, now=ctx.now
        )

    async def take(self, ctx: Context) -> tuple[dict[str, Any], bool] | None:
        """The waiting payload and whether it is still fresh, removed from the store; None
        when nothing waits."""
        row = await ctx.uow.conversation.pending(
            ctx.sender, ctx.room.room_id, self.domain, self.kind
        )
        if row is None:
            return None
        await ctx.uow.conversation.drop_pending(
            ctx.sender, ctx.room.room_id, self.domain, self.kind
        )
        return row.payload, ctx.now - row.at <= self.ttl
