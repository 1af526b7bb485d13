"""The one object a handler receives: who asked, where, for which group, when, and how
to answer or act.

A handler never reaches the network, the clock or a commit: what it sends (messages,
files, reactions, invitations, kicks, redactions, state) is written to the outbox in
the same transaction as its other writes, and goes out once that commits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from commands.kit.args import ParseContext
from commands.kit.errors import CommandError
from commands.kit.events import Signal
from commands.kit.i18n import Rendered, Translator
from commands.kit.lookup import Named
from commands.kit.services import Place, RoomView, Services
from commands.kit.settings import CoreSettings
from commands.kit.transport import MediaError
from storage.models import OutboxAction, Role
from storage.repos.base import GroupRepository
from storage.repos.core import Ref
from storage.uow import UnitOfWork

R = TypeVar("R", bound=GroupRepository)

# The homeserver refuses events over 64 KiB, and an encrypted event is about a third
# bigger than its content: a message whose content is larger than this is sent as a
# file, with a short caption, so that an answer always arrives.
MAX_CONTENT_BYTES = 40_000
PREVIEW_LINES = 3
PREVIEW_WIDTH = 160


def content_size(content: dict[str, Any]) -> int:
    """The size of an event's content as the homeserver will measure it (JSON, UTF-8)."""
    return len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode())


def message_content(
    rendered: Rendered,
    *,
    reply_to: str | None = None,
    thread_root: str | None = None,
    mentions: Sequence[str] = (),
) -> dict[str, Any]:
    """An m.notice with plain and HTML bodies, in reply to (and in the thread of) a command.
    It notifies nobody, except the users in `mentions` (a reminder's assignee)."""
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": rendered.plain,
        "format": "org.matrix.custom.html",
        "formatted_body": rendered.html,
        "m.mentions": {"user_ids": list(dict.fromkeys(mentions))} if mentions else {},
    }
    if thread_root is not None:
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": thread_root,
            "is_falling_back": reply_to is None,
            "m.in_reply_to": {"event_id": reply_to or thread_root},
        }
    elif reply_to is not None:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content


class Context:
    """Handlers answer and act through this; they never reach the network, the clock or
    commit."""

    def __init__(
        self,
        *,
        services: Services,
        uow: UnitOfWork,
        room: RoomView,
        now: datetime,
        group: str | None,
        direct: bool = False,
        group_choices: tuple[str, ...] = (),
        sender: str | None = None,
        event_id: str | None = None,
        thread_root: str | None = None,
        inbox_id: int | None = None,
        sent_at: datetime | None = None,
    ) -> None:
        self.services = services
        self.uow = uow
        self.room = room
        self.now = now
        self.group = group
        self.direct = direct
        self.group_choices = group_choices
        self.sender = sender or ""
        self.event_id = event_id
        self.thread_root = thread_root
        self.inbox_id = inbox_id
        # When the homeserver says the event was sent (it may be handled later: after a
        # downtime, a vote cast before a deadline is handled after it).
        self.sent_at = sent_at or now
        # What causes what this context sends: the event it answers (a job sets its
        # own, such as a reminder's slot). Outbox rows derive their transaction ids from
        # it, so that handling the same thing again cannot send it twice.
        self.origin: str | None = event_id
        self.t: Translator = services.catalog.for_locale(room.locale)

    @classmethod
    def at(
        cls,
        services: Services,
        uow: UnitOfWork,
        place: Place,
        now: datetime,
        **event: Any,
    ) -> Context:
        """A context for an event (or a scheduled job) at a place."""
        return cls(
            services=services,
            uow=uow,
            room=place.room,
            now=now,
            group=place.group,
            direct=place.direct,
            group_choices=place.choices,
            **event,
        )

    @property
    def settings(self) -> CoreSettings:
        return self.services.settings

    @property
    def prefix(self) -> str:
        return self.services.settings.command_prefix

    @property
    def parse_context(self) -> ParseContext:
        return ParseContext(self.now, self.room.timezone, self.room.locale, self.prefix)

    # --- The group's data.

    def require_group(self) -> str:
        """The group this acts for; a direct message from someone in no group, or in
        several without a choice, gets a clear answer instead."""
        if self.group is not None:
            return self.group
        if self.group_choices:
            raise CommandError(
                "core.dm.which_group", groups=list(self.group_choices), prefix=self.prefix
            )
        raise CommandError("core.dm.no_group")

    def repo(self, kind: type[R]) -> R:
        """A domain's repository, bound to this context's group: it cannot read or write
        another group's records."""
        return self.uow.repo(kind, self.require_group())

    async def lookup(self, kind: str, text: str) -> Named:
        """Another domain's record as the user named it (`partner=KidiTap`); its domain
        answers an unknown or ambiguous name (a CommandError)."""
        find = self.services.lookups.get(kind)
        if find is None:
            raise CommandError("core.lookup.unavailable", kind=kind)
        return await find(self, text)

    async def role_of(self, user_id: str) -> Role:
        """A user's role in this context's group."""
        return await self.services.role_of(self.uow, self.group, user_id)

    def group_rooms(self) -> list[str]:
        return self.settings.group_rooms(self.group) if self.group is not None else []

    # --- Answering.

    async def reply(
        self,
        key: str,
        /,
        *,
        about: Ref | None = None,
        mentions: Sequence[str] = (),
        **data: Any,
    ) -> None:
        """Answer the command, in reply to it (and in its thread)."""
        await self.send_rendered(self.t(key, **data), reply=True, about=about, mentions=mentions)

    async def notice(
        self,
        key: str,
        /,
        *,
        about: Ref | None = None,
        mentions: Sequence[str] = (),
        **data: Any,
    ) -> None:
        """Post to the room without replying to anything (notifying `mentions`)."""
        await self.send_rendered(self.t(key, **data), reply=False, about=about, mentions=mentions)

    async def send_rendered(
        self,
        rendered: Rendered,
        *,
        reply: bool = True,
        about: Ref | None = None,
        room_id: str | None = None,
        mentions: Sequence[str] = (),
        reply_to: str | None = None,
    ) -> None:
        """Send a rendered message: in reply to the command (`reply`), or to another
        event of the room (`reply_to`: a reminder answered in its thread)."""
        content = message_content(
            rendered,
            reply_to=reply_to or (self.event_id if reply else None),
            thread_root=self.thread_root if reply and reply_to is None else None,
            mentions=mentions,
        )
        await self._message(content, self.t, room_id=room_id or self.room.room_id, about=about)

    async def to_room(
        self, room_id: str, key: str, /, *, about: Ref | None = None, **data: Any
    ) -> None:
        """Post in another room of the group (the moderators' room), in its language."""
        view = await self.services.room(self.uow, room_id)
        t = self.services.catalog.for_locale(view.locale)
        await self._message(message_content(t(key, **data)), t, room_id=room_id, about=about)

    async def to_user(
        self,
        user_id: str,
        key: str,
        /,
        *,
        about: Ref | None = None,
        mentions: Sequence[str] = (),
        **data: Any,
    ) -> None:
        """Message a user in their direct-message room with the bot (opened at send time,
        once per user), in this room's language."""
        content = message_content(self.t(key, **data), mentions=mentions)
        await self._message(content, self.t, room_id=None, user_id=user_id, about=about)

    async def _message(
        self,
        content: dict[str, Any],
        t: Translator,
        *,
        room_id: str | None,
        user_id: str | None = None,
        about: Ref | None = None,
    ) -> None:
        """Queue a message; one too large for an event goes as a text file instead."""
        attachment = None
        if content_size(content) > MAX_CONTENT_BYTES:
            content, attachment = self._as_file(content, t)
        await self.uow.outbox.add(
            room_id=room_id,
            user_id=user_id,
            event_type="m.room.message",
            content=content,
            now=self.now,
            inbox_id=self.inbox_id,
            attachment=attachment,
            group=self.group,
            ref=about,
            origin=self.origin,
        )

    @staticmethod
    def _as_file(
        content: dict[str, Any], t: Translator
    ) -> tuple[dict[str, Any], tuple[str, str, bytes]]:
        """A message too long for one event, as a caption (its first lines) and a file
        holding the whole text, in reply to the same command."""
        plain = str(content.get("body", ""))
        lines = plain.splitlines()
        first = [
            line if len(line) <= PREVIEW_WIDTH else line[: PREVIEW_WIDTH - 1] + "…"
            for line in lines[:PREVIEW_LINES]
        ]
        caption = message_content(
            t("core.long.caption", lines=len(lines), first=first, more=len(lines) > len(first))
        )
        if "m.relates_to" in content:
            caption["m.relates_to"] = content["m.relates_to"]
        caption["m.mentions"] = content.get("m.mentions", {})
        data = plain.encode("utf-8")
        name = t.text("core.long.filename")
        caption["msgtype"] = "m.file"
        caption["filename"] = name
        caption["info"] = {"mimetype": "text/plain", "size": len(data)}
        return caption, (name, "text/plain", data)

    async def send_event(
        self,
        event_type: str,
        content: dict[str, Any],
        *,
        about: Ref | None = None,
        room_id: str | None = None,
    ) -> None:
        """Send an event of any type (a poll, a poll's end) as it is."""
        await self._queue(room_id or self.room.room_id, event_type, content, about=about)

    async def send_file(
        self, name: str, mimetype: str, data: bytes, key: str, /, **data_: Any
    ) -> None:
        """Post a file (an export) in reply to the command, with a caption from the catalog."""
        caption = self.t(key, **data_)
        content = message_content(caption, reply_to=self.event_id, thread_root=self.thread_root)
        # The body is the caption; `filename` names the file (captioned files, Matrix 1.10).
        content["msgtype"] = "m.file"
        content["filename"] = name
        content["info"] = {"mimetype": mimetype, "size": len(data)}
        await self.uow.outbox.add(
            room_id=self.room.room_id,
            event_type="m.room.message",
            content=content,
            now=self.now,
            inbox_id=self.inbox_id,
            attachment=(name, mimetype, data),
            group=self.group,
            origin=self.origin,
        )

    async def react(self, key: str) -> None:
        """React to the command with an emoji (e.g. ✅)."""
        if self.event_id is None:
            return
        content = {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": self.event_id, "key": key}
        }
        await self._queue(self.room.room_id, "m.reaction", content)

    async def _queue(
        self, room_id: str, event_type: str, content: dict[str, Any], *, about: Ref | None = None
    ) -> None:
        await self.uow.outbox.add(
            room_id=room_id,
            event_type=event_type,
            content=content,
            now=self.now,
            inbox_id=self.inbox_id,
            group=self.group,
            ref=about,
            origin=self.origin,
        )

    # --- Files users posted.

    async def posted_file(self) -> tuple[str, str]:
        """The (name, url) of the last file the sender posted here, before this command."""
        if self.inbox_id is None:
            raise CommandError("core.file.none")
        row = await self.uow.inbox.latest_file(self.room.room_id, self.sender, self.inbox_id)
        if row is None:
            raise CommandError("core.file.none")
        return str(row.content.get("body") or "file"), str(row.content["url"])

    async def fetch_file(self, url: str) -> bytes:
        """Download a posted file through the transport's media fetcher."""
        media = self.services.media
        if media is None:
            raise CommandError("core.file.unavailable")
        try:
            return await media.fetch(url)
        except MediaError as exc:
            raise CommandError("core.file.unavailable") from exc

    # --- Room actions (each goes through the outbox, once).

    async def _act(
        self,
        action: OutboxAction,
        room_id: str | None,
        *,
        user_id: str | None = None,
        event_type: str = "",
        state_key: str | None = None,
        content: dict[str, Any] | None = None,
    ) -> None:
        await self.uow.outbox.add(
            room_id=room_id or self.room.room_id,
            action=action,
            user_id=user_id,
            event_type=event_type,
            state_key=state_key,
            content=content or {},
            now=self.now,
            inbox_id=self.inbox_id,
            group=self.group,
            origin=self.origin,
        )

    async def invite(
        self, user_id: str, *, room_id: str | None = None, reason: str | None = None
    ) -> None:
        """Invite a user (approves a knock)."""
        await self._act(OutboxAction.INVITE, room_id, user_id=user_id, content={"reason": reason})

    async def kick(
        self, user_id: str, *, room_id: str | None = None, reason: str | None = None
    ) -> None:
        """Remove a user from the room, or refuse their knock."""
        await self._act(OutboxAction.KICK, room_id, user_id=user_id, content={"reason": reason})

    async def redact(
        self, event_id: str, *, room_id: str | None = None, reason: str | None = None
    ) -> None:
        await self._act(
            OutboxAction.REDACT, room_id, content={"redacts": event_id, "reason": reason}
        )

    async def set_state(
        self,
        event_type: str,
        content: dict[str, Any],
        *,
        state_key: str = "",
        room_id: str | None = None,
    ) -> None:
        await self._act(
            OutboxAction.STATE,
            room_id,
            event_type=event_type,
            state_key=state_key,
            content=content,
        )

    async def set_power_level(
        self, user_id: str, level: int, *, room_id: str | None = None
    ) -> None:
        """Give a user a power level in the room (the others' stay as they are)."""
        await self._act(
            OutboxAction.POWER_LEVEL,
            room_id,
            user_id=user_id,
            event_type="m.room.power_levels",
            content={"level": level},
        )

    def erased(self) -> None:
        """Call after erasing personal data: once this transaction commits, the database
        drops what it still held of the old text (SQLite's write-ahead log)."""
        self.services.checkpoint_wanted = True

    # --- Telling the other domains.

    async def emit(self, name: str, /, **data: Any) -> None:
        """Tell the domains that declared `on_signal(name)` that something happened (a
        partner became interested). They run now, in this transaction, with this context:
        what they write commits or rolls back with the rest."""
        for handler in self.services.registry.signal_handlers(name):
            await handler(self, Signal(name, data))

    async def request(self, name: str, /, **data: Any) -> Any:
        """Ask the domain that declared `on_request(name)` to do something, in this
        transaction, and get its answer (a follow-up created for a meeting's action);
        a CommandError when no domain of this bot does that."""
        handler = self.services.registry.requests.get(name)
        if handler is None:
            raise CommandError("core.request.unavailable", name=name)
        return await handler(self, **data)

    # --- Audit.

    async def audit(self, action: str, **detail: Any) -> None:
        await self.uow.audit.record(
            actor=self.sender,
            action=action,
            now=self.now,
            room_id=self.room.room_id,
            group=self.group,
            detail=detail,
        )
