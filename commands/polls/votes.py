"""Voting: a native poll response (stable or unstable form, as Element sends it),
`!vote N OPTION[,OPTION]`, or a reply to the poll naming an option. The last vote of a
person counts; an empty response (or `!vote N -`) withdraws it. Someone who may not
vote is told why, once, privately; a secret poll takes its votes by direct message."""

from __future__ import annotations

from commands.kit.args import Arg, Integer, Text
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.events import Message, PollResponse
from commands.kit.registry import Args
from commands.polls.eligibility import may_vote
from commands.polls.polls import get, repo
from commands.polls.router import router
from storage.models import Poll, PollStatus, Voters
from storage.search import fold

WITHDRAW = frozenset({"-", "retirer", "withdraw", "aucun", "none", "annuler", "rien"})


def choices_of(poll: Poll, text: str) -> list[int] | None:
    """The option indexes a text names: numbers (`1`, `1,3`) or labels (case and
    accents aside, or a unique beginning); None when something is not an option."""
    chosen: list[int] = []
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        index = _option(poll, part)
        if index is None:
            return None
        if index not in chosen:
            chosen.append(index)
    return chosen or None


def _option(poll: Poll, part: str) -> int | None:
    digits = part.lstrip("#")
    if digits.isascii() and digits.isdigit():
        number = int(digits)
        return number - 1 if 1 <= number <= len(poll.options) else None
    key = fold(part)
    exact = [i for i, option in enumerate(poll.options) if fold(option) == key]
    if exact:
        return exact[0]
    starts = [i for i, option in enumerate(poll.options) if fold(option).startswith(key)]
    return starts[0] if len(starts) == 1 else None


async def _eligible(ctx: Context, poll: Poll, user: str) -> bool:
    return await may_vote(ctx, Voters(poll.voters), poll.voter_list, poll.room_id, user)


async def _refuse_once(ctx: Context, poll: Poll) -> None:
    """Tell someone, once per poll and privately, why their vote does not count."""
    if await repo(ctx).refused_before(poll, ctx.sender, now=ctx.now):
        return
    await ctx.to_user(ctx.sender, "polls.not_eligible", number=poll.number, voters=poll.voters)


@router.command(
    "vote",
    fr="vote",
    aliases=("voter", "votes"),
    args=[
        Arg("number", Integer(minimum=1, maximum=10**9)),
        Arg("choice", Text(500, metavar="option"), rest=True),
    ],
)
async def vote(ctx: Context, args: Args) -> None:
    """Vote on a poll: an option's number or its text, several separated by commas when
    the poll allows; `-` withdraws your vote. Secret polls: in a direct message to me."""
    poll = await get(ctx, args["number"])
    if poll.status != PollStatus.OPEN or _late(ctx, poll):
        raise CommandError("polls.vote_closed", number=poll.number)
    if poll.secret and not ctx.direct:
        raise CommandError("polls.secret_in_room", number=poll.number)
    text = args["choice"].strip()
    if fold(text) in WITHDRAW:
        chosen: list[int] = []
    else:
        found = choices_of(poll, text)
        if found is None:
            raise CommandError(
                "polls.unknown_option", value=text, options=poll.options, number=poll.number
            )
        if len(found) > poll.max_choices:
            raise CommandError("polls.too_many_votes", limit=poll.max_choices, number=poll.number)
        chosen = found
    if not await _eligible(ctx, poll, ctx.sender):
        raise CommandError("polls.not_eligible", number=poll.number, voters=poll.voters)
    await repo(ctx).vote(
        poll, ctx.sender, chosen, via="direct" if ctx.direct else "command", now=ctx.now
    )
    if ctx.direct:
        await ctx.reply(
            "polls.voted",
            number=poll.number,
            options=[poll.options[i] for i in chosen],
            secret=poll.secret,
        )
    else:
        await ctx.react("✅")


@router.on_poll_response(about=("polls", "poll"))
async def native(ctx: Context, event: PollResponse) -> None:
    """A vote cast with Element's buttons (the first `max_selections` answers count)."""
    poll = await _target(ctx, event.target.id if event.target else "")
    if poll is None or poll.status != PollStatus.OPEN or poll.secret:
        return
    if _late(ctx, poll):
        return  # cast after the deadline, handled before the poll was closed
    wanted = [
        a for a in event.answers if a.isascii() and a.isdigit() and 1 <= int(a) <= len(poll.options)
    ]
    if event.answers and not wanted:
        return  # a spoiled ballot: nothing it names is an option
    if not await _eligible(ctx, poll, ctx.sender):
        await _refuse_once(ctx, poll)
        return
    chosen = list(dict.fromkeys(int(a) - 1 for a in wanted))[: poll.max_choices]
    await repo(ctx).vote(poll, ctx.sender, chosen, via="native", now=ctx.now)


@router.on_message(about=("polls", "poll"), where=lambda e: not e.command)
async def by_reply(ctx: Context, event: Message) -> None:
    """A reply to the poll naming an option (`2`, `Oui`): a vote, for clients without
    polls. A reply that names no option is conversation, and left alone."""
    poll = await _target(ctx, event.target.id if event.target else "")
    if poll is None or poll.status != PollStatus.OPEN or _late(ctx, poll):
        return
    lines = [line for line in event.body.splitlines() if line and not line.startswith(">")]
    chosen = choices_of(poll, " ".join(lines).strip()) if lines else None
    if chosen is None or len(chosen) > poll.max_choices:
        return
    if poll.secret:
        await ctx.reply("polls.secret_in_room", number=poll.number)
        return
    if not await _eligible(ctx, poll, ctx.sender):
        await _refuse_once(ctx, poll)
        return
    await repo(ctx).vote(poll, ctx.sender, chosen, via="reply", now=ctx.now)
    await ctx.react("✅")


def _late(ctx: Context, poll: Poll) -> bool:
    """Whether a vote was sent after the poll's deadline (the homeserver's time)."""
    return poll.closes_at is not None and ctx.sent_at > poll.closes_at


async def _target(ctx: Context, poll_id: str) -> Poll | None:
    if ctx.group is None or not poll_id.isdigit():
        return None
    return await repo(ctx).by_id(int(poll_id))
