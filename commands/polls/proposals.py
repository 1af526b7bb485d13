"""Proposals for the steering committee (COPIL): `!propose` queues one, `!proposals`
lists those waiting, and a moderator records an outcome (`!proposal N accepted`) or puts
one to a vote (`!poll from-proposal N`, in the polls module).

The minutes end with "decisions submitted to the COPIL": this is that list, kept between
meetings. Accepted and rejected proposals become decisions and leave the list; postponed
ones stay in it, marked, so that the next agenda picks them up again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from commands.kit.args import Arg, Choice, Text
from commands.kit.context import Context
from commands.kit.errors import CommandError, PermissionDenied, shorten
from commands.kit.registry import Args, Command
from commands.polls import decisions
from commands.polls.decisions import LINE_TEXT, MAX_TEXT, O_PAGE, PAGE, Number
from commands.polls.router import PROPOSAL, router
from storage.models import PollStatus, Proposal, ProposalStatus, Role
from storage.repos.polls import PollRepository, ProposalRepository

PENDING = ProposalStatus.PENDING.value
POLLED = ProposalStatus.POLLED.value
ACCEPTED = ProposalStatus.ACCEPTED.value
REJECTED = ProposalStatus.REJECTED.value
POSTPONED = ProposalStatus.POSTPONED.value
LISTED = (PENDING, POLLED, POSTPONED)  # what `!proposals` shows: not decided yet
FINAL = (ACCEPTED, REJECTED)  # these became decisions
MAX_NOTE = 1000

# What a moderator types after the number, in French or English, with or without
# accents, masculine or feminine: `acceptée`, `accepte`, `accepted`...
OUTCOME = Choice(
    (ACCEPTED, REJECTED, POSTPONED),
    {
        **dict.fromkeys(
            ("accepte", "acceptee", "acceptes", "acceptees", "accepter", "accept"), ACCEPTED
        ),
        **dict.fromkeys(("adopte", "adoptee", "adopted", "approuve", "approuvee"), ACCEPTED),
        **dict.fromkeys(("approved", "approve"), ACCEPTED),
        **dict.fromkeys(
            ("rejete", "rejetee", "rejetes", "rejetees", "rejeter", "reject"), REJECTED
        ),
        **dict.fromkeys(("refuse", "refusee", "refused", "refuser", "declined"), REJECTED),
        **dict.fromkeys(
            ("reporte", "reportee", "reportes", "reportees", "reporter", "postpone"), POSTPONED
        ),
        **dict.fromkeys(("ajourne", "ajournee", "deferred", "defer", "delayed"), POSTPONED),
    },
    label="proposals.status",
    metavar="proposal_outcome",
)


def queue(ctx: Context) -> ProposalRepository:
    return ctx.repo(ProposalRepository)


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


@router.command(
    "propose",
    fr="proposer",
    args=[Arg("text", Text(MAX_TEXT), required=False, rest=True)],
)
async def propose(ctx: Context, args: Args) -> None:
    """Submit a proposal to the steering committee (COPIL): it waits in `!proposals`."""
    text = _text(args["text"])
    if not text:
        raise CommandError("proposals.no_text", usage=_command("propose"))
    proposal = await queue(ctx).create(text=text, author=ctx.sender, origin="command", now=ctx.now)
    await ctx.audit("proposal.add", number=proposal.number)
    await ctx.reply(
        "proposals.queued", number=proposal.number, text=proposal.text, prefix=ctx.prefix
    )


@router.command("proposals", fr="propositions", options=[O_PAGE])
async def listing(ctx: Context, args: Args) -> None:
    """The proposals waiting for the committee: new, put to a vote, or postponed."""
    page = args["page"] or 1
    rows, total = await queue(ctx).queue(limit=PAGE, offset=(page - 1) * PAGE)
    pages = max(1, -(-total // PAGE))
    if page > pages:
        raise CommandError("proposals.page_out_of_range", page=page, pages=pages)
    polls = await _poll_numbers(ctx, rows)
    await ctx.reply(
        "proposals.list",
        items=[_view(p, polls, short=True) for p in rows],
        total=total,
        page=page,
        pages=pages,
        tz=ctx.room.timezone,
        prefix=ctx.prefix,
    )


@PROPOSAL.default_command(
    args=[
        Arg("number", Number()),
        Arg("outcome", OUTCOME, required=False),
        Arg("note", Text(MAX_NOTE, metavar="note"), required=False, rest=True),
    ]
)
async def proposal(ctx: Context, args: Args) -> None:
    """A proposal alone shows it; with an outcome (moderators), decides it."""
    if args["outcome"] is None:
        await show(ctx, args["number"])
    else:
        await decide(ctx, args["number"], args["outcome"], _text(args["note"]) or None)


async def get(ctx: Context, number: int) -> Proposal:
    found = await queue(ctx).get(number)
    if found is None:
        withdrawn = await queue(ctx).withdrawn(number)
        if withdrawn is not None and withdrawn.decided_at is not None:
            raise CommandError(
                "proposals.withdrawn",
                number=number,
                text=withdrawn.text,
                date=ctx.t.long_date(withdrawn.decided_at, ctx.room.timezone),
                by=withdrawn.decided_by or "",
            )
        raise CommandError("proposals.unknown", number=number, prefix=ctx.prefix)
    return found


async def show(ctx: Context, number: int) -> None:
    """One proposal: its text, who submitted it when, where it stands."""
    found = await get(ctx, number)
    decision = await decisions.log(ctx).by_id(found.decision_id) if found.decision_id else None
    await ctx.reply(
        "proposals.show",
        p=_view(found, await _poll_numbers(ctx, [found])),
        created=ctx.t.long_date(found.created_at, ctx.room.timezone),
        decided=ctx.t.long_date(found.decided_at, ctx.room.timezone) if found.decided_at else None,
        decision=decision.number if decision is not None else None,
        prefix=ctx.prefix,
    )


async def decide(ctx: Context, number: int, outcome: str, note: str | None) -> None:
    """Record what the committee made of a proposal: accepted or rejected, a decision
    in the log; postponed, it stays listed for the next meeting."""
    ctx.require_group()  # a direct message for no group is answered that, not a refusal
    if await ctx.role_of(ctx.sender) < Role.MODERATOR:
        raise PermissionDenied("core.error.needs_role", role=Role.MODERATOR.key)
    found = await get(ctx, number)
    if found.status in FINAL:
        raise CommandError("proposals.already_decided", number=number, status=found.status)
    if found.status == POLLED and found.poll_id is not None:
        poll = await ctx.repo(PollRepository).by_id(found.poll_id)
        if poll is not None and poll.status == PollStatus.OPEN.value:
            raise CommandError("proposals.being_voted", number=number, poll=poll.number)
    found.status, found.note = outcome, note
    found.decided_at, found.decided_by = ctx.now, ctx.sender
    decision = None
    if outcome in FINAL:
        decision = await decisions.record(
            ctx,
            text=found.text,
            source="proposal",
            outcome=ctx.t.text(f"proposals.status.{outcome}"),
        )
        found.decision_id = decision.id
    await ctx.audit(
        "proposal.decide",
        number=found.number,
        outcome=outcome,
        decision=decision.number if decision else None,
    )
    await ctx.reply(
        "proposals.decided",
        number=found.number,
        text=found.text,
        status=outcome,
        note=note,
        decision=decision.number if decision else None,
        prefix=ctx.prefix,
    )


# --- Views.


def _command(name: str) -> Command:
    """A top-level command of this domain (for the usage line of an error)."""
    return next(e for e in router.entries if isinstance(e, Command) and e.name == name)


def _view(found: Proposal, polls: dict[int, int], *, short: bool = False) -> dict[str, Any]:
    return {
        "number": found.number,
        "text": shorten(found.text, LINE_TEXT) if short else found.text,
        "author": found.author,
        "origin": found.origin,
        "status": found.status,
        "note": shorten(found.note, LINE_TEXT) if short else found.note,
        "created": found.created_at,
        "decided": found.decided_at,
        "decided_by": found.decided_by,
        "poll": polls.get(found.poll_id or 0),
    }


async def _poll_numbers(ctx: Context, rows: Sequence[Proposal]) -> dict[int, int]:
    """The numbers of the polls these proposals were put to, by poll id."""
    polls = ctx.repo(PollRepository)
    numbers = {}
    for poll_id in {p.poll_id for p in rows if p.poll_id is not None}:
        poll = await polls.by_id(poll_id)
        if poll is not None:
            numbers[poll_id] = poll.number
    return numbers
