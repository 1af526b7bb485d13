"""Join requests: a knock (or `!join` in a direct message) asks; a moderator approves
(an invitation) or denies (the knock refused) from the chat; everything is audited.

A request is stored the moment it arrives; the moderators are told by the scheduled
job (`jobs.RequestsJob`), which groups every request not yet announced into one
message per pass, so that a flood of knocks makes one notice, and loses none.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from commands.kit.args import Arg, Opt, Page, Text, User, Word
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.events import Membership, Message
from commands.kit.registry import Args
from commands.kit.text import fold
from commands.members.records import (
    NAME_LENGTH,
    REASON_LENGTH,
    Lookalikes,
    admissions,
    clean,
    configured_groups,
    context_in,
    fitted,
    group_room,
    request_line,
    requests,
    rules,
)
from commands.members.router import router
from storage.models import JoinRequest, RequestSource, RequestStatus, Role

PAGE = 15
REASON = Arg("reason", Text(REASON_LENGTH, metavar="reason"), required=False, rest=True)
# The commands of this domain that need a moderator: a refusal for lack of the role is
# audited (see `refused_for_role`).
MODERATED = frozenset({"requests", "approve", "deny", "audit"})


def refusal(key: str, *, command: str, user: str, **data: Any) -> CommandError:
    """A refused approval or denial: answered, nothing changed, and audited."""

    async def keep(ctx: Context) -> None:
        await ctx.audit("members.refused", command=command, user=user, why=key.rsplit(".", 1)[-1])

    return CommandError(key, keep=keep, user=user, **data)


async def ask(
    ctx: Context,
    *,
    user: str,
    room_id: str,
    display_name: str | None,
    reason: str | None,
    source: RequestSource,
) -> tuple[JoinRequest, bool]:
    """Record that `user` asks to join `room_id` (a context of its group); returns the
    request and whether they had already asked (it is then updated: a new reason is
    announced again)."""
    repo = requests(ctx)
    name, why = clean(display_name, NAME_LENGTH), clean(reason, REASON_LENGTH)
    request = await repo.pending_of(user)
    again = request is not None
    if request is None:
        days = rules(ctx.settings).request_expiry_days
        request = await repo.create(
            room_id=room_id,
            user_id=user,
            display_name=name,
            reason=why,
            source=source.value,
            now=ctx.now,
            expires_at=ctx.now + timedelta(days=days),
        )
    else:
        request.room_id = room_id
        request.display_name = name or request.display_name
        request.reason = why or request.reason
        if source == RequestSource.KNOCK:
            request.source = source.value  # a knock to refuse, now
        request.updated_at = ctx.now
        request.notified_at = None
    lookalike = (await Lookalikes.of(ctx, ctx.require_group())).of_user(user, name)
    await ctx.audit(
        "members.request",
        user=user,
        source=source.value,
        again=again,
        **({"lookalike": lookalike} if lookalike else {}),
    )
    return request, again


def decide(
    ctx: Context, request: JoinRequest, status: RequestStatus, *, by: str | None, note: str | None
) -> None:
    request.status = status.value
    request.decided_by = by
    request.decided_at = ctx.now
    request.updated_at = ctx.now
    request.note = note


# --- Asking.


@router.on_membership("knock")
async def knocked(ctx: Context, event: Membership) -> None:
    """A knock is a join request (the pipeline ignores one from a member)."""
    if ctx.group is None:
        return
    await ask(
        ctx,
        user=event.user,
        room_id=ctx.room.room_id,
        display_name=event.display_name,
        reason=event.reason,
        source=RequestSource.KNOCK,
    )


@router.command(
    "join",
    fr="rejoindre",
    aliases=("adherer", "adhérer", "ask-to-join"),
    args=[REASON],
    options=[Opt("group", Word(100, metavar="group"), fr="groupe")],
)
async def join(ctx: Context, args: Args) -> None:
    """Ask to join a group's room, for clients that cannot knock: in a direct message."""
    group = _target_group(ctx, args["group"])
    room = group_room(ctx.settings, group)
    if room is None:
        raise CommandError("members.join.unknown_group", group=args["group"] or "")
    if await ctx.uow.room_members.membership(room, ctx.sender) == "join":
        raise CommandError("members.join.already_member")
    there = await context_in(ctx, room)
    request, again = await ask(
        there,
        user=ctx.sender,
        room_id=room,
        display_name=None,
        reason=args["reason"],
        source=RequestSource.DM,
    )
    await ctx.reply(
        "members.join.updated" if again else "members.join.registered",
        expires=request.expires_at,
        tz=ctx.room.timezone,
    )


def _target_group(ctx: Context, named: str | None) -> str:
    """The group `!join` asks for: the one named, else the one this place acts for,
    else the only group the bot serves."""
    groups = configured_groups(ctx.settings)
    if named is not None:
        found = [g for g in groups if fold(g) == fold(named)]
        if not found:
            raise CommandError("members.join.unknown_group", group=named)
        return found[0]
    if ctx.group is not None:
        return ctx.group
    if len(groups) == 1:
        return groups[0]
    if not groups:
        raise CommandError("members.join.unknown_group", group="")
    raise CommandError("members.join.which_group", prefix=ctx.prefix)


# --- Deciding.


@router.command(
    "requests",
    fr="demandes",
    aliases=("join-requests",),
    options=[Opt("page", Page(minimum=1), fr="page")],
    role=Role.MODERATOR,
)
async def pending(ctx: Context, args: Args) -> None:
    """The requests waiting for a decision, oldest first."""
    group = ctx.require_group()
    page = args["page"] or 1
    rows, total = await requests(ctx).pending(limit=PAGE, offset=(page - 1) * PAGE)
    pages = max(1, -(-total // PAGE))
    if page > pages:
        raise CommandError("members.page_out_of_range", page=page, pages=pages)
    lookalikes = await Lookalikes.of(ctx, group)

    def build(width: int) -> dict[str, Any]:
        return {
            "items": [request_line(r, lookalikes, tz=ctx.room.timezone, width=width) for r in rows],
            "total": total,
            "page": page,
            "pages": pages,
            "prefix": ctx.prefix,
        }

    await ctx.send_rendered(fitted(ctx.t, "members.requests", build))


@router.command(
    "approve",
    fr="accepter",
    aliases=("admettre", "approuver"),
    args=[Arg("user", User())],
    role=Role.MODERATOR,
)
async def approve(ctx: Context, args: Args) -> None:
    """Let someone in: they are invited to the room they asked to join."""
    ctx.require_group()
    user: str = args["user"]
    request = await requests(ctx).latest_of(user)
    await _not_a_member(ctx, user, request, "approve")
    if request is None:
        raise refusal("members.error.no_request", command="approve", user=user, prefix=ctx.prefix)
    if request.status != RequestStatus.PENDING:
        raise _closed(ctx, request, "approve")
    decide(ctx, request, RequestStatus.APPROVED, by=ctx.sender, note=None)
    await ctx.invite(user, room_id=request.room_id)
    admission = await admissions(ctx).ensure(request.room_id, user, now=ctx.now)
    admission.approved_by, admission.request_id = ctx.sender, request.id
    admission.updated_at = ctx.now
    await ctx.audit("members.approve", user=user, request=request.id, source=request.source)
    await ctx.reply("members.approved", user=user, source=request.source)
    if request.source == RequestSource.DM:
        await ctx.to_user(user, "members.approved.dm")


@router.command(
    "deny",
    fr="refuser",
    aliases=("decline", "rejeter"),
    args=[Arg("user", User()), REASON],
    role=Role.MODERATOR,
)
async def deny(ctx: Context, args: Args) -> None:
    """Refuse someone's request (their knock is refused), with an optional reason they see."""
    ctx.require_group()
    user: str = args["user"]
    reason = clean(args["reason"], REASON_LENGTH)
    request = await requests(ctx).latest_of(user)
    await _not_a_member(ctx, user, request, "deny")
    if request is None:
        raise refusal("members.error.no_request", command="deny", user=user, prefix=ctx.prefix)
    if request.status != RequestStatus.PENDING:
        raise _closed(ctx, request, "deny")
    decide(ctx, request, RequestStatus.DENIED, by=ctx.sender, note=reason)
    await ctx.audit(
        "members.deny",
        user=user,
        request=request.id,
        source=request.source,
        with_reason=reason is not None,
    )
    await ctx.reply("members.denied", user=user, reason=reason)
    if request.source == RequestSource.KNOCK:
        if await ctx.uow.room_members.membership(request.room_id, user) == "knock":
            shown = reason or ctx.t.text("members.denied.kick_reason")
            await ctx.kick(user, room_id=request.room_id, reason=shown)
    else:
        await ctx.to_user(user, "members.denied.dm", reason=reason)


async def _not_a_member(ctx: Context, user: str, request: JoinRequest | None, command: str) -> None:
    room = request.room_id if request is not None else group_room(ctx.settings, ctx.group or "")
    if room is not None and await ctx.uow.room_members.membership(room, user) == "join":
        raise refusal("members.error.already_member", command=command, user=user)


def _closed(ctx: Context, request: JoinRequest, command: str) -> CommandError:
    """The answer to deciding on a request already decided (or expired, or withdrawn)."""
    return refusal(
        "members.error.not_pending",
        command=command,
        user=request.user_id,
        status=request.status,
        by=request.decided_by,
        when=request.decided_at,
        tz=ctx.room.timezone,
        prefix=ctx.prefix,
    )


# --- What moderators do from their Matrix client.


@router.on_membership("invite")
async def invited(ctx: Context, event: Membership) -> None:
    """Someone invited through a client: remembered as who invited them; a moderator's
    invitation approves a pending request."""
    if ctx.group is None or event.sender == event.user:
        return
    admission = await admissions(ctx).ensure(ctx.room.room_id, event.user, now=ctx.now)
    admission.invited_by, admission.updated_at = event.sender, ctx.now
    moderator = await ctx.role_of(event.sender) >= Role.MODERATOR
    request = await requests(ctx).pending_of(event.user)
    if request is not None and moderator:
        decide(ctx, request, RequestStatus.APPROVED, by=event.sender, note=None)
        admission.approved_by, admission.request_id = event.sender, request.id
    await ctx.audit(
        "members.invite",
        user=event.user,
        moderator=moderator,
        request=request.id if request is not None and moderator else None,
    )


@router.on_membership("leave", "ban", where=lambda e: e.previous == "knock")
async def knock_closed(ctx: Context, event: Membership) -> None:
    """A knock taken back by its author, or refused through a client."""
    if ctx.group is None:
        return
    request = await requests(ctx).pending_of(event.user)
    if request is None:
        return
    if event.sender == event.user:
        decide(ctx, request, RequestStatus.WITHDRAWN, by=None, note=None)
        await ctx.audit("members.withdraw", user=event.user, request=request.id)
        return
    decide(ctx, request, RequestStatus.DENIED, by=event.sender, note=None)
    await ctx.audit("members.deny", user=event.user, request=request.id, source=request.source)


# --- Refusals for lack of a role leave a trace too.


@router.on_message(where=lambda e: e.command)
async def refused_for_role(ctx: Context, event: Message) -> None:
    """A moderator's command of this domain typed by someone without the role was
    refused by the router (before any handler): audit it, on the sender's user id."""
    formatted = event.content.get("formatted_body")
    try:
        parsed = ctx.services.registry.parse(
            event.body, ctx.parse_context, formatted if isinstance(formatted, str) else None
        )
    except CommandError:
        return
    if parsed is None or parsed.command.domain != router.domain:
        return
    if parsed.command.qualname not in MODERATED:
        return
    if await ctx.role_of(ctx.sender) >= parsed.command.role:
        return
    target = parsed.args.get("user")
    await ctx.audit(
        "members.refused",
        command=parsed.command.qualname,
        user=target if isinstance(target, str) else None,
        why="needs_role",
    )
