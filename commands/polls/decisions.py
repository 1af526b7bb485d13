"""The decision log: what the group decided, from a closed poll, a proposal's outcome or
recorded by a moderator (`!decision add`), read with `!decision show` and `!decisions`.

The minutes end with the decisions submitted to the steering committee (COPIL); once
taken they are kept here, searchable by any word, accents and case aside.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from commands.kit.args import Arg, Integer, Opt, Page, Text, Word
from commands.kit.context import Context
from commands.kit.errors import CommandError, shorten
from commands.kit.registry import Args
from commands.polls.router import DECISION, router
from storage.models import Decision, Role
from storage.repos.partners import PartnerRepository
from storage.repos.polls import DecisionRepository, PollRepository

PAGE = 15
MAX_TEXT = 2000
LINE_TEXT = 280  # a list shows each text cut to this; `!decision show` shows it whole
LINK = "decision"  # the kind of record a partner's history links to
SIGNAL = "polls.decision"  # told to the other domains when a decision is recorded
QUOTES = "\"'«»“”‘’"

# A partner, as the partners domain resolves it (`Context.lookup`): name, prefix, number.
O_PARTNER = Opt("partner", Word(200, metavar="partner"), fr="partenaire")
O_PAGE = Opt("page", Page(minimum=1), fr="page")


class Number(Integer):
    """A decision's or a proposal's number, as shown (`12` or `#12`)."""

    metavar = "number"

    def __init__(self) -> None:
        super().__init__(minimum=1, maximum=10**9)


def log(ctx: Context) -> DecisionRepository:
    return ctx.repo(DecisionRepository)


# --- Recording (the polls and proposals use these too).


async def record(
    ctx: Context,
    *,
    text: str,
    source: str,
    outcome: str | None = None,
    counts: dict[str, Any] | None = None,
    poll_id: int | None = None,
    room_id: str | None = None,
    event_id: str | None = None,
    partner_id: int | None = None,
    actor: str | None = None,
) -> Decision:
    """Add a decision to the group's log, put it in its partner's history, and tell the
    other domains (`polls.decision`: the meetings' minutes list it)."""
    decision = await log(ctx).record(
        text=text,
        source=source,
        actor=actor or ctx.sender,
        now=ctx.now,
        outcome=outcome,
        counts=counts,
        poll_id=poll_id,
        room_id=room_id,
        event_id=event_id,
    )
    if partner_id is not None:
        await link_partner(ctx, decision, partner_id)
    await ctx.emit(SIGNAL, decision_id=decision.id, number=decision.number, text=decision.text)
    return decision


async def link_partner(ctx: Context, decision: Decision, partner_id: int) -> None:
    """Name a partner on a decision and put the decision in that partner's history (a
    partner of another group, or one that no longer exists, is left out)."""
    book = ctx.repo(PartnerRepository)
    partner = await book.get(partner_id)
    if partner is None:
        return
    decision.partner_id = partner.id
    await book.link(
        partner,
        type_=LINK,
        ref=str(decision.number),
        text=decision.text,
        actor=decision.actor,
        now=ctx.now,
    )


def event_link(room_id: str | None, event_id: str | None) -> str | None:
    """The matrix.to address of an event (the poll a decision comes from), identifiers
    encoded as the Matrix specification's examples show them; room ids stay opaque."""
    if not room_id or not event_id:
        return None
    return f"https://matrix.to/#/{quote(room_id, safe='!')}/{quote(event_id, safe='')}"


# --- Commands.


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


@DECISION.command(
    "add",
    fr="ajouter",
    aliases=("record", "enregistrer", "new", "nouvelle"),
    args=[Arg("text", Text(MAX_TEXT), required=False, rest=True)],
    options=[O_PARTNER],
    role=Role.MODERATOR,
)
async def add(ctx: Context, args: Args) -> None:
    """Record a decision taken outside a poll (at a meeting, by the COPIL)."""
    text = _text(args["text"])
    if not text:
        raise CommandError("decisions.no_text", usage=DECISION.subcommands["add"])
    partner = await ctx.lookup("partner", args["partner"]) if args["partner"] else None
    decision = await record(
        ctx, text=text, source="manual", partner_id=partner.id if partner else None
    )
    await ctx.audit("decision.add", number=decision.number)
    await ctx.reply(
        "decisions.added",
        number=decision.number,
        text=decision.text,
        date=ctx.t.long_date(decision.decided_at, ctx.room.timezone),
        partner=partner.name if partner else None,
        prefix=ctx.prefix,
    )


@DECISION.command("show", fr="voir", aliases=("details", "détails"), args=[Arg("number", Number())])
async def show(ctx: Context, args: Args) -> None:
    """One decision: its text, outcome, votes, date, who, where it comes from."""
    decision = await log(ctx).get(args["number"])
    if decision is None:
        withdrawn = await log(ctx).withdrawn(args["number"])
        if withdrawn is not None and withdrawn.withdrawn_at is not None:
            raise CommandError(
                "decisions.withdrawn",
                number=withdrawn.number,
                text=withdrawn.text,
                date=ctx.t.long_date(withdrawn.withdrawn_at, ctx.room.timezone),
                by=withdrawn.withdrawn_by or "",
            )
        raise CommandError("decisions.unknown", number=args["number"], prefix=ctx.prefix)
    names = await _partner_names(ctx, [decision])
    await ctx.reply(
        "decisions.show",
        d=_view(decision, names),
        date=ctx.t.long_date(decision.decided_at, ctx.room.timezone),
        votes=_votes(decision.counts),
        origin=await _origin(ctx, decision),
        link=event_link(decision.room_id, decision.event_id),
    )


@router.command(
    "decisions",
    fr="décisions",
    args=[Arg("query", Text(200), required=False, rest=True)],
    options=[O_PAGE],
)
async def listing(ctx: Context, args: Args) -> None:
    """The decision log, latest first; with words, the decisions holding every one of
    them (accents and case aside)."""
    words = search_words(args["query"])
    page = args["page"] or 1
    rows, total = await log(ctx).search(words, limit=PAGE, offset=(page - 1) * PAGE)
    pages = max(1, -(-total // PAGE))
    if page > pages:
        raise CommandError("decisions.page_out_of_range", page=page, pages=pages)
    names = await _partner_names(ctx, rows)
    await ctx.reply(
        "decisions.list",
        query=" ".join(words),
        items=[_view(d, names, short=True) for d in rows],
        total=total,
        page=page,
        pages=pages,
        tz=ctx.room.timezone,
        prefix=ctx.prefix,
    )


def search_words(query: str | None) -> list[str]:
    """The words of a search, without the quotes around a phrase."""
    words = (word.strip(QUOTES) for word in (query or "").split())
    return [word for word in words if word]


# --- Views.


def _view(decision: Decision, names: dict[int, str], *, short: bool = False) -> dict[str, Any]:
    return {
        "number": decision.number,
        "text": shorten(decision.text, LINE_TEXT) if short else decision.text,
        "outcome": shorten(decision.outcome, LINE_TEXT) if short else decision.outcome,
        "source": decision.source,
        "actor": decision.actor,
        "at": decision.decided_at,
        "partner": names.get(decision.partner_id or 0),
    }


def _votes(counts: dict[str, Any]) -> dict[str, Any] | None:
    """A poll's counts as the log keeps them (`options` and `counts` side by side, with
    `voters`, `eligible`, `quorum`, `reached`), ready to show; None when there are none."""
    options, numbers = counts.get("options"), counts.get("counts")
    if not isinstance(options, list) or not isinstance(numbers, list):
        return None
    return {
        "lines": [{"option": o, "count": c} for o, c in zip(options, numbers, strict=False)],
        "voters": counts.get("voters"),
        "eligible": counts.get("eligible"),
        "quorum": counts.get("quorum"),
        "reached": counts.get("reached"),
    }


async def _origin(ctx: Context, decision: Decision) -> dict[str, Any]:
    """Where a decision comes from: which poll, which proposal."""
    number = None
    if decision.source == "poll" and decision.poll_id is not None:
        poll = await ctx.repo(PollRepository).by_id(decision.poll_id)
        number = poll.number if poll is not None else None
    elif decision.source == "proposal":
        number = await log(ctx).proposal_number(decision)
    return {"source": decision.source, "number": number}


async def _partner_names(ctx: Context, rows: Sequence[Decision]) -> dict[int, str]:
    book = ctx.repo(PartnerRepository)
    names = {}
    for partner_id in {d.partner_id for d in rows if d.partner_id is not None}:
        partner = await book.get(partner_id)
        if partner is not None:
            names[partner_id] = partner.name
    return names
