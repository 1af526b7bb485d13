"""What the other domains ask of this one besides creating follow-ups: a meeting's
`!undo` of an `!action` takes back the follow-ups it created."""

from __future__ import annotations

from typing import Any

from commands.followups import records
from commands.followups.router import router
from commands.kit.context import Context
from storage.models import FollowupStatus


@router.on_request("followups.cancel")
async def cancel_for_another_domain(
    ctx: Context, *, ids: list[int], reason: str
) -> list[dict[str, Any]]:
    """Cancel follow-ups another domain created and takes back, with the reason in each
    one's history (a "cancelled" line by the sender). One already closed is left as it
    is. Each follow-up's number, assignee and status before, and whether it was
    cancelled now, by number."""
    answer = []
    for followup in await records.repo(ctx).by_ids(ids):
        before = followup.status
        if before == FollowupStatus.OPEN:
            await records.close(ctx, followup, FollowupStatus.CANCELLED, note=reason)
        answer.append(
            {
                "id": followup.id,
                "number": followup.number,
                "assignee": followup.assignee,
                "status": before,
                "cancelled": before == FollowupStatus.OPEN,
            }
        )
    return answer
