"""What the pipeline needs from a chat network, whichever it is."""

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


class MediaFetcher(Protocol):
    async def fetch(self, url: str) -> bytes:
        """The bytes of a file a user posted (an mxc:// URL on Matrix)."""
        ...


class MediaError(Exception):
    """A posted file could not be fetched."""
