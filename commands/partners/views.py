"""What the templates are handed: plain dicts of partners, history lines, people and
search hits, so that messages never reach into database rows."""

from __future__ import annotations

from typing import Any

from storage.models import Link, PartnerEvent, PartnerPerson
from storage.repos.partners import Hit, Listed, PartnerFilter


def line(listed: Listed, number: int) -> dict[str, Any]:
    """A partner as line `number` of a list (`partners.line`)."""
    p = listed.partner
    return {
        "n": number,
        "name": p.name,
        "kind": p.kind,
        "status": p.status,
        "social": p.social_economy,
        "owner": p.owner,
        "consortium": p.consortium_member,
        "tags": listed.tags,
        "last": p.last_interaction_at,
    }


def hit(found: Hit, number: int) -> dict[str, Any]:
    """A search result: its line, and why it matched (the tag, or the note, shortened)."""
    shown = line(Listed(found.partner, found.tags), number)
    detail = found.detail
    if detail is not None and len(detail) > 120:
        detail = detail[:117].rstrip() + "…"
    return {**shown, "reason": found.reason, "detail": detail, "at": found.at}


def event(entry: PartnerEvent) -> dict[str, Any]:
    """A line of a partner's history (`partners.event`)."""
    return {
        "kind": entry.kind,
        "at": entry.at,
        "actor": entry.actor,
        "text": entry.text,
        "detail": entry.detail,
    }


def link(record: Link) -> dict[str, Any]:
    """A record of another domain about the partner (an open follow-up), as a card line."""
    return {
        "kind": "link",
        "at": record.created_at,
        "actor": record.actor,
        "text": record.text,
        "detail": {"type": record.source_kind, "ref": record.source_id, "open": record.open},
    }


def person(someone: PartnerPerson) -> dict[str, Any]:
    """Someone at a partner (`partners.person_line`)."""
    return {
        "name": someone.name,
        "role": someone.role,
        "email": someone.email,
        "phone": someone.phone,
        "notes": someone.notes,
        "created_at": someone.created_at,
        "updated_at": someone.updated_at,
    }


def filters_shown(where: PartnerFilter) -> list[dict[str, Any]]:
    """The filters in force, as (field, value) for the answer's heading."""
    shown = {
        "removed": True if where.removed else None,
        "status": where.status,
        "kind": where.kind,
        "tags": [where.tag] if where.tag else None,
        "owner": where.owner,
        "consortium_member": where.consortium_member,
        "social_economy": where.social_economy,
    }
    return [{"field": k, "value": v} for k, v in shown.items() if v is not None]
