"""Erasing a person among 20,000 stored messages: person-data, the forget-person preview
and its confirmation, when a handful of the messages name the person.

Seeds a fresh database in bulk (SQLite always; PostgreSQL too when --pg-url or
PASSERELLE_TEST_PG_URL names a server: a throwaway database is created next to it and
dropped afterwards): a contact book (1,000 partners, 3,000 people, 10,000 notes) and
10,000 received plus 10,000 sent messages (plain and HTML bodies), of which a handful
name Zoé O'Brien, by name, e-mail or phone. Then, for each run, puts her back (her
record, a few notes and messages) and times each step through the real command path,
in process: parse, role check, handler, SQL, rendering, outbox row and commit (and,
apart, SQLite's checkpoint after the erasure). For comparison, "read every message"
times what the database's prefilter saves: every message of the group loaded and read
by the matcher, as the erasure did before.

    python bench/erasure_bench.py [--runs 5] [--messages 20000] [--pg-url postgresql+asyncpg://...]

Prints a Markdown table; the target is the erasure (preview and confirmation) in well
under a second on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Text, cast, insert, or_, select, text
from sqlalchemy.engine import make_url

from bench.partners_bench import FIRST, LAST, TABLES, VOCABULARY, generate, pg_database, pg_drop
from bot.app import Bot
from bot.config import RoomSettings, Settings
from commands.kit.clock import FakeClock
from commands.kit.context import Context
from commands.kit.dispatch import dispatch
from storage.db import Database
from storage.models import InboxEvent, InboxStatus, OutboxEvent, OutboxStatus, Partner
from storage.personal import PersonMatcher
from storage.repos.partners import PartnerRepository

ROOM = "!bench"
GROUP = ROOM
USER = "@bench:fablab.test"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ZOE, EMAIL, PHONE = "Zoé O'Brien", "zoe.obrien@kiditap.fr", "06 12 34 56 78"
TARGET_MS = 1000.0  # "well under a second" for the preview and the confirmation


def messages(count: int, rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Half received (commands, chat), half sent (notices with an HTML body); none names
    Zoé O'Brien, some come close (Zoé alone, O'Brien alone, other people, numbers)."""
    inbox: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    for number in range(count):
        words = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(6, 30)))
        someone = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        extra = rng.choice(
            (
                "",
                f" avec {someone}",
                " voir Zoé demain",
                " O'Brien Conseil",
                f" tel 02 98 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
                f" {someone.lower().replace(' ', '.')}@example.org",
            )
        )
        at = NOW - timedelta(minutes=count - number)
        if number % 2 == 0:
            inbox.append(
                {
                    "event_id": f"$seed{number}",
                    "room_id": ROOM,
                    "sender": f"@member{rng.randint(0, 11)}:fablab.test",
                    "event_type": "m.room.message",
                    "content": {"msgtype": "m.text", "body": f"!partenaire note X {words}{extra}"},
                    "origin_ts": at,
                    "received_at": at,
                    "status": InboxStatus.DONE,
                    "processed_at": at,
                    "group_id": GROUP,
                }
            )
        else:
            body = f"Noté pour X : {words}{extra}"
            html = body.replace("'", "&#39;")
            outbox.append(
                {
                    "txn_id": f"pas-seed-{number}",
                    "action": "message",
                    "room_id": ROOM,
                    "event_type": "m.room.message",
                    "content": {
                        "msgtype": "m.notice",
                        "body": body,
                        "format": "org.matrix.custom.html",
                        "formatted_body": f"<p>{html}</p>",
                    },
                    "group_id": GROUP,
                    "status": OutboxStatus.SENT,
                    "attempts": 1,
                    "created_at": at,
                    "next_attempt_at": at,
                    "sent_at": at,
                    "event_id": f"$out{number}",
                }
            )
    return inbox, outbox


async def seed(db: Database, partners: dict[str, Any], count: int) -> None:
    inbox, outbox = messages(count, random.Random(5))
    rows = partners["rows"]
    async with db.engine.begin() as conn:
        for model, key in TABLES:
            for start in range(0, len(rows[key]), 5_000):
                await conn.execute(insert(model), rows[key][start : start + 5_000])
        for model, batch in ((InboxEvent, inbox), (OutboxEvent, outbox)):
            for start in range(0, len(batch), 2_000):
                await conn.execute(insert(model), batch[start : start + 2_000])
        if db.is_sqlite:
            await conn.execute(text("ANALYZE"))
    if db.is_sqlite:
        await checkpoint(db)
    else:
        for table in ("partners", "partner_people", "partner_history", "inbox", "outbox"):
            async with db.engine.begin() as conn:
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        async with db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute("VACUUM ANALYZE")


async def checkpoint(db: Database) -> None:
    """SQLite's checkpoint after an erasure (what the pipeline has the database do)."""
    path = make_url(db.url).database
    assert path is not None

    def run() -> None:
        with sqlite3.connect(path) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    await asyncio.to_thread(run)


async def zoe(bot: Bot, run: int) -> None:
    """Zoé O'Brien at KidiTap, in a few notes and a handful of messages."""
    now = NOW + timedelta(minutes=run)
    async with bot.services.db.unit_of_work() as uow:
        repo = uow.repo(PartnerRepository, GROUP)
        kiditap = await repo.by_key("kiditap")
        assert kiditap is not None
        await repo.add_person(kiditap, name=ZOE, email=EMAIL, phone=PHONE, actor=USER, now=now)
        for text_ in (f"Appel avec {ZOE}", f"Écrire à {EMAIL}", f"Rappeler au {PHONE}"):
            await repo.add_note(kiditap, text_, actor=USER, now=now)
        for index, body in enumerate(
            (
                f'!partenaire personne ajouter KidiTap "{ZOE}" email={EMAIL}',
                f"!partenaire note KidiTap Appel avec {ZOE}",
                f"On a vu ZOÉ O’BRIEN hier, son numéro : {PHONE}",
            )
        ):
            await uow.inbox.add(
                event_id=f"$zoe{run}-{index}",
                room_id=ROOM,
                sender=USER,
                event_type="m.room.message",
                content={"msgtype": "m.text", "body": body},
                origin_ts=now,
                now=now,
            )
        await uow.inbox.add(
            event_id=f"$zoe{run}-edit",
            room_id=ROOM,
            sender=USER,
            event_type="m.room.message",
            content={
                "msgtype": "m.text",
                "body": "* corrigé",
                "m.new_content": {"msgtype": "m.text", "body": f"Corrigé : {EMAIL}"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": f"$zoe{run}-1"},
            },
            origin_ts=now,
            now=now,
        )
        for body in (f"Ajouté chez KidiTap : {ZOE}", f"Note : appel avec {ZOE} ({PHONE})"):
            await uow.outbox.add(
                room_id=ROOM,
                event_type="m.room.message",
                content={
                    "msgtype": "m.notice",
                    "body": body,
                    "format": "org.matrix.custom.html",
                    "formatted_body": f"<p>{body.replace(chr(39), '&#39;')}</p>",
                },
                now=now,
                group=GROUP,
            )
        # Handled: these are not commands waiting to run.
        await uow.session.execute(
            InboxEvent.__table__.update()
            .where(InboxEvent.event_id.like(f"$zoe{run}-%"))
            .values(status=InboxStatus.DONE, group_id=GROUP)
        )


async def command(bot: Bot, body: str) -> tuple[float, str]:
    """One command through the command path, committed: (ms, the answer's body)."""
    services = bot.services
    start = time.perf_counter()
    async with services.db.unit_of_work() as uow:
        place = await services.place(uow, ROOM, USER)
        ctx = Context.at(
            services, uow, place, services.clock.now(), sender=USER, event_id=f"${uuid.uuid4()}"
        )
        await dispatch(ctx, body, None)
    elapsed = (time.perf_counter() - start) * 1000
    async with services.db.unit_of_work() as uow:
        row = await uow.session.scalar(select(OutboxEvent).order_by(OutboxEvent.id.desc()))
    assert row is not None
    return elapsed, str(row.content.get("body", ""))


async def read_everything(bot: Bot) -> float:
    """Every message of the group loaded and read by the matcher: what the prefilter
    saves (and about what the erasure cost before, rewrites aside)."""
    matcher = PersonMatcher(names=[ZOE], emails=[EMAIL], phones=[PHONE])
    start = time.perf_counter()
    async with bot.services.db.unit_of_work() as uow:
        for model in (InboxEvent, OutboxEvent):
            rows = await uow.session.scalars(
                select(model).where(or_(model.group_id == GROUP, model.room_id == ROOM))
            )
            found = [r for r in rows if matcher.mentions_json(r.content)]
            assert found
    return (time.perf_counter() - start) * 1000


async def candidates(bot: Bot) -> int:
    """How many messages the database hands to the matcher (the prefilter's catch)."""
    patterns = PersonMatcher(names=[ZOE], emails=[EMAIL], phones=[PHONE]).like_patterns()
    total = 0
    async with bot.services.db.unit_of_work() as uow:
        for model in (InboxEvent, OutboxEvent):
            text_ = cast(model.content, Text)
            total += len(
                (
                    await uow.session.scalars(
                        select(model.id).where(or_(*(text_.ilike(p) for p in patterns)))
                    )
                ).all()
            )
    return total


Step = Callable[[Bot, int], Awaitable[float]]


async def run_backend(name: str, url: str, args: argparse.Namespace) -> list[list[str]]:
    settings = Settings.model_validate(
        {
            "admins": [USER],
            "rooms": [RoomSettings(id=ROOM, locale="fr", timezone="Europe/Paris")],
            "database": {"url": url},
        }
    )
    bot = Bot(settings, clock=FakeClock(NOW))
    await bot.start()
    try:
        started = time.perf_counter()
        partners = generate(args.partners, args.partners * 3, args.partners * 10)
        await seed(bot.services.db, partners, args.messages)
        print(f"{name}: seeded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        timings: dict[str, list[float]] = {
            "person-data": [],
            "forget-person (preview)": [],
            "forget-person confirm": [],
            "checkpoint (SQLite)": [],
            "read every message (no prefilter)": [],
        }
        caught = 0
        for run in range(args.runs):
            await zoe(bot, run)
            caught = await candidates(bot)
            wall, answer = await command(bot, f"!donnees-personne {ZOE}")
            assert answer.startswith(f"Ce que je garde sur « {ZOE} »"), answer
            timings["person-data"].append(wall)
            timings["read every message (no prefilter)"].append(await read_everything(bot))
            wall, answer = await command(bot, f"!oublier-personne {ZOE}")
            assert answer.startswith("Effacer « Z. O. »"), answer
            timings["forget-person (preview)"].append(wall)
            wall, answer = await command(bot, "!oublier-personne confirmer")
            assert answer.startswith("Effacé : 1 fiche(s) de personne (KidiTap)"), answer
            assert "Mes copies de 7 message(s)" in answer, answer
            timings["forget-person confirm"].append(wall)
            if bot.services.db.is_sqlite:
                start = time.perf_counter()
                await checkpoint(bot.services.db)
                timings["checkpoint (SQLite)"].append((time.perf_counter() - start) * 1000)
            bot.services.checkpoint_wanted = False
        async with bot.services.db.unit_of_work() as uow:
            kept = await uow.session.scalar(select(Partner.id).limit(1))
            assert kept is not None
        rows = []
        for step, values in timings.items():
            if not values:
                continue
            target = TARGET_MS if step.startswith("forget") else None
            p50 = statistics.median(values)
            rows.append(
                [
                    step,
                    name,
                    f"{p50:.0f}",
                    f"{max(values):.0f}",
                    f"{target:.0f}" if target else "",
                    ("yes" if max(values) < target else "NO") if target else "",
                ]
            )
        rows.append(["messages handed to the matcher", name, str(caught), "", "", ""])
        return rows
    finally:
        await bot.close()


def markdown(rows: list[list[str]]) -> str:
    header = ["step", "backend", "p50 ms", "max ms", "target ms", "ok"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--partners", type=int, default=1_000)
    parser.add_argument("--pg-url", default=os.environ.get("PASSERELLE_TEST_PG_URL"))
    args = parser.parse_args()
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        rows += await run_backend("sqlite", url, args)
    if args.pg_url:
        url, name = await pg_database(args.pg_url)
        try:
            rows += await run_backend("postgresql", url, args)
        finally:
            await pg_drop(args.pg_url, name)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\n{args.messages} stored messages (half received, half sent), {args.partners} "
        f"partners, {args.partners * 3} people, {args.partners * 10} notes; 8 messages and "
        f"3 notes name the person; {args.runs} runs, in process; {os.cpu_count()} CPUs, "
        f"load average {load}\n"
    )
    print(markdown(rows))
    return 0 if all(r[5] != "NO" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
