"""What the bot needs from a chat network, whichever it is: the Matrix transport, the
console and the tests' fake implement this protocol; everything above it is shared."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class IncomingEvent:
    """A room event as the pipeline stores it, independent of the client library."""

    event_id: str
    room_id: str
    sender: str
    event_type: str
    content: dict[str, Any]
    origin_ts: datetime
    state_key: str | None = None  # a state event's (the user a membership event is about)


class SendError(Exception):
    """Sending failed. `retry_after` (seconds) comes from the server; `permanent` means give up."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


@dataclass(frozen=True)
class Attachment:
    """A file to upload with a message (an export)."""

    name: str
    mimetype: str
    data: bytes


@dataclass(frozen=True)
class RoomAction:
    """A room action from the outbox: invite, kick (which also refuses a knock), redact,
    a state event, or a user's power level.

    `user_id` is whom an invite, kick or power level is about; `event_id` the event a
    redaction removes; `content` and `state_key` the state event's.
    """

    kind: str
    room_id: str
    txn_id: str
    user_id: str | None = None
    event_id: str | None = None
    event_type: str | None = None
    state_key: str = ""
    content: dict[str, Any] | None = None
    reason: str | None = None


class Transport(Protocol):
    async def send(
        self,
        room_id: str,
        event_type: str,
        content: dict[str, Any],
        txn_id: str,
        attachment: Attachment | None = None,
    ) -> str:
        """Send one event with this transaction id; return its event id or raise SendError.

        With an attachment, upload it first and put its URL in the content.
        """
        ...

    async def act(self, action: RoomAction) -> str | None:
        """Carry out a room action; an action that already took effect (an invite to
        someone already invited) is not an error. Returns an event id when there is
        one (a redaction, a state event). Raises SendError."""
        ...

    async def direct_room(self, user_id: str, known: str | None) -> str:
        """The direct-message room with a user: `known` (the one recorded) if it still
        works, else one found among the bot's rooms, else a new one. Never creates a
        second room for a user, even after a crash halfway. Raises SendError."""
        ...


class MediaFetcher(Protocol):
    async def fetch(self, url: str) -> bytes:
        """The bytes of a file a user posted (an mxc:// URL on Matrix)."""
        ...


class MediaError(Exception):
    """A posted file could not be fetched."""
