"""What every repository is: a session, and for domain data the group it works within."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.personal import like_regex


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.bind.dialect.name if self.session.bind else "sqlite"

    def insert(self, model: Any) -> Any:
        """An INSERT of this dialect, which knows ON CONFLICT (upserts, insert-or-ignore)."""
        return (pg_insert if self.dialect == "postgresql" else sqlite_insert)(model)

    def mentioning(self, text: Any, patterns: Sequence[str]) -> ColumnElement[bool]:
        """Rows whose `text` matches one of the LIKE patterns of `storage.personal` (case
        aside); every row with a text when there is none (a name with nothing the
        database can look for): the caller checks each row it reads."""
        if not patterns:
            every: ColumnElement[bool] = text.is_not(None)
            return every
        # SQLite's LIKE ignores ASCII case already (and is twice as fast as ILIKE's
        # lower() on both sides). PostgreSQL's does not, and one case-insensitive
        # regular expression reads each text once, where ILIKE reads it once a pattern.
        if self.dialect == "postgresql":
            found: ColumnElement[bool] = text.regexp_match(like_regex(patterns), flags="i")
            return found
        return or_(*(text.like(p, escape="\\") for p in patterns))


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
