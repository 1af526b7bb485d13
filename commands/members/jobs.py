"""The membership domain's scheduled jobs.

`RequestsJob` tells the moderators of the requests they have not heard of, grouped into
one message per group and pass (a flood of knocks is one notice, and nothing is lost),
and closes requests nobody decided on in time (a knock is then refused).

`RoomJob` keeps the group's room as membership wants it: the `knock` join rule, asked
for at each start (the bot learns whether the homeserver accepted it from the outbox,
and tells the admins once when it did not), and the moderators' power level.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from commands.kit.context import Context
from commands.kit.jobs import Places
from commands.members.records import (
    Lookalikes,
    admins,
    configured_groups,
    first,
    fitted,
    group_room,
    moderators,
    moderators_room,
    request_line,
    rules,
)
from commands.members.roster import grant_power, take_back_power
from storage.models import JoinRequest, OutboxStatus, RequestSource, RequestStatus, Role
from storage.repos.core import MemberRepository
from storage.repos.members import AdmissionRepository, JoinRequestRepository, MembershipSchedule
from storage.uow import UnitOfWork

BATCH = 5000  # requests handled in one pass at most; the rest at the next
SHOWN = 20  # requests spelt out in one notice; the others are counted

# What `RoomJob` keeps between passes (bot_state), and this process's identity: a new
# process (a start) asks for the join rule again.
ROOM_STATE = "members.room"
PROCESS = uuid.uuid4().hex
CHECK_AFTER = timedelta(seconds=30)  # how long before looking whether the homeserver said yes
RETRY_AFTER = timedelta(days=1)  # a refused join rule is asked for again (silently)
POWER_EVERY = timedelta(minutes=10)  # moderators' power levels follow role changes


class RequestsJob:
    name = "members.requests"

    async def next_due(self, uow: UnitOfWork) -> datetime | None:
        schedule = MembershipSchedule(uow.session)
        times = [t for t in (await schedule.next_notification(), await schedule.next_expiry()) if t]
        return min(times) if times else None

    async def run_due(self, now: datetime, uow: UnitOfWork, places: Places) -> int:
        schedule = MembershipSchedule(uow.session)
        handled = 0
        for group in await schedule.groups_expiring(now):
            handled += await self._expire(group, now, uow, places)
        for group in await schedule.groups_to_notify(now):
            handled += await self._notify(group, now, uow, places)
        return handled

    async def _notify(self, group: str, now: datetime, uow: UnitOfWork, places: Places) -> int:
        rows = await uow.repo(JoinRequestRepository, group).unnotified(now, limit=BATCH)
        room = moderators_room(places.services.settings, group)
        if not rows or room is None:
            return 0
        ctx = await places.room(room)
        lookalikes = await Lookalikes.of(ctx, group)
        shown, more = first(rows, SHOWN)
        _, waiting = await uow.repo(JoinRequestRepository, group).pending(limit=0)

        # Written in the transaction that marks the requests told: once (its
        # transaction id is random, as two notices may cover the same requests at the
        # same instant when one of them asked again).
        def build(width: int) -> dict[str, Any]:
            return {
                "count": len(rows),
                "items": [
                    request_line(r, lookalikes, tz=ctx.room.timezone, width=width) for r in shown
                ],
                "more": more,
                "waiting": waiting,
                "prefix": ctx.prefix,
            }

        rendered = fitted(ctx.t, "members.notify", build)
        await ctx.send_rendered(rendered, reply=False, mentions=await moderators(ctx, group))
        for request in rows:
            request.notified_at = now
        return len(rows)

    async def _expire(self, group: str, now: datetime, uow: UnitOfWork, places: Places) -> int:
        rows = await uow.repo(JoinRequestRepository, group).expiring(now, limit=BATCH)
        if not rows:
            return 0
        for request in rows:
            await self._close(request, now, uow, places)
        room = moderators_room(places.services.settings, group)
        if room is not None:
            ctx = await places.room(room)
            shown, more = first(rows, SHOWN)
            await ctx.notice(
                "members.expired",
                count=len(rows),
                users=[r.user_id for r in shown],
                more=more,
                days=rules(ctx.settings).request_expiry_days,
            )
        return len(rows)

    @staticmethod
    async def _close(request: JoinRequest, now: datetime, uow: UnitOfWork, places: Places) -> None:
        request.status = RequestStatus.EXPIRED.value
        request.decided_at = request.updated_at = now
        request.notified_at = request.notified_at or now  # nothing left to announce
        ctx = await places.room(request.room_id)
        ctx.origin = f"members:expire:{request.id}"
        if request.source == RequestSource.KNOCK:
            # Only a knock still standing is refused: never someone let in meanwhile.
            if await uow.room_members.membership(request.room_id, request.user_id) == "knock":
                reason = ctx.t.text("members.expired.kick_reason")
                await ctx.kick(request.user_id, room_id=request.room_id, reason=reason)
        else:
            await ctx.to_user(request.user_id, "members.expired.dm", prefix=ctx.prefix)
        await ctx.audit("members.expire", user=request.user_id, request=request.id)


class RoomJob:
    """The join rule and the moderators' power levels (both off unless configured); a
    pass counts the room actions and warnings it queued."""

    name = "members.room"

    async def next_due(self, uow: UnitOfWork) -> datetime | None:
        # Before its first pass in this process it says nothing: the scheduler runs a
        # pass at start anyway (the runtime's loop begins with one), and that is when
        # this job first looks at the rooms.
        state = await _state(uow)
        due = state.get("next")
        if state.get("process") != PROCESS or not isinstance(due, str):
            return None
        return datetime.fromisoformat(due)

    async def run_due(self, now: datetime, uow: UnitOfWork, places: Places) -> int:
        state = await _state(uow)
        started = state.get("process") != PROCESS
        due = state.get("next")
        if not started and not (isinstance(due, str) and datetime.fromisoformat(due) <= now):
            return 0
        settings = places.services.settings
        members = rules(settings)
        rooms: dict[str, Any] = dict(state.get("rooms") or {})
        times: list[datetime] = []
        actions = 0  # room actions and warnings queued
        for group in configured_groups(settings):
            room = group_room(settings, group)
            if room is None:
                continue
            if members.knock_join_rule:
                step = dict(rooms.get(room) or {})
                if started and step.get("step") != "asked":
                    step["step"] = "start"
                queued = len(uow.outbox.added)
                rooms[room] = step = await self._join_rule(room, group, step, now, uow, places)
                actions += len(uow.outbox.added) - queued
                if "at" in step and step["step"] in ("asked", "refused"):
                    wait = CHECK_AFTER if step["step"] == "asked" else RETRY_AFTER
                    times.append(datetime.fromisoformat(step["at"]) + wait)
            if members.moderator_power_level or await _granted(uow, group):
                actions += await self._power(group, room, now, uow, places)
                times.append(now + POWER_EVERY)
        state = {
            "process": PROCESS,
            "rooms": rooms,
            "next": min(times).isoformat() if times else None,
        }
        await uow.state.set(ROOM_STATE, json.dumps(state), now=now)
        return actions

    @staticmethod
    async def _join_rule(
        room: str, group: str, step: dict[str, Any], now: datetime, uow: UnitOfWork, places: Places
    ) -> dict[str, Any]:
        """One room's join rule: ask for it (at a start, or a day after a refusal), or
        look whether the homeserver took it."""
        kind = step.get("step")
        if kind == "asked":
            if now < datetime.fromisoformat(step["at"]) + CHECK_AFTER:
                return step
            status = await MembershipSchedule(uow.session).outbox_status(int(step["outbox"]))
            if status == OutboxStatus.PENDING:
                return {**step, "at": now.isoformat()}  # still trying: look again later
            if status != OutboxStatus.FAILED:
                return {"step": "done"}
            if not step.get("warned"):
                await _warn(room, group, now, places)
            return {"step": "refused", "at": now.isoformat(), "warned": True}
        if kind == "done" or (
            kind == "refused" and now < datetime.fromisoformat(step["at"]) + RETRY_AFTER
        ):
            return step
        ctx = await places.room(room)
        ctx.origin = f"members:join_rule:{room}:{now.isoformat()}"
        await ctx.set_state("m.room.join_rules", {"join_rule": "knock"}, room_id=room)
        outbox_id = uow.outbox.added[-1].id
        return {
            "step": "asked",
            "at": now.isoformat(),
            "outbox": outbox_id,
            "warned": bool(step.get("warned")),
        }

    @staticmethod
    async def _power(group: str, room: str, now: datetime, uow: UnitOfWork, places: Places) -> int:
        """Moderators joined in the room get their power level; those who are no
        moderators any more lose the one the bot gave them."""
        ctx = await places.room(room)
        granted = uow.repo(AdmissionRepository, group)
        changed = 0
        for admission in await granted.with_power():
            ctx.origin = f"members:power:{room}:{admission.user_id}:0:{now.isoformat()}"
            changed += await take_back_power(ctx, admission)
        if not rules(ctx.settings).moderator_power_level:
            return changed
        found = await uow.repo(MemberRepository, group).with_role_at_least(Role.MODERATOR)
        for member in found:
            if member.role != Role.MODERATOR or member.user_id in ctx.settings.admins:
                continue  # administrators may hold more: the bot never lowers them
            if await uow.room_members.membership(room, member.user_id) != "join":
                continue
            admission = await granted.ensure(room, member.user_id, now=now)
            ctx.origin = f"members:power:{room}:{member.user_id}:50:{now.isoformat()}"
            changed += await grant_power(ctx, admission)
        return changed


async def _state(uow: UnitOfWork) -> dict[str, Any]:
    raw = await uow.state.get(ROOM_STATE)
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def _granted(uow: UnitOfWork, group: str) -> bool:
    return bool(await uow.repo(AdmissionRepository, group).with_power())


async def _warn(room: str, group: str, now: datetime, places: Places) -> None:
    """Tell the group's admins, once, that the room could not be set to knocking."""
    target = moderators_room(places.services.settings, group) or room
    ctx: Context = await places.room(target)
    ctx.origin = f"members:join_rule_refused:{room}:{now.isoformat()}"
    people = await admins(ctx, group)
    await ctx.notice(
        "members.join_rule.refused", mentions=people, admins=people, room=room, prefix=ctx.prefix
    )
    await ctx.audit("members.join_rule", room=room, outcome="refused")


REQUESTS = RequestsJob()
ROOM = RoomJob()
