"""The Matrix side: matrix-nio behind the small Transport interface.

nio reports errors as response objects; they become exceptions here, once, so the
rest of the bot never sees nio. The sync loop is ours (not nio's `sync_forever`):
events and the sync token are stored together, after a `limited` timeline has been
completed from `/messages`, so a crash can neither lose nor replay a command.

Encryption (see bot.crypto): nio keeps the keys in its crypto store, a file it writes
as it goes. It reads the room keys that arrive by to-device messages while it
processes a sync response, before `sync` returns, so they are on disk before the bot
commits the sync token that acknowledges them; a crash in between makes the server
hand the same to-device messages over again, which is harmless. Encrypted room
events are stored as they came and decrypted when the pipeline handles them
(`decrypt`); nio's own decryption during sync is turned off (`_Client`).
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import ClientError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    BadEvent,
    DownloadResponse,
    EncryptionError,
    ErrorResponse,
    ForwardedRoomKeyEvent,
    GroupEncryptionError,
    InviteMemberEvent,
    JoinedMembersResponse,
    JoinError,
    LocalProtocolError,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    MessageDirection,
    OlmTrustError,
    ProtocolError,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomGetStateResponse,
    RoomKeyEvent,
    RoomMessagesResponse,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
    UnknownBadEvent,
    UploadResponse,
    WhoamiResponse,
)
from nio.crypto.attachments import decrypt_attachment, encrypt_attachment
from nio.store import SqliteStore

from bot.config import MatrixSettings
from bot.crypto import (
    ENCRYPTED,
    ENCRYPTION_STATE,
    MEGOLM,
    Decrypted,
    EncryptedEvent,
    Unreadable,
    encrypted_file,
    file_url,
    lost_store_message,
    split_file_url,
    store_holds_device,
)
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
        ENCRYPTED,  # decrypted when handled (see `MatrixTransport.decrypt`)
    }
)
# Message types whose file is encrypted in encrypted rooms (`file` instead of `url`).
FILE_MSGTYPES = frozenset({"m.file", "m.image", "m.audio", "m.video"})
# nio's exceptions that mean "not this time" when sending to an encrypted room: keys
# still being shared, a room's members not known yet...
CRYPTO_ERRORS = (ProtocolError, EncryptionError, GroupEncryptionError, OlmTrustError)
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


class CryptoStoreLost(LoginRefused):
    """The bot's device is known, but its encryption keys are gone: going on would mean
    a new device in disguise. Stops the bot with one line saying what to do."""


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
    room_keys: int = 0  # room keys received (already in the crypto store)


def _accept_forward(
    olm: Any, default: Callable[..., bool], sender: str, sender_key: str, event: Any
) -> bool:
    """Whether nio may take a room key forwarded in answer to the bot's request.

    nio takes forwarded keys only from the bot's own verified devices, and the bot has
    no other device. Element also answers a request from another user's device with a
    key it had shared with that device before (one lost on the way): it sends it back
    from the very device that made it, over Olm. Taking such a key is as safe as the
    first `m.room_key` it replaces, and nothing else is taken.
    """
    content = event.source.get("content", {}) if isinstance(event.source, dict) else {}
    request = olm.outgoing_key_requests.get(event.session_id)
    if (
        request is not None
        and event.algorithm == MEGOLM
        and request.room_id == event.room_id
        and request.algorithm == event.algorithm
        and content.get("sender_key") == sender_key  # sent back by the device that made it
        and not content.get("forwarding_curve25519_key_chain")
    ):
        return True
    return bool(default(sender, sender_key, event))


class _Client(AsyncClient):  # type: ignore[misc]
    """nio's client, with two changes.

    What a sync does to the crypto store is written in one transaction. nio saves an
    Olm session as soon as it has decrypted a to-device message with it, and the room
    key that message carries a little later: killed in between, the bot would restart
    with a session that can no longer decrypt the message the homeserver hands over
    again, and the key would be lost. In one transaction, it is all or nothing, and
    committed before `sync` returns (so before the bot commits the sync token).

    And room events stay encrypted where nio would decrypt them, during a sync or a
    /messages page: the inbox keeps them as they came, and the pipeline decrypts them
    when it handles them, in order (MatrixTransport.decrypt).
    """

    async def _handle_sync(self, response: SyncResponse) -> None:
        store = self.store
        if store is None:
            await super()._handle_sync(response)
            return
        # Nothing in nio's handling of a sync waits on the network: no other task can
        # write to the store while this transaction is open.
        with store.database.atomic():
            await super()._handle_sync(response)

    def _handle_timeline_event(
        self, event: Any, room_id: str, room: MatrixRoom, encrypted_rooms: set[str]
    ) -> Any:
        if isinstance(event, MegolmEvent):
            event.room_id = room_id
            return None
        return super()._handle_timeline_event(event, room_id, room, encrypted_rooms)

    def _handle_messages_response(self, response: RoomMessagesResponse) -> None:
        return None


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
    """One logged-in device of the bot's account.

    With a `crypto_store` (a file), the device reads and writes encrypted rooms; the
    store is opened by `open_crypto`, once the device is known, never before: nio would
    otherwise make up new keys for a device whose keys were lost.
    """

    def __init__(
        self,
        settings: MatrixSettings,
        *,
        sync_timeout_ms: int = 30_000,
        crypto_store: Path | None = None,
    ) -> None:
        self.settings = settings
        self.sync_timeout_ms = sync_timeout_ms
        self.crypto_store = crypto_store
        try:
            config = AsyncClientConfig(
                max_limit_exceeded=0,  # 429s come back to us: the outbox honours retry_after
                max_timeouts=0,  # network errors too: our loops own the backoff
                request_timeout=sync_timeout_ms / 1000 + 30,
                encryption_enabled=crypto_store is not None,
                store=SqliteStore,  # one file, device trust included
                store_name=crypto_store.name if crypto_store is not None else "",
                store_sync_tokens=False,  # the bot's database keeps the token
            )
        except ImportWarning:  # one line from the CLI, as a refused login
            raise LoginRefused(
                "encryption needs matrix-nio's e2e extra: pip install 'matrix-nio[e2e]'"
            ) from None
        # No store path yet: logging in must not open (or create) the crypto store.
        self.client = _Client(settings.homeserver, settings.user_id, store_path="", config=config)
        self._prepared: set[str] = set()  # rooms whose encryption and members nio knows
        self._keys = asyncio.Lock()  # one key upload / query / claim at a time
        self._requests: set[asyncio.Task[None]] = set()  # key requests under way

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
        for task in list(self._requests):
            task.cancel()
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

    # --- Encryption: the store, the keys, and reading encrypted events.

    @property
    def encryption(self) -> bool:
        """Whether the crypto store is open (encrypted rooms can be read and written)."""
        return self.client.olm is not None

    async def open_crypto(self, *, known_device: bool) -> bool:
        """Open the crypto store for the logged-in device; True if it was created now.

        `known_device`: the bot's database says this device had its keys here before.
        Their absence then stops the bot (CryptoStoreLost) instead of nio quietly
        making new keys under the same device id.
        """
        if self.crypto_store is None:
            return False
        path, device = self.crypto_store, self.client.device_id
        try:
            held = await asyncio.to_thread(store_holds_device, path, self.user_id, device)
        except sqlite3.Error as exc:
            raise LoginRefused(
                f"cannot read the crypto store {path.resolve()} ({exc}); is another "
                "Passerelle running on it? (matrix.crypto_store sets its place)"
            ) from None
        if not held and known_device:
            raise CryptoStoreLost(lost_store_message(path.resolve(), device))
        path.parent.mkdir(parents=True, exist_ok=True)
        self.client.store_path = str(path.parent)
        self.client.load_store()
        olm = self.client.olm
        if olm is None:
            raise MatrixError(f"cannot open the crypto store {path}")
        olm._should_accept_forward = functools.partial(
            _accept_forward, olm, olm._should_accept_forward
        )
        os.chmod(path, 0o600)  # the device's private keys
        if not held:
            logger.info("created the encryption keys of device %s in %s", device, path)
        # Public: members can compare it with the session key Element shows for the bot.
        logger.info(
            "device %s has the session key %s", device, olm.account.identity_keys["ed25519"]
        )
        return not held

    async def keep_keys(self) -> None:
        """What nio's `sync_forever` does after each sync: publish the device's keys and
        more one-time keys, learn the devices of the rooms' members, open sessions with
        devices that need one, send queued to-device messages (key requests)."""
        client = self.client
        if client.olm is None:
            return
        async with self._keys:
            if client.should_upload_keys:
                await self._checked(client.keys_upload(), "upload the device's keys")
            if client.should_query_keys:
                await self._checked(client.keys_query(), "fetch the members' devices")
            if client.should_claim_keys:
                users = client.get_users_for_key_claiming()
                if users:
                    await self._checked(client.keys_claim(users), "claim one-time keys")
        if client.outgoing_to_device_messages:
            for response in await self._call(client.send_to_device_messages()):
                if isinstance(response, ErrorResponse):
                    logger.warning("cannot send a to-device message: %s", response)

    async def _checked(self, call: Any, what: str) -> None:
        response = await self._call(call)
        if isinstance(response, ErrorResponse):
            raise MatrixError(f"cannot {what}: {response}")

    def decrypt(self, event: EncryptedEvent) -> Decrypted | None:
        """The clear content of an encrypted event (Decryptor); None while its room key
        is missing. Raises Unreadable for what no key will ever open."""
        megolm = self._megolm(event)
        try:
            clear = self.client.decrypt_event(megolm)
        except EncryptionError:
            return None  # no key yet (or not for this message index): wait for it
        if isinstance(clear, BadEvent | UnknownBadEvent):
            raise Unreadable("malformed clear event")
        source = clear.source if isinstance(clear.source, dict) else {}
        kind, content = source.get("type"), source.get("content")
        if source.get("room_id", event.room_id) != event.room_id:
            # A room key is bound to its room; an event claiming another room was replayed.
            raise Unreadable("the clear event names another room")
        if not isinstance(kind, str) or kind == ENCRYPTED or not isinstance(content, dict):
            raise Unreadable("malformed clear event")
        content = dict(content)
        info = content.get("file")
        if content.get("msgtype") in FILE_MSGTYPES and isinstance(info, dict):
            url = file_url(info)
            if url is not None:
                content["url"] = url  # what the kit reads; fetch() decrypts the file
        return Decrypted(kind, content)

    def request_key(self, event: EncryptedEvent) -> None:
        """Ask for a missing room key (Decryptor), in the background: the bot's other
        devices (nio's request, which also lets nio accept a forwarded key) and the
        sender's device that encrypted the event."""
        if self.client.olm is None:
            return
        try:
            megolm = self._megolm(event)
        except Unreadable:
            return
        task = asyncio.create_task(self._request_key(megolm))
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def _request_key(self, megolm: MegolmEvent) -> None:
        try:
            try:
                await self._call(self.client.request_room_key(megolm))
            except LocalProtocolError:
                return  # asked already (nio keeps its requests in the crypto store)
            if megolm.device_id:
                message = megolm.as_key_request(
                    megolm.sender, self.client.device_id, device_id=megolm.device_id
                )
                await self._call(self.client.to_device(message))
            logger.info("asked %s for the room key of %s", megolm.sender, megolm.event_id)
        except MatrixError as exc:
            logger.warning("cannot ask for the room key of %s: %s", megolm.event_id, exc)

    @staticmethod
    def _megolm(event: EncryptedEvent) -> MegolmEvent:
        """nio's event for an inbox row, as the homeserver sent it."""
        content = event.content
        if content.get("algorithm") != MEGOLM:
            raise Unreadable(f"unsupported algorithm {content.get('algorithm')!r}")
        megolm = MegolmEvent.from_dict(
            {
                "type": ENCRYPTED,
                "event_id": event.event_id,
                "sender": event.sender,
                "origin_server_ts": round(event.origin_ts.timestamp() * 1000),
                "room_id": event.room_id,
                "content": content,
            }
        )
        if not isinstance(megolm, MegolmEvent):
            raise Unreadable("malformed encrypted event")
        megolm.room_id = event.room_id
        return megolm

    async def _prepare(self, room_id: str) -> bool:
        """Before sending to a room: whether it is encrypted, asked of the server once per
        run, and (if so) its members as nio must know them to share the room key with
        their devices (joined and invited, as Element does). Returns whether it is
        encrypted. Raises SendError: nothing goes out while this is unknown."""
        client = self.client
        if client.olm is None:
            return False
        if room_id not in self._prepared:
            response = await client.room_get_state(room_id)
            if not isinstance(response, RoomGetStateResponse):
                raise send_error(response)
            self._learn_room(room_id, response.events)
            self._prepared.add(room_id)
        room = client.rooms.get(room_id)
        encrypted = room is not None and room.encrypted
        if encrypted and client.should_query_keys:
            async with self._keys:
                if client.should_query_keys:  # a new device, a new member: know them first
                    response = await client.keys_query()
                    if isinstance(response, ErrorResponse):
                        raise send_error(response)
        return encrypted

    def _learn_room(self, room_id: str, events: Sequence[dict[str, Any]]) -> None:
        client = self.client
        encrypted = any(e.get("type") == "m.room.encryption" for e in events)
        room = client.rooms.get(room_id)
        if room is None:
            room = MatrixRoom(room_id, self.user_id, encrypted)
            client.rooms[room_id] = room
        if encrypted and not room.encrypted:
            room.encrypted = True
        if room.encrypted:
            client.encrypted_rooms.add(room_id)
            if client.store is not None:
                client.store.save_encrypted_rooms({room_id})
        members: dict[str, bool] = {}  # user -> invited
        for event in events:
            user, content = event.get("state_key"), event.get("content") or {}
            if event.get("type") != "m.room.member" or not isinstance(user, str):
                continue
            if content.get("membership") in ("join", "invite"):
                members[user] = content.get("membership") == "invite"
        for user in list(room.users):
            if members.get(user) != room.users[user].invited:
                room.remove_member(user)
        for user, invited in members.items():
            if user not in room.users:
                room.add_member(user, None, None, invited=invited)
        room.members_synced = True
        if room.encrypted and client.olm is not None:
            client.olm.update_tracked_users(room)

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
        """One sync. Without a token (first start) the history is not returned.

        nio has stored the room keys this sync brought when this returns (see the
        module's docstring): the token may then be committed."""
        if self.crypto_store is not None and self.client.olm is None:
            # Its to-device messages would be dropped, and acknowledged by the next sync.
            raise MatrixError("the crypto store must be open before syncing")
        timeout = self.sync_timeout_ms if since else 0
        response = await self._call(
            self.client.sync(timeout=timeout, sync_filter=self.sync_filter, since=since)
        )
        if not isinstance(response, SyncResponse):
            raise MatrixError(f"sync failed: {response}")
        batch = SyncBatch(response.next_batch)
        batch.room_keys = sum(
            isinstance(e, RoomKeyEvent | ForwardedRoomKeyEvent) for e in response.to_device_events
        )
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
        """Send one event; in an encrypted room nio encrypts it (after sharing the room key
        with the members' devices, unverified ones included, as Element does). The
        transaction id is the outbox row's whatever the encryption: a retry after a
        crash is recognised by the homeserver and posts nothing new."""
        try:
            encrypted = await self._prepare(room_id)
            if attachment is not None:
                content = {**content, **await self._upload(attachment, encrypted=encrypted)}
            response = await self.client.room_send(
                room_id, event_type, content, tx_id=txn_id, ignore_unverified_devices=True
            )
        except (ClientError, TimeoutError, OSError) as exc:
            raise SendError(f"network: {exc!r}") from exc
        except CRYPTO_ERRORS as exc:
            raise SendError(f"encryption: {exc}") from exc
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
        state = [{"type": DIRECT_MARKER, "state_key": "", "content": {"user": user_id}}]
        if self.encryption and self.client.encrypted_rooms:
            # Once the bot serves an encrypted room, what it says in private is encrypted
            # too, as Element creates a direct chat; a group without encryption gets
            # direct chats without it, as before.
            state.append(ENCRYPTION_STATE)
        response = await self.client.room_create(
            is_direct=True,
            preset=RoomPreset.trusted_private_chat,
            invite=[user_id],
            initial_state=state,
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

    async def _upload(self, attachment: Attachment, *, encrypted: bool) -> dict[str, Any]:
        """Upload a file; the content keys that point to it: `url`, or in an encrypted room
        `file` (encrypted bytes, and the key in the event, itself encrypted; the server
        learns neither the name nor the type). Uploading twice after a failure only
        leaves an unused copy."""
        data, keys = attachment.data, None
        if encrypted:
            data, keys = encrypt_attachment(attachment.data)
        response, _ = await self.client.upload(
            io.BytesIO(data),
            content_type="application/octet-stream" if encrypted else attachment.mimetype,
            filename=None if encrypted else attachment.name,
            filesize=len(data),
        )
        if not isinstance(response, UploadResponse):
            raise send_error(response)
        if keys is None:
            return {"url": str(response.content_uri)}
        return {"file": encrypted_file(str(response.content_uri), keys, attachment.mimetype)}

    async def fetch(self, url: str) -> bytes:
        """Download a file a user posted (MediaFetcher), decrypting it when it was posted
        in an encrypted room (see bot.crypto.file_url)."""
        mxc, key = split_file_url(url)
        try:
            response = await self.client.download(mxc=mxc)
        except (ClientError, TimeoutError, OSError) as exc:
            raise MediaError(f"network: {exc!r}") from exc
        if not isinstance(response, DownloadResponse):
            raise MediaError(str(response))
        body = response.body
        data = body if isinstance(body, bytes) else bytes(body)
        if key is None:
            return data
        try:
            return bytes(decrypt_attachment(data, key.key, key.sha256, key.iv))
        except EncryptionError as exc:
            raise MediaError(f"cannot decrypt the file: {exc}") from exc

    async def _call(self, awaitable: Any) -> Any:
        """Await a nio call, turning network exceptions into MatrixError."""
        try:
            return await awaitable
        except (ClientError, TimeoutError, OSError) as exc:
            raise MatrixError(f"network: {exc!r}") from exc
