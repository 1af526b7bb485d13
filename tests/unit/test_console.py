"""`passerelle console` as a subprocess: the contract other tools rely on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


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
