"""`passerelle console`: the bot on stdin/stdout, through the same pipeline as on Matrix.

Lines starting with `/` are directives: `/as @user:server`, `/time 2026-12-07 09:00`,
`/room NAME`, `/upload PATH` (post a file), `/react KEY` (react to the bot's last
message here), `/knock @user:server [reason]`, `/leave`, `/dm` (talk to the bot in
private). Everything else is a message typed in the current room.

What the bot sends in a direct-message room is printed with `[dm @user:server] `
first, and what it sends to another room than the current one with `[NAME] `; its
room actions (invitations, kicks, ...) are reported on stderr.
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
from bot.config import AppSettings
from commands.kit.clock import SteppableClock
from commands.kit.settings import CONSOLE_ROOM
from commands.kit.text import USER_ID
from commands.kit.timeparse import parse_datetime
from commands.kit.transport import Attachment, IncomingEvent, MediaError, RoomAction

DEFAULT_ROOM = CONSOLE_ROOM
DEFAULT_USER = "@you:console"
DIRECT_PREFIX = "!dm:"  # the console's direct-message rooms: !dm:@user:server
MAX_STEPS = 100_000
DIRECTIVES = ("as", "time", "room", "upload", "react", "knock", "leave", "dm")


def direct_room_of(user_id: str) -> str:
    return f"{DIRECT_PREFIX}{user_id}"


class ConsoleTransport:
    """Prints what the bot sends, as plain text; files are written to `files_dir`."""

    def __init__(self, out: TextIO, err: TextIO, files_dir: Path) -> None:
        self.out = out
        self.err = err
        self.files_dir = files_dir
        self.current_room = DEFAULT_ROOM

    def _where(self, room_id: str) -> str:
        """`[dm @user] ` for a direct message, `[NAME] ` for another room, else nothing."""
        if room_id.startswith(DIRECT_PREFIX):
            return f"[dm {room_id.removeprefix(DIRECT_PREFIX)}] "
        if room_id != self.current_room:
            return f"[{room_id.removeprefix('!')}] "
        return ""

    async def send(
        self,
        room_id: str,
        event_type: str,
        content: dict[str, Any],
        txn_id: str,
        attachment: Attachment | None = None,
    ) -> str:
        where = self._where(room_id)
        if event_type == "m.room.message" or "body" in content:
            self.out.write(where + str(content.get("body", "")) + "\n")
            if attachment is not None:
                self.out.write(f"{where}{self._save(attachment, txn_id)}\n")
        elif event_type == "m.reaction":
            self.out.write(where + str(content.get("m.relates_to", {}).get("key", "")) + "\n")
        self.out.flush()
        return f"$console-{txn_id}"

    async def act(self, action: RoomAction) -> str | None:
        """Room actions are not messages: they are reported on stderr."""
        target = action.user_id or action.event_id or action.event_type or ""
        self.err.write(f"* {action.kind} {target} {self._where(action.room_id)}".rstrip() + "\n")
        self.err.flush()
        return None

    async def direct_room(self, user_id: str, known: str | None) -> str:
        return known or direct_room_of(user_id)

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
        settings: AppSettings,
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
        self.transport = ConsoleTransport(out, err, files_dir)
        self.bot.services.media = self.transport
        self.sender = self.bot.sender(self.transport)
        self.catalog = self.bot.services.catalog
        self.room_locale = locale or settings.room(DEFAULT_ROOM).locale

    async def start(self) -> None:
        await self.bot.start()
        await self._enter(self.room_id)

    async def _enter(self, room_id: str) -> None:
        """Make `room_id` the current room (with the --locale asked for, if any)."""
        self.room_id = self.transport.current_room = room_id
        services = self.bot.services
        if not room_id.startswith(DIRECT_PREFIX):
            # The console serves every room it enters, as if an admin had invited the
            # bot there (with the --locale asked for, if any).
            async with services.db.unit_of_work() as uow:
                room = await services.room(uow, room_id)
                locale = self.locale or room.locale
                if await uow.rooms.get(room_id) is None or room.locale != locale:
                    await uow.rooms.save(
                        room_id, locale=locale, timezone=room.timezone, now=self.clock.now()
                    )
            services.forget_room(room_id)
        async with services.db.unit_of_work() as uow:
            place = await services.place(uow, room_id, self.user)
        self.room_locale = place.room.locale

    async def handle_line(self, line: str) -> None:
        line = line.rstrip("\n")
        if line.startswith("/"):
            await self.directive(line)
            return
        if not line.strip():
            return
        await self.post({"msgtype": "m.text", "body": line})

    async def post(
        self,
        content: dict[str, Any],
        *,
        event_type: str = "m.room.message",
        sender: str | None = None,
        state_key: str | None = None,
    ) -> None:
        """An event in the current room: a message typed, a file posted, a reaction, a
        membership change."""
        event = IncomingEvent(
            event_id=f"$console-{uuid.uuid4().hex}",
            room_id=self.room_id,
            sender=sender or self.user,
            event_type=event_type,
            content=content,
            origin_ts=self.clock.now(),
            state_key=state_key,
        )
        await self.bot.pipeline.ingest([event])
        await self.settle()

    async def settle(self) -> None:
        """Process what arrived, run what fell due, print what was sent."""
        await self.bot.pipeline.process_pending()
        await self.bot.scheduler.run_due(self.clock.now())
        await self.bot.pipeline.process_pending()
        await self.sender.flush()

    async def directive(self, line: str) -> None:
        name, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        if name not in DIRECTIVES:
            self.say("console.unknown_directive", line=line)
        elif name == "as":
            if USER_ID.fullmatch(arg):
                self.user = arg
            else:
                self.say("console.bad_user", value=arg, directive="/as")
        elif name == "room":
            if arg and " " not in arg and not arg.startswith(DIRECT_PREFIX):
                await self._enter(arg if arg.startswith("!") else f"!{arg}")
            else:
                self.say("console.bad_room", value=arg)
        elif name == "time":
            if arg:
                await self.travel(arg)
            else:
                self.say("console.usage", usage="/time 2026-12-07 09:00")
        elif name == "upload":
            if arg:
                await self.upload(arg)
            else:
                self.say("console.usage", usage="/upload PATH")
        elif name == "react":
            await self.react(arg)
        elif name == "knock":
            await self.knock(arg)
        elif name == "leave":
            await self.post(
                {"membership": "leave"},
                event_type="m.room.member",
                state_key=self.user,
            )
        else:  # dm
            await self.open_direct()

    async def react(self, key: str) -> None:
        """React with `key` to the bot's last message in the current room."""
        if not key or " " in key:
            self.say("console.usage", usage="/react ✅")
            return
        async with self.bot.services.db.unit_of_work() as uow:
            last = await uow.outbox.last_sent(self.room_id)
            target = last.event_id if last is not None else None
        if target is None:
            self.say("console.nothing_to_react")
            return
        relates = {"rel_type": "m.annotation", "event_id": target, "key": key}
        await self.post({"m.relates_to": relates}, event_type="m.reaction")

    async def knock(self, arg: str) -> None:
        """`/knock @user:server [reason]`: that user asks to join the current room."""
        user, _, reason = arg.partition(" ")
        if not USER_ID.fullmatch(user):
            self.say("console.bad_user", value=user, directive="/knock")
            return
        content: dict[str, Any] = {"membership": "knock"}
        if reason.strip():
            content["reason"] = reason.strip()
        await self.post(content, event_type="m.room.member", sender=user, state_key=user)

    async def open_direct(self) -> None:
        """The current user now talks to the bot in their direct-message room."""
        room_id = direct_room_of(self.user)
        async with self.bot.services.db.unit_of_work() as uow:
            known = await uow.direct_rooms.of_user(self.user)
            if known is None or known.room_id is None:
                await uow.direct_rooms.record(self.user, room_id, now=self.clock.now())
            else:
                room_id = known.room_id
        self.bot.services.forget_direct_rooms()
        await self._enter(room_id)

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
            room = (await services.place(uow, self.room_id, self.user)).room
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
        """Console feedback (not a bot message) goes to stderr, in the room's language."""
        self.err.write(self.catalog.render(self.room_locale, key, **data).plain + "\n")
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
