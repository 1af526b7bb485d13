"""Who chairs the meeting in progress: the starter first; a chair adds chairs (`!chair`,
`!président`) and takes one off (`!unchair`, `!retirer-président`), never the last one,
so that someone can always end the meeting."""

from __future__ import annotations

from commands.kit.args import Arg, Text
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.registry import Args
from commands.kit.text import USER_ID, fold
from commands.meetings.records import mark_present, require_chair, require_running
from commands.meetings.router import router, top_command

USERS = Arg("users", Text(1000, metavar="users"), rest=True)
SELF = frozenset({"moi", "me"})


def _mentioned(ctx: Context, text: str, command: str) -> list[str]:
    """The members a command names, separated by spaces, commas or "and" (`moi`/`me`:
    the sender), or a clear answer when it names none or names something else."""
    users = []
    for word in text.replace(",", " ").split():
        word = word.rstrip(";:.")
        if USER_ID.fullmatch(word):
            users.append(word)
        elif fold(word) in SELF:
            users.append(ctx.sender)
        elif fold(word) not in ("et", "and"):
            users = []
            break
    if not users:
        raise CommandError(f"meetings.{command}.no_user", usage=top_command(command))
    return list(dict.fromkeys(users))


@router.command(
    "chair",
    fr="président",
    aliases=("presidents", "présidents", "coprésident", "copresident", "chairs"),
    args=[USERS],
)
async def chair(ctx: Context, args: Args) -> None:
    """Make members chairs of the meeting too (a chair only)."""
    meeting = await require_running(ctx)
    await require_chair(ctx, meeting)
    users = _mentioned(ctx, args["users"], "chair")
    added = [u for u in users if u not in meeting.chairs]
    meeting.chairs = [*meeting.chairs, *added]
    for user in added:
        await mark_present(ctx, meeting, user, source="chair")
    if added:
        await ctx.audit("meeting.chair", number=meeting.number, added=added)
    await ctx.reply("meetings.chair.added", added=added, chairs=list(meeting.chairs))


@router.command(
    "unchair",
    fr="retirer-président",
    aliases=("retirerprésident", "retirer-présidente", "plus-président", "remove-chair"),
    args=[USERS],
)
async def unchair(ctx: Context, args: Args) -> None:
    """Take members off the meeting's chairs (a chair only; yourself too, with `me`),
    never the last one: someone must be able to end the meeting."""
    meeting = await require_running(ctx)
    await require_chair(ctx, meeting)
    users = _mentioned(ctx, args["users"], "unchair")
    chairs = list(meeting.chairs)
    strangers = [u for u in users if u not in chairs]
    if strangers:
        raise CommandError("meetings.unchair.not_chair", users=strangers, chairs=chairs)
    left = [c for c in chairs if c not in users]
    if not left:
        raise CommandError("meetings.unchair.last", users=users, prefix=ctx.prefix)
    meeting.chairs = left
    await ctx.audit("meeting.unchair", number=meeting.number, removed=users)
    await ctx.reply("meetings.unchair.removed", removed=users, chairs=left)
