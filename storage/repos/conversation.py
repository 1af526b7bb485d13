"""What a conversation with the bot remembers between two commands, for any domain:
the numbered list a user last saw, and an action previewed and waiting for `confirm`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete

from storage.models import LastList, PendingAction
from storage.repos.base import Repository


class ConversationRepository(Repository):
    """Keyed by (user, room, domain): a list seen in one room is not another room's."""

    async def remember_list(
        self,
        user_id: str,
        room_id: str,
        domain: str,
        ids: Sequence[int | str],
        *,
        offset: int,
        now: datetime,
    ) -> None:
        payload = {"ids": list(ids), "offset": offset}
        statement = self.insert(LastList).values(
            user_id=user_id, room_id=room_id, domain=domain, ids=payload, at=now
        )
        # One round trip: lists are shown often, and this is on the way of every one.
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id", "room_id", "domain"],
                set_={"ids": statement.excluded.ids, "at": statement.excluded.at},
            )
        )

    async def last_list(
        self, user_id: str, room_id: str, domain: str
    ) -> tuple[list[Any], int] | None:
        """(ids, offset) of the list this user last saw here: line `offset + i + 1` is ids[i]."""
        row = await self.session.get(LastList, (user_id, room_id, domain))
        if row is None:
            return None
        return list(row.ids.get("ids", [])), int(row.ids.get("offset", 0))

    async def save_pending(
        self,
        user_id: str,
        room_id: str,
        domain: str,
        kind: str,
        payload: dict[str, Any],
        *,
        now: datetime,
    ) -> None:
        row = await self.session.get(PendingAction, (user_id, room_id, domain, kind))
        if row is None:
            self.session.add(
                PendingAction(
                    user_id=user_id,
                    room_id=room_id,
                    domain=domain,
                    kind=kind,
                    payload=payload,
                    at=now,
                )
            )
        else:
            row.payload, row.at = payload, now
        await self.session.flush()

    async def pending(
        self, user_id: str, room_id: str, domain: str, kind: str
    ) -> PendingAction | None:
        return await self.session.get(PendingAction, (user_id, room_id, domain, kind))

    async def drop_pending(self, user_id: str, room_id: str, domain: str, kind: str) -> None:
        await self.session.execute(
            delete(PendingAction).where(
                PendingAction.user_id == user_id,
                PendingAction.room_id == room_id,
                PendingAction.domain == domain,
                PendingAction.kind == kind,
            )
        )
