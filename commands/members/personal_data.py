"""Personal data in membership: a person's join requests (their display name and the
reason they gave), how they came into a room (and whom they let in), and mentions of
them in others' requests. `!person-data` and `!forget-person` cover it with every other
domain (see `commands.kit.privacy`).

Erasing someone removes their requests and admissions outright (the user id is the
person), and replaces their name or user id wherever else it appears."""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

from commands.kit import privacy
from commands.kit.context import Context
from commands.kit.privacy import Finding, Person, Scope, Tally, shorten
from commands.kit.text import USER_ID
from commands.members.records import admissions, requests
from storage.models import Admission, JoinRequest
from storage.personal import PersonMatcher


@dataclass
class _Found:
    # The person's requests: by their user id, or made under their name.
    own: list[JoinRequest] = field(default_factory=list)
    mentioned: list[JoinRequest] = field(default_factory=list)  # others' that name them
    decided: list[JoinRequest] = field(default_factory=list)  # others' they decided on
    admitted: list[Admission] = field(default_factory=list)  # their admissions
    admitting: list[Admission] = field(default_factory=list)  # others' they let in


def _user(person: Person) -> str | None:
    query = person.query.strip()
    return query if USER_ID.fullmatch(query) else None


async def _found(ctx: Context, person: Person) -> tuple[_Found, PersonMatcher]:
    matcher = person.matcher()
    found = _Found()
    repo = requests(ctx)
    user = _user(person)
    if user is not None:
        found.own = list(await repo.of_user(user))
        found.decided = [r for r in await repo.decided_by(user) if r.user_id != user]
        for admission in await admissions(ctx).involving(user):
            if admission.user_id == user:
                found.admitted.append(admission)
            else:
                found.admitting.append(admission)
    if not matcher.empty:
        own = {r.id for r in found.own}
        for row in await repo.containing(matcher.like_patterns()):
            if row.id in own:
                continue
            if matcher.mentions(row.display_name or ""):
                found.own.append(row)  # a request made under the person's name is theirs
            elif any(matcher.mentions(t or "") for t in _texts(row)):
                found.mentioned.append(row)
    return found, matcher


def _texts(request: JoinRequest) -> tuple[str | None, ...]:
    return (request.display_name, request.reason, request.note)


class MembersPersonalData:
    """Membership's side of a data-protection request (see `privacy.PersonalData`)."""

    async def identify(self, ctx: Context, person: Person, scope: Scope) -> None:
        """A display name is chosen by its owner and may be anyone's: it is not taken
        as identifying the person elsewhere."""

    async def find(
        self, ctx: Context, person: Person, scope: Scope, *, masked: bool, limit: int
    ) -> list[Finding]:
        found, matcher = await _found(ctx, person)

        def text(value: str | None) -> str:
            if not value:
                return ""
            if masked:
                return matcher.excerpt(value, width=privacy.EXCERPT) or str(shorten(value, 60))
            return str(shorten(value))

        def request(row: JoinRequest, shown: str) -> Markup:
            return ctx.t.html(
                "members.privacy.request",
                at=row.created_at,
                status=row.status,
                text=shown,
                tz=ctx.room.timezone,
            )

        def admission(row: Admission) -> Markup:
            return ctx.t.html("members.privacy.admission", room=row.room_id, at=row.joined_at)

        return [
            Finding(
                "members.privacy.own",
                len(found.own),
                [request(r, text(r.reason)) for r in found.own[:limit]],
            ),
            Finding(
                "members.privacy.mentioned",
                len(found.mentioned),
                [
                    request(r, next((text(t) for t in _texts(r) if matcher.mentions(t or "")), ""))
                    for r in found.mentioned[:limit]
                ],
            ),
            Finding(
                "members.privacy.decided",
                len(found.decided),
                [request(r, "") for r in found.decided[:limit]],
            ),
            Finding(
                "members.privacy.admitted",
                len(found.admitted) + len(found.admitting),
                [admission(a) for a in [*found.admitted, *found.admitting][:limit]],
            ),
        ]

    async def erase(
        self, ctx: Context, person: Person, scope: Scope, *, marker: str
    ) -> list[Tally]:
        found, matcher = await _found(ctx, person)
        user = _user(person)
        await requests(ctx).remove(found.own)
        for row in found.mentioned:
            row.display_name = (
                matcher.redact(row.display_name, marker) if row.display_name else None
            )
            row.reason = matcher.redact(row.reason, marker) if row.reason else None
            row.note = matcher.redact(row.note, marker) if row.note else None
        for row in found.decided:
            row.decided_by = marker
        repo = admissions(ctx)
        for admission in found.admitted:
            await repo.remove(admission)
        for admission in found.admitting:
            if admission.approved_by == user:
                admission.approved_by = marker
            if admission.invited_by == user:
                admission.invited_by = marker
        tallies = [
            Tally("members.erased.own", len(found.own)),
            Tally("members.erased.mentioned", len(found.mentioned)),
            Tally("members.erased.decided", len(found.decided)),
            Tally("members.erased.admitted", len(found.admitted) + len(found.admitting)),
        ]
        return [tally for tally in tallies if tally.count]


PRIVACY = MembersPersonalData()
