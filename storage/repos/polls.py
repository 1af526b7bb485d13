"""One group's polls and votes, its decision log and the proposals for its steering
committee; and the deadline job's view across groups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, case, cast, delete, func, select, update

from storage.models import (
    Decision,
    Poll,
    PollRefusal,
    PollStatus,
    PollVote,
    Proposal,
    ProposalStatus,
)
from storage.personal import like_escape
from storage.repos.base import GroupRepository, Repository
from storage.search import fold

OPEN = PollStatus.OPEN.value
UNDECIDED = (
    ProposalStatus.PENDING.value,
    ProposalStatus.POLLED.value,
    ProposalStatus.POSTPONED.value,
)


async def _next_number(repo: GroupRepository, model: Any) -> int:
    last = await repo.session.scalar(
        select(func.max(model.number)).where(model.group_id == repo.group)
    )
    return int(last or 0) + 1


class PollRepository(GroupRepository):
    async def create(self, **fields: Any) -> Poll:
        poll = Poll(group_id=self.group, number=await _next_number(self, Poll), **fields)
        self.session.add(poll)
        await self.session.flush()
        return poll

    async def get(self, number: int) -> Poll | None:
        return await self.session.scalar(
            select(Poll).where(Poll.group_id == self.group, Poll.number == number)
        )

    async def by_id(self, poll_id: int) -> Poll | None:
        return await self.session.scalar(
            select(Poll).where(Poll.group_id == self.group, Poll.id == poll_id)
        )

    async def listing(self, *, status: str | None, limit: int) -> Sequence[Poll]:
        query = select(Poll).where(Poll.group_id == self.group)
        if status is not None:
            query = query.where(Poll.status == status)
        rows = await self.session.scalars(query.order_by(Poll.number.desc()).limit(limit))
        return rows.all()

    async def closed_between(self, since: datetime, until: datetime) -> Sequence[Poll]:
        rows = await self.session.scalars(
            select(Poll)
            .where(
                Poll.group_id == self.group,
                Poll.status == PollStatus.CLOSED.value,
                Poll.closed_at >= since,
                Poll.closed_at < until,
            )
            .order_by(Poll.closed_at)
        )
        return rows.all()

    async def due(self, now: datetime) -> Sequence[Poll]:
        rows = await self.session.scalars(
            select(Poll)
            .where(Poll.next_due_at <= now, Poll.group_id == self.group, Poll.status == OPEN)
            .order_by(Poll.next_due_at, Poll.number)
        )
        return rows.all()

    # --- Votes.

    async def votes(self, poll: Poll) -> Sequence[PollVote]:
        rows = await self.session.scalars(
            select(PollVote).where(PollVote.poll_id == poll.id).order_by(PollVote.at, PollVote.id)
        )
        return rows.all()

    async def vote(
        self, poll: Poll, voter: str, choices: list[int], *, via: str, now: datetime
    ) -> PollVote | None:
        """Record a person's vote (replacing theirs); no choices withdraws it."""
        existing = await self.session.scalar(
            select(PollVote).where(PollVote.poll_id == poll.id, PollVote.voter == voter)
        )
        if not choices:
            if existing is not None:
                await self.session.delete(existing)
                await self.session.flush()
            return None
        if existing is None:
            existing = PollVote(poll_id=poll.id, voter=voter, choices=choices, via=via, at=now)
            self.session.add(existing)
        else:
            existing.choices, existing.via, existing.at = choices, via, now
        await self.session.flush()
        return existing

    async def refused_before(self, poll: Poll, voter: str, *, now: datetime) -> bool:
        """Whether this person was already told they may not vote (and remember it)."""
        found = await self.session.scalar(
            select(PollRefusal.id).where(PollRefusal.poll_id == poll.id, PollRefusal.voter == voter)
        )
        if found is not None:
            return True
        self.session.add(PollRefusal(poll_id=poll.id, voter=voter, at=now))
        await self.session.flush()
        return False

    async def containing(self, patterns: Sequence[str]) -> Sequence[Poll]:
        """Polls whose question or options may mention someone (the caller checks)."""
        rows = await self.session.scalars(
            select(Poll)
            .where(
                Poll.group_id == self.group,
                self.mentioning(Poll.question, patterns)
                | self.mentioning(cast(Poll.options, Text), patterns),
            )
            .order_by(Poll.number)
        )
        return rows.all()

    async def votes_of(self, voter: str) -> Sequence[PollVote]:
        ids = select(Poll.id).where(Poll.group_id == self.group)
        rows = await self.session.scalars(
            select(PollVote).where(PollVote.voter == voter, PollVote.poll_id.in_(ids))
        )
        return rows.all()

    async def forget_voter(self, voter: str, marker: str) -> int:
        """A person erased: their votes count on, under no name."""
        ids = select(Poll.id).where(Poll.group_id == self.group)
        rows = list(
            await self.session.scalars(
                select(PollVote).where(PollVote.voter == voter, PollVote.poll_id.in_(ids))
            )
        )
        for vote in rows:
            # Unique per poll, and no longer theirs: the vote counts, under no name.
            vote.voter = f"{marker} {vote.id}"
        await self.session.execute(
            delete(PollRefusal).where(PollRefusal.voter == voter, PollRefusal.poll_id.in_(ids))
        )
        return len(rows)


class DecisionRepository(GroupRepository):
    async def record(
        self,
        *,
        text: str,
        source: str,
        actor: str,
        now: datetime,
        outcome: str | None = None,
        counts: dict[str, Any] | None = None,
        poll_id: int | None = None,
        room_id: str | None = None,
        event_id: str | None = None,
        partner_id: int | None = None,
    ) -> Decision:
        decision = Decision(
            group_id=self.group,
            number=await _next_number(self, Decision),
            text=text,
            text_key=fold(f"{text} {outcome or ''}"),
            outcome=outcome,
            source=source,
            counts=counts or {},
            poll_id=poll_id,
            room_id=room_id,
            event_id=event_id,
            partner_id=partner_id,
            actor=actor,
            decided_at=now,
        )
        self.session.add(decision)
        await self.session.flush()
        return decision

    async def get(self, number: int) -> Decision | None:
        """A decision of the log by its number (a withdrawn one is no longer there)."""
        return await self.session.scalar(
            select(Decision).where(
                Decision.group_id == self.group,
                Decision.number == number,
                Decision.withdrawn_at.is_(None),
            )
        )

    async def withdrawn(self, number: int) -> Decision | None:
        """A decision of the group by its number if it was withdrawn from the log."""
        return await self.session.scalar(
            select(Decision).where(
                Decision.group_id == self.group,
                Decision.number == number,
                Decision.withdrawn_at.is_not(None),
            )
        )

    async def by_id(self, decision_id: int) -> Decision | None:
        """A decision by its id, withdrawn or not."""
        return await self.session.scalar(
            select(Decision).where(Decision.group_id == self.group, Decision.id == decision_id)
        )

    async def withdraw(self, decision: Decision, *, by: str, now: datetime) -> None:
        """Take a decision out of the log; its row stays, so its number is never reused."""
        decision.withdrawn_at, decision.withdrawn_by = now, by
        await self.session.flush()

    async def proposal_number(self, decision: Decision) -> int | None:
        """The number of the proposal whose outcome this decision is, if any."""
        return await self.session.scalar(
            select(Proposal.number).where(
                Proposal.group_id == self.group, Proposal.decision_id == decision.id
            )
        )

    async def search(
        self, words: Sequence[str], *, limit: int, offset: int = 0
    ) -> tuple[Sequence[Decision], int]:
        """Decisions whose text holds every word (folded: accents and case aside), the
        latest first, and how many there are."""
        conditions = [Decision.group_id == self.group, Decision.withdrawn_at.is_(None)]
        conditions += [
            Decision.text_key.like(f"%{like_escape(fold(w))}%", escape="\\") for w in words
        ]
        total = await self.session.scalar(select(func.count(Decision.id)).where(*conditions))
        rows = await self.session.scalars(
            select(Decision)
            .where(*conditions)
            .order_by(Decision.decided_at.desc(), Decision.number.desc())
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    async def since(self, when: datetime) -> Sequence[Decision]:
        rows = await self.session.scalars(
            select(Decision)
            .where(
                Decision.group_id == self.group,
                Decision.decided_at >= when,
                Decision.withdrawn_at.is_(None),
            )
            .order_by(Decision.decided_at)
        )
        return rows.all()

    async def forget_member(self, user_id: str, marker: str) -> int:
        """A member erased: the decisions they recorded or withdrew no longer name them."""
        count = 0
        for column in (Decision.actor, Decision.withdrawn_by):
            result = await self.session.execute(
                update(Decision)
                .where(Decision.group_id == self.group, column == user_id)
                .values({column.key: marker})
            )
            count += int(getattr(result, "rowcount", 0) or 0)
        return count

    async def containing(self, patterns: Sequence[str]) -> Sequence[Decision]:
        rows = await self.session.scalars(
            select(Decision)
            .where(Decision.group_id == self.group, self.mentioning(Decision.text, patterns))
            .order_by(Decision.number)
        )
        return rows.all()


class ProposalRepository(GroupRepository):
    async def create(self, *, text: str, author: str, origin: str, now: datetime) -> Proposal:
        proposal = Proposal(
            group_id=self.group,
            number=await _next_number(self, Proposal),
            text=text,
            author=author,
            origin=origin,
            status=ProposalStatus.PENDING.value,
            created_at=now,
        )
        self.session.add(proposal)
        await self.session.flush()
        return proposal

    async def get(self, number: int) -> Proposal | None:
        """A proposal by its number (a withdrawn one is no longer there)."""
        return await self.session.scalar(
            select(Proposal).where(
                Proposal.group_id == self.group,
                Proposal.number == number,
                Proposal.status != ProposalStatus.WITHDRAWN.value,
            )
        )

    async def by_id(self, proposal_id: int) -> Proposal | None:
        return await self.session.scalar(
            select(Proposal).where(Proposal.group_id == self.group, Proposal.id == proposal_id)
        )

    async def withdrawn(self, number: int) -> Proposal | None:
        """A proposal of the group by its number if it was withdrawn from the queue."""
        return await self.session.scalar(
            select(Proposal).where(
                Proposal.group_id == self.group,
                Proposal.number == number,
                Proposal.status == ProposalStatus.WITHDRAWN.value,
            )
        )

    async def withdraw(self, proposal: Proposal, *, by: str, now: datetime, note: str) -> None:
        """Take a proposal out of the queue before the committee decides it; its row
        stays, so its number is never reused."""
        proposal.status = ProposalStatus.WITHDRAWN.value
        proposal.decided_at, proposal.decided_by, proposal.note = now, by, note
        await self.session.flush()

    async def pending(self) -> Sequence[Proposal]:
        """Proposals the committee has not decided yet: waiting, put to a vote, or
        postponed (the next agenda and the digest take those up again)."""
        rows, _ = await self.queue(limit=None, offset=0)
        return rows

    async def queue(self, *, limit: int | None, offset: int) -> tuple[Sequence[Proposal], int]:
        """Proposals not decided yet, and how many there are: those waiting or put to a
        vote first, then the postponed ones, each in the order they were submitted."""
        where = (Proposal.group_id == self.group, Proposal.status.in_(UNDECIDED))
        total = await self.session.scalar(select(func.count(Proposal.id)).where(*where))
        query = (
            select(Proposal)
            .where(*where)
            .order_by(
                case((Proposal.status == ProposalStatus.POSTPONED.value, 1), else_=0),
                Proposal.number,
            )
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        return (await self.session.scalars(query)).all(), int(total or 0)

    async def forget_member(self, user_id: str, marker: str) -> int:
        """A member erased: the proposals they made or settled no longer name them."""
        count = 0
        for column in (Proposal.author, Proposal.decided_by):
            result = await self.session.execute(
                update(Proposal)
                .where(Proposal.group_id == self.group, column == user_id)
                .values({column.key: marker})
            )
            count += int(getattr(result, "rowcount", 0) or 0)
        return count

    async def containing(self, patterns: Sequence[str]) -> Sequence[Proposal]:
        rows = await self.session.scalars(
            select(Proposal)
            .where(
                Proposal.group_id == self.group,
                self.mentioning(Proposal.text, patterns) | self.mentioning(Proposal.note, patterns),
            )
            .order_by(Proposal.number)
        )
        return rows.all()


class PollSchedule(Repository):
    """What the deadline job reads across groups."""

    async def next_due(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(Poll.next_due_at)).where(Poll.status == OPEN)
        )

    async def groups_due(self, now: datetime) -> list[str]:
        rows = await self.session.scalars(
            select(Poll.group_id).where(Poll.next_due_at <= now, Poll.status == OPEN).distinct()
        )
        return sorted(rows.all())
