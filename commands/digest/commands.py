"""`!digest` (`!résumé`): a preview now, the group's schedule, and stopping or resuming
the digest by direct message."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from commands.digest.build import WEEK, build
from commands.digest.job import render_data
from commands.digest.router import DIGEST
from commands.digest.schedule import next_slot
from commands.digest.settings import DigestSettings
from commands.kit.args import Arg, Choice, Text
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.registry import Args
from commands.kit.timeparse import parse_datetime
from storage.models import Role
from storage.repos.digest import DigestRepository

SWITCH = Choice(
    ("off", "on"),
    aliases={
        "stop": "off",
        "arreter": "off",
        "arrêter": "off",
        "non": "off",
        "no": "off",
        "start": "on",
        "reprendre": "on",
        "oui": "on",
        "yes": "on",
    },
    label="digest.switch",
    metavar="onoff",
)


@DIGEST.default_command(args=[Arg("switch", SWITCH, required=False)])
async def digest(ctx: Context, args: Args) -> None:
    """The digest of the last seven days, now, for you; `off`/`on` stops or resumes it
    by direct message."""
    ctx.require_group()
    if args["switch"] is not None:
        out = args["switch"] == "off"
        changed = await ctx.repo(DigestRepository).opt(ctx.sender, out=out, now=ctx.now)
        mode = ctx.settings.section(DigestSettings).mode
        await ctx.reply("digest.switched", out=out, changed=changed, mode=mode)
        return
    built = await build(ctx, ctx.now - WEEK, ctx.now)
    # The moderators' part (join requests) only in a direct message with a moderator.
    moderator = ctx.direct and await ctx.role_of(ctx.sender) >= Role.MODERATOR
    await ctx.reply("digest.body", preview=True, **render_data(ctx, built, moderator=moderator))


@DIGEST.command(
    "schedule",
    fr="planifier",
    aliases=("programmer", "quand", "when"),
    args=[Arg("when", Text(100, metavar="when"), rest=True)],
    role=Role.MODERATOR,
)
async def schedule(ctx: Context, args: Args) -> None:
    """Change the day and time of the group's digest ("lundi 9h", "friday 5pm")."""
    text = args["when"]
    when = parse_datetime(text, now=ctx.now, tz=ctx.room.timezone, locale=ctx.room.locale)
    if when is None:
        raise CommandError("digest.bad_schedule", value=text)
    local = when.astimezone(ZoneInfo(ctx.room.timezone))
    at = local.time().replace(second=0, microsecond=0, tzinfo=None)
    next_at = next_slot(local.weekday(), at, ctx.room.timezone, after=ctx.now)
    await ctx.repo(DigestRepository).set_schedule(
        weekday=local.weekday(),
        clock=at.strftime("%H:%M"),
        next_at=next_at,
        now=ctx.now,
        by=ctx.sender,
    )
    await ctx.audit("digest.schedule", weekday=local.weekday(), clock=at.strftime("%H:%M"))
    await ctx.reply(
        "digest.scheduled",
        weekday=ctx.t.text(f"time.weekday.{local.weekday()}"),
        clock=at.strftime("%H:%M"),
        next=ctx.t.long_date(next_at, ctx.room.timezone),
    )
