"""A meeting through `passerelle console`: scheduled, reminded the day before (`/time`),
held, and its minutes saved as files the console prints the paths of."""

from __future__ import annotations

from pathlib import Path

from tests.console.test_console import console


def test_a_meeting_from_its_schedule_to_its_minutes_files(tmp_path: Path) -> None:
    script = "\n".join(
        [
            '!réunion planifier "mardi 18h" Groupe partenariats',
            "!odj ajouter Légitimité, statut et objet du groupe",
            "/time 2026-11-30 09:00",  # the reminder, the day before
            "/time 2026-12-01 18:00",
            "!réunion commencer",
            "!présents Erwan, Stéphane et Christelle Bouquet",
            "!sujet suivant",
            "!info Ce groupe de travail a été validé par le COPIL des Fabriques du 27/05.",
            "!accord Le principe est validé par le COPIL.",
            "/as @erwan:fablab.test",
            "!copil Créer une liste de mailing pour le groupe de travail",
            "/as @alice:fablab.test",
            "!réunion fin",
            "!odj",
            "",
        ]
    )
    result = console(tmp_path, script, "--now", "2026-11-27T10:00", "--as", "@alice:fablab.test")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "📅 Prochaine réunion : mardi 1 décembre 2026 à 18:00 — Groupe partenariats." in out
    assert "📅 Rappel : réunion mardi 1 décembre 2026 à 18:00 — Groupe partenariats." in out
    assert "🟢 Réunion n° 1 ouverte : Groupe partenariats" in out
    assert "✅ Décidé, décision n° 1 au registre : Le principe est validé par le COPIL." in out
    assert "🔴 Réunion n° 1 terminée (Groupe partenariats) : mardi 1 décembre 2026" in out
    saved = [
        Path(line.strip())
        for line in out.splitlines()
        if line.startswith("/")
        and line.strip().endswith(("compte-rendu-1.md", "compte-rendu-1.html", ".ics"))
    ]
    assert [p.suffix for p in saved] == [".ics", ".md", ".html"]
    minutes = saved[1].read_text(encoding="utf-8")
    assert minutes.startswith(
        "# Compte rendu de la réunion du 01/12/2026 : Groupe partenariats\n\n"
        "Réunion n° 1, mardi 1 décembre 2026, de 18:00 à 18:00.\n"
    )
    # Erwan, named before he spoke, is one person.
    assert "**Présents :** alice, Erwan, Stéphane et Christelle Bouquet." in minutes
    assert "## Légitimité, statut et objet du groupe" in minutes
    assert "## Décisions soumises au COPIL\n\n- Créer une liste de mailing" in minutes
    # The next agenda has the proposal, still waiting for the COPIL.
    assert "1. Proposition n° 1 au COPIL : Créer une liste de mailing" in out
