"""A small domain built on the kit, for testing the kit itself: a command that posts a
note (remembered by reference), handlers for reactions to those notes, knocks, poll
responses and messages, room actions and direct messages, and a daily job.

It records what its handlers saw in the `bot_state` table, so tests can count calls
across restarts of the bot.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from commands.kit.args import Arg, Text, User
from commands.kit.context import Context
from commands.kit.domain import Domain
from commands.kit.errors import CommandError
from commands.kit.events import Membership, Message, PollResponse, Reaction
from commands.kit.jobs import Places
from commands.kit.registry import Args, Router
from storage.repos.core import Ref
from storage.uow import UnitOfWork

router = Router("probe")
PROBE_ROOM = "!groupe"


async def record(uow: UnitOfWork, key: str, value: object, now: datetime) -> None:
    """Append `value` to the list kept under `probe.<key>`."""
    seen = json.loads(await uow.state.get(f"probe.{key}") or "[]")
    seen.append(value)
    await uow.state.set(f"probe.{key}", json.dumps(seen), now=now)


async def recorded(uow: UnitOfWork, key: str) -> list[object]:
    return list(json.loads(await uow.state.get(f"probe.{key}") or "[]"))


@router.command("probe-note", fr="sonde-note", args=[Arg("text", Text(), rest=True)])
async def note(ctx: Context, args: Args) -> None:
    await ctx.notice("probe.note", text=args["text"], about=Ref("probe", "note", "1"))


@router.command("probe-group", fr="sonde-groupe")
async def which_group(ctx: Context, args: Args) -> None:
    await ctx.reply("probe.group", group=ctx.require_group(), direct=ctx.direct)


@router.command("probe-invite", fr="sonde-inviter", args=[Arg("user", User())])
async def invite(ctx: Context, args: Args) -> None:
    await ctx.invite(args["user"], reason="probe")
    await ctx.reply("probe.done")


@router.command("probe-dm", fr="sonde-mp", args=[Arg("user", User())])
async def direct(ctx: Context, args: Args) -> None:
    await ctx.to_user(args["user"], "probe.private", sender=ctx.sender)
    await ctx.reply("probe.done")


@router.command("probe-fail", fr="sonde-echec")
async def fail(ctx: Context, args: Args) -> None:
    await record(ctx.uow, "written_before_refusal", 1, ctx.now)
    raise CommandError("probe.refused")


@router.on_reaction(about=("probe", "note"), where=lambda r: r.key == "✅")
async def on_tick(ctx: Context, reaction: Reaction) -> None:
    assert reaction.target is not None
    await record(ctx.uow, "ticks", [reaction.sender, reaction.target.id], ctx.now)
    await ctx.notice("probe.ticked", user=reaction.sender)


@router.on_membership("knock")
async def on_knock(ctx: Context, event: Membership) -> None:
    await record(ctx.uow, "knocks", [event.user, event.reason, event.previous], ctx.now)
    await ctx.notice("probe.knocked", user=event.user)


@router.on_poll_response(about=("probe", "poll"))
async def on_vote(ctx: Context, response: PollResponse) -> None:
    await record(ctx.uow, "votes", list(response.answers), ctx.now)


@router.on_message()
async def on_message(ctx: Context, message: Message) -> None:
    await record(ctx.uow, "messages", [message.sender, message.command], ctx.now)


class DailyJob:
    """Posts a notice at 09:00 UTC every day from its start; remembers the last day done."""

    name = "probe.daily"

    def __init__(self, start: datetime) -> None:
        self.start = start

    async def _next(self, uow: UnitOfWork) -> datetime:
        last = await uow.state.get("probe.daily.last")
        if last is None:
            return self.start
        return datetime.fromisoformat(last) + timedelta(days=1)

    async def next_due(self, uow: UnitOfWork) -> datetime | None:
        return await self._next(uow)

    async def run_due(self, now: datetime, uow: UnitOfWork, places: Places) -> int:
        due = await self._next(uow)
        if due > now:
            return 0
        # However many days were missed, one notice, for the latest slot.
        while due + timedelta(days=1) <= now:
            due += timedelta(days=1)
        ctx = await places.group(PROBE_ROOM)
        assert ctx is not None
        await ctx.notice("probe.daily", day=due.date().isoformat())
        await record(uow, "daily", due.isoformat(), now)
        await uow.state.set("probe.daily.last", due.isoformat(), now=now)
        return 1


def probe_domain(job_start: datetime | None = None) -> Domain:
    jobs = [DailyJob(job_start)] if job_start is not None else []
    return Domain(
        name="probe",
        router=router,
        messages=Path(__file__).parent / "probe.yaml",
        jobs=jobs,
    )
