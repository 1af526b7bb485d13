"""The domains the bot is made of, in the order `!help` lists them. A new domain is one
more line here (and its package under `commands/`)."""

from __future__ import annotations

from commands import core, digest, followups, meetings, members, partners, polls
from commands.kit.domain import Domain

DOMAINS: tuple[Domain, ...] = (
    core.DOMAIN,
    partners.DOMAIN,
    followups.DOMAIN,
    polls.DOMAIN,
    meetings.DOMAIN,
    members.DOMAIN,
    digest.DOMAIN,
)
