"""What every repository is: a session, and for domain data the group it works within."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.bind.dialect.name if self.session.bind else "sqlite"

    def insert(self, model: Any) -> Any:
        """An INSERT of this dialect, which knows ON CONFLICT (upserts, insert-or-ignore)."""
        return (pg_insert if self.dialect == "postgresql" else sqlite_insert)(model)


class GroupRepository(Repository):
    """A repository of one group's records: every read and write stays within `group`.

    Handlers get these from their context already bound to the group they act for,
    so no domain can read or write another group's data by forgetting a filter.
    """

    def __init__(self, session: AsyncSession, group: str) -> None:
        super().__init__(session)
        if not group:
            raise ValueError("a group repository needs a group")
        self.group = group
