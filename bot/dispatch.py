"""From a stored message to a handler: parse, check the role, run, answer errors.

This is the one boundary where user errors become replies.
"""

from __future__ import annotations

import logging

from bot.context import Context
from commands.errors import CommandError, PermissionDenied
from commands.i18n import Rendered
from commands.usage import usage_lines
from storage.models import Role

logger = logging.getLogger(__name__)


async def dispatch(ctx: Context, body: str, formatted_body: str | None) -> bool:
    """Run the command in a message, if it holds one. True when it was a command.

    A CommandError rolls back whatever the handler wrote (the whole transaction: the
    caller's own writes come after dispatch) and answers the user; any other
    exception propagates, so the caller can roll back and report it.
    """
    registry = ctx.services.registry
    handler_ran = False
    try:
        parsed = registry.parse(body, ctx.parse_context, formatted_body)
        if parsed is None:
            return False
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
    return True


def render_error(ctx: Context, exc: CommandError) -> Rendered:
    message = ctx.t(exc.key, **exc.data)
    if exc.usage is None:
        return message
    usage = ctx.t("core.usage", lines=usage_lines(exc.usage, ctx.t, ctx.prefix))
    return Rendered(f"{message.plain}\n{usage.plain}", f"{message.html}<br>{usage.html}")
