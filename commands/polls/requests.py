"""What the other domains ask of this one: a meeting's `!agreed` records a decision,
its `!copil` queues a proposal for the steering committee, and its `!undo` takes either
back while nothing else rests on it."""

from __future__ import annotations

from typing import Any

from commands.kit.context import Context
from commands.polls.decisions import link_partner
from commands.polls.router import router
from storage.models import ProposalStatus
from storage.repos.partners import PartnerRepository
from storage.repos.polls import DecisionRepository, PollRepository, ProposalRepository


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


@router.on_request("polls.withdraw_decision")
async def withdraw_decision(ctx: Context, *, decision_id: int) -> dict[str, Any]:
    """Take back a decision a meeting recorded (its `!undo` of an `!agreed`). It leaves
    the log unless something rests on it: it was not recorded by a meeting (a poll's
    outcome, `!decision add`, a proposal's), it settles a proposal, or a partner's
    history names it. The answer says which: `state` is withdrawn, kept (with `why`),
    already (withdrawn before) or missing."""
    log = ctx.repo(DecisionRepository)
    decision = await log.by_id(decision_id)
    if decision is None:
        return {"state": "missing", "number": None}
    answer: dict[str, Any] = {"number": decision.number, "source": decision.source}
    if decision.withdrawn_at is not None:
        return {**answer, "state": "already"}
    if decision.source != "meeting":
        return {**answer, "state": "kept", "why": "source"}
    proposal = await log.proposal_number(decision)
    if proposal is not None:
        return {**answer, "state": "kept", "why": "proposal", "proposal": proposal}
    if decision.partner_id is not None:
        partner = await ctx.repo(PartnerRepository).get(decision.partner_id)
        name = partner.name if partner is not None else None
        return {**answer, "state": "kept", "why": "partner", "partner": name}
    await log.withdraw(decision, by=ctx.sender, now=ctx.now)
    return {**answer, "state": "withdrawn"}


@router.on_request("polls.withdraw_proposal")
async def withdraw_proposal(ctx: Context, *, proposal_id: int, reason: str) -> dict[str, Any]:
    """Take back a proposal a meeting queued for the COPIL (its `!undo` of a `!copil`),
    with the reason as its note. Only a proposal still waiting leaves the queue; one
    put to a vote or decided meanwhile stays as it is. The answer: its number, `state`
    (withdrawn, kept, already or missing), and for one kept its status (and poll)."""
    queue = ctx.repo(ProposalRepository)
    proposal = await queue.by_id(proposal_id)
    if proposal is None:
        return {"state": "missing", "number": None}
    answer: dict[str, Any] = {"number": proposal.number, "status": proposal.status}
    if proposal.status == ProposalStatus.WITHDRAWN:
        return {**answer, "state": "already"}
    if proposal.status != ProposalStatus.PENDING:
        poll = (
            await ctx.repo(PollRepository).by_id(proposal.poll_id)
            if proposal.poll_id is not None
            else None
        )
        return {**answer, "state": "kept", "poll": poll.number if poll is not None else None}
    await queue.withdraw(proposal, by=ctx.sender, now=ctx.now, note=reason)
    return {**answer, "state": "withdrawn"}
