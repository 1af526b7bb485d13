"""What the other domains ask of this one: a meeting's `!agreed` records a decision,
its `!copil` queues a proposal for the steering committee."""

from __future__ import annotations

from typing import Any

from commands.kit.context import Context
from commands.polls.decisions import link_partner
from commands.polls.router import router
from storage.repos.polls import DecisionRepository, ProposalRepository


@router.on_request("polls.record_decision")
async def record_decision(
    ctx: Context,
    *,
    text: str,
    source: str,
    outcome: str | None = None,
    partner_id: int | None = None,
) -> dict[str, Any]:
    decision = await ctx.repo(DecisionRepository).record(
        text=text,
        source=source,
        actor=ctx.sender,
        now=ctx.now,
        outcome=outcome,
        room_id=ctx.room.room_id,
        event_id=ctx.event_id,
        partner_id=partner_id,
    )
    if partner_id is not None:
        await link_partner(ctx, decision, partner_id)
    await ctx.emit(
        "polls.decision", decision_id=decision.id, number=decision.number, text=decision.text
    )
    return {"id": decision.id, "number": decision.number}


@router.on_request("polls.propose")
async def propose(ctx: Context, *, text: str, origin: str) -> dict[str, Any]:
    proposal = await ctx.repo(ProposalRepository).create(
        text=text, author=ctx.sender, origin=origin, now=ctx.now
    )
    return {"id": proposal.id, "number": proposal.number}
