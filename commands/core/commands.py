"""The bot's own commands: help, about, settings, roles, whoami, status, and the group a
direct message acts for."""

from __future__ import annotations

from commands.kit.args import Arg, Choice, Opt, TimeZone, User, Word
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.i18n import Rendered
from commands.kit.registry import Args, Command, Group, Router
from commands.kit.text import fold
from commands.kit.usage import usage_lines
from storage.models import InboxStatus, OutboxStatus, Role
from storage.repos.core import MemberRepository

router = Router("core")

ROLE_NAMES = {
    "membre": "member",
    "moderateur": "moderator",
    "modo": "moderator",
    "administrateur": "admin",
    "administrator": "admin",
}
LOCALE = Choice(
    ("fr", "en"),
    aliases={"francais": "fr", "french": "fr", "anglais": "en", "english": "en"},
    label="locale",
    metavar="locale",
)
ROLE = Choice(("member", "moderator", "admin"), aliases=ROLE_NAMES, label="role", metavar="role")


def _visible(entry: Command | Group, role: Role) -> bool:
    return entry.role <= role


@router.command(
    "help",
    fr="aide",
    args=[
        Arg("command", Word(metavar="command"), required=False),
        Arg("sub", Word(metavar="subcommand"), required=False),
    ],
)
async def help_(ctx: Context, args: Args) -> None:
    """List the commands the sender may use, or explain one of them."""
    registry = ctx.services.registry
    role = await ctx.role_of(ctx.sender)
    if args["command"] is None:
        # The index depends only on the commands, the language, the prefix and the role.
        key = ("core.help.index", ctx.room.locale, ctx.prefix, role.name)
        await ctx.send_rendered(ctx.services.rendered_once(key, lambda: _index(ctx, role)))
        return
    entry: Command | Group | None = registry.lookup(args["command"].removeprefix(ctx.prefix))
    if entry is None:
        raise CommandError(
            "core.error.unknown_command",
            name=args["command"],
            suggestions=list(
                dict.fromkeys(
                    registry.entries[s].local_name(ctx.room.locale)
                    for s in registry.suggestions(args["command"])
                )
            ),
        )
    if isinstance(entry, Group) and args["sub"] is not None:
        sub = entry.subcommands.get(fold(args["sub"]))
        if sub is None:
            raise CommandError(
                "core.error.unknown_subcommand",
                usage=entry,
                group=entry.local_name(ctx.room.locale),
                name=args["sub"],
                suggestions=[],
            )
        entry = sub
    await ctx.reply(
        "core.help.command",
        name=_invocation(entry, ctx.room.locale, ctx.prefix),
        key=_help_key(entry),
        usage=usage_lines(entry, ctx.t, ctx.prefix),
        role=entry.role.key,
        allowed=_visible(entry, role),
        subcommands=[
            {"usage": usage_lines(c, ctx.t, ctx.prefix)[0], "key": c.help_key}
            for c in entry.commands()
        ]
        if isinstance(entry, Group)
        else [],
    )


def _index(ctx: Context, role: Role) -> Rendered:
    """The help's index: the commands `role` may use, domain by domain."""
    registry = ctx.services.registry
    locale = ctx.room.locale
    domains = []
    for domain in registry.domains:
        entries = [e for e in registry.top_level() if e.domain == domain and _visible(e, role)]
        if entries:
            domains.append(
                {
                    "domain": domain,
                    "commands": [
                        {"name": e.local_name(locale), "key": _help_key(e)}
                        for e in sorted(entries, key=lambda e: e.local_name(locale))
                    ],
                }
            )
    return ctx.t("core.help.index", domains=domains, prefix=ctx.prefix)


def _invocation(entry: Command | Group, locale: str, prefix: str) -> str:
    if isinstance(entry, Group):
        return f"{prefix}{entry.local_name(locale)}"
    return entry.invocation(locale, prefix)


def _help_key(entry: Command | Group) -> str:
    return f"cmd.{entry.name}" if isinstance(entry, Group) else entry.help_key


@router.command("about", fr="apropos", aliases=("à-propos", "a-propos"))
async def about(ctx: Context, args: Args) -> None:
    """Version, this room's settings and the kind of database."""
    await ctx.reply(
        "core.about",
        version=ctx.services.version,
        room=ctx.room,
        database=ctx.services.db.kind,
        prefix=ctx.prefix,
    )


@router.command(
    "settings",
    fr="reglages",
    aliases=("réglages", "parametres", "paramètres"),
    options=[Opt("locale", LOCALE, fr="langue"), Opt("timezone", TimeZone(), fr="fuseau")],
    role=Role.MODERATOR,
)
async def settings(ctx: Context, args: Args) -> None:
    """Show or change the room's language and time zone."""
    locale = args["locale"] or ctx.room.locale
    timezone = args["timezone"] or ctx.room.timezone
    if args["locale"] is None and args["timezone"] is None:
        await ctx.reply("core.settings.show", room=ctx.room)
        return
    if ctx.direct:
        # A direct message follows its group's room; settings are changed there.
        raise CommandError("core.settings.not_in_dm")
    before = {"locale": ctx.room.locale, "timezone": ctx.room.timezone}
    await ctx.uow.rooms.save(ctx.room.room_id, locale=locale, timezone=timezone, now=ctx.now)
    ctx.services.forget_room(ctx.room.room_id)
    await ctx.audit("room.settings", before=before, after={"locale": locale, "timezone": timezone})
    # Answer in the language the room has now chosen.
    ctx.t = ctx.services.catalog.for_locale(locale)
    await ctx.reply("core.settings.changed", locale=locale, timezone=timezone)


@router.command(
    "role",
    fr="role",
    aliases=("rôle",),
    args=[
        Arg("user", User()),
        Arg("role", ROLE, required=False),
    ],
    role=Role.ADMIN,
)
async def role(ctx: Context, args: Args) -> None:
    """Show or set a member's role (member, moderator, admin)."""
    user: str = args["user"]
    current = await ctx.role_of(user)
    if args["role"] is None:
        await ctx.reply("core.role.show", user=user, role=current.key)
        return
    wanted = Role.from_name(args["role"])
    if user in ctx.settings.admins and wanted != Role.ADMIN:
        raise CommandError("core.role.configured_admin", user=user)
    if user == ctx.sender and wanted < current:
        raise CommandError("core.role.not_self", role=current.key)
    if wanted == current:
        await ctx.reply("core.role.unchanged", user=user, role=current.key)
        return
    await ctx.repo(MemberRepository).set_role(user, wanted, now=ctx.now)
    await ctx.audit("member.role", user=user, before=current.key, after=wanted.key)
    await ctx.reply("core.role.changed", user=user, role=wanted.key, before=current.key)


@router.command("whoami", fr="quisuisje", aliases=("qui-suis-je", "moi"))
async def whoami(ctx: Context, args: Args) -> None:
    """Who the bot thinks you are, and your role here."""
    role = await ctx.role_of(ctx.sender)
    await ctx.reply(
        "core.whoami",
        user=ctx.sender,
        role=role.key,
        configured=ctx.sender in ctx.settings.admins,
        room=ctx.room,
    )


@router.command("status", fr="etat", aliases=("état", "statut"))
async def status(ctx: Context, args: Args) -> None:
    """Is the bot keeping up: last sync, commands waiting, messages waiting to be sent."""
    health = ctx.services.health
    age = health.sync_age(ctx.now) if health is not None else None
    await ctx.reply(
        "core.status",
        connected=health is not None,
        healthy=health.healthy(ctx.now) if health is not None else True,
        sync_age=round(age.total_seconds()) if age is not None else None,
        failures=health.consecutive_failures if health is not None else 0,
        # The status command itself is still pending: it is not waiting for anything.
        inbox_pending=await ctx.uow.inbox.count(InboxStatus.PENDING, besides=ctx.inbox_id),
        inbox_failed=await ctx.uow.inbox.count(InboxStatus.FAILED),
        inbox_waiting=await ctx.uow.inbox.count(InboxStatus.WAITING),
        outbox_pending=await ctx.uow.outbox.count(OutboxStatus.PENDING),
        outbox_failed=await ctx.uow.outbox.count(OutboxStatus.FAILED),
    )


@router.command(
    "group",
    fr="groupe",
    args=[Arg("group", Word(metavar="group"), required=False)],
)
async def group(ctx: Context, args: Args) -> None:
    """In a direct message: which group you act for, or choose one when you belong to several."""
    if not ctx.direct:
        raise CommandError("core.group.not_in_dm", group=ctx.group)
    choices = await ctx.services.groups_of(ctx.uow, ctx.sender)
    wanted = args["group"]
    if wanted is None:
        await ctx.reply("core.group.show", group=ctx.group, groups=choices, prefix=ctx.prefix)
        return
    found = [g for g in choices if fold(g) == fold(wanted)]
    if not found:
        raise CommandError("core.group.unknown", group=wanted, groups=choices)
    await ctx.uow.direct_rooms.choose_group(ctx.sender, found[0], now=ctx.now)
    await ctx.reply("core.group.chosen", group=found[0])
