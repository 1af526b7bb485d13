"""The declarative base every model shares: naming convention and column types."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# How long a group's id may be: a configured `group` name, or a room id.
GROUP_LENGTH = 255


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class GroupOwned:
    """A record that belongs to one group; repositories read and write within it only."""

    group_id: Mapped[str] = mapped_column(String(GROUP_LENGTH))


# Created by migration 0002 on PostgreSQL when pg_trgm is available, unknown to the
# models (it cannot exist everywhere): autogenerate and the schema check skip it.
TRIGRAM_INDEX = "ix_partners_name_key_trgm"


def known_to_models(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's include_object: leave the optional trigram index alone."""
    return not (type_ == "index" and name == TRIGRAM_INDEX)
