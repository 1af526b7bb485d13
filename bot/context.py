"""The one object a handler receives: who asked, where, when, and how to answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.config import Settings
from bot.services import RoomView, Services
from bot.transport import MediaError
from commands.args import ParseContext
from commands.errors import CommandError
from commands.i18n import Rendered, Translator
from storage.models import Role
from storage.uow import UnitOfWork


def message_content(
    rendered: Rendered, *, reply_to: str | None = None, thread_root: str | None = None
) -> dict[str, Any]:
    """An m.notice with plain and HTML bodies, in reply to (and in the thread of) a command."""
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": rendered.plain,
        "format": "org.matrix.custom.html",
        "formatted_body": rendered.html,
        "m.mentions": {},
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
    """Handlers answer through this; they never reach the network, the clock or commit."""

    def __init__(
        self,
        *,
        services: Services,
        uow: UnitOfWork,
        room: RoomView,
        now: datetime,
        sender: str | None = None,
        event_id: str | None = None,
        thread_root: str | None = None,
        inbox_id: int | None = None,
    ) -> None:
        self.services = services
        self.uow = uow
        self.room = room
        self.now = now
        self.sender = sender or ""
        self.event_id = event_id
        self.thread_root = thread_root
        self.inbox_id = inbox_id
        self.t: Translator = services.catalog.for_locale(room.locale)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def prefix(self) -> str:
        return self.services.settings.command_prefix

    @property
    def parse_context(self) -> ParseContext:
        return ParseContext(self.now, self.room.timezone, self.room.locale, self.prefix)

    async def role_of(self, user_id: str) -> Role:
        return await self.services.role_of(self.uow, user_id)

    async def reply(self, key: str, /, **data: Any) -> None:
        """Answer the command, in reply to it (and in its thread)."""
        await self.send_rendered(self.t(key, **data), reply=True)

    async def notice(self, key: str, /, **data: Any) -> None:
        """Post to the room without replying to anything."""
        await self.send_rendered(self.t(key, **data), reply=False)

    async def send_rendered(self, rendered: Rendered, *, reply: bool = True) -> None:
        content = message_content(
            rendered,
            reply_to=self.event_id if reply else None,
            thread_root=self.thread_root if reply else None,
        )
        await self.uow.outbox.add(
            room_id=self.room.room_id,
            event_type="m.room.message",
            content=content,
            now=self.now,
            inbox_id=self.inbox_id,
        )

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
        )

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

    async def react(self, key: str) -> None:
        """React to the command with an emoji (e.g. ✅)."""
        if self.event_id is None:
            return
        content = {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": self.event_id, "key": key}
        }
        await self.uow.outbox.add(
            room_id=self.room.room_id,
            event_type="m.reaction",
            content=content,
            now=self.now,
            inbox_id=self.inbox_id,
        )

    async def audit(self, action: str, **detail: Any) -> None:
        await self.uow.audit.record(
            actor=self.sender, action=action, now=self.now, room_id=self.room.room_id, detail=detail
        )
