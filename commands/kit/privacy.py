"""Personal data across domains: what the bot keeps on a person (a subject-access
request) and erasing it (the right to erasure), as `person-data` and `forget-person`.

A domain that stores something about people implements `PersonalData`: it widens what
identifies the person from its records (`identify`: an e-mail, a phone, the values they
had before), says where it holds them (`find`) and erases that (`erase`). It names it
in its descriptor (`Domain.privacy`) and registers the two commands on its own group
with `declare(group, provider, options=...)`, narrowed to its records (and by its
options: `partner=`). The core domain registers them at the top level for every domain
at once (`declare(router)`), which finds the domains' implementations through the
commands they registered (the kit imports no domain). The kit itself covers the bot's
own copies of what was said (`storage.repos.copies`: stored commands and replies,
previews waiting for a confirmation, files waiting to be sent, the audit log).

Matching is the one of `storage.personal`: whole words and whole values. Erasing goes
through a preview (how many places, a few masked examples) and `confirm`, within a day;
then `Context.erased` has the database drop what it still held of the old text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Protocol

from markupsafe import Markup

from commands.kit import conversation
from commands.kit.args import Arg, Opt, Text
from commands.kit.context import Context
from commands.kit.errors import CommandError
from commands.kit.i18n import Rendered
from commands.kit.registry import Args, Command, Group, Router
from commands.kit.text import fold
from storage.models import Role
from storage.personal import PersonMatcher, is_email, is_phone, mask, name_key
from storage.repos.copies import KINDS, Copies, CopiesRepository

PENDING = conversation.Pending("privacy", "forget", ttl=timedelta(days=1))
CONFIRM = frozenset({"confirm", "confirmer", "valider"})
CANCEL = frozenset({"cancel", "annuler"})
LINES = 5  # lines shown of each kind of place, at most
EXCERPT = 90  # characters of a masked example
# An answer is one Matrix event (64 KiB at most, encryption included): its two bodies
# are kept well below, dropping lines of each kind of place until they fit.
MAX_ANSWER_BYTES = 30_000
PERSON_ARG = Arg("person", Text(200, metavar="someone"), rest=True)


@dataclass
class Person:
    """Who a request is about: what was typed, the values that identify them in stored
    text (domains add what their records know), and each domain's records of them."""

    query: str
    names: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    records: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def typed(cls, query: str) -> Person:
        """The person as typed: an e-mail address, a phone number, or a name."""
        person = cls(query)
        if is_email(query):
            person.emails.add(query.strip())
        elif is_phone(query):
            person.phones.add(query.strip())
        else:
            person.names.add(query)
        return person

    @property
    def kind(self) -> str:
        """What was typed: "email", "phone" or "name"."""
        if is_email(self.query):
            return "email"
        return "phone" if is_phone(self.query) else "name"

    def add(
        self,
        *,
        names: Sequence[str | None] = (),
        emails: Sequence[str | None] = (),
        phones: Sequence[str | None] = (),
    ) -> None:
        """More values that identify the person (empty ones are left out)."""
        self.names.update(n for n in names if n)
        self.emails.update(e for e in emails if e)
        self.phones.update(p for p in phones if p)

    def matcher(self) -> PersonMatcher:
        return PersonMatcher(names=self.names, emails=self.emails, phones=self.phones)

    @property
    def masked(self) -> str:
        """What was typed, shortened so that an answer does not spell it out."""
        return mask(self.query, self.kind)


@dataclass(frozen=True)
class Scope:
    """What a request covers: every domain (`domain` None: the core commands) or one,
    narrowed by its options (`partner=`)."""

    domain: str | None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """One kind of place where the person is: its heading (a catalog key rendered with
    `count`; "" for lines shown without one), how many there are, and the first few,
    rendered (masked when asked)."""

    key: str
    count: int
    lines: Sequence[Markup] = ()

    @property
    def more(self) -> int:
        return self.count - len(self.lines)


@dataclass(frozen=True)
class Tally:
    """What an erasure did to one kind of place: a catalog key rendered with `count`
    and `names` (the records concerned, when that says nothing of the person)."""

    key: str
    count: int
    names: Sequence[str] = ()


class PersonalData(Protocol):
    """What a domain stores about people, as a data-protection request sees it."""

    async def identify(self, ctx: Context, person: Person, scope: Scope) -> None:
        """Find the person's records (from what was typed: `person.query`) and add what
        identifies them there to `person` (names, e-mails, phones, earlier values)."""

    async def find(
        self, ctx: Context, person: Person, scope: Scope, *, masked: bool, limit: int
    ) -> list[Finding]:
        """Where the domain holds the person: every kind of place, counted, with its
        first `limit` lines; `masked`, those lines show the person shortened."""

    async def erase(
        self, ctx: Context, person: Person, scope: Scope, *, marker: str
    ) -> list[Tally]:
        """Erase the person's records and every mention of them (replaced by `marker`)."""


def declare(
    target: Router | Group,
    provider: PersonalData | None = None,
    *,
    options: Sequence[Opt] = (),
) -> None:
    """Register `person-data` and `forget-person` on a router (every domain: `provider`
    None) or on a domain's group, for its own records (`provider`)."""
    domain = target.domain if provider is not None else None
    forget = ForgetPerson(domain, provider, options)
    target.command(
        "person-data",
        fr="donnees-personne",
        aliases=("données-personne", "person_data", "donnees", "données"),
        args=[PERSON_ARG],
        options=options,
    )(PersonData(domain, provider, options, forget))
    target.command(
        "forget-person",
        fr="oublier-personne",
        aliases=("erase-person", "effacer-personne", "forget_person"),
        args=[PERSON_ARG],
        options=options,
        role=Role.MODERATOR,
    )(forget)
    if isinstance(target, Group):
        forget.command = target.subcommands[fold("forget-person")]
    else:
        forget.command = next(
            e for e in target.entries if isinstance(e, Command) and e.name == "forget-person"
        )


class _Handler:
    """A privacy command's handler: for one domain and its `provider`, or for all."""

    def __init__(
        self, domain: str | None, provider: PersonalData | None, options: Sequence[Opt]
    ) -> None:
        self.domain = domain
        self.provider = provider
        self.options = tuple(options)

    async def __call__(self, ctx: Context, args: Args) -> None:
        raise NotImplementedError

    def scope(self, args: Args) -> Scope:
        values = {o.name: args.get(o.name) for o in self.options}
        return Scope(self.domain, {k: v for k, v in values.items() if v is not None})


class ForgetPerson(_Handler):
    """`forget-person PERSON`: a preview; `forget-person confirm` (or `PERSON confirm`)
    erases, `cancel` forgets the preview."""

    command: Command

    def invocation(self, ctx: Context) -> str:
        return self.command.invocation(ctx.room.locale, ctx.prefix)

    async def __call__(self, ctx: Context, args: Args) -> None:
        text, action = _action(args["person"])
        if action is None:
            await self.preview(ctx, text, self.scope(args))
            return
        pending = await PENDING.take(ctx)
        if pending is None:
            raise CommandError("core.privacy.forget.nothing_pending", forget=self.invocation(ctx))
        payload, fresh = pending
        waiting = Person.typed(payload["person"])
        if text and name_key(text) != name_key(waiting.query):
            # Raising rolls back, and the preview stays waiting.
            raise CommandError(
                "core.privacy.forget.other", person=waiting.masked, forget=self.invocation(ctx)
            )
        if action == "cancel":
            await ctx.reply("core.privacy.forget.cancelled", person=waiting.masked)
            return
        if not fresh:
            await ctx.reply("core.privacy.forget.expired", forget=self.invocation(ctx))
            return
        scope = Scope(payload.get("domain"), dict(payload.get("options") or {}))
        survey = await _survey(ctx, waiting.query, scope, masked=True)
        if not survey.places(scope):
            # Erased since the preview (by another moderator): the preview is done with.
            await ctx.reply("core.privacy.forget.none", person=waiting.masked)
            return
        if [f.count for f in survey.findings] != payload["counts"]:
            # The records changed since the preview: show what confirming would do now.
            await self.preview(ctx, waiting.query, scope, changed=True, survey=survey)
            return
        await self.erase(ctx, survey.person, scope)

    async def preview(
        self,
        ctx: Context,
        query: str,
        scope: Scope,
        *,
        changed: bool = False,
        survey: _Survey | None = None,
    ) -> None:
        if survey is None:
            survey = await _survey(ctx, query, scope, masked=True)
        if not survey.places(scope):
            raise CommandError("core.privacy.forget.none", person=query)
        await PENDING.save(
            ctx,
            {
                "person": query,
                "domain": scope.domain,
                "options": scope.options,
                "counts": [f.count for f in survey.findings],
            },
        )
        await _answer(
            ctx,
            "core.privacy.forget.preview",
            [*survey.findings, *_copy_findings(ctx, survey.copies, survey.person)],
            person=survey.person.masked,
            total=survey.total,
            changed=changed,
            forget=self.invocation(ctx),
        )

    async def erase(self, ctx: Context, person: Person, scope: Scope) -> None:
        marker = ctx.t.text("core.privacy.erased")
        tallies: list[Tally] = []
        for _, provider in _providers(ctx, scope):
            tallies += await provider.erase(ctx, person, scope, marker=marker)
        copies = await ctx.repo(CopiesRepository).erase(
            person.matcher(),
            marker,
            rooms=ctx.group_rooms(),
            current=ctx.inbox_id,
            obsolete=(PENDING.domain, PENDING.kind),
        )
        ctx.erased()
        # The audit log says that someone was erased and how many places, never who.
        await ctx.audit(
            "privacy.forget",
            domain=scope.domain,
            places=sum(t.count for t in tallies) + sum(copies.values()),
            **{t.key: t.count for t in tallies},
            **{f"copies.{kind}": count for kind, count in copies.items()},
        )
        await ctx.reply(
            "core.privacy.forget.done",
            tallies=tallies,
            messages=copies["inbox"] + copies["outbox"],
            pending=copies["pending"],
            files=copies["files"],
            audit=copies["audit"],
        )


class PersonData(_Handler):
    """`person-data PERSON`: everything kept on someone, bounded to one message."""

    def __init__(
        self,
        domain: str | None,
        provider: PersonalData | None,
        options: Sequence[Opt],
        forget: ForgetPerson,
    ) -> None:
        super().__init__(domain, provider, options)
        self.forget = forget

    async def __call__(self, ctx: Context, args: Args) -> None:
        scope = self.scope(args)
        # A domain's own command shows its records; the core one, the copies too.
        copies = scope.domain is None
        survey = await _survey(ctx, args["person"], scope, masked=False, copies=copies)
        findings = list(survey.findings)
        if copies:
            findings += _copy_findings(ctx, survey.copies, survey.person)
        await ctx.audit(
            "privacy.person_data", domain=scope.domain, places=sum(f.count for f in findings)
        )
        await _answer(
            ctx,
            "core.privacy.data",
            findings,
            person=args["person"],
            forget=self.forget.invocation(ctx),
        )


@dataclass
class _Survey:
    person: Person
    findings: list[Finding]  # the domains' (the copies are apart)
    copies: Copies

    @property
    def total(self) -> int:
        return sum(f.count for f in self.findings) + self.copies.total

    def places(self, scope: Scope) -> int:
        """Where there is something to erase: the domains' records and mentions, and,
        for a request about every domain, the copies too (a domain's own command looks
        for its records; the copies go with them)."""
        return self.total if scope.domain is None else sum(f.count for f in self.findings)


async def _survey(
    ctx: Context, query: str, scope: Scope, *, masked: bool, copies: bool = True
) -> _Survey:
    """Who the person is and where they are, in the domains of `scope` and (unless
    not wanted) in the bot's copies, the command asking left out."""
    if len(name_key(query).replace(" ", "")) < 2:
        raise CommandError("core.privacy.too_short")
    person = Person.typed(query)
    providers = _providers(ctx, scope)
    for _, provider in providers:
        await provider.identify(ctx, person, scope)
    findings: list[Finding] = []
    for _, provider in providers:
        found = await provider.find(ctx, person, scope, masked=masked, limit=LINES)
        findings += [f for f in found if f.count]
    kept = Copies()
    if copies:
        kept = await ctx.repo(CopiesRepository).find(
            person.matcher(), rooms=ctx.group_rooms(), limit=LINES, besides=ctx.inbox_id
        )
    return _Survey(person, findings, kept)


def _providers(ctx: Context, scope: Scope) -> list[tuple[str, PersonalData]]:
    """The domains' personal data (from their descriptors), in the order of the
    domains; one domain's only, for a scope."""
    return [
        (domain, provider)
        for domain, provider in ctx.services.privacy.items()
        if scope.domain in (None, domain)
    ]


def _copy_findings(ctx: Context, copies: Copies, person: Person) -> list[Finding]:
    """The bot's copies that mention the person, by kind, with masked examples."""
    matcher = person.matcher()
    findings = []
    for kind in KINDS:
        if not copies.counts[kind]:
            continue
        lines = [
            ctx.t.html(
                "core.privacy.copy",
                at=c.at,
                who=c.who,
                text=matcher.excerpt(c.text, width=EXCERPT) or "",
                tz=ctx.room.timezone,
            )
            for c in copies.first[kind]
        ]
        findings.append(Finding(f"core.privacy.place.{kind}", copies.counts[kind], lines))
    return findings


async def _answer(ctx: Context, key: str, findings: Sequence[Finding], **data: Any) -> None:
    """Reply with the findings, as many lines of each as fit in one event."""
    rendered: Rendered | None = None
    for keep in (LINES, 3, 2, 1, 0):
        shown = [replace(f, lines=f.lines[:keep]) for f in findings]
        rendered = ctx.t(key, findings=shown, **data)
        if len(rendered.plain.encode()) + len(rendered.html.encode()) <= MAX_ANSWER_BYTES:
            break
    assert rendered is not None
    await ctx.send_rendered(rendered)


def _action(text: str) -> tuple[str, str | None]:
    """("Zoé O'Brien", "confirm") from "Zoé O'Brien confirmer"; the action alone too."""
    words = text.split()
    last = fold(words[-1]) if words else ""
    if last in CONFIRM:
        return " ".join(words[:-1]), "confirm"
    if last in CANCEL:
        return " ".join(words[:-1]), "cancel"
    return text, None


def shorten(text: str | None, width: int = 300) -> str:
    """A text cut to `width` characters (a long note in an answer)."""
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
