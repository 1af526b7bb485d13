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
from urllib.parse import quote

from aiohttp import ClientError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    DownloadResponse,
    ErrorResponse,
    InviteMemberEvent,
    JoinedMembersResponse,
    JoinError,
    LoginResponse,
    MessageDirection,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)

from bot.config import MatrixSettings
from commands.kit.transport import (
    Attachment,
    IncomingEvent,
    MediaError,
    RoomAction,
    SendError,
)
from storage.models import OutboxAction

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
        "m.room.redaction",
    }
)
# A state event the bot puts in the direct-message rooms it creates, naming the user:
# after a crash between creating a room and recording it, the room is found again
# by it instead of being created twice.
DIRECT_MARKER = "org.passerelle.direct"
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


class LoginRefused(MatrixError):
    """The homeserver answered, and said no to the bot's credentials: trying again
    will not help."""


@dataclass(frozen=True)
class Invite:
    """An invitation of the bot to a room: who sent it, and whether it is a direct chat."""

    inviter: str
    direct: bool = False


@dataclass
class SyncBatch:
    """What one sync brought: events to store, invitations, and the token to store with them."""

    next_batch: str
    events: list[IncomingEvent] = field(default_factory=list)
    invites: dict[str, Invite] = field(default_factory=dict)  # room id -> invitation


def incoming(room_id: str, source: dict[str, Any]) -> IncomingEvent | None:
    """A raw event as the inbox stores it; None when it lacks what the bot needs."""
    event_id, sender, kind = source.get("event_id"), source.get("sender"), source.get("type")
    if not (isinstance(event_id, str) and isinstance(sender, str) and isinstance(kind, str)):
        return None
    content = source.get("content")
    content = dict(content) if isinstance(content, dict) else {}
    redacts = source.get("redacts")
    if kind == "m.room.redaction" and isinstance(redacts, str):
        content.setdefault("redacts", redacts)  # room versions before 11 keep it outside
    state_key = source.get("state_key")
    ts = source.get("origin_server_ts")
    origin = datetime.fromtimestamp(ts / 1000 if isinstance(ts, int) else 0, UTC)
    return IncomingEvent(
        event_id=event_id,
        room_id=room_id,
        sender=sender,
        event_type=kind,
        content=content,
        origin_ts=origin,
        state_key=state_key if isinstance(state_key, str) else None,
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

    @property
    def sync_filter(self) -> dict[str, Any]:
        """SYNC_FILTER, without the bot's own events in timelines: the server does not
        send back what the bot wrote (the bot would skip it anyway)."""
        timeline = {**SYNC_FILTER["room"]["timeline"], "not_senders": [self.user_id]}
        return {**SYNC_FILTER, "room": {**SYNC_FILTER["room"], "timeline": timeline}}

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
                reason = getattr(whoami, "message", None) or whoami
                raise LoginRefused(
                    f"the homeserver refused the configured access token: {reason} "
                    "(check matrix.access_token)"
                )
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
            reason = getattr(response, "message", None) or response
            raise LoginRefused(
                f"the homeserver refused to log in as {self.user_id}: {reason} "
                "(check matrix.user_id and matrix.password)"
            )
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
            self.client.sync(timeout=timeout, sync_filter=self.sync_filter, since=since)
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
                    direct = bool((event.content or {}).get("is_direct"))
                    batch.invites[room_id] = Invite(event.sender, direct)
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

    async def act(self, action: RoomAction) -> str | None:
        """An invite, a kick (also refuses a knock), a redaction, a state event or a power
        level. An invite or kick whose effect is already there is not an error."""
        try:
            return await self._act(action)
        except (ClientError, TimeoutError, OSError) as exc:
            raise SendError(f"network: {exc!r}") from exc

    async def _act(self, action: RoomAction) -> str | None:
        room, user = action.room_id, action.user_id or ""
        if action.kind == OutboxAction.INVITE:
            response = await self.client.room_invite(room, user)
            if isinstance(response, ErrorResponse):
                if await self._membership(room, user) in ("invite", "join"):
                    return None  # already done (before a crash, or by someone else)
                raise send_error(response)
            return None
        if action.kind == OutboxAction.KICK:
            response = await self.client.room_kick(room, user, reason=action.reason)
            if isinstance(response, ErrorResponse):
                if await self._membership(room, user) in (None, "leave", "ban"):
                    return None
                raise send_error(response)
            return None
        if action.kind == OutboxAction.REDACT:
            response = await self.client.room_redact(
                room, action.event_id or "", reason=action.reason, tx_id=action.txn_id
            )
            if isinstance(response, ErrorResponse):
                raise send_error(response)
            return str(response.event_id)
        if action.kind == OutboxAction.STATE:
            content = {k: v for k, v in (action.content or {}).items() if k != "reason"}
            return await self._put_state(room, action.event_type or "", content, action.state_key)
        if action.kind == OutboxAction.POWER_LEVEL:
            level = int((action.content or {}).get("level", 0))
            current = await self.client.room_get_state_event(room, "m.room.power_levels")
            if not isinstance(current, RoomGetStateEventResponse):
                raise send_error(current)
            levels = dict(current.content)
            users = dict(levels.get("users") or {})
            if users.get(user) == level:
                return None
            users[user] = level
            levels["users"] = users
            return await self._put_state(room, "m.room.power_levels", levels, "")
        raise SendError(f"unknown room action {action.kind!r}", permanent=True)

    async def _put_state(
        self, room_id: str, event_type: str, content: dict[str, Any], state_key: str
    ) -> str:
        response = await self.client.room_put_state(room_id, event_type, content, state_key)
        if isinstance(response, ErrorResponse):
            raise send_error(response)
        return str(response.event_id)

    async def _membership(self, room_id: str, user_id: str) -> str | None:
        """A user's membership in a room as the server has it now (None: never there)."""
        response = await self.client.room_get_state_event(room_id, "m.room.member", user_id)
        if isinstance(response, RoomGetStateEventResponse):
            membership = response.content.get("membership")
            return membership if isinstance(membership, str) else None
        return None

    async def members(self, room_id: str) -> dict[str, str | None]:
        """The joined members of a room and their display names, the bot left out (it
        is no member of the group: it votes on nothing, is chased for nothing)."""
        response = await self._call(self.client.joined_members(room_id))
        if not isinstance(response, JoinedMembersResponse):
            raise MatrixError(f"cannot list the members of {room_id}: {response}")
        return {
            m.user_id: m.display_name for m in response.members if m.user_id != self.client.user_id
        }

    async def direct_room(self, user_id: str, known: str | None) -> str:
        """The direct-message room with a user, created once (see DIRECT_MARKER)."""
        try:
            if known is not None:
                return known
            found = await self._find_direct(user_id)
            if found is None:
                found = await self._create_direct(user_id)
            await self._remember_direct(user_id, found)
            return found
        except (ClientError, TimeoutError, OSError) as exc:
            raise SendError(f"network: {exc!r}") from exc

    async def _find_direct(self, user_id: str) -> str | None:
        """A room the bot made for this user before (a crash may have kept it unrecorded)."""
        joined = await self.client.joined_rooms()
        if isinstance(joined, ErrorResponse):
            raise send_error(joined)
        for room_id in joined.rooms:
            marker = await self.client.room_get_state_event(room_id, DIRECT_MARKER)
            if (
                isinstance(marker, RoomGetStateEventResponse)
                and marker.content.get("user") == user_id
            ):
                return str(room_id)
        return None

    async def _create_direct(self, user_id: str) -> str:
        response = await self.client.room_create(
            is_direct=True,
            preset=RoomPreset.trusted_private_chat,
            invite=[user_id],
            initial_state=[{"type": DIRECT_MARKER, "state_key": "", "content": {"user": user_id}}],
        )
        if not isinstance(response, RoomCreateResponse):
            raise send_error(response)
        logger.info("created a direct-message room for %s", user_id)
        return str(response.room_id)

    async def _remember_direct(self, user_id: str, room_id: str) -> None:
        """Add the room to the bot's `m.direct` account data, so clients show it as a DM."""
        path = f"/_matrix/client/v3/user/{quote(self.user_id)}/account_data/m.direct"
        current = await self._raw("GET", path)
        rooms: dict[str, list[str]] = {}
        if isinstance(current, dict):
            rooms = {k: list(v) for k, v in current.items() if isinstance(v, list)}
        if room_id in rooms.get(user_id, []):
            return
        rooms[user_id] = [*rooms.get(user_id, []), room_id]
        await self._raw("PUT", path, rooms)

    async def _raw(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """A client-server API call nio has no method for (account data)."""
        session = self.client.client_session
        if session is None:
            raise SendError("not connected")
        headers = {"Authorization": f"Bearer {self.client.access_token}"}
        async with session.request(
            method, self.settings.homeserver.rstrip("/") + path, json=body, headers=headers
        ) as response:
            if response.status == 404 and method == "GET":
                return None
            if response.status == 429 or response.status >= 500:
                raise SendError(f"{response.status} on {method} {path}")
            if response.status >= 400:
                raise SendError(f"{response.status} on {method} {path}", permanent=True)
            data = await response.json()
            return data if isinstance(data, dict) else None

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
