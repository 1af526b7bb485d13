"""One group's meetings: the planned and running meeting of each room, their agendas,
the items the minutes are written from, who was there, the raw log; and the scheduled
job's view across groups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update

from storage.models import (
    AgendaItem,
    AgendaStatus,
    Attendee,
    LogLine,
    Meeting,
    MeetingItem,
    MeetingStatus,
    Proposal,
    ProposalStatus,
    RoomMember,
)
from storage.repos.base import GroupRepository, Repository

PLANNED = MeetingStatus.PLANNED.value
RUNNING = MeetingStatus.RUNNING.value
ENDED = MeetingStatus.ENDED.value
OPEN = AgendaStatus.OPEN.value


class MeetingRepository(GroupRepository):
    # --- Meetings.

    async def create(self, *, room_id: str, by: str, now: datetime, status: str) -> Meeting:
        meeting = Meeting(
            group_id=self.group,
            room_id=room_id,
            status=status,
            sequence=0,
            chairs=[],
            created_by=by,
            created_at=now,
            updated_at=now,
        )
        self.session.add(meeting)
        await self.session.flush()
        return meeting

    async def in_room(self, room_id: str, status: str) -> Meeting | None:
        """The room's planned meeting, or its running one (one of each at most)."""
        return await self.session.scalar(
            select(Meeting)
            .where(
                Meeting.group_id == self.group,
                Meeting.room_id == room_id,
                Meeting.status == status,
            )
            .order_by(Meeting.id.desc())
            .limit(1)
        )

    async def running_anywhere(self) -> Meeting | None:
        """The group's running meeting in any of its rooms (a direct message's)."""
        return await self.session.scalar(
            select(Meeting)
            .where(Meeting.group_id == self.group, Meeting.status == RUNNING)
            .order_by(Meeting.id.desc())
            .limit(1)
        )

    async def by_id(self, meeting_id: int) -> Meeting | None:
        return await self.session.scalar(
            select(Meeting).where(Meeting.group_id == self.group, Meeting.id == meeting_id)
        )

    async def by_number(self, number: int) -> Meeting | None:
        return await self.session.scalar(
            select(Meeting).where(Meeting.group_id == self.group, Meeting.number == number)
        )

    async def next_number(self) -> int:
        last = await self.session.scalar(
            select(func.max(Meeting.number)).where(Meeting.group_id == self.group)
        )
        return int(last or 0) + 1

    async def held(self, *, limit: int, offset: int = 0) -> tuple[Sequence[Meeting], int]:
        """Meetings that took place (running or ended), the latest first, and how many."""
        where = (Meeting.group_id == self.group, Meeting.number.is_not(None))
        total = await self.session.scalar(select(func.count(Meeting.id)).where(*where))
        rows = await self.session.scalars(
            select(Meeting)
            .where(*where)
            .order_by(Meeting.number.desc())
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    async def due(self, now: datetime) -> Sequence[Meeting]:
        rows = await self.session.scalars(
            select(Meeting)
            .where(
                Meeting.group_id == self.group,
                Meeting.status == PLANNED,
                Meeting.next_due_at <= now,
            )
            .order_by(Meeting.next_due_at, Meeting.id)
        )
        return rows.all()

    # --- The agenda.

    async def agenda(
        self, meeting: Meeting, statuses: Sequence[str] = (OPEN,)
    ) -> Sequence[AgendaItem]:
        """A meeting's agenda items with these statuses, in their order."""
        rows = await self.session.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting.id, AgendaItem.status.in_(statuses))
            .order_by(AgendaItem.position, AgendaItem.id)
        )
        return rows.all()

    async def add_agenda(
        self,
        meeting: Meeting,
        *,
        text: str,
        origin: str,
        by: str,
        now: datetime,
        owner: str | None = None,
        duration_minutes: int | None = None,
        proposal_id: int | None = None,
        from_meeting: int | None = None,
    ) -> AgendaItem:
        """A new agenda item, after the others."""
        last = await self.session.scalar(
            select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting.id)
        )
        item = AgendaItem(
            meeting_id=meeting.id,
            position=int(last or 0) + 1,
            text=text,
            owner=owner,
            duration_minutes=duration_minutes,
            origin=origin,
            proposal_id=proposal_id,
            from_meeting=from_meeting,
            status=OPEN,
            added_by=by,
            created_at=now,
        )
        self.session.add(item)
        await self.session.flush()
        return item

    async def agenda_item(self, meeting: Meeting, item_id: int) -> AgendaItem | None:
        return await self.session.scalar(
            select(AgendaItem).where(AgendaItem.meeting_id == meeting.id, AgendaItem.id == item_id)
        )

    async def reorder(self, items: Sequence[AgendaItem]) -> None:
        """Give these items the positions 1, 2, ... in this order."""
        for position, item in enumerate(items, start=1):
            item.position = position
        await self.session.flush()

    # --- Items of the minutes.

    async def items(self, meeting: Meeting) -> Sequence[MeetingItem]:
        rows = await self.session.scalars(
            select(MeetingItem)
            .where(MeetingItem.meeting_id == meeting.id)
            .order_by(MeetingItem.seq, MeetingItem.id)
        )
        return rows.all()

    async def add_item(
        self,
        meeting: Meeting,
        *,
        kind: str,
        text: str,
        author: str,
        now: datetime,
        **fields: object,
    ) -> MeetingItem:
        """A new line of the minutes, after the others, under the current topic."""
        last = await self.session.scalar(
            select(func.max(MeetingItem.seq)).where(MeetingItem.meeting_id == meeting.id)
        )
        item = MeetingItem(
            meeting_id=meeting.id,
            seq=int(last or 0) + 1,
            kind=kind,
            text=text,
            author=author,
            at=now,
            **fields,
        )
        if "topic_id" not in fields:
            item.topic_id = meeting.current_topic_id
        self.session.add(item)
        await self.session.flush()
        return item

    async def item(self, meeting: Meeting, item_id: int) -> MeetingItem | None:
        return await self.session.scalar(
            select(MeetingItem).where(
                MeetingItem.meeting_id == meeting.id, MeetingItem.id == item_id
            )
        )

    async def last_item(self, meeting: Meeting, *, kinds: Sequence[str]) -> MeetingItem | None:
        return await self.session.scalar(
            select(MeetingItem)
            .where(MeetingItem.meeting_id == meeting.id, MeetingItem.kind.in_(kinds))
            .order_by(MeetingItem.seq.desc(), MeetingItem.id.desc())
            .limit(1)
        )

    async def last_command(self, meeting: Meeting, *, kinds: Sequence[str]) -> list[MeetingItem]:
        """The lines of these kinds that the last command wrote (one `!action` for two
        members writes two), in order; empty when there are none."""
        last = await self.last_item(meeting, kinds=kinds)
        if last is None:
            return []
        if last.event_id is None:
            return [last]
        rows = await self.session.scalars(
            select(MeetingItem)
            .where(
                MeetingItem.meeting_id == meeting.id,
                MeetingItem.event_id == last.event_id,
                MeetingItem.kind == last.kind,
            )
            .order_by(MeetingItem.seq, MeetingItem.id)
        )
        return list(rows)

    async def waiting_decision(self, meeting: Meeting, event_id: str) -> MeetingItem | None:
        """The item a command of this event is recording a decision for (the decision
        being recorded now, in the same transaction)."""
        return await self.session.scalar(
            select(MeetingItem).where(
                MeetingItem.meeting_id == meeting.id,
                MeetingItem.event_id == event_id,
                MeetingItem.ref_id.is_(None),
            )
        )

    async def postponed(self, meeting: Meeting, topic_id: int) -> bool:
        """Whether this topic was already postponed."""
        found = await self.session.scalar(
            select(MeetingItem.id).where(
                MeetingItem.meeting_id == meeting.id,
                MeetingItem.kind == "later",
                MeetingItem.topic_id == topic_id,
            )
        )
        return found is not None

    async def remove_items(self, items: Sequence[MeetingItem]) -> None:
        for item in items:
            await self.session.delete(item)
        await self.session.flush()

    # --- Who was there.

    async def attendees(self, meeting: Meeting) -> Sequence[Attendee]:
        rows = await self.session.scalars(
            select(Attendee).where(Attendee.meeting_id == meeting.id).order_by(Attendee.id)
        )
        return rows.all()

    async def add_attendee(
        self,
        meeting: Meeting,
        *,
        name: str,
        user_id: str | None,
        source: str,
        now: datetime,
        present: bool = True,
    ) -> Attendee:
        attendee = Attendee(
            meeting_id=meeting.id,
            user_id=user_id,
            name=name,
            present=present,
            source=source,
            at=now,
        )
        self.session.add(attendee)
        await self.session.flush()
        return attendee

    async def attendee_of(self, meeting: Meeting, user_id: str) -> Attendee | None:
        return await self.session.scalar(
            select(Attendee).where(Attendee.meeting_id == meeting.id, Attendee.user_id == user_id)
        )

    async def display_names(self, room_id: str, user_ids: Sequence[str]) -> dict[str, str]:
        """The names these members go by in the room, for those who have one."""
        if not user_ids:
            return {}
        rows = await self.session.execute(
            select(RoomMember.user_id, RoomMember.display_name).where(
                RoomMember.room_id == room_id, RoomMember.user_id.in_(list(user_ids))
            )
        )
        return {user: name for user, name in rows if name}

    # --- What the agenda is built from: the COPIL's queue.

    async def copil_waiting(self) -> Sequence[Proposal]:
        """Proposals the steering committee has not decided yet: new, put to a vote, or
        postponed (these come back on the next agenda)."""
        waiting = (
            ProposalStatus.PENDING.value,
            ProposalStatus.POLLED.value,
            ProposalStatus.POSTPONED.value,
        )
        rows = await self.session.scalars(
            select(Proposal)
            .where(Proposal.group_id == self.group, Proposal.status.in_(waiting))
            .order_by(Proposal.number)
        )
        return rows.all()

    async def proposals(self, ids: Sequence[int]) -> dict[int, Proposal]:
        if not ids:
            return {}
        rows = await self.session.scalars(
            select(Proposal).where(Proposal.group_id == self.group, Proposal.id.in_(list(ids)))
        )
        return {p.id: p for p in rows}

    # --- The raw log.

    async def log(
        self,
        meeting: Meeting,
        *,
        sender: str,
        body: str,
        msgtype: str,
        event_id: str | None,
        now: datetime,
    ) -> None:
        self.session.add(
            LogLine(
                meeting_id=meeting.id,
                at=now,
                sender=sender,
                event_id=event_id,
                msgtype=msgtype,
                body=body,
            )
        )
        await self.session.flush()

    async def log_lines(self, meeting: Meeting) -> Sequence[LogLine]:
        rows = await self.session.scalars(
            select(LogLine).where(LogLine.meeting_id == meeting.id).order_by(LogLine.id)
        )
        return rows.all()

    # --- Personal data: every text of the group's meetings that may name someone.

    def _mine(self) -> Select[Any]:
        return select(Meeting.id).where(Meeting.group_id == self.group)

    async def meetings_containing(self, patterns: Sequence[str]) -> Sequence[Meeting]:
        rows = await self.session.scalars(
            select(Meeting)
            .where(Meeting.group_id == self.group, self.mentioning(Meeting.title, patterns))
            .order_by(Meeting.id)
        )
        return rows.all()

    async def items_containing(self, patterns: Sequence[str]) -> Sequence[MeetingItem]:
        rows = await self.session.scalars(
            select(MeetingItem)
            .where(
                MeetingItem.meeting_id.in_(self._mine()),
                or_(
                    self.mentioning(MeetingItem.text, patterns),
                    self.mentioning(MeetingItem.owner, patterns),
                ),
            )
            .order_by(MeetingItem.meeting_id, MeetingItem.seq)
        )
        return rows.all()

    async def agenda_containing(self, patterns: Sequence[str]) -> Sequence[AgendaItem]:
        rows = await self.session.scalars(
            select(AgendaItem)
            .where(
                AgendaItem.meeting_id.in_(self._mine()),
                or_(
                    self.mentioning(AgendaItem.text, patterns),
                    self.mentioning(AgendaItem.owner, patterns),
                ),
            )
            .order_by(AgendaItem.meeting_id, AgendaItem.position)
        )
        return rows.all()

    async def attendees_containing(self, patterns: Sequence[str]) -> Sequence[Attendee]:
        rows = await self.session.scalars(
            select(Attendee)
            .where(Attendee.meeting_id.in_(self._mine()), self.mentioning(Attendee.name, patterns))
            .order_by(Attendee.meeting_id, Attendee.id)
        )
        return rows.all()

    async def log_containing(self, patterns: Sequence[str]) -> Sequence[LogLine]:
        rows = await self.session.scalars(
            select(LogLine)
            .where(LogLine.meeting_id.in_(self._mine()), self.mentioning(LogLine.body, patterns))
            .order_by(LogLine.meeting_id, LogLine.id)
        )
        return rows.all()

    async def involving(self, user_id: str) -> dict[str, int]:
        """How many of the group's meeting records name a member by their Matrix id:
        as a chair, an attendee, an author, an assignee, a sender in the log."""
        mine = self._mine()
        counts = {
            "attendees": await self.session.scalar(
                select(func.count(Attendee.id)).where(
                    Attendee.meeting_id.in_(mine), Attendee.user_id == user_id
                )
            ),
            "items": await self.session.scalar(
                select(func.count(MeetingItem.id)).where(
                    MeetingItem.meeting_id.in_(mine),
                    or_(MeetingItem.author == user_id, MeetingItem.assignee == user_id),
                )
            ),
            "log": await self.session.scalar(
                select(func.count(LogLine.id)).where(
                    LogLine.meeting_id.in_(mine), LogLine.sender == user_id
                )
            ),
        }
        return {kind: int(count or 0) for kind, count in counts.items()}

    async def forget_member(self, user_id: str, marker: str) -> None:
        """A member erased: their account leaves the attendees, the chairs, and the
        author, assignee and sender fields (what they said stays, under no name)."""
        mine = self._mine()
        await self.session.execute(
            delete(Attendee).where(Attendee.meeting_id.in_(mine), Attendee.user_id == user_id)
        )
        for column in (MeetingItem.author, MeetingItem.assignee):
            await self.session.execute(
                update(MeetingItem)
                .where(MeetingItem.meeting_id.in_(mine), column == user_id)
                .values({column.key: marker})
            )
        await self.session.execute(
            update(LogLine)
            .where(LogLine.meeting_id.in_(mine), LogLine.sender == user_id)
            .values(sender=marker)
        )
        rows = await self.session.scalars(select(Meeting).where(Meeting.group_id == self.group))
        for meeting in rows:
            if user_id in (meeting.chairs or []):
                meeting.chairs = [marker if c == user_id else c for c in meeting.chairs]
            for field in ("started_by", "ended_by", "scheduled_by", "created_by"):
                if getattr(meeting, field) == user_id:
                    setattr(meeting, field, marker)
        await self.session.flush()

    async def delete_attendees(self, attendees: Sequence[Attendee]) -> None:
        for attendee in attendees:
            await self.session.delete(attendee)
        await self.session.flush()


class MeetingSchedule(Repository):
    """What the meetings' job reads across groups."""

    async def next_due(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(Meeting.next_due_at)).where(Meeting.status == PLANNED)
        )

    async def groups_due(self, now: datetime) -> list[str]:
        rows = await self.session.scalars(
            select(Meeting.group_id)
            .where(Meeting.next_due_at <= now, Meeting.status == PLANNED)
            .distinct()
        )
        return sorted(rows.all())
