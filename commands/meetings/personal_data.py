"""Personal data in meetings: people named in what was said (the items of the minutes,
the agendas, the titles), the present list (people without a chat account too), and
the raw log; and a member, by their Matrix id, as chair, attendee, author, assignee or
sender. `!person-data` and `!forget-person` cover it with every other domain (see
`commands.kit.privacy`). Matching is by whole words (`storage.personal`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from commands.kit import privacy
from commands.kit.context import Context
from commands.kit.privacy import Finding, Person, Scope, Tally, shorten
from commands.kit.text import USER_ID
from commands.meetings.records import repo
from storage.models import AgendaItem, Attendee, LogLine, Meeting, MeetingItem
from storage.personal import PersonMatcher


@dataclass
class _Found:
    items: list[MeetingItem] = field(default_factory=list)
    agenda: list[AgendaItem] = field(default_factory=list)
    titles: list[Meeting] = field(default_factory=list)
    attendees: list[Attendee] = field(default_factory=list)
    log: list[LogLine] = field(default_factory=list)
    account: dict[str, int] = field(default_factory=dict)

    @property
    def texts(self) -> int:
        return len(self.items) + len(self.agenda) + len(self.titles)


async def _found(ctx: Context, person: Person) -> tuple[_Found, PersonMatcher]:
    matcher = person.matcher()
    found = _Found()
    if matcher.empty:
        return found, matcher
    meetings = repo(ctx)
    patterns = matcher.like_patterns()

    def says(*texts: str | None) -> bool:
        return any(matcher.mentions(t) for t in texts if t)

    found.items = [i for i in await meetings.items_containing(patterns) if says(i.text, i.owner)]
    found.agenda = [a for a in await meetings.agenda_containing(patterns) if says(a.text, a.owner)]
    found.titles = [m for m in await meetings.meetings_containing(patterns) if says(m.title)]
    found.attendees = [a for a in await meetings.attendees_containing(patterns) if says(a.name)]
    found.log = [line for line in await meetings.log_containing(patterns) if says(line.body)]
    user = person.query.strip()
    if USER_ID.fullmatch(user):
        found.account = {k: v for k, v in (await meetings.involving(user)).items() if v}
    return found, matcher


async def _numbers(ctx: Context, ids: Sequence[int]) -> dict[int, int | None]:
    numbers: dict[int, int | None] = {}
    for meeting_id in dict.fromkeys(ids):
        meeting = await repo(ctx).by_id(meeting_id)
        numbers[meeting_id] = meeting.number if meeting is not None else None
    return numbers


class MeetingsPersonalData:
    """The meetings' side of a data-protection request (see `privacy.PersonalData`)."""

    async def identify(self, ctx: Context, person: Person, scope: Scope) -> None:
        """Meetings hold no contact details: nothing to add to what identifies someone."""

    async def find(
        self, ctx: Context, person: Person, scope: Scope, *, masked: bool, limit: int
    ) -> list[Finding]:
        found, matcher = await _found(ctx, person)
        numbers = await _numbers(
            ctx,
            [
                *(i.meeting_id for i in found.items[:limit]),
                *(a.meeting_id for a in found.agenda[:limit]),
                *(a.meeting_id for a in found.attendees[:limit]),
                *(line.meeting_id for line in found.log[:limit]),
            ],
        )

        def text(value: str) -> str:
            if masked:
                return matcher.excerpt(value, width=privacy.EXCERPT) or shorten(value, 60)
            return str(shorten(value))

        def line(meeting_id: int, shown: str) -> Markup:
            return ctx.t.html("meetings.privacy.line", number=numbers.get(meeting_id), text=shown)

        texts = [
            *(line(i.meeting_id, text(f"{i.text} {i.owner or ''}")) for i in found.items),
            *(line(a.meeting_id, text(f"{a.text} {a.owner or ''}")) for a in found.agenda),
            *(line(m.id, text(m.title or "")) for m in found.titles),
        ]
        findings = [
            Finding("meetings.privacy.texts", found.texts, texts[:limit]),
            Finding(
                "meetings.privacy.attendees",
                len(found.attendees),
                [line(a.meeting_id, text(a.name)) for a in found.attendees[:limit]],
            ),
            Finding(
                "meetings.privacy.log",
                len(found.log),
                [line(entry.meeting_id, text(entry.body)) for entry in found.log[:limit]],
            ),
        ]
        if found.account:
            findings.append(Finding("meetings.privacy.account", sum(found.account.values())))
        return findings

    async def erase(
        self, ctx: Context, person: Person, scope: Scope, *, marker: str
    ) -> list[Tally]:
        found, matcher = await _found(ctx, person)
        for item in found.items:
            item.text = matcher.redact(item.text, marker)
            if item.owner:
                item.owner = matcher.redact(item.owner, marker)
        for point in found.agenda:
            point.text = matcher.redact(point.text, marker)
            if point.owner:
                point.owner = matcher.redact(point.owner, marker)
        for meeting in found.titles:
            meeting.title = matcher.redact(meeting.title or "", marker)
        gone = []
        for attendee in found.attendees:
            name = matcher.redact(attendee.name, marker)
            if name.replace(marker, "").strip(" ,-") == "":
                gone.append(attendee)  # the whole name was theirs: off the list
            else:
                attendee.name = name
        await repo(ctx).delete_attendees(gone)
        for entry in found.log:
            entry.body = matcher.redact(entry.body, marker)
        user = person.query.strip()
        if found.account:
            await repo(ctx).forget_member(user, marker)
        tallies = [
            Tally("meetings.erased.texts", found.texts),
            Tally("meetings.erased.attendees", len(found.attendees)),
            Tally("meetings.erased.log", len(found.log)),
            Tally("meetings.erased.account", sum(found.account.values())),
        ]
        return [tally for tally in tallies if tally.count]


PRIVACY = MeetingsPersonalData()
