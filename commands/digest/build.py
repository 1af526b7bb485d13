"""What a digest says: each section read from its domain's repository, capped at a few
lines with how many more there are. Reading only (nothing is written here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from commands.digest.settings import DigestSettings
from commands.kit.context import Context
from storage.models import MeetingStatus, PartnerStatus, PollStatus
from storage.repos.followups import Filter, FollowupRepository
from storage.repos.meetings import MeetingRepository
from storage.repos.members import JoinRequestRepository
from storage.repos.partners import PartnerFilter, PartnerRepository
from storage.repos.polls import DecisionRepository, PollRepository, ProposalRepository

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Section:
    """Some lines of a section, and how many there are in all."""

    lines: list[dict[str, Any]]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.lines)

    def __bool__(self) -> bool:
        return self.total > 0


@dataclass
class Digest:
    since: datetime
    until: datetime
    sections: dict[str, Section] = field(default_factory=dict)
    moderators: dict[str, Section] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(self.sections.values())


def _section(rows: list[dict[str, Any]], total: int | None = None) -> Section:
    return Section(rows, len(rows) if total is None else total)


async def build(ctx: Context, since: datetime, until: datetime) -> Digest:
    """The digest of the week [since, until) for this context's group, as of `ctx.now`."""
    rules = ctx.settings.section(DigestSettings)
    n = rules.lines
    digest = Digest(since, until)
    now = ctx.now
    book = ctx.repo(PartnerRepository)
    created, created_total = await book.created_between(since, until, limit=n)
    digest.sections["partners_new"] = _section(
        [{"name": p.name, "status": p.status} for p in created], created_total
    )
    changes, changes_total = await book.status_changes_between(since, until, limit=n)
    digest.sections["partners_status"] = _section(
        [
            {"name": p.name, "before": e.detail.get("from"), "after": e.detail.get("to")}
            for e, p in changes
        ],
        changes_total,
    )
    stale, stale_total = await book.page(
        PartnerFilter(
            statuses=(PartnerStatus.INTERESTED.value, PartnerStatus.NEGOTIATING.value),
            quiet_since=now - timedelta(days=rules.stale_days),
        ),
        limit=n,
        order="quiet",
    )
    digest.sections["partners_stale"] = _section(
        [
            {
                "name": s.partner.name,
                "status": s.partner.status,
                "since": s.partner.last_interaction_at,
            }
            for s in stale
        ],
        stale_total,
    )
    followups = ctx.repo(FollowupRepository)
    overdue = await followups.overdue_by_assignee(now, limit=10_000)
    digest.sections["followups_overdue"] = _section(
        [{"user": user, "count": count} for user, count in overdue[:n]], len(overdue)
    )
    week, week_total = await followups.find(Filter(due_after=now, due_before=now + WEEK), limit=n)
    digest.sections["followups_week"] = _section(
        [{"number": f.number, "text": f.text, "user": f.assignee, "due": f.due_at} for f in week],
        week_total,
    )
    done, done_total = await followups.find(
        Filter(statuses=("done",), closed_since=since, closed_before=until), limit=n
    )
    digest.sections["followups_done"] = _section(
        [{"number": f.number, "text": f.text, "user": f.assignee} for f in done], done_total
    )
    polls = ctx.repo(PollRepository)
    open_polls = await polls.listing(status=PollStatus.OPEN.value, limit=1000)
    digest.sections["polls_open"] = _section(
        [
            {"number": p.number, "question": p.question, "closes": p.closes_at}
            for p in open_polls[:n]
        ],
        len(open_polls),
    )
    decided = [d for d in await ctx.repo(DecisionRepository).since(since) if d.decided_at < until]
    outcomes = {d.poll_id: d.outcome for d in decided if d.poll_id is not None}
    closed = await polls.closed_between(since, until)
    digest.sections["polls_closed"] = _section(
        [
            {"number": p.number, "question": p.question, "outcome": outcomes.get(p.id)}
            for p in closed[:n]
        ],
        len(closed),
    )
    digest.sections["decisions"] = _section(
        [{"number": d.number, "text": d.text, "outcome": d.outcome} for d in decided[:n]],
        len(decided),
    )
    proposals, proposals_total = await ctx.repo(ProposalRepository).queue(limit=n, offset=0)
    digest.sections["proposals"] = _section(
        [{"number": p.number, "text": p.text, "status": p.status} for p in proposals],
        proposals_total,
    )
    digest.sections["meeting"] = await _next_meeting(ctx, n)
    requests, requests_total = await ctx.repo(JoinRequestRepository).pending(limit=n)
    digest.moderators["moderators_requests"] = _section(
        [{"user": r.user_id, "name": r.display_name} for r in requests], requests_total
    )
    return digest


async def _next_meeting(ctx: Context, n: int) -> Section:
    """The group's next planned meeting with a date, and the start of its agenda."""
    meetings = ctx.repo(MeetingRepository)
    planned = [
        m
        for room in ctx.group_rooms()
        if (m := await meetings.in_room(room, MeetingStatus.PLANNED.value)) is not None
        and m.scheduled_at is not None
        and m.scheduled_at >= ctx.now
    ]
    if not planned:
        return _section([])
    meeting = min(planned, key=lambda m: m.scheduled_at or ctx.now)
    agenda = [item.text for item in await meetings.agenda(meeting)]
    line = {"title": meeting.title or "", "when": meeting.scheduled_at, "agenda": agenda[:n]}
    return _section([line])
