"""The Matrix side: matrix-nio behind the small Transport interface.

nio reports errors as response objects; they become exceptions here, once, so the
rest of the bot never sees nio. The sync loop is ours (not nio's `sync_forever`):
events and the sync token are stored together, after a `limited` timeline has been
completed from `/messages`, so a crash can neither lose nor replay a command.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import ClientError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    DownloadResponse,
    ErrorResponse,
    InviteMemberEvent,
    JoinError,
    LoginResponse,
    MessageDirection,
    RoomMessagesResponse,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)

from bot.config import MatrixSettings
from bot.transport import Attachment, IncomingEvent, MediaError, SendError

logger = logging.getLogger(__name__)

# Event types the bot may act on; everything else in a timeline is skipped.
ACTIONABLE = frozenset(
    {
        "m.room.message",
        "m.reaction",
        "m.room.member",
        "m.poll.response",
        "org.matrix.msc3381.poll.response",
        "m.poll.end",
        "org.matrix.msc3381.poll.end",
    }
)
TIMELINE_LIMIT = 50
PAGE_SIZE = 100
SYNC_FILTER: dict[str, Any] = {
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
    "room": {
        "timeline": {"limit": TIMELINE_LIMIT},
        "ephemeral": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
    },
}


class MatrixError(Exception):
    """A request to the homeserver failed (network, 5xx, or a refusal)."""


@dataclass
class SyncBatch:
    """What one sync brought: events to store, invitations, and the token to store with them."""

    next_batch: str
    events: list[IncomingEvent] = field(default_factory=list)
    invites: dict[str, str] = field(default_factory=dict)  # room id -> inviter


def incoming(room_id: str, source: dict[str, Any]) -> IncomingEvent | None:
    """A raw event as the inbox stores it; None when it lacks what the bot needs."""
    event_id, sender, kind = source.get("event_id"), source.get("sender"), source.get("type")
    if not (isinstance(event_id, str) and isinstance(sender, str) and isinstance(kind, str)):
        return None
    content = source.get("content")
    ts = source.get("origin_server_ts")
    origin = datetime.fromtimestamp(ts / 1000 if isinstance(ts, int) else 0, UTC)
    return IncomingEvent(
        event_id=event_id,
        room_id=room_id,
        sender=sender,
        event_type=kind,
        content=content if isinstance(content, dict) else {},
        origin_ts=origin,
    )


def _status(response: ErrorResponse) -> int | None:
    transport = getattr(response, "transport_response", None)
    return getattr(transport, "status", None)


def send_error(response: ErrorResponse) -> SendError:
    """Classify a refused request: rate limit, server trouble (retry), or a final no."""
    status = _status(response)
    code = response.status_code
    text = f"{code or status}: {response.message or ''}".strip()
    if code == "M_LIMIT_EXCEEDED" or status == 429:
        retry_ms = getattr(response, "retry_after_ms", None) or 5000
        return SendError(text, retry_after=retry_ms / 1000)
    if status is None or status >= 500 or status in (401, 408):
        return SendError(text)
    return SendError(text, permanent=True)


class MatrixTransport:
    """One logged-in device of the bot's account."""

    def __init__(self, settings: MatrixSettings, *, sync_timeout_ms: int = 30_000) -> None:
        self.settings = settings
        self.sync_timeout_ms = sync_timeout_ms
        self.client = AsyncClient(
            settings.homeserver,
            settings.user_id,
            config=AsyncClientConfig(
                max_limit_exceeded=0,  # 429s come back to us: the outbox honours retry_after
                max_timeouts=0,  # network errors too: our loops own the backoff
                request_timeout=sync_timeout_ms / 1000 + 30,
                encryption_enabled=False,
            ),
        )

    @property
    def user_id(self) -> str:
        return self.settings.user_id

    async def close(self) -> None:
        await self.client.close()

    async def login(self, stored_token: str | None, stored_device: str | None) -> tuple[str, str]:
        """Reuse the stored token and device when they still work; log in otherwise.

        Returns the (access token, device id) to store. Reusing them keeps one device
        across restarts, and keeps transaction ids meaningful to the server.
        """
        if stored_token and stored_device:
            self.client.restore_login(self.user_id, stored_device, stored_token)
            whoami = await self._call(self.client.whoami())
            if isinstance(whoami, WhoamiResponse) and whoami.user_id == self.user_id:
                return stored_token, stored_device
            logger.warning("the stored access token no longer works; logging in again")
        if self.settings.access_token is not None:
            token = self.settings.access_token.get_secret_value()
            self.client.access_token = token
            whoami = await self._call(self.client.whoami())
            if not isinstance(whoami, WhoamiResponse) or not whoami.device_id:
                raise MatrixError(f"the configured access token was refused: {whoami}")
            self.client.restore_login(self.user_id, whoami.device_id, token)
            return token, whoami.device_id
        if self.settings.password is None:
            raise MatrixError("no password or access token to log in with")
        response = await self._call(
            self.client.login(
                self.settings.password.get_secret_value(), device_name=self.settings.device_name
            )
        )
        if not isinstance(response, LoginResponse):
            raise MatrixError(f"login refused: {response}")
        return response.access_token, response.device_id

    async def joined_rooms(self) -> set[str]:
        response = await self._call(self.client.joined_rooms())
        if isinstance(response, ErrorResponse):
            raise MatrixError(str(response))
        return set(response.rooms)

    async def join(self, room_id: str) -> bool:
        response = await self._call(self.client.join(room_id))
        if isinstance(response, JoinError):
            logger.warning("cannot join %s: %s", room_id, response.message)
            return False
        return True

    async def sync(self, since: str | None) -> SyncBatch:
        """One sync. Without a token (first start) the history is not returned."""
        timeout = self.sync_timeout_ms if since else 0
        response = await self._call(
            self.client.sync(timeout=timeout, sync_filter=SYNC_FILTER, since=since)
        )
        if not isinstance(response, SyncResponse):
            raise MatrixError(f"sync failed: {response}")
        batch = SyncBatch(response.next_batch)
        for room_id, invited in response.rooms.invite.items():
            for event in invited.invite_state:
                # nio moves `content` out of the source of invite events: use its fields.
                if (
                    isinstance(event, InviteMemberEvent)
                    and event.state_key == self.user_id
                    and event.membership == "invite"
                ):
                    batch.invites[room_id] = event.sender
        if since is None:
            return batch  # first start: begin from now, replay nothing
        for room_id, joined in response.rooms.join.items():
            timeline = joined.timeline
            sources = [e.source for e in timeline.events]
            if timeline.limited and timeline.prev_batch:
                older = await self.backfill(room_id, timeline.prev_batch, since)
                sources = older + sources
            batch.events.extend(self._actionable(room_id, sources))
        return batch

    async def backfill(self, room_id: str, start: str, until: str) -> list[dict[str, Any]]:
        """The events a `limited` timeline skipped, oldest first, back to the last token."""
        pages: list[dict[str, Any]] = []
        token: str | None = start
        while token:
            response = await self._call(
                self.client.room_messages(
                    room_id,
                    start=token,
                    end=until,
                    direction=MessageDirection.back,
                    limit=PAGE_SIZE,
                )
            )
            if not isinstance(response, RoomMessagesResponse):
                raise MatrixError(f"/messages failed in {room_id}: {response}")
            if not response.chunk:
                break
            pages.extend(e.source for e in response.chunk)
            if response.end == token:
                break
            token = response.end
        logger.info("filled a gap of %d events in %s", len(pages), room_id)
        pages.reverse()
        return pages

    def _actionable(self, room_id: str, sources: Sequence[dict[str, Any]]) -> list[IncomingEvent]:
        events = []
        for source in sources:
            if source.get("type") not in ACTIONABLE or source.get("sender") == self.user_id:
                continue
            event = incoming(room_id, source)
            if event is not None:
                events.append(event)
        return events

    async def send(
        self,
        room_id: str,
        event_type: str,
        content: dict[str, Any],
        txn_id: str,
        attachment: Attachment | None = None,
    ) -> str:
        try:
            if attachment is not None:
                content = {**content, "url": await self._upload(attachment)}
            response = await self.client.room_send(room_id, event_type, content, tx_id=txn_id)
        except (ClientError, TimeoutError, OSError) as exc:
            raise SendError(f"network: {exc!r}") from exc
        if isinstance(response, RoomSendResponse):
            return str(response.event_id)
        raise send_error(response)

    async def _upload(self, attachment: Attachment) -> str:
        """Upload a file; uploading twice after a failure only leaves an unused copy."""
        response, _keys = await self.client.upload(
            io.BytesIO(attachment.data),
            content_type=attachment.mimetype,
            filename=attachment.name,
            filesize=len(attachment.data),
        )
        if not isinstance(response, UploadResponse):
            raise send_error(response)
        return str(response.content_uri)

    async def fetch(self, url: str) -> bytes:
        """Download a file a user posted (MediaFetcher)."""
        try:
            response = await self.client.download(mxc=url)
        except (ClientError, TimeoutError, OSError) as exc:
            raise MediaError(f"network: {exc!r}") from exc
        if not isinstance(response, DownloadResponse):
            raise MediaError(str(response))
        body = response.body
        return body if isinstance(body, bytes) else bytes(body)

    async def _call(self, awaitable: Any) -> Any:
        """Await a nio call, turning network exceptions into MatrixError."""
        try:
            return await awaitable
        except (ClientError, TimeoutError, OSError) as exc:
            raise MatrixError(f"network: {exc!r}") from exc
