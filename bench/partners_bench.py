"""Partners at scale: find, list and show on 10,000 partners, 30,000 people, 100,000 notes.

Seeds a fresh database in bulk (SQLite always; PostgreSQL too when --pg-url or
PASSERELLE_TEST_PG_URL names a server: a throwaway database is created next to the
one named and dropped afterwards), then times each command through the real command
path, in process: parse, role check, handler, repository, rendering, outbox row and
commit (everything but the network). Prints p50/p95 per command and backend, against
the targets: find and the first page of list at most 20 ms at p95, show at most 10 ms.

    python bench/partners_bench.py [--runs 200] [--pg-url postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from bot.app import Bot
from bot.config import RoomSettings, Settings
from commands.kit.clock import FakeClock
from commands.kit.context import Context
from commands.kit.dispatch import dispatch
from storage.db import Database
from storage.models import (
    Partner,
    PartnerEvent,
    PartnerGram,
    PartnerKind,
    PartnerPerson,
    PartnerStatus,
    PartnerTag,
    PartnerTerm,
)
from storage.search import fold, squash, trigrams, words

ROOM = "!bench"
GROUP = ROOM  # a room not configured in a group is a group of its own
USER = "@bench:fablab.test"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
# command, backend, wall p50, wall p95, wall max, cpu p50, cpu p95 (ms)
Result = tuple[str, str, float, float, float, float, float]
TARGETS = {"find": 20.0, "list": 20.0, "list (filtered)": 20.0, "show": 10.0}


def _list(text: str, separator: str | None = None) -> list[str]:
    return [word.strip() for word in text.split(separator)]


SYLLABLES = _list(
    "ka ki ko da di do ta ti to le li lo ro ri mer lin bre iz gwen ar mor tap lab "
    "data sea vir tua lys kel ker pen lan plou gou tre loc bri zh an ou el en"
)
KINDS_OF = _list(
    "Atelier Fablab Association Coopérative Studio Lycée Menuiserie Garage Librairie "
    "Imprimerie Fondation Collectif Ressourcerie Boutique Chantier École Institut Agence"
)
REAL = ("KidiTap", "Leroy Merlin", "Conrad", "Virtualys", "OceanDataLab", "Chrysalide")
TAGS = _list(
    "outillage bois électronique jeux éducation impression-3d découpe-laser textile "
    "recyclage numérique robotique design architecture couture musique vidéo énergie "
    "mobilité santé alimentation agriculture mer navale tourisme culture sport "
    "formation insertion handicap jeunesse seniors artisanat métal verre céramique "
    "papier photo logiciel-libre données réseau"
)
VOCABULARY = _list(
    "atelier imprimante fablab partenariat réunion contact devis formation découpe laser "
    "projet association entreprise subvention matériel relance rendez-vous école étudiants "
    "hackathon openlab proposition convention stage innovation numérique chambre métiers "
    "artisan bois prototype machine fraiseuse thermoformeuse crowdfunding accueil salariés "
    "animation équipe showroom offre besoins ressources bénévoles mécénat sponsoring "
    "échange réciproque indépendance consortium copil calendrier septembre rentrée "
    "mail téléphone appel visite salon forum présentation budget facture commande "
    "livraison prêt don exposition démonstration ateliers enfants familles public "
    "quartier ville brest finistère bretagne réseau communauté documentation wiki"
)
FIRST = _list(
    "Anne Erwan Alice Stéphane Pauline Romain Benjamin Arthur Hélène William Vincent "
    "Christelle Ronan Gwenaëlle Yann Maël Nolwenn Loïc Soizic Tanguy Morgane Goulven"
)
LAST = _list(
    "Le Goff, Joud, Penors, Bréard, Pichon, Bouquet, Le Gall, Kerouac, Morvan, Tanguy, "
    "Le Bihan, Guivarch, Quéméner, Le Roux, Caradec, Abgrall, Cornec, Madec, Le Meur, Salaün",
    ",",
)
OWNERS = [f"@member{n}:fablab.test" for n in range(12)]
CONSORTIUM = ["MDL", "Petits Débrouillards", "Télécom Bretagne"]


@dataclass
class Seeded:
    names: list[str]
    tags: list[str]
    last_names: list[str]


def _name(rng: random.Random) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
    shape = rng.random()
    if shape < 0.4:
        return word
    if shape < 0.8:
        return f"{rng.choice(KINDS_OF)} {word}"
    return f"{word} {''.join(rng.choice(SYLLABLES) for _ in range(2)).capitalize()}"


def generate(partners: int, people: int, notes: int, seed: int = 7) -> dict[str, Any]:
    """Rows for every table, as plain dicts, all of the bench room's group, with the
    search tables computed as the repository computes them."""
    rng = random.Random(seed)
    names: list[str] = list(REAL)
    keys = {squash(n) for n in names}
    while len(names) < partners:
        candidate = _name(rng)
        if squash(candidate) not in keys:
            keys.add(squash(candidate))
            names.append(candidate)
    kinds = [k.value for k in PartnerKind]
    statuses = [s.value for s in PartnerStatus]
    rows: dict[str, list[dict[str, Any]]] = {
        "partners": [],
        "tags": [],
        "people": [],
        "events": [],
        "terms": [],
        "grams": [],
    }
    texts: dict[int, list[str]] = {}
    tag_labels: dict[int, list[str]] = {}
    last_interaction: dict[int, datetime] = {}
    created: dict[int, datetime] = {}
    for pid, name in enumerate(names, start=1):
        at = NOW - timedelta(days=rng.randint(30, 900))
        created[pid] = at
        last_interaction[pid] = at
        labels = rng.sample(TAGS, rng.randint(0, 3))
        tag_labels[pid] = labels
        description = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(0, 12))) or None
        texts[pid] = [description or ""]
        rows["partners"].append(
            {
                "id": pid,
                "group_id": GROUP,
                "name": name,
                "name_key": squash(name),
                "kind": rng.choice(kinds),
                "social_economy": rng.random() < 0.3,
                "owner": rng.choice(OWNERS) if rng.random() < 0.7 else None,
                "consortium_member": rng.choice(CONSORTIUM) if rng.random() < 0.3 else None,
                "status": rng.choice(statuses),
                "website": f"https://{squash(name).replace(' ', '')}.fr"
                if rng.random() < 0.5
                else None,
                "description": description,
                "created_at": at,
                "updated_at": at,
                "last_interaction_at": at,
                "removed_at": None,
                "merged_into_id": None,
            }
        )
        for label in labels:
            rows["tags"].append(
                {"group_id": GROUP, "partner_id": pid, "tag": fold(label), "label": label}
            )
        rows["events"].append(
            {
                "partner_id": pid,
                "at": at,
                "actor": rng.choice(OWNERS),
                "kind": "created",
                "text": None,
                "text_key": None,
                "detail": {"source": "command"},
            }
        )
    for _ in range(people):
        pid = rng.randint(1, len(names))
        person = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        role = rng.choice(("chargée de mission", "directeur", "gérant", "animatrice", None))
        texts[pid].append(f"{person} {role or ''}")
        rows["people"].append(
            {
                "partner_id": pid,
                "name": person,
                "name_key": squash(person),
                "role": role,
                "email": f"{fold(person).replace(' ', '.')}@example.org",
                "phone": "02 98 " + " ".join(f"{rng.randint(0, 99):02d}" for _ in range(3)),
                "notes": None,
                "created_at": created[pid],
                "updated_at": created[pid],
                "erased_at": None,
            }
        )
    for _ in range(notes):
        pid = rng.randint(1, len(names))
        body = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(8, 24)))
        if rng.random() < 0.2:
            body += f" avec {rng.choice(FIRST)} {rng.choice(LAST)}"
        at = created[pid] + timedelta(minutes=rng.randint(1, 60 * 24 * 700))
        at = min(at, NOW)
        last_interaction[pid] = max(last_interaction[pid], at)
        texts[pid].append(body)
        rows["events"].append(
            {
                "partner_id": pid,
                "at": at,
                "actor": rng.choice(OWNERS),
                "kind": "note",
                "text": body,
                "text_key": fold(body),
                "detail": {},
            }
        )
    for row in rows["partners"]:
        row["last_interaction_at"] = row["updated_at"] = last_interaction[row["id"]]
    for pid, name in enumerate(names, start=1):
        terms = set(words(name))
        grams = trigrams(name)
        for label in tag_labels[pid]:
            terms.update(words(label))
            grams |= trigrams(label)
        for body in texts[pid]:
            terms.update(words(body))
        rows["terms"] += [{"group_id": GROUP, "term": t, "partner_id": pid} for t in sorted(terms)]
        rows["grams"] += [{"group_id": GROUP, "gram": g, "partner_id": pid} for g in sorted(grams)]
    return {
        "rows": rows,
        "seeded": Seeded(names, TAGS, sorted({p["name"].split(" ", 1)[1] for p in rows["people"]})),
    }


TABLES = (
    (Partner, "partners"),
    (PartnerTag, "tags"),
    (PartnerPerson, "people"),
    (PartnerEvent, "events"),
    (PartnerTerm, "terms"),
    (PartnerGram, "grams"),
)


async def seed(db: Database, data: dict[str, Any]) -> None:
    rows = data["rows"]
    if db.is_sqlite:
        async with db.engine.begin() as conn:
            for model, key in TABLES:
                for start in range(0, len(rows[key]), 20_000):
                    await conn.execute(insert(model), rows[key][start : start + 20_000])
            await conn.execute(text("ANALYZE"))
        # Fold the seed into the database file, as a running bot's checkpoints would have.
        await db.engine.dispose()
        path = make_url(db.url).database
        assert path is not None
        with sqlite3.connect(path) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        for model, key in TABLES:
            columns = list(rows[key][0])
            records = [
                tuple(json.dumps(r[c]) if c == "detail" else r[c] for c in columns)
                for r in rows[key]
            ]
            await driver.copy_records_to_table(
                model.__tablename__, records=records, columns=columns
            )
        for table in ("partners", "partner_people", "partner_history"):
            await driver.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        # What autovacuum would have done by the time anyone searches.
        await driver.execute("VACUUM ANALYZE")


def typo(rng: random.Random, word: str) -> str:
    """One slip of the keyboard: a swapped, dropped or doubled letter."""
    letters = list(word)
    i = rng.randrange(1, max(2, len(letters) - 1))
    action = rng.choice(("swap", "drop", "double"))
    if action == "swap" and i + 1 < len(letters):
        letters[i], letters[i + 1] = letters[i + 1], letters[i]
    elif action == "drop":
        del letters[i]
    else:
        letters.insert(i, letters[i])
    return "".join(letters)


def scenarios(seeded: Seeded, rng: random.Random) -> dict[str, Callable[[], str]]:
    def quoted(name: str) -> str:
        return f'"{name}"'

    def find() -> str:
        choice = rng.randrange(7)
        name = rng.choice(seeded.names)
        if choice == 0:
            term = squash(name)[:4]  # a name's beginning
        elif choice == 1:
            term = name  # a whole name
        elif choice == 2:
            term = rng.choice(seeded.tags)  # a tag
        elif choice == 3:
            term = rng.choice(VOCABULARY)  # a word of the notes
        elif choice == 4:
            term = f"{rng.choice(VOCABULARY)[:5]} {rng.choice(VOCABULARY)[:4]}"  # two words
        elif choice == 5:
            term = typo(rng, name)  # a typo
        else:
            term = rng.choice(seeded.last_names)  # someone at a partner
        return f"!partenaire chercher {term}"

    def list_filtered() -> str:
        filters = (
            "statut=intéressé",
            "type=entreprise",
            f"etiquette={rng.choice(seeded.tags)}",
            "ess=oui statut=contacté",
            f"suivi={rng.choice(OWNERS)}",
            "entite=MDL",
        )
        return f"!partenaire liste {rng.choice(filters)}"

    return {
        "find": find,
        "list": lambda: "!partenaire liste",
        "list (filtered)": list_filtered,
        "show": lambda: f"!partenaire voir {quoted(rng.choice(seeded.names))}",
    }


async def measure(bot: Bot, body: str) -> float:
    """One command through the command path: its own transaction, committed (ms)."""
    return (await timed(bot, body))[0]


async def timed(bot: Bot, body: str) -> tuple[float, float]:
    """Wall and CPU time (ms) of one command; CPU is this process's (SQLite's included,
    a PostgreSQL server's not): on a shared machine it shows what others' load adds."""
    services = bot.services
    cpu = time.process_time()
    start = time.perf_counter()
    async with services.db.unit_of_work() as uow:
        # Where the command acts, found as the pipeline finds it (the room's group).
        place = await services.place(uow, ROOM, USER)
        ctx = Context.at(
            services,
            uow,
            place,
            services.clock.now(),
            sender=USER,
            event_id=f"$bench-{uuid.uuid4().hex}",
        )
        await dispatch(ctx, body, None)
    return (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000


async def check(bot: Bot, body: str) -> str:
    """What the command answered (the last message queued)."""
    await measure(bot, body)
    async with bot.services.db.unit_of_work() as uow:
        row = (
            await uow.session.execute(text("SELECT content FROM outbox ORDER BY id DESC"))
        ).first()
    assert row is not None
    content = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    return str(content["body"])


async def run_backend(name: str, url: str, data: dict[str, Any], runs: int) -> list[Result]:
    settings = Settings.model_validate(
        {
            "rooms": [RoomSettings(id=ROOM, locale="fr", timezone="Europe/Paris")],
            "database": {"url": url},
            "partners": {"consortium_members": CONSORTIUM},
        }
    )
    bot = Bot(settings, clock=FakeClock(NOW))
    await bot.start()
    try:
        started = time.perf_counter()
        await seed(bot.services.db, data)
        print(f"{name}: seeded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        seeded: Seeded = data["seeded"]
        # The generated rows (a million objects) are not the bot's: a collection walking
        # them would be a pause no running bot has. Drop them before measuring.
        data["rows"] = None
        gc.collect()
        # Sanity: the commands answer what they should on this data.
        assert (await check(bot, '!partenaire voir "KidiTap"')).startswith("KidiTap — ")
        assert "Leroy Merlin" in await check(bot, "!partenaire chercher leroy merlen")
        assert (await check(bot, "!partenaire liste")).startswith(
            f"Partenaires 1 à 20 sur {len(seeded.names)}"
        )
        rng = random.Random(11)
        commands = scenarios(seeded, rng)
        for make in commands.values():
            for _ in range(10):  # warm-up: caches, prepared statements
                await measure(bot, make())
        # Round robin, so that a burst of load from elsewhere hits every command alike.
        walls: dict[str, list[float]] = {c: [] for c in commands}
        cpus: dict[str, list[float]] = {c: [] for c in commands}
        for _ in range(runs):
            for command, make in commands.items():
                wall, cpu = await timed(bot, make())
                walls[command].append(wall)
                cpus[command].append(cpu)
        results = []
        for command in commands:
            wall_p50, wall_p95, worst = _percentiles(walls[command])
            cpu_p50, cpu_p95, _ = _percentiles(cpus[command])
            results.append((command, name, wall_p50, wall_p95, worst, cpu_p50, cpu_p95))
        return results
    finally:
        await bot.close()


async def pg_database(url: str) -> tuple[str, str]:
    import asyncpg  # type: ignore[import-untyped]

    parsed = make_url(url)
    name = f"passerelle_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return parsed.set(database=name).render_as_string(hide_password=False), name


async def pg_drop(url: str, name: str) -> None:
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
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _percentiles(times: list[float]) -> tuple[float, float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[max(0, round(0.95 * len(ordered)) - 1)], ordered[-1]


def table(results: list[Result]) -> str:
    lines = [
        f"{'command':<16} {'backend':<11} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
        f"{'target p95':>10}  {'ok':<3} {'cpu p50':>8} {'cpu p95':>8}",
        "-" * 86,
    ]
    for command, backend, p50, p95, worst, cpu50, cpu95 in results:
        target = TARGETS[command]
        ok = "yes" if p95 <= target else "NO"
        lines.append(
            f"{command:<16} {backend:<11} {p50:>7.2f} {p95:>7.2f} {worst:>7.2f} "
            f"{target:>7.0f} ms  {ok:<3} {cpu50:>8.2f} {cpu95:>8.2f}"
        )
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--people", type=int, default=30_000)
    parser.add_argument("--notes", type=int, default=100_000)
    parser.add_argument("--pg-url", default=os.environ.get("PASSERELLE_TEST_PG_URL"))
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()

    results: list[Result] = []
    backends = [] if args.no_sqlite else ["sqlite"]
    backends += ["postgresql"] if args.pg_url else []
    for backend in backends:
        # Generated again for each backend (the same rows: the generator is seeded), so
        # that nothing of it stays in memory while measuring.
        started = time.perf_counter()
        data = generate(args.partners, args.people, args.notes)
        rows = data["rows"]
        print(
            f"generated {len(rows['partners'])} partners, {len(rows['people'])} people, "
            f"{sum(1 for e in rows['events'] if e['kind'] == 'note')} notes, "
            f"{len(rows['terms'])} search terms, {len(rows['grams'])} trigrams "
            f"in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        del rows
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
                results += await run_backend("sqlite", url, data, args.runs)
        else:
            url, name = await pg_database(args.pg_url)
            try:
                results += await run_backend("postgresql", url, data, args.runs)
            finally:
                await pg_drop(args.pg_url, name)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\n{args.partners} partners, {args.people} people, {args.notes} notes; "
        f"{args.runs} runs per command, in process (parse, handler, SQL, rendering, commit); "
        f"{os.cpu_count()} CPUs, load average {load}\n"
    )
    print(table(results))
    return 0 if all(r[3] <= TARGETS[r[0]] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
