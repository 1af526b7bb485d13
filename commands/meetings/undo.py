"""`!undo` (`!annuler-dernier`): a chair takes back the last command written in the
minutes, with what it made elsewhere.

A line of the minutes may have made records another domain keeps: an `!action` one
follow-up per member, an `!agreed` a decision in the log, a `!copil` a proposal in the
COPIL's queue. Undoing the line asks that domain to take them back (`followups.cancel`,
`polls.withdraw_decision`, `polls.withdraw_proposal`), in the same transaction. What
something else rests on by then stays: a follow-up already done, a decision a proposal
or a partner's history points to (or that a poll or `!decision add` recorded), a
proposal put to a vote or decided. The line leaves the minutes all the same, and the
answer says what was taken back and what stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.registry import Args
from commands.meetings.records import repo, require_chair, require_running
from commands.meetings.router import router
from storage.models import AgendaStatus, FollowupStatus, ItemKind, Meeting, MeetingItem

UNDOABLE = tuple(k.value for k in ItemKind if k != ItemKind.AMENDMENT)


@router.command(
    "undo",
    fr="annuler-dernier",
    aliases=("annulerdernier", "defaire", "défaire", "oops", "retirer-dernier"),
)
async def undo(ctx: Context, args: Args) -> None:
    """Take back the last command of the minutes (a chair): its lines go, the follow-ups
    of an action are cancelled, the decision of an agreed leaves the decision log, the
    proposal of a copil leaves the COPIL's queue, unless they were used meanwhile (the
    answer says so)."""
    meeting = await require_running(ctx)
    await require_chair(ctx, meeting)
    meetings = repo(ctx)
    items = await meetings.last_command(meeting, kinds=UNDOABLE)
    if not items:
        raise CommandError("meetings.undo.nothing")
    kind = ItemKind(items[0].kind)
    reason = ctx.t.text("meetings.undo.reason", number=meeting.number)
    refs = [i.ref_id for i in items if i.ref_id is not None]
    followups: list[dict[str, Any]] = []
    decision = proposal = None
    if kind == ItemKind.TOPIC:
        await _reopen_agenda_item(ctx, meeting, items)
    elif kind == ItemKind.ACTION and refs:
        followups = await ctx.request("followups.cancel", ids=refs, reason=reason)
    elif kind == ItemKind.AGREED and refs:
        decision = await ctx.request("polls.withdraw_decision", decision_id=refs[0])
    elif kind == ItemKind.COPIL and refs:
        proposal = await ctx.request("polls.withdraw_proposal", proposal_id=refs[0], reason=reason)
    await meetings.remove_items(items)
    if kind == ItemKind.TOPIC:
        previous = await meetings.last_item(meeting, kinds=[ItemKind.TOPIC.value])
        meeting.current_topic_id = previous.id if previous is not None else None
    cancelled = [f["number"] for f in followups if f["cancelled"]]
    await ctx.audit(
        "meeting.undo",
        number=meeting.number,
        kind=kind.value,
        lines=len(items),
        cancelled=cancelled,
        decision=_withdrawn(decision),
        proposal=_withdrawn(proposal),
    )
    await ctx.reply(
        "meetings.undone",
        kind=kind.value,
        text=items[0].text,
        lines=len(items),
        cancelled=cancelled,
        done=_numbers(followups, FollowupStatus.DONE),
        closed=_numbers(followups, FollowupStatus.CANCELLED),
        decision=decision,
        proposal=proposal,
        prefix=ctx.prefix,
    )


async def _reopen_agenda_item(ctx: Context, meeting: Meeting, items: Sequence[MeetingItem]) -> None:
    """A topic taken from the agenda goes back there, at its place."""
    for item in items:
        if item.agenda_item_id is None:
            continue
        point = await repo(ctx).agenda_item(meeting, item.agenda_item_id)
        if point is not None:
            point.status = AgendaStatus.OPEN.value


def _numbers(followups: list[dict[str, Any]], status: FollowupStatus) -> list[int]:
    """The follow-ups left as they were because they already had this status."""
    return [f["number"] for f in followups if not f["cancelled"] and f["status"] == status]


def _withdrawn(answer: dict[str, Any] | None) -> int | None:
    """The number of the record taken back, for the audit log (None if it stays)."""
    if answer is None or answer["state"] != "withdrawn":
        return None
    return int(answer["number"])
