"""The scheduler skeleton: jobs say when they fall due; run_due(now) acts; the clock is fake."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from commands.kit.jobs import Places
from storage.uow import UnitOfWork
from tests.botkit import ROOM, TestBot


@dataclass
class Reminder:
    """A test job: posts a notice at fixed instants, keeping its state in the bot_state table."""

    times: list[datetime]
    name: str = "reminder"
    failures: list[str] = field(default_factory=list)

    async def _done(self, uow: UnitOfWork) -> int:
        return int(await uow.state.get("reminders_done") or 0)

    async def next_due(self, uow: UnitOfWork) -> datetime | None:
        done = await self._done(uow)
        return self.times[done] if done < len(self.times) else None

    async def run_due(self, now: datetime, uow: UnitOfWork, room: Places) -> int:
        done = await self._done(uow)
        handled = 0
        while done < len(self.times) and self.times[done] <= now:
            if self.failures:
                raise RuntimeError(self.failures.pop())
            ctx = await room(ROOM)
            await ctx.notice("core.settings.show", room=ctx.room)
            done += 1
            handled += 1
        await uow.state.set("reminders_done", str(done), now=now)
        return handled


async def test_jobs_run_when_the_clock_reaches_them(bot: TestBot) -> None:
    start = bot.clock.now()
    job = Reminder([start + timedelta(hours=1), start + timedelta(days=2)])
    bot.bot.scheduler.register(job)
    assert await bot.bot.scheduler.next_due() == start + timedelta(hours=1)
    assert await bot.advance(timedelta(minutes=59)) == []
    [first] = await bot.advance(timedelta(minutes=1))
    assert first.body == "Ce salon parle français, fuseau horaire Europe/Paris."
    assert "m.relates_to" not in first.content
    assert len(await bot.advance(timedelta(days=3))) == 1
    async with bot.services.db.unit_of_work() as uow:
        assert await job.next_due(uow) is None
    # What remains due is the bot's own housekeeping: its copies of these messages
    # expire after the retention period (90 days).
    assert await bot.bot.scheduler.next_due() == start + timedelta(hours=1, days=90)


async def test_a_failing_job_is_logged_and_retried_next_pass(bot: TestBot) -> None:
    start = bot.clock.now()
    job = Reminder([start + timedelta(minutes=1)], failures=["database hiccup"])
    bot.bot.scheduler.register(job)
    bot.clock.advance(timedelta(minutes=1))
    assert await bot.bot.scheduler.run_due(bot.clock.now()) == 0
    assert await bot.bot.scheduler.run_due(bot.clock.now()) == 1
