"""`passerelle console` as a subprocess: the contract other tools rely on."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.console import ConsoleTransport
from commands.kit.transport import RoomAction


def console(
    tmp: Path, script: str, *args: str, db: str | None = None
) -> subprocess.CompletedProcess[str]:
    url = db or f"sqlite+aiosqlite:///{tmp / 'console.db'}"
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "console", "--db", url, *args],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp,
        check=False,
    )


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path


def test_help_in_french_then_english(tmp: Path) -> None:
    result = console(tmp, "!aide\n!settings locale=en\n!help\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Commandes à votre disposition\n")
    assert "Done: this room now speaks English, time zone Europe/Paris." in out
    assert "\nCommands you can use\n" in out
    assert "• !whoami: who I think you are, and your role" in out


def test_locale_option_and_as_directive(tmp: Path) -> None:
    script = "!whoami\n/as @bob:fablab.test\n!whoami\n!role @carol:fablab.test moderator\n"
    result = console(tmp, script, "--locale", "en", "--as", "@alice:fablab.test")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "You are @alice:fablab.test, admin (by configuration). "
        "This room speaks English, time zone Europe/Paris.",
        "You are @bob:fablab.test, member. This room speaks English, time zone Europe/Paris.",
        "This command needs the admin role.",
    ]


def test_state_persists_across_runs_on_the_same_db(tmp: Path) -> None:
    first = console(tmp, "!role @bob:x moderator\n!reglages fuseau=America/Montreal\n")
    assert first.returncode == 0, first.stderr
    assert "@bob:x est désormais modérateur (était membre)." in first.stdout
    second = console(tmp, "!role @bob:x\n/as @bob:x\n!reglages\n")
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [
        "@bob:x est modérateur.",
        "Ce salon parle français, fuseau horaire America/Montreal.",
    ]


def test_rooms_are_separate(tmp: Path) -> None:
    script = "!reglages langue=en\n/room autre\n!quisuisje\n/room console\n!whoami\n"
    result = console(tmp, script)
    lines = result.stdout.splitlines()
    assert lines[1].startswith("Vous êtes @you:console")
    assert lines[2].startswith("You are @you:console")


def test_time_directive_and_bad_directives(tmp: Path) -> None:
    script = "/time 2026-12-07 09:00\n/time 2026-12-01 09:00\n/time hier soir\n/nope\n!quisuisje\n"
    result = console(tmp, script, "--now", "2026-11-27T10:00")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Vous êtes @you:console")
    # Directive feedback speaks the room's language (French here).
    assert "est dans le passé ; l'horloge n'avance que vers le futur" in result.stderr
    assert "Directive inconnue : /nope" in result.stderr


def test_bad_config_stops_with_one_line_per_problem(tmp: Path) -> None:
    config = tmp / "bad.yaml"
    config.write_text("rooms:\n  - id: '!r'\n    timezone: Europe/Pariss\ncommand_prefix: ''\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console", "--config", str(config)],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert 'rooms[0].timezone: unknown time zone "Europe/Pariss"' in result.stderr
    assert "command_prefix:" in result.stderr
    assert "Traceback" not in result.stderr


def test_direct_messages_are_printed_with_their_room(tmp: Path) -> None:
    script = "!quisuisje\n/dm\n!quisuisje\n!groupe\n/room console\n!quisuisje\n"
    result = console(tmp, script)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Vous êtes @you:console")
    assert lines[1].startswith("[dm @you:console] Vous êtes @you:console")
    # Having spoken in the console's room, the user acts for its group in private.
    assert lines[2] == "[dm @you:console] Ici, vous agissez pour le groupe !console."
    assert lines[3].startswith("Vous êtes @you:console")


def test_knock_leave_and_react_reach_the_bot(tmp: Path) -> None:
    script = (
        "/react ✅\n!quisuisje\n/react ✅\n/knock @dan:fablab.test Bonjour, je viens du TyFab\n"
        "/knock dan\n/leave\n/react\n"
    )
    result = console(tmp, script)
    assert result.returncode == 0, result.stderr
    assert "Le bot n'a encore rien envoyé dans ce salon : rien à quoi réagir." in result.stderr
    assert "/knock attend un identifiant Matrix comme @alice:example.org, pas « dan »." in (
        result.stderr
    )
    assert "Utilisation : /react ✅" in result.stderr
    assert "Traceback" not in result.stderr
    with sqlite3.connect(tmp / "console.db") as db:
        members = dict(
            db.execute("SELECT user_id, membership FROM room_members WHERE room_id = '!console'")
        )
        kinds = [
            row[0]
            for row in db.execute(
                "SELECT event_type FROM inbox WHERE event_type != 'm.room.message' ORDER BY id"
            )
        ]
        knock = db.execute(
            "SELECT sender, state_key, content FROM inbox WHERE event_type = 'm.room.member' "
            "ORDER BY id LIMIT 1"
        ).fetchone()
    assert members == {"@you:console": "leave", "@dan:fablab.test": "knock"}
    assert kinds == ["m.reaction", "m.room.member", "m.room.member"]
    assert knock[:2] == ("@dan:fablab.test", "@dan:fablab.test")
    assert json.loads(knock[2]) == {"membership": "knock", "reason": "Bonjour, je viens du TyFab"}


def test_bad_directive_arguments_get_their_own_answer(tmp: Path) -> None:
    result = console(tmp, "/as @root\n/room deux mots\n!quisuisje\n", "--locale", "en")
    assert result.returncode == 0, result.stderr
    assert "/as needs a Matrix user id like @alice:example.org, not “@root”." in result.stderr
    assert "/room needs a room name without spaces" in result.stderr
    assert "Unknown directive" not in result.stderr
    assert result.stdout.startswith("You are @you:console")


async def test_messages_to_other_rooms_name_them() -> None:
    out, err = io.StringIO(), io.StringIO()
    transport = ConsoleTransport(out, err, Path("unused"))
    transport.current_room = "!console"
    await transport.send("!console", "m.room.message", {"body": "ici"}, "t1")
    await transport.send("!moderation", "m.room.message", {"body": "là-bas"}, "t2")
    await transport.send("!dm:@bob:x", "m.room.message", {"body": "en privé"}, "t3")
    assert out.getvalue().splitlines() == ["ici", "[moderation] là-bas", "[dm @bob:x] en privé"]
    await transport.act(RoomAction(kind="invite", room_id="!console", txn_id="t4", user_id="@d:x"))
    assert err.getvalue() == "* invite @d:x\n"
