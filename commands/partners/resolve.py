"""What the words of a command name: a partner (exact name, number from the last list,
unique prefix), an owner, a consortium member, the partners a filter keeps.

Also the checks a new name must pass, and the accessors to the group's contact book
and rules that every command module uses.
"""

from __future__ import annotations

import re

from commands.kit import conversation
from commands.kit.args import ME
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.lookup import Named
from commands.kit.registry import Args
from commands.kit.text import fold, name_text
from commands.partners.settings import PartnersSettings
from commands.partners.vocabulary import loose_key
from storage.models import Partner
from storage.repos.partners import PartnerFilter, PartnerRepository
from storage.search import squash


def book(ctx: Context) -> PartnerRepository:
    """The contact book of the group the command acts for."""
    return ctx.repo(PartnerRepository)


async def lookup(ctx: Context, text: str) -> Named:
    """A partner named in another domain's command (`partner=KidiTap`)."""
    partner = await resolve_partner(ctx, text)
    return Named("partner", partner.id, partner.name)


def rules(ctx: Context) -> PartnersSettings:
    return ctx.settings.section(PartnersSettings)


async def resolve_partner(ctx: Context, text: str, *, removed: bool = False) -> Partner:
    """The partner a user means: exact name, number from their last list, unique prefix.

    With `removed`, among removed partners (for `restore`). Ambiguity answers with
    numbered choices, which become the user's last list; an unknown name suggests.
    """
    repo = book(ctx)
    key = squash(text)
    if not key:
        raise CommandError("core.arg.empty")
    exact = await repo.by_key(key)
    if exact is not None:
        if exact.merged_into_id is not None:
            into = await repo.get(exact.merged_into_id)
            raise CommandError(
                "partners.merged_name", name=exact.name, into=into.name if into else "?"
            )
        if (exact.removed_at is not None) == removed:
            return exact
        if removed:
            raise CommandError("partners.not_removed", name=exact.name)
        raise CommandError("partners.removed_name", name=exact.name)
    number = conversation.as_number(text)
    if number is not None:
        return await _from_last_list(ctx, number, removed=removed)
    matches = await repo.by_prefix(key, removed=removed, limit=10)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise conversation.ambiguous(
            "partners",
            "partners.ambiguous",
            [p.id for p in matches],
            text=text,
            choices=[p.name for p in matches],
        )
    similar = await repo.similar(text, removed=removed)
    raise CommandError(
        "partners.unknown", text=text, suggestions=[p.name for p in similar], removed=removed
    )


async def _from_last_list(ctx: Context, number: int, *, removed: bool) -> Partner:
    partner_id = await conversation.pick(ctx, "partners", number)
    partner = await book(ctx).get(int(partner_id))
    if partner is None:
        raise CommandError("core.list.not_in", number=number, first=1, last=0)
    if partner.merged_into_id is not None:
        into = await book(ctx).get(partner.merged_into_id)
        raise CommandError(
            "partners.merged_name", name=partner.name, into=into.name if into else "?"
        )
    if (partner.removed_at is not None) != removed:
        key = "partners.not_removed" if removed else "partners.removed_name"
        raise CommandError(key, name=partner.name)
    return partner


def check_name(text: str) -> str:
    """A new partner's name as it will be shown; refuses what could not be named back.

    Invisible characters are left out (see `name_text`): "Ac\u200bme" is Acme, and
    "\u202eemcA" is the emcA it really spells, not an Acme look-alike.
    """
    name = name_text(text)
    if not squash(name):
        raise CommandError("core.arg.empty")
    if len(name) > 200:
        raise CommandError("core.arg.too_long", limit=200)
    if re.fullmatch(r"#?\d+", name):
        raise CommandError("partners.numeric_name", name=name)
    return name


async def unique_name(ctx: Context, name: str, *, current: Partner | None = None) -> None:
    """Refuse a name another partner has (or had: removed and merged ones keep theirs)."""
    other = await book(ctx).by_key(squash(name))
    if other is None or other is current:
        return
    if other.merged_into_id is not None:
        raise CommandError("partners.duplicate_merged", name=name, existing=other.name)
    if other.removed_at is not None:
        raise CommandError("partners.duplicate_removed", name=name, existing=other.name)
    raise CommandError("partners.duplicate", name=name, existing=other.name)


def consortium_member(ctx: Context, text: str) -> str | None:
    """One of the configured consortium members (case, accents, a unique prefix aside)."""
    if text.strip() == "-":
        return None
    members = rules(ctx).consortium_members
    if not members:
        raise CommandError("partners.no_consortium", value=text)
    key = loose_key(text)
    exact = [m for m in members if loose_key(m) == key]
    prefixed = [m for m in members if loose_key(m).startswith(key)] if key else []
    initials = [m for m in members if loose_key("".join(w[0] for w in m.split())) == key]
    for found in (exact, prefixed, initials):
        if len(found) == 1:
            return found[0]
    raise CommandError("partners.bad_consortium", value=text, choices=members)


def owner_of(ctx: Context, value: str | None) -> str | None:
    """The member an `owner=` option names: the sender for `me`, None for nobody."""
    if value == ME:
        return ctx.sender
    return value or None


def partner_filter(ctx: Context, args: Args) -> PartnerFilter:
    """The partners that the filter options of `list` and `export` keep."""
    tag = args.get("tag")
    return PartnerFilter(
        status=args.get("status"),
        kind=args.get("kind"),
        tag=" ".join(fold(tag).split()) if tag else None,
        owner=owner_of(ctx, args.get("owner")) if args.get("owner") is not None else None,
        consortium_member=consortium_member(ctx, args["consortium"])
        if args.get("consortium")
        else None,
        social_economy=args.get("social"),
        removed=bool(args.get("removed")),
    )
