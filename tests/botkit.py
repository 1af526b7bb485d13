"""Drive the bot as a user would, through a fake transport and a fake clock."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.app import Bot
from bot.config import Settings
from bot.domains import DOMAINS
from bot.outbox import OutboxSender
from commands.kit.clock import FakeClock
from commands.kit.domain import Domain
from commands.kit.transport import Attachment, IncomingEvent, MediaError, RoomAction, SendError

ROOM = "!groupe"
GROUP = ROOM  # the room is a group of its own
ALICE = "@alice:fablab.test"  # admin by configuration
BOB = "@bob:fablab.test"
CAROL = "@carol:fablab.test"


@dataclass
class Sent:
    room_id: str
    event_type: str
    content: dict[str, Any]
    txn_id: str
    event_id: str
    attachment: Attachment | None = None

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))

    @property
    def html(self) -> str:
        return str(self.content.get("formatted_body", ""))


@dataclass
class FakeTransport:
    """Records what the bot sends and does; `failures` makes the next sends raise."""

    sent: list[Sent] = field(default_factory=list)
    actions: list[RoomAction] = field(default_factory=list)
    failures: list[SendError] = field(default_factory=list)
    seen_txn: dict[str, str] = field(default_factory=dict)
    direct: dict[str, str] = field(default_factory=dict)  # user -> room
    rooms_created: int = 0

    async def send(
        self,
        room_id: str,
        event_type: str,
        content: dict[str, Any],
        txn_id: str,
        attachment: Attachment | None = None,
    ) -> str:
        if self.failures:
            raise self.failures.pop(0)
        if txn_id in self.seen_txn:  # like Synapse: same txn id, same event, no new message
            return self.seen_txn[txn_id]
        event_id = f"$sent{len(self.sent)}"
        self.seen_txn[txn_id] = event_id
        self.sent.append(Sent(room_id, event_type, content, txn_id, event_id, attachment))
        return event_id

    async def act(self, action: RoomAction) -> str | None:
        if self.failures:
            raise self.failures.pop(0)
        if action.txn_id in self.seen_txn:
            return self.seen_txn[action.txn_id]
        self.seen_txn[action.txn_id] = f"$act{len(self.actions)}"
        self.actions.append(action)
        return self.seen_txn[action.txn_id]

    async def direct_room(self, user_id: str, known: str | None) -> str:
        if self.failures:
            raise self.failures.pop(0)
        if known is not None:
            return known
        if user_id not in self.direct:  # like the Matrix transport: found, else created once
            self.rooms_created += 1
            self.direct[user_id] = f"!dm-{user_id.lstrip('@').split(':')[0]}"
        return self.direct[user_id]


@dataclass
class FakeMedia:
    """Serves the files posted with `TestBot.post_file`, by their mxc:// URL."""

    files: dict[str, bytes] = field(default_factory=dict)

    async def fetch(self, url: str) -> bytes:
        try:
            return self.files[url]
        except KeyError:
            raise MediaError(url) from None


class TestBot:
    """A bot on a real database (SQLite file or PostgreSQL), fake transport, fake clock."""

    __test__ = False

    def __init__(
        self, settings: Settings, clock: FakeClock, *, domains: Sequence[Domain] = DOMAINS
    ) -> None:
        self.clock = clock
        self.bot = Bot(settings, clock=clock, domains=domains)
        self.transport = FakeTransport()
        self.sender: OutboxSender = self.bot.sender(self.transport)
        self.media = FakeMedia()
        self.bot.services.media = self.media
        self._ids = itertools.count(1)
        self._files = itertools.count(1)

    @property
    def services(self) -> Any:
        return self.bot.services

    @property
    def sent(self) -> list[Sent]:
        return self.transport.sent

    async def start(self) -> None:
        await self.bot.start()

    async def close(self) -> None:
        await self.bot.close()

    def event(
        self,
        body: str,
        *,
        sender: str = ALICE,
        room: str = ROOM,
        formatted: str | None = None,
        relates_to: dict[str, Any] | None = None,
        msgtype: str = "m.text",
    ) -> IncomingEvent:
        content: dict[str, Any] = {"msgtype": msgtype, "body": body}
        if formatted is not None:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = formatted
        if relates_to is not None:
            content["m.relates_to"] = relates_to
        return IncomingEvent(
            event_id=f"$ev{next(self._ids)}",
            room_id=room,
            sender=sender,
            event_type="m.room.message",
            content=content,
            origin_ts=self.clock.now(),
        )

    def raw(
        self,
        event_type: str,
        content: dict[str, Any],
        *,
        sender: str = ALICE,
        room: str = ROOM,
        state_key: str | None = None,
    ) -> IncomingEvent:
        """Any event, as the homeserver would hand it over."""
        return IncomingEvent(
            event_id=f"$ev{next(self._ids)}",
            room_id=room,
            sender=sender,
            event_type=event_type,
            content=content,
            origin_ts=self.clock.now(),
            state_key=state_key,
        )

    def reaction(self, target: str, key: str = "✅", **kwargs: Any) -> IncomingEvent:
        relates = {"rel_type": "m.annotation", "event_id": target, "key": key}
        return self.raw("m.reaction", {"m.relates_to": relates}, **kwargs)

    def membership(
        self, user: str, membership: str, *, room: str = ROOM, reason: str | None = None
    ) -> IncomingEvent:
        content: dict[str, Any] = {"membership": membership}
        if reason is not None:
            content["reason"] = reason
        return self.raw("m.room.member", content, sender=user, room=room, state_key=user)

    async def join(self, *users: str, room: str = ROOM) -> None:
        """These users are in the room (as the homeserver's member list would say)."""
        async with self.bot.services.db.unit_of_work() as uow:
            for user in users:
                await uow.room_members.set(room, user, "join", now=self.clock.now())

    async def open_direct(self, user: str) -> str:
        """The user opened a direct chat with the bot; returns its room id."""
        room = f"!dm-{user.lstrip('@').split(':')[0]}"
        async with self.bot.services.db.unit_of_work() as uow:
            await uow.direct_rooms.record(user, room, now=self.clock.now())
        self.bot.services.forget_direct_rooms()
        self.transport.direct[user] = room
        return room

    async def deliver(self, *events: IncomingEvent) -> list[Sent]:
        before = len(self.sent)
        await self.bot.pipeline.ingest(events)
        await self.bot.pipeline.process_pending()
        await self.sender.flush()
        return self.sent[before:]

    async def post_file(
        self,
        name: str,
        data: bytes,
        *,
        sender: str = ALICE,
        room: str = ROOM,
        mimetype: str = "text/csv",
    ) -> list[Sent]:
        """Post a file in the room, as a Matrix client would (m.file with an mxc:// URL)."""
        url = f"mxc://test/{next(self._files)}"
        self.media.files[url] = data
        event = IncomingEvent(
            event_id=f"$ev{next(self._ids)}",
            room_id=room,
            sender=sender,
            event_type="m.room.message",
            content={
                "msgtype": "m.file",
                "body": name,
                "url": url,
                "info": {"mimetype": mimetype, "size": len(data)},
            },
            origin_ts=self.clock.now(),
        )
        return await self.deliver(event)

    async def say(self, body: str, **kwargs: Any) -> list[Sent]:
        """Type a message in the room; returns what the bot sent in answer."""
        return await self.deliver(self.event(body, **kwargs))

    async def ask(self, body: str, **kwargs: Any) -> str:
        """Type a command and return the plain body of the single answer."""
        answers = await self.say(body, **kwargs)
        assert len(answers) == 1, [a.body for a in answers]
        return answers[0].body

    async def advance(self, delta: timedelta) -> list[Sent]:
        return await self.travel(self.clock.now() + delta)

    async def travel(self, when: datetime) -> list[Sent]:
        """Move the clock, running the scheduler at every instant something falls due."""
        before = len(self.sent)
        while (due := await self.bot.scheduler.next_due()) is not None and due <= when:
            self.clock.set(max(due, self.clock.now()))
            await self.bot.scheduler.run_due(self.clock.now())
            # A job that fails on an item due stays due: say so rather than loop forever.
            assert not self.bot.scheduler.failed, f"jobs failed: {self.bot.scheduler.failed}"
            await self.sender.flush()
        self.clock.set(when)
        await self.bot.scheduler.run_due(when)
        await self.sender.flush()
        return self.sent[before:]
