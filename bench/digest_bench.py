"""The weekly digest at scale: one group's digest over a large contact book and backlog.

Seeds a fresh database in bulk (SQLite always; PostgreSQL too when --pg-url or
PASSERELLE_TEST_PG_URL names a server: a throwaway database is created next to the
one named and dropped afterwards). One group, as of Monday 30 November 2026 at 09:00 in
Paris (the default slot), its week being 23 to 30 November:

- 10,000 partners created over three years, 60 of them this week, 2 % removed; their
  history (created, notes, status changes): 150-odd status changes this week, a hundred
  edits, interested or negotiating partners mostly active but some gone quiet;
- 100,000 follow-ups over 120 members: 75 % open (no due date, late by up to six
  months, or due within a year), the others closed, 300 of them done this week;
- 40 polls (3 open, 4 closed this week), 60 decisions, 30 proposals (8 undecided);
- 500 meetings: 498 ended (each with its agenda, 10 to 25 items of minutes and its
  attendees), the next one planned with a date and 10 agenda items, one planned in
  the steering committee's room without a date;
- 7 pending join requests among 150 decided ones; 3 moderators;

and a smaller second group (500 partners, 5,000 follow-ups, 20 meetings) beside it.
The follow-ups' and meetings' logs, people and search rows are not seeded: the digest
reads none of them. Then times:

- one digest: `build(ctx, since, until)` and rendering `digest.body`, inside a unit of
  work as the job does (the context from `Places(...).group(...)`), median and p95;
- the digest job's pass for the group, as the scheduler runs it (`DigestJob.run_due`
  in its own unit of work, commit included: build, render, the room's message and the
  moderators' direct messages queued, the next slot stored), the group's schedule and
  queued rows put back between passes.

Target (the issue): building the digest takes at most 250 ms on SQLite and on
PostgreSQL; the job's pass is held to the same budget. With --profile: the SQL
statements of one build with their time, and a cProfile of one build; with
--explain, each statement's plan (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE).

    python bench/digest_bench.py [--runs 30] [--passes 8] [--pg-url postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from itertools import pairwise
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.event import listen, remove

from bot.app import Bot
from bot.config import RoomSettings, Settings
from commands.digest.build import Digest, build
from commands.digest.job import JOB, render_data
from commands.digest.schedule import last_slot, week_before
from commands.kit.clock import FakeClock
from commands.kit.jobs import Places
from storage.db import Database
from storage.models import (
    AgendaItem,
    Attendee,
    Base,
    Decision,
    DigestSchedule,
    Followup,
    JoinRequest,
    Meeting,
    MeetingItem,
    Member,
    OutboxEvent,
    Partner,
    PartnerEvent,
    Poll,
    Proposal,
    Role,
)
from storage.search import fold, squash

GROUP = "fablab"
MAIN = "!fablab"  # the group's main room: the digest goes there
BUREAU = "!fablab-bureau"  # the steering committee's room, same group
OTHER_GROUP = "voisins"
OTHER = "!voisins"
TZ = "Europe/Paris"
# Monday 30 November 2026, 09:00 in Paris: the default slot (monday, 09:00).
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
SINCE = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
STALE_DAYS = 30  # DigestSettings.stale_days's default
MEMBERS = [f"@member{n:03d}:fablab.test" for n in range(120)]
MODERATORS = ["@bureau1:fablab.test", "@bureau2:fablab.test", "@bureau3:fablab.test"]
ADMIN = "@admin:fablab.test"
OTHERS = [f"@voisin{n:02d}:voisins.test" for n in range(25)]
TARGET_MS = 250.0

# Weights of the partners' statuses, in pipeline order.
STATUSES = (
    ("idea", 10),
    ("to_contact", 15),
    ("contacted", 20),
    ("interested", 15),
    ("negotiating", 8),
    ("active", 20),
    ("paused", 7),
    ("declined", 5),
)
PIPELINE = [name for name, _ in STATUSES]
WARM = ("interested", "negotiating")
KINDS = ("company", "association", "institution", "school", "public_authority", "craft")
FIRST = " ".join(
    (
        "Atelier Coopérative Collectif Association Maison Réseau Fondation Institut Studio",
        "Fabrique Labo Espace Compagnie Société Agence Centre Club Comptoir Union Cercle",
    )
).split()
SECOND = " ".join(
    (
        "Bois Métal Numérique Solidaire Breton Léon Iroise Abers Rade Goulet Océan Granit",
        "Lande Chapelle Phare Moulin Forge Vannerie Textile Céramique Électronique Robotique",
    )
).split()
WORDS = " ".join(
    (
        "rappeler envoyer devis convention atelier KidiTap MDL mairie subvention relancer",
        "préparer compte-rendu réunion fablab imprimante découpe laser partenaire visite",
        "formation bénévoles planning salon forum réponse mail facture commande matériel",
    )
).split()
ITEM_KINDS = ("topic", "info", "info", "info", "idea", "agreed", "action", "action", "link")


def _text(rng: random.Random, low: int = 3, high: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))).capitalize()


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """An instant in [start, end), to the second."""
    seconds = max(1, int((end - start).total_seconds()))
    return start + timedelta(seconds=rng.randrange(seconds))


@dataclass
class Expected:
    """What the group's digest must count (the sections' totals), from the seed."""

    partners_new: int = 0
    partners_status: int = 0
    partners_stale: int = 0
    followups_overdue: int = 0  # people
    followups_week: int = 0
    followups_done: int = 0
    polls_open: int = 0
    polls_closed: int = 0
    decisions: int = 0
    proposals: int = 0
    agenda: int = 0  # items on the next meeting's agenda
    requests: int = 0

    def totals(self) -> dict[str, int]:
        return {
            "partners_new": self.partners_new,
            "partners_status": self.partners_status,
            "partners_stale": self.partners_stale,
            "followups_overdue": self.followups_overdue,
            "followups_week": self.followups_week,
            "followups_done": self.followups_done,
            "polls_open": self.polls_open,
            "polls_closed": self.polls_closed,
            "decisions": self.decisions,
            "proposals": self.proposals,
            "meeting": 1,
        }


@dataclass
class Seed:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    expected: Expected = field(default_factory=Expected)
    ids: Counter[str] = field(default_factory=Counter)

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def count(self) -> str:
        return ", ".join(f"{len(rows)} {name}" for name, rows in self.rows.items())


class Generator:
    """Rows for every table the digest reads, as plain dicts."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.seed = Seed()

    # --- Partners.

    def partners(self, group: str, count: int, new: int, week_changes: int, main: bool) -> None:
        rng, seed, rows = self.rng, self.seed, self.seed.rows
        people = MEMBERS if group == GROUP else OTHERS
        old = sorted(_between(rng, NOW - timedelta(days=1100), SINCE - DAY) for _ in range(count))
        fresh = sorted(_between(rng, SINCE, NOW) for _ in range(new))
        weights = [w for _, w in STATUSES]
        stale_cut = NOW - timedelta(days=STALE_DAYS)
        changed_this_week = set(rng.sample(range(count - new), week_changes))
        for index, created in enumerate(old[: count - new] + fresh):
            pid = seed.next_id("partners")
            is_new = created >= SINCE
            status = (
                rng.choice(("idea", "to_contact", "contacted"))
                if is_new
                else rng.choices(PIPELINE, weights)[0]
            )
            removed = None
            if not is_new and rng.random() < 0.02:
                removed = _between(rng, created, SINCE - DAY)
            name = f"{rng.choice(FIRST)} {rng.choice(SECOND)} {pid}"
            events: list[dict[str, Any]] = []

            def event(
                at: datetime,
                kind: str,
                detail: dict[str, Any],
                note: str | None = None,
                pid: int = pid,
                events: list[dict[str, Any]] = events,
            ) -> None:
                events.append(
                    {
                        "partner_id": pid,
                        "at": at,
                        "actor": rng.choice(people),
                        "kind": kind,
                        "text": note,
                        "text_key": fold(note) if note else None,
                        "detail": detail,
                    }
                )

            event(created, "created", {"source": "command"})
            # The way here through the pipeline: the status it was added with, then
            # each change; for some, the last change happened this week.
            end = min(removed or NOW, NOW if is_new else SINCE)
            target = PIPELINE.index(status)
            this_week = target > 0 and (
                (index in changed_this_week and removed is None) or (is_new and rng.random() < 0.4)
            )
            steps = rng.randint(1, 2) if this_week else rng.choice((0, 1, 1, 2))
            path = [*sorted(rng.sample(range(target), min(target, steps))), target]
            changes = list(pairwise(path)) if target and steps else []
            times = sorted(_between(rng, created, end) for _ in changes)
            if this_week:
                times[-1] = _between(rng, max(SINCE, created), NOW)
            for (before, after), at in zip(changes, times, strict=True):
                event(at, "status", {"from": PIPELINE[before], "to": PIPELINE[after]})
                if main and removed is None and at >= SINCE:
                    seed.expected.partners_status += 1
            # Notes: warm partners are mostly in touch (a recent note); some went quiet.
            for _ in range(rng.choice((0, 1, 1, 2, 3, 3, 4, 6))):
                event(_between(rng, created, end), "note", {}, _text(rng, 8, 24))
            if status in WARM and removed is None and rng.random() < 0.6:
                event(_between(rng, stale_cut, NOW), "note", {}, _text(rng, 8, 24))
            if not is_new and rng.random() < 0.01 and removed is None:  # a card edited
                event(_between(rng, SINCE, NOW), "edited", {"changes": {"website": [None, "x"]}})
            interactions = [e["at"] for e in events if e["kind"] != "edited"]
            last = max(interactions)
            rows["partners"].append(
                {
                    "id": pid,
                    "group_id": group,
                    "name": name,
                    "name_key": squash(name),
                    "kind": rng.choice(KINDS),
                    "social_economy": rng.random() < 0.3,
                    "owner": rng.choice(people) if rng.random() < 0.7 else None,
                    "consortium_member": None,
                    "status": status,
                    "website": None,
                    "description": _text(rng) if rng.random() < 0.5 else None,
                    "created_at": created,
                    "updated_at": max(e["at"] for e in events),
                    "last_interaction_at": last,
                    "removed_at": removed,
                    "merged_into_id": None,
                }
            )
            rows["partner_history"] += events
            if main and removed is None:
                seed.expected.partners_new += is_new
                seed.expected.partners_stale += status in WARM and last < stale_cut

    # --- Follow-ups.

    def followups(self, group: str, count: int, done_this_week: int, main: bool) -> None:
        rng, seed, rows = self.rng, self.seed, self.seed.rows
        people = MEMBERS if group == GROUP else OTHERS
        rooms = (MAIN, BUREAU) if group == GROUP else (OTHER, OTHER)
        closed_count = count // 4
        week_done = set(rng.sample(range(closed_count), done_this_week))
        overdue: set[str] = set()
        for number in range(1, count + 1):
            fid = seed.next_id("followups")
            assignee = rng.choice(people)
            row: dict[str, Any] = {
                "id": fid,
                "group_id": group,
                "number": number,
                "text": _text(rng),
                "assignee": assignee,
                "creator": rng.choice(people),
                "room_id": rooms[0] if rng.random() < 0.85 else rooms[1],
                "partner_id": None,
                "origin": rng.choice(("command", "command", "command", "meeting", "automatic")),
                "reminders_sent": 0,
                "overdue_reminders": 0,
            }
            # Every fourth one is closed (done or cancelled).
            if number % 4 == 0:
                slot = number // 4 - 1
                if slot in week_done:
                    closed = _between(rng, SINCE, NOW)
                    status = "done"
                    if main:
                        seed.expected.followups_done += 1
                else:
                    closed = _between(rng, NOW - timedelta(days=900), SINCE - DAY)
                    status = "done" if rng.random() < 0.8 else "cancelled"
                created = closed - timedelta(days=rng.randint(1, 60), minutes=rng.randint(0, 900))
                row.update(
                    status=status,
                    due_at=closed + timedelta(days=rng.randint(-10, 10)),
                    next_reminder_at=None,
                    reminders_sent=rng.randint(0, 4),
                    closed_at=closed,
                )
            else:
                shape = rng.random()
                due: datetime | None
                if shape < 0.10:  # no due date
                    due, following = None, None
                elif shape < 0.22:  # late, by up to six months
                    due = _between(rng, NOW - timedelta(days=180), NOW)
                    following = NOW + timedelta(days=rng.choice((1, 2)))
                    overdue.add(assignee)
                else:  # due within a year: a thousand-odd this week
                    due = _between(rng, NOW, NOW + timedelta(days=365))
                    following = due - DAY
                    if main and due < NOW + WEEK:
                        seed.expected.followups_week += 1
                created = min(due or NOW, NOW) - timedelta(
                    days=rng.randint(1, 300), minutes=rng.randint(0, 900)
                )
                row.update(status="open", due_at=due, next_reminder_at=following, closed_at=None)
            row["created_at"] = created
            row["updated_at"] = row["closed_at"] or created
            rows["followups"].append(row)
        if main:
            seed.expected.followups_overdue = len(overdue)

    # --- Polls, decisions, proposals.

    def council(self, group: str) -> None:
        rng, seed, rows = self.rng, self.seed, self.seed.rows
        expected = seed.expected
        polls = 40
        for number in range(1, polls + 1):
            pid = seed.next_id("polls")
            question = _text(rng, 3, 8) + " ?"
            options = ["Oui", "Non"] if rng.random() < 0.6 else ["A", "B", "C"]
            created = NOW - timedelta(days=(polls - number) * 25 + rng.randint(1, 10))
            if number > polls - 3:  # open: the latest three
                status, closed_at, closes = "open", None, NOW + timedelta(days=rng.randint(2, 9))
                created = NOW - timedelta(days=rng.randint(1, 5))
                expected.polls_open += 1
            elif number > polls - 7:  # closed this week
                status, closes = "closed", None
                created = SINCE - timedelta(days=rng.randint(3, 10))
                closed_at = _between(rng, SINCE, NOW)
                expected.polls_closed += 1
            else:
                status, closes = "closed", None
                closed_at = created + timedelta(days=rng.randint(2, 14))
            rows["polls"].append(
                {
                    "id": pid,
                    "group_id": group,
                    "number": number,
                    "room_id": MAIN,
                    "question": question,
                    "options": options,
                    "creator": rng.choice(MODERATORS),
                    "voters": "members",
                    "voter_list": [],
                    "quorum": None,
                    "max_choices": 1,
                    "secret": False,
                    "partner_id": None,
                    "proposal_id": None,
                    "status": status,
                    "closes_at": closes,
                    "reminded_at": None,
                    "next_due_at": closes - DAY if closes else None,
                    "created_at": created,
                    "closed_at": closed_at,
                    "closed_by": rng.choice(MODERATORS) if closed_at else None,
                }
            )
            if closed_at is not None:  # each closed poll is a line of the decision log
                self._decision(group, closed_at, pid, options[0], "poll")
        for _ in range(20):  # recorded by hand, two of them this week
            at = NOW - timedelta(days=rng.randint(8, 900))
            self._decision(group, at, None, None, "manual")
        for _ in range(2):
            self._decision(group, _between(rng, SINCE, NOW), None, None, "manual")
        expected.decisions = sum(
            1
            for d in rows["decisions"]
            if d["group_id"] == group and SINCE <= d["decided_at"] < NOW
        )
        statuses = ["accepted"] * 14 + ["rejected"] * 8 + ["pending"] * 5 + ["polled", "postponed"]
        statuses += ["postponed"]
        for number, status in enumerate(statuses, start=1):
            created = NOW - timedelta(days=rng.randint(1, 600))
            decided = status in ("accepted", "rejected")
            rows["proposals"].append(
                {
                    "id": seed.next_id("proposals"),
                    "group_id": group,
                    "number": number,
                    "text": _text(rng, 5, 15),
                    "author": rng.choice(MEMBERS),
                    "origin": rng.choice(("command", "meeting")),
                    "status": status,
                    "note": None,
                    "poll_id": None,
                    "decision_id": None,
                    "created_at": created,
                    "decided_at": created + timedelta(days=5) if decided else None,
                    "decided_by": rng.choice(MODERATORS) if decided else None,
                }
            )
            expected.proposals += not decided

    def _decision(
        self, group: str, at: datetime, poll_id: int | None, outcome: str | None, source: str
    ) -> None:
        rows = self.seed.rows
        body = _text(self.rng, 4, 12)
        number = sum(1 for d in rows["decisions"] if d["group_id"] == group) + 1
        rows["decisions"].append(
            {
                "id": self.seed.next_id("decisions"),
                "group_id": group,
                "number": number,
                "text": body,
                "text_key": fold(body),
                "outcome": outcome,
                "source": source,
                "counts": {},
                "poll_id": poll_id,
                "room_id": MAIN,
                "event_id": None,
                "partner_id": None,
                "actor": self.rng.choice(MODERATORS),
                "decided_at": at,
            }
        )

    # --- Meetings.

    def meetings(self, group: str, count: int, main: bool) -> None:
        rng, seed, rows = self.rng, self.seed, self.seed.rows
        people = MEMBERS if group == GROUP else OTHERS
        rooms = (MAIN, BUREAU) if group == GROUP else (OTHER, OTHER)
        ended = count - 2
        starts = sorted(_between(rng, NOW - timedelta(days=1400), SINCE) for _ in range(ended))
        for number, started in enumerate(starts, start=1):
            mid = self._meeting(group, rooms[0] if rng.random() < 0.8 else rooms[1], "ended")
            row = rows["meetings"][-1]
            row.update(
                number=number,
                scheduled_at=started,
                started_at=started,
                started_by=rng.choice(people),
                ended_at=started + timedelta(minutes=rng.randint(40, 150)),
                ended_by=rng.choice(people),
                created_at=started - timedelta(days=rng.randint(3, 14)),
                updated_at=started + timedelta(hours=3),
                chairs=[rng.choice(people)],
            )
            for position in range(1, rng.randint(3, 8) + 1):
                self._agenda(mid, position, "taken" if rng.random() < 0.85 else "removed", row)
            topic: int | None = None
            for seq in range(1, rng.randint(10, 25) + 1):
                kind = "topic" if seq == 1 else rng.choice(ITEM_KINDS)
                iid = seed.next_id("meeting_items")
                action = kind == "action"
                rows["meeting_items"].append(
                    {
                        "id": iid,
                        "meeting_id": mid,
                        "seq": seq,
                        "kind": kind,
                        "topic_id": topic,
                        "text": _text(rng, 4, 18),
                        "author": rng.choice(people),
                        "at": started + timedelta(minutes=seq * 3),
                        "event_id": f"$item{iid}",
                        "assignee": rng.choice(people) if action else None,
                        "due_at": started + timedelta(days=14) if action else None,
                        "owner": None,
                        "url": None,
                        "ref_id": None,
                        "ref_number": None,
                        "agenda_item_id": None,
                    }
                )
                if kind == "topic":
                    topic = iid
            for user in rng.sample(people, min(len(people), rng.randint(4, 10))):
                rows["meeting_attendees"].append(
                    {
                        "id": seed.next_id("meeting_attendees"),
                        "meeting_id": mid,
                        "user_id": user,
                        "name": user.split(":")[0][1:],
                        "present": True,
                        "source": "spoke",
                        "at": started,
                    }
                )
        # The next meeting, with a date and its agenda; the committee's, not dated yet.
        nxt = self._meeting(group, rooms[0], "planned")
        rows["meetings"][-1].update(
            title="Réunion mensuelle",
            scheduled_at=NOW + timedelta(days=2, hours=10),
            reminder_at=NOW + timedelta(days=1, hours=10),
            next_due_at=NOW + timedelta(days=1, hours=10),
        )
        for position in range(1, 11):
            self._agenda(nxt, position, "open", rows["meetings"][-1])
        if main:
            seed.expected.agenda = 10
        undated = self._meeting(group, rooms[1], "planned")
        for position in range(1, 4):
            self._agenda(undated, position, "open", rows["meetings"][-1])

    def _meeting(self, group: str, room: str, status: str) -> int:
        mid = self.seed.next_id("meetings")
        self.seed.rows["meetings"].append(
            {
                "id": mid,
                "group_id": group,
                "number": None,
                "room_id": room,
                "title": None,
                "status": status,
                "scheduled_at": None,
                "scheduled_by": None,
                "rule": None,
                "rule_text": None,
                "series_start": None,
                "sequence": 0,
                "reminder_at": None,
                "next_due_at": None,
                "chairs": [],
                "current_topic_id": None,
                "started_at": None,
                "started_by": None,
                "ended_at": None,
                "ended_by": None,
                "created_by": self.rng.choice(MODERATORS),
                "created_at": NOW - timedelta(days=3),
                "updated_at": NOW - timedelta(days=3),
            }
        )
        return mid

    def _agenda(self, meeting_id: int, position: int, status: str, meeting: dict[str, Any]) -> None:
        self.seed.rows["meeting_agenda"].append(
            {
                "id": self.seed.next_id("meeting_agenda"),
                "meeting_id": meeting_id,
                "position": position,
                "text": _text(self.rng, 3, 10),
                "owner": None,
                "duration_minutes": None,
                "origin": "manual",
                "proposal_id": None,
                "from_meeting": None,
                "status": status,
                "added_by": meeting["created_by"],
                "created_at": meeting["created_at"],
            }
        )

    # --- Members, join requests, the digest's schedules.

    def members(self, group: str) -> None:
        rng, seed, rows = self.rng, self.seed, self.seed.rows
        for user in MEMBERS + MODERATORS:
            rows["members"].append(
                {
                    "group_id": group,
                    "user_id": user,
                    "role": int(Role.MODERATOR if user in MODERATORS else Role.MEMBER),
                    "display_name": None,
                    "created_at": NOW - timedelta(days=400),
                    "updated_at": NOW - timedelta(days=400),
                }
            )
        pending = 7
        for index in range(150 + pending):
            waiting = index >= 150
            created = (
                _between(rng, NOW - timedelta(days=6), NOW)
                if waiting
                else NOW - timedelta(days=rng.randint(8, 900))
            )
            status = (
                "pending" if waiting else rng.choice(("approved", "approved", "denied", "expired"))
            )
            rows["join_requests"].append(
                {
                    "id": seed.next_id("join_requests"),
                    "group_id": group,
                    "room_id": MAIN,
                    "user_id": f"@visitor{index:03d}:ailleurs.test",
                    "display_name": f"Visiteur {index}",
                    "reason": _text(rng, 4, 12) if rng.random() < 0.5 else None,
                    "source": rng.choice(("knock", "dm")),
                    "status": status,
                    "created_at": created,
                    "updated_at": created,
                    "notified_at": created + timedelta(minutes=1),
                    "expires_at": created + timedelta(days=14),
                    "decided_by": None if waiting else rng.choice(MODERATORS),
                    "decided_at": None if waiting else created + timedelta(days=1),
                    "note": None,
                }
            )
        seed.expected.requests = pending

    def schedules(self) -> None:
        for group, next_at in ((GROUP, NOW), (OTHER_GROUP, NOW + WEEK)):
            self.seed.rows["digest_schedules"].append(
                {
                    "group_id": group,
                    "weekday": 0,
                    "clock": "09:00",
                    "next_at": next_at,
                    "last_sent_at": next_at - WEEK,
                    "updated_at": NOW - timedelta(days=90),
                    "updated_by": None,
                }
            )


def generate(partners: int, followups: int, meetings: int) -> Seed:
    gen = Generator()
    gen.partners(GROUP, partners, new=60, week_changes=130, main=True)
    gen.partners(OTHER_GROUP, 500, new=5, week_changes=10, main=False)
    gen.followups(GROUP, followups, done_this_week=300, main=True)
    gen.followups(OTHER_GROUP, 5_000, done_this_week=20, main=False)
    gen.council(GROUP)
    gen.meetings(GROUP, meetings, main=True)
    gen.meetings(OTHER_GROUP, 20, main=False)
    gen.members(GROUP)
    gen.schedules()
    return gen.seed


TABLES: tuple[tuple[type[Base], str], ...] = (
    (Partner, "partners"),
    (PartnerEvent, "partner_history"),
    (Followup, "followups"),
    (Poll, "polls"),
    (Decision, "decisions"),
    (Proposal, "proposals"),
    (Meeting, "meetings"),
    (AgendaItem, "meeting_agenda"),
    (MeetingItem, "meeting_items"),
    (Attendee, "meeting_attendees"),
    (Member, "members"),
    (JoinRequest, "join_requests"),
    (DigestSchedule, "digest_schedules"),
)
SERIAL = (
    "partners",
    "partner_history",
    "followups",
    "polls",
    "decisions",
    "proposals",
    "meetings",
    "meeting_agenda",
    "meeting_items",
    "meeting_attendees",
    "join_requests",
)
CHUNK = 20_000


async def seed(db: Database, rows: dict[str, list[dict[str, Any]]], *, analyze: bool) -> None:
    """Bulk inserts: executemany in chunks on SQLite, COPY on PostgreSQL."""
    for model, key in TABLES:
        assert model.__tablename__ == key, (model, key)
    if db.is_sqlite:
        async with db.engine.begin() as conn:
            for model, key in TABLES:
                for start in range(0, len(rows[key]), CHUNK):
                    await conn.execute(insert(model), rows[key][start : start + CHUNK])
            if analyze:
                await conn.execute(text("ANALYZE"))
        # Fold the seed into the database file, as a running bot's checkpoints would have.
        await db.engine.dispose()
        path = make_url(db.url).database
        assert path is not None
        with sqlite3.connect(path) as file:
            file.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = cast(Any, raw).driver_connection
        for _, key in TABLES:
            if not rows[key]:
                continue
            columns = list(rows[key][0])
            records = [
                tuple(
                    json.dumps(value) if isinstance(value, dict | list) else value
                    for value in (r[c] for c in columns)
                )
                for r in rows[key]
            ]
            await driver.copy_records_to_table(key, records=records, columns=columns)
        for table in SERIAL:
            await driver.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        # What autovacuum would have done by the time the job runs.
        await driver.execute("VACUUM ANALYZE" if analyze else "VACUUM")


# --- Measures.


async def one_digest(bot: Bot) -> tuple[float, float, float, Digest, str]:
    """One digest as the job makes it, in a unit of work: build, then render the body.
    Build and render wall time and CPU time (ms), the digest and its plain text."""
    services = bot.services
    async with services.db.unit_of_work() as uow:
        ctx = await Places(services, uow, NOW).group(GROUP)
        assert ctx is not None
        cpu = time.process_time()
        start = time.perf_counter()
        digest = await build(ctx, SINCE, NOW)
        built = time.perf_counter()
        rendered = ctx.t("digest.body", **render_data(ctx, digest, moderator=False))
        done = time.perf_counter()
        cpu = time.process_time() - cpu
    return (built - start) * 1000, (done - built) * 1000, cpu * 1000, digest, rendered.plain


async def job_pass(bot: Bot) -> tuple[float, float, int]:
    """The digest job's pass as the scheduler runs it: its own unit of work, committed.
    Wall and CPU time (ms), and how many digests it sent."""
    services = bot.services
    cpu = time.process_time()
    start = time.perf_counter()
    async with services.db.unit_of_work() as uow:
        sent = await JOB.run_due(NOW, uow, Places(services, uow, NOW))
    return (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000, sent


async def reset(bot: Bot) -> None:
    """The group's digest due again, and what the last pass queued gone (its rows'
    transaction ids are derived from the slot: the same slot again would clash)."""
    async with bot.services.db.unit_of_work() as uow:
        await uow.session.execute(
            update(DigestSchedule).where(DigestSchedule.group_id == GROUP).values(next_at=NOW)
        )
        await uow.session.execute(delete(OutboxEvent).where(OutboxEvent.group_id == GROUP))


async def queued(bot: Bot) -> int:
    async with bot.services.db.unit_of_work() as uow:
        return int(await uow.session.scalar(select(func.count(OutboxEvent.id))) or 0)


@dataclass
class Statements:
    """The SQL statements of one build: how many times each ran, their time, and the
    parameters of its first run (for EXPLAIN)."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    params: dict[str, Any] = field(default_factory=dict)
    started: list[float] = field(default_factory=list)

    def before(self, *event: Any) -> None:
        self.started.append(time.perf_counter())

    def after(self, *event: Any) -> None:
        statement = str(event[2])
        self.times[statement].append((time.perf_counter() - self.started.pop()) * 1000)
        self.params.setdefault(statement, event[3])

    @property
    def total(self) -> int:
        return sum(len(t) for t in self.times.values())

    def report(self) -> str:
        lines = []
        ranked = sorted(self.times.items(), key=lambda kv: -sum(kv[1]))
        for statement, times in ranked:
            flat = " ".join(statement.split())
            lines.append(f"{sum(times):8.2f} ms {len(times):>3}×  {flat[:150]}")
        return "\n".join(lines)


async def statements_of_build(bot: Bot) -> Statements:
    engine = bot.services.db.engine.sync_engine
    seen = Statements()
    listen(engine, "before_cursor_execute", seen.before)
    listen(engine, "after_cursor_execute", seen.after)
    try:
        await one_digest(bot)
    finally:
        remove(engine, "before_cursor_execute", seen.before)
        remove(engine, "after_cursor_execute", seen.after)
    return seen


async def explain(bot: Bot, seen: Statements) -> str:
    """Each statement's plan, slowest first, with the parameters it ran with."""
    out = io.StringIO()
    sqlite = bot.services.db.is_sqlite
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
    ranked = sorted(seen.times.items(), key=lambda kv: -sum(kv[1]))
    async with bot.services.db.engine.connect() as conn:
        for statement, times in ranked:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            params = seen.params[statement]
            result = await conn.exec_driver_sql(prefix + statement, params)
            plan = [" | ".join(str(v) for v in row) if sqlite else str(row[0]) for row in result]
            flat = " ".join(statement.split())
            out.write(f"\n-- {sum(times):.2f} ms: {flat}\n-- {params}\n")
            out.write("\n".join(plan) + "\n")
    return out.getvalue()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


# backend, measure, value, target, ok
Row = tuple[str, str, str, str, str]


def _ok(good: bool) -> str:
    return "yes" if good else "NO"


def check(digest: Digest, plain: str, expected: Expected) -> None:
    """The digest says what was seeded (sanity first: a fast wrong digest is no use)."""
    sections = {**digest.sections, **digest.moderators}
    for name, total in expected.totals().items():
        assert sections[name].total == total, (name, sections[name].total, total)
    assert sections["moderators_requests"].total == expected.requests
    [meeting] = digest.sections["meeting"].lines
    assert len(meeting["agenda"]) == min(5, expected.agenda), meeting
    assert plain.startswith("📰 Résumé de la semaine, du lundi 23 novembre 2026"), plain[:120]
    for heading in ("Nouveaux partenaires", "Relances en retard", "Prochaine réunion"):
        assert heading in plain, heading


async def run_backend(name: str, url: str, args: argparse.Namespace) -> tuple[list[Row], bool]:
    started = time.perf_counter()
    data = generate(args.partners, args.followups, args.meetings)
    expected = data.expected
    print(
        f"{name}: generated {data.count()} in {time.perf_counter() - started:.1f} s; "
        f"expected {expected}",
        file=sys.stderr,
    )
    settings = Settings.model_validate(
        {
            "rooms": [
                RoomSettings(id=MAIN, locale="fr", timezone=TZ, group=GROUP),
                RoomSettings(id=BUREAU, locale="fr", timezone=TZ, group=GROUP),
                RoomSettings(id=OTHER, locale="en", timezone=TZ, group=OTHER_GROUP),
            ],
            "admins": [ADMIN],
            "database": {"url": url},
        }
    )
    bot = Bot(settings, clock=FakeClock(NOW))
    await bot.start()
    rows: list[Row] = []
    try:
        started = time.perf_counter()
        await seed(bot.services.db, data.rows, analyze=not args.no_analyze)
        print(f"{name}: seeded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        del data
        gc.collect()

        # Sanity first, then warm-up: caches, compiled statements, prepared statements.
        *_, digest, plain = await one_digest(bot)
        check(digest, plain, expected)
        for _ in range(3):
            await one_digest(bot)

        builds: list[float] = []
        renders: list[float] = []
        totals: list[float] = []
        cpus: list[float] = []
        for _ in range(args.runs):
            built, rendered, cpu, *_ = await one_digest(bot)
            builds.append(built)
            renders.append(rendered)
            totals.append(built + rendered)
            cpus.append(cpu)
        seen = await statements_of_build(bot)

        # The job's passes: the first warms up (and checks what a pass sends).
        passes: list[float] = []
        pass_cpus: list[float] = []
        messages = 0
        for index in range(args.passes + 1):
            await reset(bot)
            before = await queued(bot)
            wall, cpu, sent = await job_pass(bot)
            assert sent == 1, sent
            messages = await queued(bot) - before
            # The room's message, and the join requests to each moderator (and the admin).
            assert messages == 1 + len(MODERATORS) + 1, messages
            again, _, second = await job_pass(bot)
            assert second == 0, second
            if index:
                passes.append(wall)
                pass_cpus.append(cpu)
            print(
                f"{name}: pass {index}{' (warm-up)' if not index else ''}: {wall:.0f} ms "
                f"(cpu {cpu:.0f}), {messages} messages; second pass {again:.1f} ms",
                file=sys.stderr,
            )

        if args.profile:
            print(
                f"--- {name}: {seen.total} statements in one build, slowest first ---\n"
                f"{seen.report()}",
                file=sys.stderr,
            )
            profiler = cProfile.Profile()
            profiler.enable()
            await one_digest(bot)
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(35)
            stats.sort_stats("tottime").print_stats(20)
            print(f"--- {name}: profile of one build ---\n{out.getvalue()}", file=sys.stderr)
        if args.explain:
            print(f"--- {name}: plans ---{await explain(bot, seen)}", file=sys.stderr)

        total_p95 = p95(totals)
        pass_median = statistics.median(passes)
        rows.append(
            (
                name,
                f"one digest: build + render `digest.body`, p95 of {len(totals)}",
                f"{total_p95:.0f} ms (p50 {statistics.median(totals):.0f}, "
                f"max {max(totals):.0f}, cpu p50 {statistics.median(cpus):.0f})",
                f"≤ {TARGET_MS:.0f} ms",
                _ok(total_p95 <= TARGET_MS),
            )
        )
        rows.append(
            (
                name,
                "— of which `build` (p50 / p95)",
                f"{statistics.median(builds):.0f} / {p95(builds):.0f} ms",
                "—",
                "—",
            )
        )
        rows.append(
            (
                name,
                "— of which rendering (p50 / p95)",
                f"{statistics.median(renders):.1f} / {p95(renders):.1f} ms",
                "—",
                "—",
            )
        )
        rows.append((name, "SQL statements in one build", f"{seen.total}", "—", "—"))
        rows.append(
            (
                name,
                f"`DigestJob.run_due`, one group ({messages} messages), median of {len(passes)}",
                f"{pass_median:.0f} ms (min {min(passes):.0f}, max {max(passes):.0f}, "
                f"cpu {statistics.median(pass_cpus):.0f})",
                f"≤ {TARGET_MS:.0f} ms",
                _ok(pass_median <= TARGET_MS),
            )
        )
        return rows, total_p95 <= TARGET_MS and pass_median <= TARGET_MS
    finally:
        await bot.close()


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def table(rows: list[Row]) -> str:
    lines = ["| backend | measure | value | target | ok |", "|---|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed digests (build + render)")
    parser.add_argument("--passes", type=int, default=8, help="timed job passes")
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--followups", type=int, default=100_000)
    parser.add_argument("--meetings", type=int, default=500)
    parser.add_argument("--pg-url", default=os.environ.get("PASSERELLE_TEST_PG_URL"))
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="no ANALYZE after seeding (a bot's SQLite file never gets one)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="one build's statements and its cProfile"
    )
    parser.add_argument("--explain", action="store_true", help="the plan of each statement")
    args = parser.parse_args()

    # The period the bench reads is the job's: the week before Monday's 09:00 slot.
    assert last_slot(0, clock_time(9), TZ, at=NOW) == NOW
    assert week_before(NOW, TZ) == SINCE

    rows: list[Row] = []
    good = True
    backends = [] if args.no_sqlite else ["sqlite"]
    backends += ["postgresql"] if args.pg_url else []
    for backend in backends:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
                found, ok = await run_backend("sqlite", url, args)
        else:
            name = f"passerelle_bench_{uuid.uuid4().hex[:8]}"
            await _admin(args.pg_url, f'CREATE DATABASE "{name}"')
            url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
            try:
                found, ok = await run_backend("postgresql", url, args)
            finally:
                await _admin(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        rows += found
        good = good and ok
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\n{args.partners} partners, {args.followups} follow-ups and {args.meetings} meetings "
        f"in one group (and a smaller group beside it); "
        f"{'no ANALYZE' if args.no_analyze else 'ANALYZE'} after seeding; "
        f"{os.cpu_count()} CPUs, load average {load}\n"
    )
    print(table(rows))
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
