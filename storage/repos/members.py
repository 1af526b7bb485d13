"""One group's join requests and admissions, and the membership jobs' view across groups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select

from storage.models import Admission, JoinRequest, OutboxEvent, RequestStatus
from storage.repos.base import GroupRepository, Repository

PENDING = RequestStatus.PENDING.value


class JoinRequestRepository(GroupRepository):
    """People asking to join the group's rooms."""

    async def create(
        self,
        *,
        room_id: str,
        user_id: str,
        display_name: str | None,
        reason: str | None,
        source: str,
        now: datetime,
        expires_at: datetime,
    ) -> JoinRequest:
        request = JoinRequest(
            group_id=self.group,
            room_id=room_id,
            user_id=user_id,
            display_name=display_name,
            reason=reason,
            source=source,
            status=PENDING,
            created_at=now,
            updated_at=now,
            expires_at=expires_at,
        )
        self.session.add(request)
        await self.session.flush()
        return request

    async def pending_of(self, user_id: str) -> JoinRequest | None:
        """The person's pending request, if any (there is at most one)."""
        return await self.session.scalar(
            select(JoinRequest)
            .where(
                JoinRequest.group_id == self.group,
                JoinRequest.user_id == user_id,
                JoinRequest.status == PENDING,
            )
            .order_by(JoinRequest.id.desc())
            .limit(1)
        )

    async def latest_of(self, user_id: str) -> JoinRequest | None:
        """The person's last request, whatever became of it."""
        return await self.session.scalar(
            select(JoinRequest)
            .where(JoinRequest.group_id == self.group, JoinRequest.user_id == user_id)
            .order_by(JoinRequest.id.desc())
            .limit(1)
        )

    async def pending(self, *, limit: int, offset: int = 0) -> tuple[Sequence[JoinRequest], int]:
        """Pending requests, oldest first, and how many there are in all."""
        where = (JoinRequest.group_id == self.group, JoinRequest.status == PENDING)
        total = await self.session.scalar(
            select(func.count()).select_from(JoinRequest).where(*where)
        )
        rows = await self.session.scalars(
            select(JoinRequest).where(*where).order_by(JoinRequest.id).offset(offset).limit(limit)
        )
        return rows.all(), int(total or 0)

    async def unnotified(self, now: datetime, *, limit: int) -> Sequence[JoinRequest]:
        """Pending requests the moderators have not been told of yet."""
        rows = await self.session.scalars(
            select(JoinRequest)
            .where(
                JoinRequest.group_id == self.group,
                JoinRequest.status == PENDING,
                JoinRequest.notified_at.is_(None),
                JoinRequest.updated_at <= now,
            )
            .order_by(JoinRequest.id)
            .limit(limit)
        )
        return rows.all()

    async def expiring(self, now: datetime, *, limit: int) -> Sequence[JoinRequest]:
        """Pending requests whose time is up."""
        rows = await self.session.scalars(
            select(JoinRequest)
            .where(
                JoinRequest.group_id == self.group,
                JoinRequest.status == PENDING,
                JoinRequest.expires_at <= now,
            )
            .order_by(JoinRequest.id)
            .limit(limit)
        )
        return rows.all()

    # --- Personal data.

    async def of_user(self, user_id: str) -> Sequence[JoinRequest]:
        rows = await self.session.scalars(
            select(JoinRequest)
            .where(JoinRequest.group_id == self.group, JoinRequest.user_id == user_id)
            .order_by(JoinRequest.id)
        )
        return rows.all()

    async def decided_by(self, user_id: str) -> Sequence[JoinRequest]:
        rows = await self.session.scalars(
            select(JoinRequest)
            .where(JoinRequest.group_id == self.group, JoinRequest.decided_by == user_id)
            .order_by(JoinRequest.id)
        )
        return rows.all()

    async def containing(self, patterns: Sequence[str]) -> Sequence[JoinRequest]:
        """Requests whose display name, reason or refusal note may hold one of these
        LIKE patterns (every one with a text when there is none): the caller checks."""
        rows = await self.session.scalars(
            select(JoinRequest)
            .where(
                JoinRequest.group_id == self.group,
                or_(
                    self.mentioning(JoinRequest.display_name, patterns),
                    self.mentioning(JoinRequest.reason, patterns),
                    self.mentioning(JoinRequest.note, patterns),
                ),
            )
            .order_by(JoinRequest.id)
        )
        return rows.all()

    async def remove(self, requests: Iterable[JoinRequest]) -> None:
        ids = [r.id for r in requests]
        if ids:
            await self.session.execute(
                delete(JoinRequest).where(
                    JoinRequest.group_id == self.group, JoinRequest.id.in_(ids)
                )
            )


class AdmissionRepository(GroupRepository):
    """How each member came into the group's rooms."""

    async def get(self, room_id: str, user_id: str) -> Admission | None:
        row = await self.session.get(Admission, (room_id, user_id))
        return row if row is not None and row.group_id == self.group else None

    async def ensure(self, room_id: str, user_id: str, *, now: datetime) -> Admission:
        """The person's admission to the room, created empty the first time."""
        row = await self.get(room_id, user_id)
        if row is None:
            row = Admission(group_id=self.group, room_id=room_id, user_id=user_id, updated_at=now)
            self.session.add(row)
            await self.session.flush()
        return row

    async def in_room(self, room_id: str, user_ids: Iterable[str]) -> dict[str, Admission]:
        wanted = list(user_ids)
        if not wanted:
            return {}
        rows = await self.session.scalars(
            select(Admission).where(
                Admission.group_id == self.group,
                Admission.room_id == room_id,
                Admission.user_id.in_(wanted),
            )
        )
        return {row.user_id: row for row in rows}

    async def with_power(self) -> Sequence[Admission]:
        """Admissions where the bot gave a power level (a moderator's)."""
        rows = await self.session.scalars(
            select(Admission)
            .where(Admission.group_id == self.group, Admission.power_level.is_not(None))
            .order_by(Admission.room_id, Admission.user_id)
        )
        return rows.all()

    async def involving(self, user_id: str) -> Sequence[Admission]:
        """Admissions of the person, or that they approved or invited (personal data)."""
        rows = await self.session.scalars(
            select(Admission)
            .where(
                Admission.group_id == self.group,
                or_(
                    Admission.user_id == user_id,
                    Admission.approved_by == user_id,
                    Admission.invited_by == user_id,
                ),
            )
            .order_by(Admission.room_id, Admission.user_id)
        )
        return rows.all()

    async def remove(self, admission: Admission) -> None:
        await self.session.delete(admission)
        await self.session.flush()


class MembershipSchedule(Repository):
    """What the membership jobs read across groups."""

    async def next_notification(self) -> datetime | None:
        """When the earliest pending request the moderators were not told of came in."""
        return await self.session.scalar(
            select(func.min(JoinRequest.updated_at)).where(
                JoinRequest.status == PENDING, JoinRequest.notified_at.is_(None)
            )
        )

    async def next_expiry(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(JoinRequest.expires_at)).where(JoinRequest.status == PENDING)
        )

    async def groups_to_notify(self, now: datetime) -> list[str]:
        rows = await self.session.scalars(
            select(JoinRequest.group_id)
            .where(
                JoinRequest.status == PENDING,
                JoinRequest.notified_at.is_(None),
                JoinRequest.updated_at <= now,
            )
            .distinct()
        )
        return sorted(rows)

    async def groups_expiring(self, now: datetime) -> list[str]:
        rows = await self.session.scalars(
            select(JoinRequest.group_id)
            .where(JoinRequest.status == PENDING, JoinRequest.expires_at <= now)
            .distinct()
        )
        return sorted(rows)

    async def outbox_status(self, outbox_id: int) -> str | None:
        """Whether a room action the bot queued went out (None: no longer kept)."""
        row = await self.session.get(OutboxEvent, outbox_id)
        return row.status if row is not None else None
