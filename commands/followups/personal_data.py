"""Personal data in follow-ups: a person named in a follow-up's text or in its history
(a note when it was done, an edit), and a member as assignee or creator when the request
names their Matrix id. `!person-data` and `!forget-person` cover it with every other
domain (see `commands.kit.privacy`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

from commands.followups.records import repo
from commands.kit import privacy
from commands.kit.context import Context
from commands.kit.privacy import Finding, Person, Scope, Tally, shorten
from commands.kit.text import USER_ID
from storage.models import Followup, FollowupEvent, FollowupStatus
from storage.personal import PersonMatcher


@dataclass
class _Found:
    texts: list[Followup] = field(default_factory=list)
    events: list[tuple[FollowupEvent, Followup]] = field(default_factory=list)
    assigned: list[Followup] = field(default_factory=list)


async def _found(ctx: Context, person: Person) -> tuple[_Found, PersonMatcher]:
    matcher = person.matcher()
    found = _Found()
    if matcher.empty:
        return found, matcher
    followups = repo(ctx)
    patterns = matcher.like_patterns()
    found.texts = [f for f in await followups.containing(patterns) if matcher.mentions(f.text)]
    found.events = [
        (e, f)
        for e, f in await followups.events_containing(patterns)
        if matcher.mentions(e.text or "") or matcher.mentions_json(e.detail)
    ]
    user = person.query.strip()
    if USER_ID.fullmatch(user):
        found.assigned = [
            f for f in await followups.involving(user) if user in (f.assignee, f.creator)
        ]
    return found, matcher


class FollowupsPersonalData:
    """The follow-ups' side of a data-protection request (see `privacy.PersonalData`)."""

    async def identify(self, ctx: Context, person: Person, scope: Scope) -> None:
        """Follow-ups hold no contact details: nothing to add to what identifies someone."""

    async def find(
        self, ctx: Context, person: Person, scope: Scope, *, masked: bool, limit: int
    ) -> list[Finding]:
        found, matcher = await _found(ctx, person)

        def text(value: str | None) -> str:
            if value is None:
                return ""
            if masked:
                return matcher.excerpt(value, width=privacy.EXCERPT) or shorten(value, 60)
            return str(shorten(value))

        def item(followup: Followup, shown: str) -> Markup:
            return ctx.t.html("followups.privacy.line", number=followup.number, text=shown)

        return [
            Finding(
                "followups.privacy.texts",
                len(found.texts),
                [item(f, text(f.text)) for f in found.texts[:limit]],
            ),
            Finding(
                "followups.privacy.events",
                len(found.events),
                [item(f, text(e.text) or e.kind) for e, f in found.events[:limit]],
            ),
            Finding(
                "followups.privacy.assigned",
                len(found.assigned),
                [item(f, text(f.text)) for f in found.assigned[:limit]],
            ),
        ]

    async def erase(
        self, ctx: Context, person: Person, scope: Scope, *, marker: str
    ) -> list[Tally]:
        found, matcher = await _found(ctx, person)
        for followup in found.texts:
            followup.text = matcher.redact(followup.text, marker)
        for event, _ in found.events:
            if event.text is not None:
                event.text = matcher.redact(event.text, marker)
            event.detail = matcher.redact_json(event.detail, marker, html_keys=frozenset())
        user = person.query.strip()
        for followup in found.assigned:
            if followup.assignee == user:
                followup.assignee = marker
                if followup.status == FollowupStatus.OPEN:
                    # Nobody left to chase: it waits for a moderator to reassign it.
                    followup.next_reminder_at = None
            if followup.creator == user:
                followup.creator = marker
        if found.assigned:
            await repo(ctx).forget_actor(user, marker)
        tallies = [
            Tally("followups.erased.texts", len(found.texts)),
            Tally("followups.erased.events", len(found.events)),
            Tally("followups.erased.assigned", len(found.assigned)),
        ]
        return [tally for tally in tallies if tally.count]


PRIVACY = FollowupsPersonalData()
