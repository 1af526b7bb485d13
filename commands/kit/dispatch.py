"""From a stored event to the handlers: a command is parsed, its role checked and run;
any other event goes to the handlers the domains declared for its type.

This is the one boundary where user errors become replies.
"""

from __future__ import annotations

import logging
from typing import Any

from commands.kit.context import Context
from commands.kit.errors import CommandError, PermissionDenied
from commands.kit.events import Event, Message, parse
from commands.kit.i18n import Rendered
from commands.kit.registry import ParsedCommand
from commands.kit.usage import usage_lines
from storage.models import OutboxEvent, Role
from storage.repos.core import Ref

logger = logging.getLogger(__name__)


async def dispatch(ctx: Context, body: str, formatted_body: str | None) -> str | None:
    """Run the command in a message, if it holds one.

    Returns the command's name ("partner.add"; "?" when it could not be parsed), or
    None for plain chat. A CommandError rolls back whatever the handler wrote (the
    whole transaction: the caller's own writes come after dispatch) and answers the
    user; any other exception propagates, so the caller can roll back and report it.
    """
    registry = ctx.services.registry
    handler_ran = False
    name = "?"
    try:
        parsed: ParsedCommand | None = registry.parse(body, ctx.parse_context, formatted_body)
        if parsed is None:
            return None
        name = parsed.command.qualname
        needed = parsed.command.role
        # Everyone in the room is at least a member: only higher roles need a look-up.
        if needed > Role.MEMBER and await ctx.role_of(ctx.sender) < needed:
            raise PermissionDenied("core.error.needs_role", role=needed.key)
        handler_ran = True
        await parsed.command.handler(ctx, parsed.args)
    except CommandError as exc:
        if handler_ran:
            await ctx.uow.rollback()
        await ctx.send_rendered(render_error(ctx, exc))
        if exc.keep is not None:
            await exc.keep(ctx)
    return name


def render_error(ctx: Context, exc: CommandError) -> Rendered:
    message = ctx.t(exc.key, **exc.data)
    if exc.usage is None:
        return message
    usage = ctx.t("core.usage", lines=usage_lines(exc.usage, ctx.t, ctx.prefix))
    return Rendered(f"{message.plain}\n{usage.plain}", f"{message.html}<br>{usage.html}")


async def typed_event(
    ctx: Context,
    event_type: str,
    content: dict[str, Any],
    *,
    state_key: str | None = None,
    command: bool = False,
) -> Event | None:
    """The typed event for a stored one, with what the bot's message it answers was
    about (`target`), when it answers one."""
    event = parse(
        event_type,
        ctx.event_id or "",
        ctx.sender,
        content,
        state_key=state_key,
        command=command,
    )
    if event is None:
        return None
    target_id = event.target_event
    if target_id is not None and hasattr(event, "target"):
        sent = await ctx.uow.outbox.by_event_id(target_id)
        ref = Ref.of(sent) if sent is not None else None
        if ref is not None and sent is not None:
            # Frozen dataclass: build the event again with its target.
            event = type(event)(**{**event.__dict__, "target": ref})
            await _act_for_its_group(ctx, sent)
    return event


async def _act_for_its_group(ctx: Context, sent: OutboxEvent) -> None:
    """An answer, in a direct message, to a message the bot sent there about a group's
    record (a ✅ on a reminder) acts for that group, if the sender is one of its
    members: whichever group their direct messages act for otherwise."""
    if not ctx.direct or sent.group_id is None or sent.group_id == ctx.group:
        return
    if sent.group_id in await ctx.services.groups_of(ctx.uow, ctx.sender):
        ctx.group = sent.group_id


async def route(ctx: Context, event: Event) -> int:
    """Run every handler that wants this event; returns how many acted (a handler that
    returns False looked and had nothing to do: plain chat with no meeting running).

    They run in the caller's transaction. A CommandError rolls it back and is
    answered in the room (a reaction or a poll response has nothing to reply to).
    """
    handlers = ctx.services.registry.handlers_for(event)
    ran = 0
    try:
        for handler in handlers:
            if await handler.handler(ctx, event) is not False:
                ran += 1
    except CommandError as exc:
        await ctx.uow.rollback()
        # Answer messages in their thread; other events with a notice.
        await ctx.send_rendered(render_error(ctx, exc), reply=isinstance(event, Message))
        if exc.keep is not None:
            await exc.keep(ctx)
        ran += 1
    return ran
