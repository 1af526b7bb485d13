"""Events other than text commands, as domain handlers receive them.

The pipeline stores every event the bot may act on; a text command goes to the
registry, and every other event (a reaction, a poll response, a knock, a join, a
redaction, and also each message, for domains that keep a log) goes to the handlers
the domains declared for its type, on the same exactly-once path: one transaction
with the inbox mark and the outbox.

Each kind of event is a small typed object built from the raw content by `parse`;
malformed content gives None (the event is ignored and logged, never a crash).
`target` is what the bot's own message was about, when the event answers one (a
reaction to a reminder, a response to a poll): the outbox keeps a reference to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from storage.repos.core import Ref

if TYPE_CHECKING:
    from commands.kit.context import Context

__all__ = [
    "MEMBERSHIP",
    "POLL_END",
    "POLL_RESPONSE",
    "REACTION",
    "REDACTION",
    "ROOM_MESSAGE",
    "Event",
    "EventHandler",
    "Membership",
    "Message",
    "PollEnd",
    "PollResponse",
    "Reaction",
    "Redaction",
    "Ref",
    "Signal",
    "parse",
]

ROOM_MESSAGE = ("m.room.message",)
REACTION = ("m.reaction",)
POLL_RESPONSE = ("m.poll.response", "org.matrix.msc3381.poll.response")
POLL_END = ("m.poll.end", "org.matrix.msc3381.poll.end")
MEMBERSHIP = ("m.room.member",)
REDACTION = ("m.room.redaction",)


@dataclass(frozen=True)
class Event:
    """What every event has: who sent it, its id and type, and the raw content."""

    event_id: str
    event_type: str
    sender: str
    content: dict[str, Any]

    @property
    def target_event(self) -> str | None:
        """The event this one relates to, if any."""
        return None


@dataclass(frozen=True)
class Reaction(Event):
    key: str
    relates_to: str
    target: Ref | None = None

    @property
    def target_event(self) -> str | None:
        return self.relates_to


@dataclass(frozen=True)
class PollResponse(Event):
    """A vote on a native poll (stable or unstable form); no answers withdraws it."""

    poll_event: str
    answers: tuple[str, ...]
    target: Ref | None = None

    @property
    def target_event(self) -> str | None:
        return self.poll_event


@dataclass(frozen=True)
class PollEnd(Event):
    poll_event: str
    target: Ref | None = None

    @property
    def target_event(self) -> str | None:
        return self.poll_event


@dataclass(frozen=True)
class Membership(Event):
    """A user joined, left, knocked, was invited or banned (`membership`); `previous`
    is what the bot knew of them before."""

    user: str
    membership: str
    previous: str | None = None
    reason: str | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class Redaction(Event):
    redacts: str
    target: Ref | None = None

    @property
    def target_event(self) -> str | None:
        return self.redacts


@dataclass(frozen=True)
class Message(Event):
    """Any message typed in a room, commands included (`command` says which)."""

    body: str
    msgtype: str
    command: bool = False
    reply_to: str | None = None
    target: Ref | None = None

    @property
    def target_event(self) -> str | None:
        return self.reply_to


@dataclass(frozen=True)
class Signal:
    """Something one domain tells the others, within the same transaction (a partner's
    status changed): a name, and its data."""

    name: str
    data: dict[str, Any]


E = TypeVar("E", bound=Event)
EventFilter = Callable[[E], bool]


@dataclass(frozen=True)
class EventHandler(Generic[E]):
    """A domain's handler for some event types, with an optional filter.

    `about` keeps the events that answer a message the bot sent about a (domain, kind)
    (a reaction to a reminder); `where` is any other test on the event.
    """

    domain: str
    types: tuple[str, ...]
    kind: type[E]
    handler: Callable[[Context, E], Awaitable[bool | None]]
    about: tuple[str, str] | None = None
    where: EventFilter[E] | None = None

    def wants(self, event: Event) -> bool:
        if not isinstance(event, self.kind):
            return False
        if self.about is not None:
            target = getattr(event, "target", None)
            if target is None or (target.domain, target.kind) != self.about:
                return False
        return self.where is None or self.where(event)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _relation(content: dict[str, Any]) -> dict[str, Any]:
    relates = content.get("m.relates_to")
    return relates if isinstance(relates, dict) else {}


def _poll_answers(content: dict[str, Any]) -> tuple[str, ...] | None:
    for key in ("m.selections", "m.poll.response", "org.matrix.msc3381.poll.response"):
        value = content.get(key)
        if isinstance(value, dict):
            value = value.get("answers")
        if isinstance(value, list):
            return tuple(a for a in value if isinstance(a, str))
    return None


def parse(
    event_type: str,
    event_id: str,
    sender: str,
    content: dict[str, Any],
    *,
    state_key: str | None = None,
    command: bool = False,
) -> Event | None:
    """The typed event for a stored one, or None when its content is not what its
    type promises (a reaction without a key, a poll response without a poll)."""
    base: dict[str, Any] = {
        "event_id": event_id,
        "event_type": event_type,
        "sender": sender,
        "content": content,
    }
    relates = _relation(content)
    if event_type in REACTION:
        key, target = _text(relates.get("key")), _text(relates.get("event_id"))
        if relates.get("rel_type") != "m.annotation" or not key or not target:
            return None
        return Reaction(**base, key=key, relates_to=target)
    if event_type in POLL_RESPONSE:
        poll, answers = _text(relates.get("event_id")), _poll_answers(content)
        if relates.get("rel_type") != "m.reference" or not poll or answers is None:
            return None
        return PollResponse(**base, poll_event=poll, answers=answers)
    if event_type in POLL_END:
        poll = _text(relates.get("event_id"))
        if relates.get("rel_type") != "m.reference" or not poll:
            return None
        return PollEnd(**base, poll_event=poll)
    if event_type in MEMBERSHIP:
        user, membership = state_key, _text(content.get("membership"))
        if not user or not membership:
            return None
        return Membership(
            **base,
            user=user,
            membership=membership,
            reason=_text(content.get("reason")),
            display_name=_text(content.get("displayname")),
        )
    if event_type in REDACTION:
        redacts = _text(content.get("redacts"))
        return Redaction(**base, redacts=redacts) if redacts else None
    if event_type in ROOM_MESSAGE:
        body, msgtype = _text(content.get("body")), _text(content.get("msgtype"))
        if body is None or msgtype is None:
            return None
        reply = relates.get("m.in_reply_to")
        reply_to = _text(reply.get("event_id")) if isinstance(reply, dict) else None
        return Message(**base, body=body, msgtype=msgtype, command=command, reply_to=reply_to)
    return None
