"""Polls: posting one (a native Matrix poll, or a message for a secret one), showing
and listing them, closing them by hand or at their deadline (the scheduled job), with
the 24-hour reminder to those who have not voted, and the decision each one records."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from commands.kit.args import Arg, Integer
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.jobs import Places
from commands.kit.registry import Args
from commands.polls import decisions
from commands.polls.eligibility import eligible_voters
from commands.polls.router import POLL, router
from commands.polls.tally import Tally, tally
from commands.polls.vocabulary import (
    O_CHOICES,
    O_CLOSES,
    O_PARTNER,
    O_QUORUM,
    O_SECRET,
    O_VOTERS,
    PollSpec,
    PollSpecArg,
    VoterRule,
)
from storage.models import Poll, PollStatus, Proposal, ProposalStatus, Role, Voters
from storage.repos.core import Ref
from storage.repos.polls import DecisionRepository, PollRepository, PollSchedule, ProposalRepository
from storage.search import fold
from storage.uow import UnitOfWork

START = "org.matrix.msc3381.poll.start"
END = "org.matrix.msc3381.poll.end"
TEXT = "org.matrix.msc1767.text"
DISCLOSED = "org.matrix.msc3381.poll.disclosed"
REMIND_BEFORE = timedelta(hours=24)
WAIT_FOR_VOTES = timedelta(seconds=5)
YES = frozenset({"oui", "yes", "pour", "accepte", "acceptee", "accepter", "favorable", "ok"})
NO = frozenset({"non", "no", "contre", "rejete", "rejetee", "rejeter", "defavorable"})
NUMBER = Arg("number", Integer(minimum=1, maximum=10**9))


def ref(poll: Poll) -> Ref:
    return Ref("polls", "poll", str(poll.id))


def repo(ctx: Context) -> PollRepository:
    return ctx.repo(PollRepository)


async def get(ctx: Context, number: int) -> Poll:
    poll = await repo(ctx).get(number)
    if poll is None:
        raise CommandError("polls.unknown", number=number, prefix=ctx.prefix)
    return poll


def next_due(poll: Poll, now: datetime) -> datetime | None:
    """The deadline job's next look at a poll: its reminder, else its deadline."""
    if poll.status != PollStatus.OPEN or poll.closes_at is None:
        return None
    remind = poll.closes_at - REMIND_BEFORE
    if poll.reminded_at is None and remind > now:
        return remind
    return poll.closes_at


# --- Creating.


async def create(
    ctx: Context,
    spec: PollSpec,
    *,
    closes: datetime | None,
    quorum: int | None,
    voters: VoterRule | None,
    choices: int | None,
    partner: str | None,
    proposal: Proposal | None = None,
) -> Poll:
    """Check the rules, store the poll and post it."""
    group = ctx.require_group()
    if ctx.direct:
        raise CommandError("polls.in_room")
    if closes is not None and closes <= ctx.now:
        raise CommandError("polls.past", when=closes, tz=ctx.room.timezone)
    rule = voters or VoterRule(Voters.MEMBERS)
    max_choices = choices or 1
    if max_choices > len(spec.options):
        raise CommandError("polls.too_many_choices", choices=max_choices, options=len(spec.options))
    eligible = await eligible_voters(ctx, rule.kind, rule.users, ctx.room.room_id, group)
    if quorum is not None and quorum > len(eligible):
        raise CommandError("polls.quorum_too_large", quorum=quorum, eligible=len(eligible))
    named = await ctx.lookup("partner", partner) if partner else None
    poll = await repo(ctx).create(
        room_id=ctx.room.room_id,
        question=spec.question,
        options=list(spec.options),
        creator=ctx.sender,
        voters=rule.kind.value,
        voter_list=list(rule.users),
        quorum=quorum,
        max_choices=max_choices,
        secret=spec.secret,
        partner_id=named.id if named else None,
        proposal_id=proposal.id if proposal else None,
        status=PollStatus.OPEN.value,
        closes_at=closes,
        created_at=ctx.now,
    )
    poll.next_due_at = next_due(poll, ctx.now)
    if proposal is not None:
        proposal.status = ProposalStatus.POLLED.value
        proposal.poll_id = poll.id
    await ctx.audit("poll.create", number=poll.number, secret=poll.secret)
    data = _poll_data(ctx, poll, eligible=len(eligible))
    if poll.secret:
        await ctx.notice("polls.secret_posted", about=ref(poll), **data)
    else:
        await ctx.send_event(START, _start_content(ctx, poll, data), about=ref(poll))
    return poll


def _poll_data(ctx: Context, poll: Poll, *, eligible: int) -> dict[str, Any]:
    return {
        "p": poll,
        "eligible": eligible,
        "tz": ctx.room.timezone,
        "closes": ctx.t.long_date(poll.closes_at, ctx.room.timezone) if poll.closes_at else None,
        "prefix": ctx.prefix,
    }


def _start_content(ctx: Context, poll: Poll, data: dict[str, Any]) -> dict[str, Any]:
    """A poll as Element Web and Element X send it (MSC3381's unstable names, which
    both read), with the text fallback for clients that do not show polls."""
    fallback = ctx.t("polls.fallback", **data)
    question = ctx.t.text("polls.question", number=poll.number, question=poll.question)
    return {
        START: {
            "question": {TEXT: question, "body": question, "msgtype": "m.text"},
            "kind": DISCLOSED,
            "max_selections": poll.max_choices,
            "answers": [
                {"id": str(index + 1), TEXT: option, "body": option}
                for index, option in enumerate(poll.options)
            ],
        },
        TEXT: fallback.plain,
        "body": fallback.plain,
    }


@POLL.default_command(
    args=[Arg("spec", PollSpecArg(), rest=True)],
    options=[O_CLOSES, O_QUORUM, O_VOTERS, O_CHOICES, O_SECRET, O_PARTNER],
)
async def poll(ctx: Context, args: Args) -> None:
    """Put a question to a vote: a native poll, or a secret one (votes by direct message)."""
    spec: PollSpec = args["spec"]
    if args["secret"] is not None:
        spec = PollSpec(spec.question, spec.options, args["secret"])
    await create(
        ctx,
        spec,
        closes=args["closes"],
        quorum=args["quorum"],
        voters=args["voters"],
        choices=args["choices"],
        partner=args["partner"],
    )


@POLL.command(
    "from-proposal",
    fr="depuis-proposition",
    aliases=("proposal", "proposition"),
    args=[NUMBER, Arg("options", PollSpecArg(options_only=True), required=False, rest=True)],
    options=[O_CLOSES, O_QUORUM, O_VOTERS, O_CHOICES, O_SECRET],
    role=Role.MODERATOR,
)
async def from_proposal(ctx: Context, args: Args) -> None:
    """Put a proposal to the committee's vote: its text is the question (the options
    are yes, no and abstention unless given)."""
    proposal = await ctx.repo(ProposalRepository).get(args["number"])
    if proposal is None:
        raise CommandError("polls.proposal_unknown", number=args["number"], prefix=ctx.prefix)
    if proposal.status not in (ProposalStatus.PENDING, ProposalStatus.POSTPONED):
        raise CommandError(
            "polls.proposal_not_pending", number=proposal.number, status=proposal.status
        )
    given: PollSpec | None = args["options"]
    options = given.options if given else tuple(ctx.t.text("polls.default_options").split("|"))
    secret = bool(args["secret"]) or bool(given and given.secret)
    spec = PollSpec(proposal.text[:500], options, secret)
    await create(
        ctx,
        spec,
        closes=args["closes"],
        quorum=args["quorum"],
        voters=args["voters"] or VoterRule(Voters.MODERATORS),
        choices=args["choices"],
        partner=None,
        proposal=proposal,
    )


# --- Reading.


async def current(ctx: Context, poll: Poll) -> Tally:
    votes = await repo(ctx).votes(poll)
    group = ctx.require_group()
    eligible = await eligible_voters(
        ctx, Voters(poll.voters), tuple(poll.voter_list), poll.room_id, group
    )
    return tally(
        poll.options, [v.choices for v in votes], eligible=len(eligible), quorum=poll.quorum
    )


@POLL.command("show", fr="voir", aliases=("results", "résultats", "resultats"), args=[NUMBER])
async def show(ctx: Context, args: Args) -> None:
    """A poll and its counts so far (who voted what is never shown)."""
    found = await get(ctx, args["number"])
    counted = await current(ctx, found)
    await ctx.reply("polls.show", t_=counted, **_poll_data(ctx, found, eligible=counted.eligible))


@router.command("polls", fr="sondages", args=[])
async def listing(ctx: Context, args: Args) -> None:
    """The open polls, and the last ones closed."""
    ctx.require_group()
    open_ = await repo(ctx).listing(status=PollStatus.OPEN.value, limit=20)
    closed = await repo(ctx).listing(status=PollStatus.CLOSED.value, limit=5)
    await ctx.reply(
        "polls.list", open=open_, closed=closed, tz=ctx.room.timezone, prefix=ctx.prefix
    )


# --- Closing.


@POLL.command("close", fr="fermer", aliases=("clore", "cloturer", "clôturer", "end"), args=[NUMBER])
async def close_command(ctx: Context, args: Args) -> None:
    """Close a poll now (its creator or a moderator): results, and a decision recorded."""
    found = await get(ctx, args["number"])
    if found.status != PollStatus.OPEN:
        raise CommandError("polls.closed_already", number=found.number)
    if ctx.sender != found.creator and await ctx.role_of(ctx.sender) < Role.MODERATOR:
        raise CommandError("polls.not_yours", number=found.number, creator=found.creator)
    await close(ctx, found, by=ctx.sender)


async def close(ctx: Context, poll: Poll, *, by: str) -> None:
    """Close a poll: the poll's end event (Element then shows the results), the results
    in reply to the poll, the decision it records."""
    counted = await current(ctx, poll)
    poll.status = PollStatus.CLOSED.value
    poll.closed_at = ctx.now
    poll.closed_by = by or None
    poll.next_due_at = None
    outcome = _outcome(ctx, counted)
    sent = await ctx.uow.outbox.by_ref(ref(poll))
    event_id = sent.event_id if sent is not None else None
    decision = await ctx.repo(DecisionRepository).record(
        text=poll.question,
        source="poll",
        actor=by or poll.creator,
        now=ctx.now,
        outcome=outcome,
        counts=counted.counts(),
        poll_id=poll.id,
        room_id=poll.room_id,
        event_id=event_id,
        partner_id=poll.partner_id,
    )
    if poll.partner_id is not None:
        await decisions.link_partner(ctx, decision, poll.partner_id)
    await _settle_proposal(ctx, poll, counted, decision.id)
    await ctx.emit(
        "polls.decision", decision_id=decision.id, number=decision.number, text=decision.text
    )
    data = {
        **_poll_data(ctx, poll, eligible=counted.eligible),
        "t_": counted,
        "decision": decision.number,
    }
    if event_id is not None and not poll.secret:
        summary = ctx.t.text("polls.ended", outcome=outcome, **data)
        await ctx.send_event(
            END,
            {
                "m.relates_to": {"rel_type": "m.reference", "event_id": event_id},
                END: {},
                TEXT: summary,
                "body": summary,
            },
            room_id=poll.room_id,
        )
    rendered = ctx.t("polls.results", outcome=outcome, **data)
    await ctx.send_rendered(rendered, reply=False, reply_to=event_id, room_id=poll.room_id)
    await ctx.audit("poll.close", number=poll.number, voters=counted.voters)


def _outcome(ctx: Context, counted: Tally) -> str:
    if counted.voters == 0:
        return ctx.t.text("polls.outcome.no_votes")
    if not counted.reached:
        return ctx.t.text("polls.outcome.no_quorum", voters=counted.voters, quorum=counted.quorum)
    if counted.tie:
        return ctx.t.text("polls.outcome.tie", options=counted.winners)
    return counted.winners[0]


async def _settle_proposal(ctx: Context, poll: Poll, counted: Tally, decision_id: int) -> None:
    """A proposal put to the vote: accepted if yes wins, rejected if no wins, postponed
    without quorum or on a tie, accepted when another option won (it was chosen)."""
    if poll.proposal_id is None:
        return
    proposal = await ctx.repo(ProposalRepository).by_id(poll.proposal_id)
    if proposal is None:
        return
    if counted.voters == 0 or not counted.reached or counted.tie:
        status = ProposalStatus.POSTPONED
    elif fold(counted.winners[0]) in NO:
        status = ProposalStatus.REJECTED
    else:
        status = ProposalStatus.ACCEPTED
    proposal.status = status.value
    proposal.decision_id = decision_id
    proposal.decided_at = ctx.now
    proposal.decided_by = poll.closed_by


# --- The deadline job.


class DeadlineJob:
    """Reminds who has not voted 24 hours before a deadline, and closes polls at theirs;
    a deadline passed during a downtime closes the poll once, at restart."""

    name = "polls.deadlines"

    async def next_due(self, uow: UnitOfWork) -> datetime | None:
        return await PollSchedule(uow.session).next_due()

    async def run_due(self, now: datetime, uow: UnitOfWork, places: Places) -> int:
        handled = 0
        for group in await PollSchedule(uow.session).groups_due(now):
            for poll in await uow.repo(PollRepository, group).due(now):
                ctx = await places.room(poll.room_id)
                ctx.origin = f"polls:{group}:{poll.id}:{poll.next_due_at}"
                if poll.closes_at is not None and poll.closes_at <= now:
                    if await uow.inbox.pending_sent_before(poll.closes_at):
                        # Votes cast in time still wait (after a downtime): count them first.
                        poll.next_due_at = now + WAIT_FOR_VOTES
                        continue
                    await close(ctx, poll, by="")
                else:
                    await _remind(ctx, poll)
                handled += 1
        return handled


async def _remind(ctx: Context, poll: Poll) -> None:
    poll.reminded_at = ctx.now
    poll.next_due_at = next_due(poll, ctx.now)
    group = ctx.require_group()
    eligible = await eligible_voters(
        ctx, Voters(poll.voters), tuple(poll.voter_list), poll.room_id, group
    )
    voted = {v.voter for v in await repo(ctx).votes(poll)}
    missing = [user for user in eligible if user not in voted]
    if not missing:
        return
    sent = await ctx.uow.outbox.by_ref(ref(poll))
    await ctx.send_rendered(
        ctx.t("polls.reminder", users=missing, **_poll_data(ctx, poll, eligible=len(eligible))),
        reply=False,
        reply_to=sent.event_id if sent is not None else None,
        room_id=poll.room_id,
        mentions=missing,
    )


JOB = [DeadlineJob()]
