"""`!audit [N]` (`!journal`): the group's audit log, newest first, for its moderators:
who changed what, when (roles, settings, approvals and refusals, every domain's writes)."""

from __future__ import annotations

from typing import Any

from commands.kit.args import Arg, Integer
from commands.kit.context import Context
from commands.kit.registry import Args
from commands.members.records import clean, fitted
from commands.members.router import router
from storage.models import AuditEntry, Role

DEFAULT = 20
MAX_ENTRIES = 50
# An entry's details are shown this long at most (shorter when 50 long ones would not
# fit in one message).
DETAIL_LENGTH = 160


@router.command(
    "audit",
    fr="journal",
    aliases=("audit-log", "journal-audit"),
    args=[Arg("count", Integer(minimum=1, maximum=MAX_ENTRIES), required=False)],
    role=Role.MODERATOR,
)
async def audit_log(ctx: Context, args: Args) -> None:
    """The group's last audit entries (20, or N up to 50)."""
    group = ctx.require_group()
    entries = await ctx.uow.audit.latest(args["count"] or DEFAULT, group=group)

    def build(width: int) -> dict[str, Any]:
        return {"items": [_line(e, width) for e in entries], "tz": ctx.room.timezone}

    await ctx.send_rendered(fitted(ctx.t, "members.audit", build))


def _line(entry: AuditEntry, width: int) -> dict[str, Any]:
    return {
        "at": entry.at,
        "actor": clean(entry.actor, max(width, 40)),
        "action": entry.action,
        "detail": details(entry.detail, min(width, DETAIL_LENGTH)),
    }


def details(detail: dict[str, Any], width: int = DETAIL_LENGTH) -> str:
    """An entry's details as `key=value` pairs, cut to `width` characters."""
    parts = []
    for key, value in detail.items():
        if value is None or value == [] or value == {}:
            continue
        if isinstance(value, list):
            shown = ",".join(str(v) for v in value)
        elif isinstance(value, dict):
            shown = ",".join(f"{k}:{v}" for k, v in value.items())
        else:
            shown = str(value)
        parts.append(f"{key}={shown}")
    return clean(" ".join(parts), width) or ""
