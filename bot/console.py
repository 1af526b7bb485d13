"""`passerelle console`: the bot on stdin/stdout, through the same pipeline as on Matrix.

Lines starting with `/` are directives: `/as @user:server`, `/time 2026-12-07 09:00`,
`/room NAME`, `/upload PATH` (post a file). Everything else is a message typed in the
current room.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.app import Bot
from bot.clock import SteppableClock
from bot.config import Settings
from bot.transport import Attachment, IncomingEvent, MediaError
from commands.text import USER_ID
from commands.timeparse import parse_datetime

DEFAULT_ROOM = "!console"
DEFAULT_USER = "@you:console"
MAX_STEPS = 100_000


class ConsoleTransport:
    """Prints what the bot sends, as plain text; files are written to `files_dir`."""

    def __init__(self, out: TextIO, files_dir: Path) -> None:
        self.out = out
        self.files_dir = files_dir

    async def send(
        self,
        room_id: str,
        event_type: str,
        content: dict[str, Any],
        txn_id: str,
        attachment: Attachment | None = None,
    ) -> str:
        if event_type == "m.room.message":
            self.out.write(str(content.get("body", "")) + "\n")
            if attachment is not None:
                self.out.write(f"{self._save(attachment, txn_id)}\n")
        elif event_type == "m.reaction":
            self.out.write(str(content.get("m.relates_to", {}).get("key", "")) + "\n")
        self.out.flush()
        return f"$console-{txn_id}"

    def _save(self, attachment: Attachment, txn_id: str) -> Path:
        """Write a file once per transaction id, under a name that does not overwrite."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^\w.\-]+", "_", Path(attachment.name).name) or "file"
        path = self.files_dir / f"{txn_id[-8:]}-{safe}"
        path.write_bytes(attachment.data)
        return path.resolve()

    async def fetch(self, url: str) -> bytes:
        """Files posted with /upload are local paths (MediaFetcher)."""
        if not url.startswith("file://"):
            raise MediaError(url)
        try:
            return await asyncio.to_thread(Path(url.removeprefix("file://")).read_bytes)
        except OSError as exc:
            raise MediaError(str(exc)) from exc


def file_message(text: str) -> dict[str, Any] | None:
    """The m.file content for a local path, or None when there is no such file."""
    path = Path(text).expanduser()
    if not path.is_file():
        return None
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return {
        "msgtype": "m.file",
        "body": path.name,
        "url": path.resolve().as_uri(),
        "info": {"mimetype": mimetype, "size": path.stat().st_size},
    }


def parse_local_time(text: str, timezone: str, now: datetime, locale: str) -> datetime | None:
    """`2026-12-07 09:00` (ISO, local time), or any date the room's language understands."""
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError:
        return parse_datetime(text, now=now, tz=timezone, locale=locale)
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=ZoneInfo(timezone))


class Console:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: SteppableClock,
        user: str = DEFAULT_USER,
        locale: str | None = None,
        out: TextIO = sys.stdout,
        err: TextIO = sys.stderr,
        files_dir: Path = Path("passerelle-files"),
    ) -> None:
        self.bot = Bot(settings, clock=clock)
        self.clock = clock
        self.user = user
        self.room_id = DEFAULT_ROOM
        self.locale = locale
        self.err = err
        transport = ConsoleTransport(out, files_dir)
        self.bot.services.media = transport
        self.sender = self.bot.sender(transport)
        self.catalog = self.bot.services.catalog

    async def start(self) -> None:
        await self.bot.start()
        if self.locale is not None:
            await self._set_locale(self.locale)

    async def _set_locale(self, locale: str) -> None:
        services = self.bot.services
        async with services.db.unit_of_work() as uow:
            room = await services.room(uow, self.room_id)
            if room.locale != locale:
                await uow.rooms.save(
                    self.room_id, locale=locale, timezone=room.timezone, now=self.clock.now()
                )
        services.forget_room(self.room_id)

    async def handle_line(self, line: str) -> None:
        line = line.rstrip("\n")
        if line.startswith("/"):
            await self.directive(line)
            return
        if not line.strip():
            return
        await self.post({"msgtype": "m.text", "body": line})

    async def post(self, content: dict[str, Any]) -> None:
        """A message typed (or a file posted) in the current room."""
        event = IncomingEvent(
            event_id=f"$console-{uuid.uuid4().hex}",
            room_id=self.room_id,
            sender=self.user,
            event_type="m.room.message",
            content=content,
            origin_ts=self.clock.now(),
        )
        await self.bot.pipeline.ingest([event])
        await self.settle()

    async def settle(self) -> None:
        """Process what arrived, run what fell due, print what was sent."""
        await self.bot.pipeline.process_pending()
        await self.bot.scheduler.run_due(self.clock.now())
        await self.sender.flush()

    async def directive(self, line: str) -> None:
        name, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        if name == "as" and USER_ID.fullmatch(arg):
            self.user = arg
        elif name == "room" and arg and " " not in arg:
            self.room_id = arg if arg.startswith("!") else f"!{arg}"
            if self.locale is not None:
                await self._set_locale(self.locale)
        elif name == "time" and arg:
            await self.travel(arg)
        elif name == "upload" and arg:
            await self.upload(arg)
        else:
            self.say("console.unknown_directive", line=line)

    async def upload(self, text: str) -> None:
        """Post a local file in the room, as a Matrix client would post an attachment."""
        content = await asyncio.to_thread(file_message, text)
        if content is None:
            self.say("console.no_file", path=text)
            return
        await self.post(content)

    async def travel(self, text: str) -> None:
        """Move the clock to `text`, stopping wherever something falls due on the way."""
        services = self.bot.services
        async with services.db.unit_of_work() as uow:
            room = await services.room(uow, self.room_id)
        target = parse_local_time(text, room.timezone, self.clock.now(), room.locale)
        if target is None:
            self.say("console.bad_time", text=text)
            return
        if target < self.clock.now():
            self.say("console.time_backwards", text=text)
            return
        for _ in range(MAX_STEPS):
            due = await self.bot.scheduler.next_due()
            if due is None or due > target:
                break
            self.clock.set(max(due, self.clock.now()))
            await self.settle()
            if await self.bot.scheduler.next_due() == due:
                break  # a job that does not move its own due time: do not spin
        self.clock.set(target)
        await self.settle()

    def say(self, key: str, **data: Any) -> None:
        """Console feedback (not a bot message) goes to stderr, in the console's language."""
        self.err.write(self.catalog.render(self.locale or "en", key, **data).plain + "\n")
        self.err.flush()

    async def run(self, stream: TextIO = sys.stdin) -> None:
        await self.start()
        try:
            while True:
                line = await asyncio.to_thread(stream.readline)
                if not line:
                    break
                await self.handle_line(line)
        finally:
            await self.bot.close()
