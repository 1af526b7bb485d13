"""A follow-up's whole chase through `passerelle console`: --now, /time, /react."""

from __future__ import annotations

from pathlib import Path

from tests.console.test_console import console


def test_a_follow_up_chased_then_closed_with_a_reaction(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "/as @alice:fablab.test",
            '!relance @bob:fablab.test Rappeler KidiTap echeance="mardi 14h"',
            "/time 2026-11-30 08:00",  # nothing yet
            "!quisuisje",
            "/time 2026-12-03 12:00",  # the day before, the day itself, late once
            "/as @bob:fablab.test",
            "/react ✅",
            "/time 2026-12-20 12:00",  # done: nothing more
            "!relances toutes",
            "",
        ]
    )
    result = console(tmp_path, script, "--now", "2026-11-27T10:00", "--as", "@alice:fablab.test")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Relance n° 1 pour @bob:fablab.test : Rappeler KidiTap." in out
    assert "Échéance mardi 1 décembre 2026 à 14:00" in out
    reminders = [line for line in out.splitlines() if line.startswith("🔔")]
    assert reminders == ["🔔 @bob:fablab.test, une relance vous attend :"] * 3
    assert out.index("Vous êtes @alice") < out.index("🔔")  # none before Monday 09:00
    assert "en retard de 1 jour(s)" in out
    assert "✅ n° 1 (Rappeler KidiTap) marquée(s) faite(s) par @bob:fablab.test. Merci !" in out
    assert out.rstrip().endswith("Aucune.")
