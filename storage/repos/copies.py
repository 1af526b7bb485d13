"""The bot's own copies of what was said and done in a group, read and blacked out for a
data-protection request: the events it received (inbox: commands typed, edits with their
`m.new_content`, knocks), the messages it sent or will send (outbox: plain and HTML
bodies), the files it keeps to send (an export, a long answer), the previews waiting
for a confirmation (an import) and the audit log.

The database finds the rows worth reading (`PersonMatcher.like_patterns`, on the stored
JSON text); the matcher then decides, word by word, on those rows only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, func, or_, select, update

from storage.models import AuditEntry, DirectRoom, InboxEvent, OutboxEvent, PendingAction
from storage.personal import PersonMatcher
from storage.repos.base import GroupRepository

# The kinds of copies, in the order an answer lists them.
KINDS = ("inbox", "outbox", "pending", "files", "audit")
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Copy:
    """One copy that mentions the person: what it is, when, whose, and the text (plain)
    where they were found, for a masked excerpt."""

    kind: str
    at: datetime
    who: str | None
    text: str


@dataclass
class Copies:
    """How many copies of each kind mention the person, and the first few of each."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    first: dict[str, list[Copy]] = field(default_factory=lambda: {k: [] for k in KINDS})

    def add(self, copy: Copy, limit: int) -> None:
        self.counts[copy.kind] += 1
        if len(self.first[copy.kind]) < limit:
            self.first[copy.kind].append(copy)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def decode_file(data: bytes) -> tuple[str, bool] | None:
    """A file's text (UTF-8, with or without a byte-order mark) and whether it had the
    mark; None for a file that is not text."""
    bom = data.startswith(BOM)
    try:
        return data[len(BOM) if bom else 0 :].decode("utf-8"), bom
    except UnicodeDecodeError:
        return None


class CopiesRepository(GroupRepository):
    """The copies that belong to one group: rows marked with it, or, written before
    groups existed (or not yet handled), in one of its rooms (`rooms`)."""

    def _in_group(self, group_column: Any, room_column: Any, rooms: Sequence[str]) -> Any:
        return or_(
            group_column == self.group,
            and_(group_column.is_(None), room_column.in_(list(rooms))),
        )

    def _file_text(self) -> Any:
        """The outbox's files as text the patterns can be matched against."""
        if self.dialect == "postgresql":
            return func.encode(OutboxEvent.attachment, "escape")
        return cast(OutboxEvent.attachment, Text)

    async def _pending_rooms(self, rooms: Sequence[str]) -> list[str]:
        """Where a group's previews may wait: its rooms, and the direct-message rooms
        where someone acted for it."""
        direct = await self.session.scalars(
            select(InboxEvent.room_id)
            .where(
                InboxEvent.group_id == self.group,
                InboxEvent.room_id.in_(select(DirectRoom.room_id)),
            )
            .distinct()
        )
        return [*rooms, *direct]

    # --- Reading.

    async def find(
        self,
        matcher: PersonMatcher,
        *,
        rooms: Sequence[str],
        limit: int = 3,
        besides: int | None = None,
    ) -> Copies:
        """Every copy that mentions the person, counted, with the first `limit` of each
        kind. `besides`: an inbox row left out (the command asking)."""
        found = Copies()
        if matcher.empty:
            return found
        patterns = matcher.like_patterns()
        inbox = await self.session.execute(
            select(InboxEvent.id, InboxEvent.content, InboxEvent.origin_ts, InboxEvent.sender)
            .where(
                self._in_group(InboxEvent.group_id, InboxEvent.room_id, rooms),
                self.mentioning(cast(InboxEvent.content, Text), patterns),
            )
            .order_by(InboxEvent.id)
        )
        for row_id, content, at, sender in inbox:
            if row_id == besides:
                continue
            text = next(matcher.texts(content), None)
            if text is not None:
                found.add(Copy("inbox", at, sender, text), limit)
        outbox = await self.session.execute(
            select(OutboxEvent.content, OutboxEvent.attachment, OutboxEvent.created_at)
            .where(
                self._in_group(OutboxEvent.group_id, OutboxEvent.room_id, rooms),
                or_(
                    self.mentioning(cast(OutboxEvent.content, Text), patterns),
                    self.mentioning(self._file_text(), patterns),
                ),
            )
            .order_by(OutboxEvent.id)
        )
        for content, attachment, at in outbox:
            text = next(matcher.texts(content), None)
            if text is not None:
                found.add(Copy("outbox", at, None, text), limit)
            decoded = decode_file(attachment) if attachment is not None else None
            if decoded is not None and matcher.mentions(decoded[0]):
                found.add(Copy("files", at, None, _line_of(matcher, decoded[0])), limit)
        pending = await self.session.execute(
            select(PendingAction.payload, PendingAction.at, PendingAction.user_id)
            .where(
                PendingAction.room_id.in_(await self._pending_rooms(rooms)),
                self.mentioning(cast(PendingAction.payload, Text), patterns),
            )
            .order_by(PendingAction.at)
        )
        for payload, at, user in pending:
            text = next(matcher.texts(payload, html_keys=frozenset()), None)
            if text is not None:
                found.add(Copy("pending", at, user, text), limit)
        audit = await self.session.execute(
            select(AuditEntry.detail, AuditEntry.at, AuditEntry.actor)
            .where(
                self._in_group(AuditEntry.group_id, AuditEntry.room_id, rooms),
                self.mentioning(cast(AuditEntry.detail, Text), patterns),
            )
            .order_by(AuditEntry.id)
        )
        for detail, at, actor in audit:
            text = next(matcher.texts(detail, html_keys=frozenset()), None)
            if text is not None:
                found.add(Copy("audit", at, actor, text), limit)
        return found

    # --- Blacking out.

    async def erase(
        self,
        matcher: PersonMatcher,
        marker: str,
        *,
        rooms: Sequence[str],
        current: int | None = None,
        obsolete: tuple[str, str] | None = None,
    ) -> dict[str, int]:
        """Replace every mention of the person with `marker` in the group's copies;
        returns how many copies of each kind were changed.

        `current` is the inbox row of the command erasing (not yet marked with the
        group, and in a direct message not in one of its rooms). Previews of the
        `obsolete` (domain, kind) that mention the person are dropped instead (another
        erasure of the same person, waiting: there is nothing left for it to do).
        """
        changed = dict.fromkeys(KINDS, 0)
        if matcher.empty:
            return changed
        patterns = matcher.like_patterns()
        inbox = await self.session.execute(
            select(InboxEvent.id, InboxEvent.content).where(
                or_(
                    self._in_group(InboxEvent.group_id, InboxEvent.room_id, rooms),
                    InboxEvent.id == current,
                ),
                self.mentioning(cast(InboxEvent.content, Text), patterns),
            )
        )
        rows = _redacted(matcher, marker, inbox)
        await self._update(InboxEvent, rows)
        changed["inbox"] = len(rows)

        outbox = await self.session.execute(
            select(OutboxEvent.id, OutboxEvent.content, OutboxEvent.attachment).where(
                self._in_group(OutboxEvent.group_id, OutboxEvent.room_id, rooms),
                or_(
                    self.mentioning(cast(OutboxEvent.content, Text), patterns),
                    self.mentioning(self._file_text(), patterns),
                ),
            )
        )
        updates: list[dict[str, Any]] = []
        for row_id, content, attachment in outbox:
            values: dict[str, Any] = {}
            redacted = matcher.redact_json(content, marker)
            if redacted != content:
                values["content"] = redacted
                changed["outbox"] += 1
            data = _redacted_file(matcher, marker, attachment)
            if data is not None:
                # The event announces the file's size: keep it true.
                body = dict(values.get("content", content))
                if isinstance(body.get("info"), dict):
                    body["info"] = {**body["info"], "size": len(data)}
                values.update(content=body, attachment=data)
                changed["files"] += 1
            if values:
                updates.append({"id": row_id, **values})
        await self._update(OutboxEvent, updates)

        pending = await self.session.execute(
            select(PendingAction).where(
                PendingAction.room_id.in_(await self._pending_rooms(rooms)),
                self.mentioning(cast(PendingAction.payload, Text), patterns),
            )
        )
        for action in pending.scalars():
            payload = matcher.redact_json(action.payload, marker, html_keys=frozenset())
            if payload == action.payload:
                continue
            if (action.domain, action.kind) == obsolete:
                await self.session.delete(action)
            else:
                action.payload = payload
            changed["pending"] += 1

        audit = await self.session.execute(
            select(AuditEntry.id, AuditEntry.detail).where(
                self._in_group(AuditEntry.group_id, AuditEntry.room_id, rooms),
                self.mentioning(cast(AuditEntry.detail, Text), patterns),
            )
        )
        rows = _redacted(matcher, marker, audit, column="detail", html_keys=frozenset())
        await self._update(AuditEntry, rows)
        changed["audit"] = len(rows)
        await self.session.flush()
        return changed

    async def _update(
        self, model: type[InboxEvent] | type[OutboxEvent] | type[AuditEntry], rows: list[Any]
    ) -> None:
        """Write changed rows back, by primary key, in one statement per batch."""
        for start in range(0, len(rows), 500):
            await self.session.execute(update(model), rows[start : start + 500])


def _redacted(
    matcher: PersonMatcher,
    marker: str,
    rows: Iterable[Any],
    *,
    column: str = "content",
    html_keys: frozenset[str] | None = None,
) -> list[dict[str, Any]]:
    """{"id", column} of the rows whose JSON value changes once the person is taken out."""
    changed: list[dict[str, Any]] = []
    for row_id, value in rows:
        redacted = (
            matcher.redact_json(value, marker)
            if html_keys is None
            else matcher.redact_json(value, marker, html_keys=html_keys)
        )
        if redacted != value:
            changed.append({"id": row_id, column: redacted})
    return changed


def _redacted_file(matcher: PersonMatcher, marker: str, data: bytes | None) -> bytes | None:
    """A text file with the person taken out, encoded as it was; None when unchanged
    (or not text)."""
    if data is None:
        return None
    decoded = decode_file(data)
    if decoded is None:
        return None
    text, bom = decoded
    redacted = matcher.redact(text, marker)
    if redacted == text:
        return None
    return (BOM if bom else b"") + redacted.encode("utf-8")


def _line_of(matcher: PersonMatcher, text: str) -> str:
    """The line of a file where the person is first mentioned."""
    for line in text.splitlines():
        if matcher.mentions(line):
            return line
    return text
