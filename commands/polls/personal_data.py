"""Personal data in polls and decisions: a person named in a poll's question or
options, in a decision, in a proposal; and, when the request names a member's Matrix
id, their votes (which keep counting, under no name)."""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

from commands.kit import privacy
from commands.kit.context import Context
from commands.kit.privacy import Finding, Person, Scope, Tally, shorten
from commands.kit.text import USER_ID
from storage.models import Decision, Poll, PollVote, Proposal
from storage.personal import PersonMatcher
from storage.repos.polls import DecisionRepository, PollRepository, ProposalRepository
from storage.search import fold


@dataclass
class _Found:
    polls: list[Poll] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    votes: list[PollVote] = field(default_factory=list)


async def _found(ctx: Context, person: Person) -> tuple[_Found, PersonMatcher]:
    matcher = person.matcher()
    found = _Found()
    if matcher.empty:
        return found, matcher
    patterns = matcher.like_patterns()
    polls = ctx.repo(PollRepository)
    found.polls = [
        p
        for p in await polls.containing(patterns)
        if matcher.mentions(p.question) or any(matcher.mentions(o) for o in p.options)
    ]
    found.decisions = [
        d
        for d in await ctx.repo(DecisionRepository).containing(patterns)
        if matcher.mentions(d.text)
        or matcher.mentions(d.outcome or "")
        or matcher.mentions_json(d.counts)
    ]
    found.proposals = [
        p
        for p in await ctx.repo(ProposalRepository).containing(patterns)
        if matcher.mentions(p.text) or matcher.mentions(p.note or "")
    ]
    user = person.query.strip()
    if USER_ID.fullmatch(user):
        found.votes = list(await polls.votes_of(user))
    return found, matcher


class PollsPersonalData:
    """The polls' side of a data-protection request (see `privacy.PersonalData`)."""

    async def identify(self, ctx: Context, person: Person, scope: Scope) -> None:
        """Polls hold no contact details: nothing to add to what identifies someone."""

    async def find(
        self, ctx: Context, person: Person, scope: Scope, *, masked: bool, limit: int
    ) -> list[Finding]:
        found, matcher = await _found(ctx, person)

        def text(value: str) -> str:
            if masked:
                return matcher.excerpt(value, width=privacy.EXCERPT) or str(shorten(value, 60))
            return str(shorten(value))

        def line(kind: str, number: int, value: str) -> Markup:
            return ctx.t.html("polls.privacy.line", kind=kind, number=number, text=text(value))

        return [
            Finding(
                "polls.privacy.polls",
                len(found.polls),
                [line("poll", p.number, p.question) for p in found.polls[:limit]],
            ),
            Finding(
                "polls.privacy.decisions",
                len(found.decisions),
                [line("decision", d.number, d.text) for d in found.decisions[:limit]],
            ),
            Finding(
                "polls.privacy.proposals",
                len(found.proposals),
                [line("proposal", p.number, p.text) for p in found.proposals[:limit]],
            ),
            Finding("polls.privacy.votes", len(found.votes)),
        ]

    async def erase(
        self, ctx: Context, person: Person, scope: Scope, *, marker: str
    ) -> list[Tally]:
        found, matcher = await _found(ctx, person)
        for poll in found.polls:
            poll.question = matcher.redact(poll.question, marker)
            poll.options = [matcher.redact(o, marker) for o in poll.options]
        for decision in found.decisions:
            decision.text = matcher.redact(decision.text, marker)
            if decision.outcome is not None:
                decision.outcome = matcher.redact(decision.outcome, marker)
            decision.counts = matcher.redact_json(decision.counts, marker, html_keys=frozenset())
            decision.text_key = fold(f"{decision.text} {decision.outcome or ''}")
        for proposal in found.proposals:
            proposal.text = matcher.redact(proposal.text, marker)
            if proposal.note is not None:
                proposal.note = matcher.redact(proposal.note, marker)
        votes = named = 0
        user = person.query.strip()
        if found.votes:
            votes = await ctx.repo(PollRepository).forget_voter(user, marker)
        if USER_ID.fullmatch(user):
            named = await ctx.repo(DecisionRepository).forget_member(user, marker)
            named += await ctx.repo(ProposalRepository).forget_member(user, marker)
        tallies = [
            Tally("polls.erased.polls", len(found.polls)),
            Tally("polls.erased.decisions", len(found.decisions)),
            Tally("polls.erased.proposals", len(found.proposals)),
            Tally("polls.erased.votes", votes),
            Tally("polls.erased.named", named),
        ]
        return [tally for tally in tallies if tally.count]


PRIVACY = PollsPersonalData()
