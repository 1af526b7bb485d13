"""Meetings, typed as the group would type them: agendas before, minutes during,
follow-through after.

The room speaks French, in Europe/Paris; OTHER is another group's room, in English. The
clock starts on Friday 27 November 2026 at 10:00 in Paris. ALICE is an administrator by
configuration (she chairs), ERWAN and PAULINE members with accounts, DAVE a moderator.
The seed's minutes (shared/seed/) are re-enacted: the working group on partnerships,
its topics, the people present (most without a chat account), two decisions, three
actions, the decisions submitted to the COPIL and one topic postponed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from bot.cli import OWN_LOGGERS
from bot.config import RoomSettings, Settings
from commands.kit.clock import FakeClock
from commands.kit.context import content_size
from storage.models import (
    Attendee,
    Decision,
    Followup,
    LogLine,
    Meeting,
    MeetingItem,
    Proposal,
    Role,
)
from storage.repos.core import MemberRepository
from tests.botkit import ALICE, GROUP, ROOM, Sent, TestBot
from tests.conftest import START

PARIS = ZoneInfo("Europe/Paris")
ERWAN = "@erwan:fablab.test"
PAULINE = "@pauline:fablab.test"
DAVE = "@dave:fablab.test"
OTHER = "!autre-groupe"

SEED_AGENDA = [
    "Légitimité, statut et objet du groupe",
    "Quelle est notre éthique commune ?",
    "Les Fabriques sont-elles capables d'accueillir des partenaires ?",
    "Qu'avons-nous à offrir ? Bénévoles, salariés, autres ?",
    "Quelles procédures collectives pour prendre contact avec les partenaires ?",
    "Répartition des ressources issues des partenariats entre les entités du consortium",
    "Calendrier des partenariats à la rentrée",
]
NO_ACCOUNT = "Stéphane, Romain, Benjamin, Arthur, Hélène, William et Vincent"


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).astimezone(UTC)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings.model_validate(
        {
            "admins": [ALICE],
            "rooms": [
                RoomSettings(id=ROOM, locale="fr", timezone="Europe/Paris"),
                RoomSettings(id=OTHER, locale="en", timezone="Europe/Paris"),
            ],
            "database": {"url": db_url},
        }
    )


@pytest.fixture
async def group(bot: TestBot) -> TestBot:
    """The bot, with Dave a moderator and the members' display names known."""
    async with bot.services.db.unit_of_work() as uow:
        await uow.repo(MemberRepository, GROUP).set_role(DAVE, Role.MODERATOR, now=bot.clock.now())
    for user, name in (
        (ALICE, "Alice Penors"),
        (ERWAN, "Erwan Joud"),
        (PAULINE, "Pauline Le Goff"),
    ):
        content = {"membership": "join", "displayname": name}
        await bot.deliver(bot.raw("m.room.member", content, sender=user, state_key=user))
    return bot


async def rows(bot: TestBot, model: type, *where: object) -> list:  # type: ignore[type-arg]
    async with bot.services.db.unit_of_work() as uow:
        found = await uow.session.scalars(select(model).where(*where).order_by(model.id))
        return list(found)


async def count(bot: TestBot, model: type) -> int:  # type: ignore[type-arg]
    async with bot.services.db.unit_of_work() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


def mine(sent: list[Sent]) -> list[Sent]:
    """What the meetings' job sent (other domains' jobs run on the same clock)."""
    return [s for s in sent if s.body.startswith("📅") or "n'a pas eu lieu" in s.body]


def files(sent: list[Sent]) -> dict[str, str]:
    """The files among what the bot sent, by name."""
    return {s.attachment.name: s.attachment.data.decode() for s in sent if s.attachment}


# --- The seed's meeting, from the agenda to the next one.


async def test_the_seed_meeting_from_agenda_to_minutes_to_the_next_agenda(group: TestBot) -> None:
    bot = group
    # Before: a proposal already waits for the COPIL; the meeting is scheduled, its agenda
    # built point by point.
    await bot.say("!proposer Créer une liste de mailing pour le groupe de travail", sender=ERWAN)
    sent = await bot.say(
        '!réunion planifier "samedi 5 décembre 14h" Groupe de travail sur les partenariats'
    )
    assert sent[0].body.startswith(
        "📅 Prochaine réunion : samedi 5 décembre 2026 à 14:00 — "
        "Groupe de travail sur les partenariats."
    )
    assert "Proposition n° 1 au COPIL : Créer une liste de mailing" in sent[0].body
    assert "Point sur les relances" not in sent[0].body  # none open yet
    assert "L'ordre du jour sera rappelé le 04/12/2026 09:00." in sent[0].body
    assert sent[1].content["msgtype"] == "m.file"
    assert sent[1].content["filename"] == "reunion-2026-12-05.ics"
    for point in SEED_AGENDA:
        await bot.say(f"!odj ajouter {point}")
    moved = await bot.ask("!odj deplacer 1 8")  # the proposal after the points
    assert moved.startswith("Point déplacé en position 8.")
    agenda = await bot.ask("!odj")
    assert agenda.index("1. Légitimité") < agenda.index("8. Proposition n° 1 au COPIL")

    # The day before at 09:00, the agenda comes as a reminder.
    [reminder] = mine(await bot.travel(paris("2026-12-04 09:00")))
    assert reminder.body.startswith(
        "📅 Rappel : réunion samedi 5 décembre 2026 à 14:00 — "
        "Groupe de travail sur les partenariats."
    )
    assert "1. Légitimité, statut et objet du groupe" in reminder.body

    # The meeting.
    await bot.travel(paris("2026-12-05 14:00"))
    opened = await bot.ask("!réunion commencer")
    assert opened.startswith("🟢 Réunion n° 1 ouverte : Groupe de travail sur les partenariats")
    await bot.say(f"!président {ERWAN}")
    presence = await bot.ask(f"!présents {NO_ACCOUNT}")
    assert "Présent·es (9) : Alice Penors, Erwan Joud, Stéphane, Romain" in presence
    await bot.say("!absent Christelle Bouquet")
    await bot.say("!info Pas d'internet aujourd'hui : une clé 4G nous dépanne.", sender=PAULINE)

    assert (await bot.ask("!sujet suivant")).startswith(
        "📌 Sujet 1 : Légitimité, statut et objet du groupe"
    )
    await bot.say("!info Ce groupe de travail a été validé par le COPIL des Fabriques du 27/05.")
    await bot.say(
        "!info Les partenaires structurels du projet FDP sont exclus du groupe de travail "
        "(collectivités)"
    )
    agreed = await bot.ask("!accord Le principe est validé par le COPIL.")
    assert agreed == "✅ Décidé, décision n° 1 au registre : Le principe est validé par le COPIL."

    await bot.say("!sujet suivant")
    await bot.say(
        "!info Rester indépendants par rapport à nos partenaires : pas d'exclusivité, "
        "un échange réciproque."
    )
    await bot.say(
        "!idée Créer une entité capable de dépasser les limites du consortium : "
        "association, coopérative ou réseau de membres pro"
    )

    await bot.say("!sujet suivant", sender=ERWAN)
    await bot.say("!info Incontournable : avoir une connexion internet en permanence.")
    await bot.say(
        "!info Il faudrait un lieu « *au standing professionnel avec un esprit geek* »",
        sender=PAULINE,
    )
    copil = await bot.ask(
        "!copil Revoir les conditions d'accès à internet pour éviter les coupures", sender=PAULINE
    )
    assert copil.startswith("📨 Soumis au COPIL, proposition n° 2 : Revoir les conditions")
    await bot.say(
        "!copil Mettre la qualité de l'accueil comme atelier à la prochaine Fabrique des "
        "Fabriques (22/08)"
    )
    await bot.say(
        "!accord À ce jour, les Fabriques ne sont pas en capacité d'accueillir des partenaires "
        "dans les meilleures conditions."
    )
    action = await bot.ask(
        f"!action {PAULINE} Proposer une solution Wifi/4G pour les coupures "
        'echeance="lundi 14 décembre"'
    )
    assert action.startswith(
        "🎯 Action : Proposer une solution Wifi/4G pour les coupures — relance n° 1 pour "
        f"{PAULINE}, échéance lundi 14 décembre 2026 à 09:00."
    )

    await bot.say("!sujet suivant")
    await bot.say(
        "!copil Le groupe de travail doit participer à la rédaction du cahier des charges "
        "demandé par BMO"
    )
    await bot.say(
        "!action moi Faire profiter le groupe de ma veille économique sur le bassin brestois "
        'echeance="dans 3 semaines"'
    )

    await bot.say("!sujet suivant")
    await bot.say(f"!action {ERWAN} Créer la liste de mailing privée du groupe de travail")
    await bot.say("!lien https://fabriques.example/tyshop Consolider ou revoir le TyShop")

    assert "Répartition des ressources" in await bot.ask("!sujet suivant")
    assert (await bot.ask("!plus-tard")).startswith(
        "⏭ Reporté à la prochaine réunion : Répartition des ressources"
    )

    await bot.travel(paris("2026-12-05 17:10"))
    ended = await bot.say("!réunion fin", sender=ERWAN)
    summary, md_file, html_file = ended
    assert summary.body.startswith(
        "🔴 Réunion n° 1 terminée (Groupe de travail sur les partenariats) : "
        "samedi 5 décembre 2026, 14:00–17:10."
    )
    assert (
        "Présents (10) : Alice Penors, Erwan Joud, Stéphane, Romain, Benjamin, Arthur, Hélène, "
        "William, Vincent et Pauline Le Goff." in summary.body
    )
    assert (
        "6 sujet(s), 2 décision(s), 3 proposition(s) au COPIL, 3 action(s), 1 sujet(s) "
        "reporté(s)." in summary.body
    )
    assert "relance n° 3, Erwan Joud : Créer la liste de mailing privée" in summary.body
    assert "2 point(s) repris à l'ordre du jour de la prochaine réunion" in summary.body
    assert [md_file.content["msgtype"], html_file.content["msgtype"]] == ["m.file", "m.file"]
    assert md_file.content["filename"] == "compte-rendu-1.md"
    assert md_file.content["info"]["mimetype"] == "text/markdown"
    assert html_file.content["filename"] == "compte-rendu-1.html"

    # What is stored: the items, in order, under their topics.
    [meeting] = await rows(bot, Meeting, Meeting.number == 1)
    assert (meeting.status, meeting.chairs) == ("ended", [ALICE, ERWAN])
    items = await rows(bot, MeetingItem, MeetingItem.meeting_id == meeting.id)
    assert [i.kind for i in items] == [
        "info",
        "topic", "info", "info", "agreed",
        "topic", "info", "idea",
        "topic", "info", "info", "copil", "copil", "agreed", "action",
        "topic", "copil", "action",
        "topic", "action", "link",
        "topic", "later",
    ]  # fmt: skip
    topics = [i for i in items if i.kind == "topic"]
    assert [t.text for t in topics] == SEED_AGENDA[:6]
    assert items[0].topic_id is None  # said before the first topic
    assert all(i.topic_id == topics[0].id for i in items[2:5])
    assert [i.ref_number for i in items if i.kind == "agreed"] == [1, 2]
    attendees = await rows(bot, Attendee, Attendee.meeting_id == meeting.id)
    assert [(a.name, a.present) for a in attendees if a.user_id is None][-1] == (
        "Christelle Bouquet",
        False,
    )
    assert sum(a.present for a in attendees) == 10
    log = await rows(bot, LogLine, LogLine.meeting_id == meeting.id)
    assert log[0].body == "!réunion commencer"
    assert "!info Pas d'internet aujourd'hui : une clé 4G nous dépanne." in [x.body for x in log]
    assert log[-1].body == "!plus-tard"

    # The follow-ups, the decision log and the COPIL's queue.
    followups = await rows(bot, Followup)
    assert [(f.number, f.assignee, f.origin, f.creator) for f in followups] == [
        (1, PAULINE, "meeting", ALICE),
        (2, ALICE, "meeting", ALICE),
        (3, ERWAN, "meeting", ALICE),
    ]
    assert followups[0].due_at == paris("2026-12-14 09:00")
    assert followups[2].due_at is None
    decisions = await rows(bot, Decision)
    assert [(d.number, d.source) for d in decisions] == [(1, "meeting"), (2, "meeting")]
    assert decisions[0].text == "Le principe est validé par le COPIL."
    proposals = await rows(bot, Proposal)
    assert [(p.number, p.origin, p.status) for p in proposals] == [
        (1, "command", "pending"),
        (2, "meeting", "pending"),
        (3, "meeting", "pending"),
        (4, "meeting", "pending"),
    ]

    # The minutes in Markdown: the seed's form.
    assert md_file.attachment is not None
    markdown = md_file.attachment.data.decode()
    assert markdown.startswith(
        "# Compte rendu de la réunion du 05/12/2026 : Groupe de travail sur les partenariats\n\n"
        "Réunion n° 1, samedi 5 décembre 2026, de 14:00 à 17:10.\n\n"
        "Rédigé par Alice Penors et Erwan Joud selon les débats collectifs, avec Passerelle.\n\n"
        "**Présents :** Alice Penors, Erwan Joud, Stéphane, Romain, Benjamin, Arthur, Hélène, "
        "William, Vincent et Pauline Le Goff.\n\n"
        "**Absents :** Christelle Bouquet.\n\n"
        "## En ouverture\n\n"
        "- Pas d'internet aujourd'hui : une clé 4G nous dépanne.\n\n"
        "## Légitimité, statut et objet du groupe\n\n"
        "- Ce groupe de travail a été validé par le COPIL des Fabriques du 27/05.\n"
    )
    assert "- → **Décision n° 1 :** Le principe est validé par le COPIL.\n" in markdown
    assert "- Idée : Créer une entité capable de dépasser" in markdown
    # What members typed is escaped: the seed's asterisks stay asterisks.
    assert "« \\*au standing professionnel avec un esprit geek\\* »" in markdown
    assert (
        "- Action pour Pauline Le Goff (relance n° 1, échéance lundi 14 décembre 2026) : "
        "Proposer une solution Wifi/4G pour les coupures\n" in markdown
    )
    assert (
        "- Lien : [Consolider ou revoir le TyShop](<https://fabriques.example/tyshop>)" in markdown
    )
    assert "## Répartition des ressources issues des partenariats" in markdown
    assert "_Sujet reporté à la prochaine réunion._" in markdown
    copil_section = markdown.split("## Décisions soumises au COPIL\n\n")[1].split("\n\n")[0]
    assert copil_section.splitlines() == [
        "- Revoir les conditions d'accès à internet pour éviter les coupures (proposition n° 2)",
        "- Mettre la qualité de l'accueil comme atelier à la prochaine Fabrique des Fabriques "
        "(22/08) (proposition n° 3)",
        "- Le groupe de travail doit participer à la rédaction du cahier des charges demandé par "
        "BMO (proposition n° 4)",
    ]
    actions = markdown.split("## Actions\n\n")[1].split("## ")[0]
    assert actions.index("**Pauline Le Goff**") < actions.index("**Alice Penors**")
    assert actions.index("**Alice Penors**") < actions.index("**Erwan Joud**")
    assert "- Créer la liste de mailing privée du groupe de travail (relance n° 3)" in actions
    assert (
        "## Sujets reportés\n\n"
        "- Répartition des ressources issues des partenariats entre les entités du consortium\n\n"
        "Points de l'ordre du jour non abordés :\n\n"
        "- Calendrier des partenariats à la rentrée\n\n"
        "Ce compte rendu sert à construire le prochain ordre du jour : les sujets reportés et "
        "les points non abordés y sont repris.\n" in markdown
    )
    assert markdown.endswith("## Prochaine réunion\n\nPas encore de date.\n")

    # The same in HTML, escaped for a browser.
    assert html_file.attachment is not None
    page = html_file.attachment.data.decode()
    assert page.startswith('<!DOCTYPE html>\n<html lang="fr">')
    assert (
        "<h1>Compte rendu de la réunion du 05/12/2026 : Groupe de travail sur les partenariats</h1>"
        in page
    )
    assert "<h2>Quelle est notre éthique commune ?</h2>" in page
    assert "<h2>Les Fabriques sont-elles capables d&#39;accueillir des partenaires ?</h2>" in page
    assert "« *au standing professionnel avec un esprit geek* »" in page
    assert '<a href="https://fabriques.example/tyshop">Consolider ou revoir le TyShop</a>' in page
    assert page.count("<h2>") == 1 + 6 + 5  # the opening, the topics, the closing sections

    # The next agenda, built from what this one left open.
    agenda = await bot.ask("!odj")
    assert agenda.startswith("Prochaine réunion (date à fixer : !réunion planifier QUAND)")
    lines = [line for line in agenda.splitlines() if line.startswith("• ")]
    assert lines == [
        "• 1. Répartition des ressources issues des partenariats entre les entités du consortium "
        "· reporté à la réunion n° 1",
        "• 2. Calendrier des partenariats à la rentrée · non abordé à la réunion n° 1",
        "• 3. Proposition n° 1 au COPIL : Créer une liste de mailing pour le groupe de travail",
        "• 4. Proposition n° 2 au COPIL : Revoir les conditions d'accès à internet pour éviter "
        "les coupures",
        "• 5. Proposition n° 3 au COPIL : Mettre la qualité de l'accueil comme atelier à la "
        "prochaine Fabrique des Fabriques (22/08)",
        "• 6. Proposition n° 4 au COPIL : Le groupe de travail doit participer à la rédaction "
        "du cahier des charges demandé par BMO",
        "• 7. Point sur les relances : 3 ouverte(s) (!relances toutes)",
    ]
    # The minutes can be read again, regenerated from what is stored.
    again = await bot.ask("!compte-rendu 1")
    assert again == markdown.rstrip("\n")
    exported = files(await bot.say("!compte-rendu exporter 1 html"))
    assert exported == {"compte-rendu-1.html": page}


# --- Scheduling.


async def test_the_invitation_is_an_ics_file_at_the_rooms_local_time(group: TestBot) -> None:
    await group.say("!odj ajouter Budget 2027")
    sent = await group.say('!reunion planifier "mardi 18h30" Point mensuel')
    assert sent[0].body.startswith("📅 Prochaine réunion : mardi 1 décembre 2026 à 18:30")
    [(name, data)] = files(sent).items()
    assert name == "reunion-2026-12-01.ics"
    assert sent[1].content["info"]["mimetype"] == "text/calendar"
    calendar = Calendar.from_ical(data)
    [event] = calendar.walk("VEVENT")
    assert str(event["summary"]) == "Point mensuel"
    start = event.decoded("dtstart")
    assert start == datetime(2026, 12, 1, 18, 30, tzinfo=PARIS)
    assert event.decoded("dtend") - start == timedelta(hours=2)
    assert "RRULE" not in event
    assert str(event["description"]) == "Ordre du jour :\n1. Budget 2027"
    # Moved: the invitation's sequence goes up, and the answer says where it was.
    sent = await group.say('!réunion planifier "mercredi 18h"')
    assert "(Elle était prévue le mardi 1 décembre 2026 à 18:30.)" in sent[0].body
    [(_, data)] = files(sent).items()
    [moved] = Calendar.from_ical(data).walk("VEVENT")
    assert int(moved["sequence"]) == 1
    assert str(moved["uid"]) == str(event["uid"])
    status = await group.ask("!réunion")
    assert "Prochaine réunion : mercredi 2 décembre 2026 à 18:00 — Point mensuel." in status


async def test_a_series_goes_on_from_one_meeting_to_the_next(group: TestBot) -> None:
    sent = await group.say(
        '!réunion planifier 18h Groupe partenariats repeter="tous les premiers mardis du mois"'
    )
    # 18h typed on a Friday: the first date of the series is the first Tuesday to come.
    assert sent[0].body.startswith("📅 Prochaine réunion : mardi 1 décembre 2026 à 18:00")
    assert "Récurrence : tous les premiers mardis du mois ; c'est la première date" in sent[0].body
    [(_, data)] = files(sent).items()
    [event] = Calendar.from_ical(data).walk("VEVENT")
    assert event["rrule"].to_ical() == b"FREQ=MONTHLY;BYDAY=+1TU"
    await group.travel(paris("2026-12-01 18:00"))
    await group.say("!réunion commencer")
    await group.say("!sujet Budget")
    await group.say("!plus-tard")
    await group.travel(paris("2026-12-01 19:30"))
    [summary, *_] = await group.say("!réunion fin")
    assert (
        "1 point(s) repris à l'ordre du jour de la prochaine réunion (mardi 5 janvier 2027 à 18:00)"
        in summary.body
    )
    [planned] = await rows(group, Meeting, Meeting.status == "planned")
    assert planned.scheduled_at == paris("2027-01-05 18:00")
    assert planned.rule == "FREQ=MONTHLY;BYDAY=+1TU"
    # Nobody starts the meeting of 5 January: the series moves on, the agenda with it.
    reminder, skipped = mine(await group.travel(paris("2027-01-06 09:00")))
    assert reminder.body.startswith("📅 Rappel : réunion mardi 5 janvier 2027 à 18:00")
    assert skipped.body == (
        "La réunion du mardi 5 janvier 2027 à 18:00 (Groupe partenariats) n'a pas eu lieu. "
        "Prochaine de la série : mardi 2 février 2027 à 18:00 ; son ordre du jour est conservé "
        "(!odj)."
    )
    assert "1. Budget · reporté à la réunion n° 1" in await group.ask("!odj")
    # After a downtime over several dates, the series skips to the next date once.
    group.clock.set(paris("2027-05-01 12:00"))
    await group.bot.scheduler.run_due(group.clock.now())
    await group.sender.flush()
    notices = [s for s in group.sent if "n'a pas eu lieu" in s.body]
    assert len(notices) == 2
    assert "Prochaine de la série : mardi 4 mai 2027 à 18:00" in notices[-1].body  # summer time
    [planned] = await rows(group, Meeting, Meeting.status == "planned")
    assert planned.scheduled_at == paris("2027-05-04 18:00")


async def test_every_other_thursday_keeps_its_parity(group: TestBot) -> None:
    await group.say('!réunion planifier "jeudi 18h" every="every other thursday"')
    await group.travel(paris("2026-12-03 18:00"))
    await group.say("!réunion commencer")
    await group.say("!réunion fin")
    [planned] = await rows(group, Meeting, Meeting.status == "planned")
    assert planned.scheduled_at == paris("2026-12-17 18:00")


# --- Bad input: a clear answer, nothing changed.


async def test_meeting_commands_without_a_meeting(group: TestBot) -> None:
    for command in (
        "!sujet Budget",
        "!info Quelque chose",
        "!idée Autre chose",
        "!accord Décidé",
        "!copil Proposé",
        f"!action {ERWAN} Faire",
        "!lien https://example.org",
        "!plus-tard",
        "!annuler-dernier",
        "!présents Erwan",
        "!réunion fin",
    ):
        answer = await group.ask(command)
        assert answer == "Aucune réunion en cours ; commencez-en une avec !réunion commencer.", (
            command
        )
    english = await group.ask("!topic Budget", room=OTHER)
    assert english == "No meeting in progress; start one with !meeting start."
    for model in (Meeting, MeetingItem, Decision, Proposal, Followup):
        assert await count(group, model) == 0


async def test_refusals_during_a_meeting_change_nothing(group: TestBot) -> None:
    await group.say("!réunion commencer")
    again = await group.ask("!réunion commencer", sender=ERWAN)
    assert again.startswith("La réunion n° 1 est déjà en cours ici (depuis le 27/11/2026 10:00")
    assert (await group.ask("!sujet suivant")).startswith(
        "L'ordre du jour est vide : donnez le sujet, !sujet TEXTE"
    )
    await group.say("!sujet Budget")
    await group.say("!info Un point")
    not_chair = "Seul·es les président·es de la réunion peuvent le faire (@alice:fablab.test)"
    assert (await group.ask("!réunion fin", sender=ERWAN)).startswith(not_chair)
    assert (await group.ask("!annuler-dernier", sender=ERWAN)).startswith(not_chair)
    assert (await group.ask("!accord Oui", sender=ERWAN)).startswith(not_chair)
    no_one = await group.ask("!action Envoyer le compte rendu")
    assert no_one.startswith("Qui s'en charge ? Mentionnez-le en tête")
    assert "!action @bob:exemple.fr Envoyer le compte rendu" in no_one
    assert "passé" in await group.ask(f'!action {ERWAN} Appeler echeance="hier"')
    assert "« mardi 18h »" in await group.ask('!réunion planifier "à la saint-glinglin"')
    assert "« un jeudi sur deux »" in await group.ask(
        '!réunion planifier "mardi 18h" repeter="de temps en temps"'
    )
    assert "Il n'y a pas de point 4 : l'ordre du jour en a 0" in await group.ask("!odj retirer 4")
    assert "n'est pas une adresse de site" in await group.ask("!lien pas-une-adresse")
    assert "Indiquez ce qu'il faut noter au compte rendu." in await group.ask("!info")
    assert await count(group, Decision) == 0
    assert await count(group, Followup) == 0
    [meeting] = await rows(group, Meeting)
    assert meeting.status == "running"
    items = await rows(group, MeetingItem)
    assert [i.kind for i in items] == ["topic", "info"]
    # A moderator may end a meeting its chairs left open.
    [summary, *_] = await group.say("!réunion fin", sender=DAVE)
    assert summary.body.startswith("🔴 Réunion n° 1 terminée")


async def test_undo_removes_the_last_line_and_what_it_made(group: TestBot) -> None:
    await group.say("!odj ajouter Budget")
    await group.say("!réunion commencer")
    await group.say("!sujet suivant")
    undone = await group.ask("!annuler-dernier")
    assert undone == "↩ Retiré du compte rendu : le sujet « Budget »."
    assert "1. Budget" in await group.ask("!odj")  # back on the agenda
    await group.say("!sujet suivant")
    await group.say(f"!action {ERWAN} Chiffrer le budget")
    undone = await group.ask("!annuler-dernier")
    assert undone == (
        "↩ Retiré du compte rendu : l'action « Chiffrer le budget ». "
        "La relance n° 1 est annulée : plus de rappels."
    )
    await group.say("!accord Budget voté")
    assert await group.ask("!annuler-dernier") == (
        "↩ Retiré du compte rendu : la décision « Budget voté ». "
        "La décision n° 1 est retirée du registre des décisions."
    )
    items = await rows(group, MeetingItem)
    assert [i.kind for i in items] == ["topic"]
    [followup] = await rows(group, Followup)
    assert followup.status == "cancelled"
    [decision] = await rows(group, Decision)
    assert decision.withdrawn_at is not None
    await group.say("!réunion fin")
    assert "Aucune réunion en cours" in await group.ask("!annuler-dernier")


# --- Names, spellings, languages.


@pytest.mark.parametrize(
    ("start", "note", "end"),
    [
        ("!réunion commencer", "!idée Une idée", "!réunion fin"),
        ("!reunion commencer", "!idee Une idée", "!reunion fin"),
        ("!REUNION début", "!information Une info", "!réunion terminer"),
        ("!meeting start", "!idea An idea", "!meeting end"),
    ],
)
async def test_french_and_english_names_with_or_without_accents(
    group: TestBot, start: str, note: str, end: str
) -> None:
    assert (await group.ask(start)).startswith("🟢 Réunion n° 1 ouverte")
    [reaction] = await group.say(note)
    assert reaction.event_type == "m.reaction"
    [summary, *_] = await group.say(end)
    assert summary.body.startswith("🔴 Réunion n° 1 terminée")
    assert await count(group, MeetingItem) == 1


async def test_an_english_room_gets_english_minutes(group: TestBot) -> None:
    await group.say("!agenda add Budget duration=20m", room=OTHER)
    assert (await group.ask("!meeting start Partnerships", room=OTHER)).startswith(
        "🟢 Meeting #1 opened: Partnerships, chaired by @alice:fablab.test."
    )
    await group.say("!topic next", room=OTHER)
    await group.say(f"!action {ERWAN} Draft the budget due=friday", room=OTHER)
    await group.say("!later", room=OTHER)
    summary, md, _html = await group.say("!meeting end", room=OTHER)
    assert "1 topic(s), 0 decision(s), 0 proposal(s) for the COPIL, 1 action(s)" in summary.body
    assert md.content["filename"] == "minutes-1.md"
    assert md.attachment is not None
    text = md.attachment.data.decode()
    assert text.startswith("# Minutes of the meeting of 2026-11-27: Partnerships")
    assert "- Action for erwan (follow-up #1, due Friday 4 December 2026): Draft the budget" in text
    assert "## Postponed topics" in text


# --- Decisions recorded during a meeting by the decision log's own command.


async def test_a_decision_added_during_the_meeting_goes_to_its_minutes_once(
    group: TestBot,
) -> None:
    await group.say("!réunion commencer")
    await group.say("!sujet Ménage")
    await group.say(
        "!décision ajouter Un technicien de surface viendra chaque semaine", sender=DAVE
    )
    await group.say("!accord Le rangement est l'affaire de tous")
    items = await rows(group, MeetingItem)
    assert [(i.kind, i.ref_number, i.text) for i in items] == [
        ("topic", None, "Ménage"),
        ("agreed", 1, "Un technicien de surface viendra chaque semaine"),
        ("agreed", 2, "Le rangement est l'affaire de tous"),
    ]
    assert items[1].author == DAVE
    assert items[1].topic_id == items[0].id
    assert await count(group, Decision) == 2
    # Outside a meeting, a decision is not anyone's minutes.
    await group.say("!réunion fin")
    await group.say("!décision ajouter Hors réunion", sender=DAVE)
    assert await count(group, MeetingItem) == 3


# --- Groups.


async def test_another_group_sees_nothing(group: TestBot) -> None:
    await group.say("!odj ajouter Secret du groupe")
    await group.say("!réunion commencer")
    await group.say("!info Secret")
    assert await group.ask("!meeting end", room=OTHER) == (
        "No meeting in progress; start one with !meeting start."
    )
    assert "Secret" not in await group.ask("!agenda", room=OTHER)
    assert "no next meeting" in (await group.ask("!agenda", room=OTHER)).lower()
    assert (await group.ask("!minutes 1", room=OTHER)).startswith("There is no meeting #1.")
    # Each group has its own numbers, and its own meeting running at the same time.
    assert (await group.ask("!meeting start", room=OTHER)).startswith("🟢 Meeting #1 opened")
    await group.say("!info Theirs", room=OTHER)
    await group.say("!réunion fin")
    await group.say("!meeting end", room=OTHER)
    mine = await group.ask("!compte-rendu 1")
    theirs = await group.ask("!minutes 1", room=OTHER)
    assert "Secret" in mine
    assert "Theirs" not in mine
    assert "Theirs" in theirs
    assert "Secret" not in theirs


# --- Personal data.


async def test_forget_person_erases_a_present_name_everywhere_in_meetings(group: TestBot) -> None:
    await group.say("!réunion commencer")
    await group.say("!présents Zoé Martin, Zoéline, Erwan")
    await group.say("!sujet Accueil")
    await group.say("!info Zoé Martin présentera le budget")
    await group.say(
        "!info Merci Zoé Martin pour le café, et Zoéline pour les gâteaux", sender=ERWAN
    )
    await group.say("!réunion fin")
    found = await group.ask("!donnees-personne Zoé Martin", sender=DAVE)
    assert "1 réunion(s) qui la comptent parmi les présents ou les absents" in found
    assert "message(s) de journaux de réunion qui la nomment" in found
    await group.say("!oublier-personne Zoé Martin", sender=DAVE)
    done = await group.ask("!oublier-personne confirmer", sender=DAVE)
    assert "1 nom(s) retiré(s) des listes de présence" in done
    attendees = [a.name for a in await rows(group, Attendee)]
    assert "Zoé Martin" not in attendees
    assert "Zoéline" in attendees  # whole words only
    texts = [i.text for i in await rows(group, MeetingItem)]
    assert "[effacé] présentera le budget" in texts
    bodies = [line.body for line in await rows(group, LogLine)]
    assert "!info Merci [effacé] pour le café, et Zoéline pour les gâteaux" in bodies
    assert not any("Martin" in body for body in bodies)
    exported = files(await group.say("!compte-rendu exporter 1 md"))
    minutes = exported["compte-rendu-1.md"]
    assert "Martin" not in minutes
    assert "Zoéline" in minutes
    log = files(await group.say("!compte-rendu exporter 1 journal"))["journal-1.txt"]
    assert "Martin" not in log
    assert "Merci [effacé] pour le café" in log


async def test_no_meeting_text_in_logs(group: TestBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for name in OWN_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.WARNING, logger="sqlalchemy.engine")
    await group.say('!réunion planifier "mardi 18h" Réunion Zoé')
    await group.say("!réunion commencer")
    await group.say("!présents Zoé Martin")
    await group.say("!info Zoé Martin a appelé")
    await group.say("!info Bonjour Zoé", sender=ERWAN)
    await group.say("!réunion fin")
    assert "Zoé" not in caplog.text
    assert "Martin" not in caplog.text


# --- Size: no answer exceeds one Matrix event.


async def test_a_long_meeting_keeps_its_summary_short_and_sends_the_minutes_as_files(
    group: TestBot,
) -> None:
    await group.say("!réunion commencer")
    for index in range(30):
        await group.say(f"!sujet Sujet {index} " + "s" * 250)
        await group.say(f"!info Information {index} " + "i" * 1900)
        await group.say(f"!accord Décision {index} " + "d" * 1900)
        await group.say(f"!action {ERWAN} Action {index} " + "a" * 1900)
    names = ", ".join(f"Personne{index}" for index in range(50))
    await group.say(f"!présents {names}")
    summary, md, html = await group.say("!réunion fin")
    assert content_size(summary.content) < 40_000
    assert "30 sujet(s), 30 décision(s), 0 proposition(s) au COPIL, 30 action(s)" in summary.body
    assert "… et 20 autre(s) dans le compte rendu." in summary.body
    assert md.attachment is not None
    assert html.attachment is not None
    assert len(md.attachment.data) > 100_000
    assert "Décision 29" in md.attachment.data.decode()
    # Shown again, the minutes are too long for a message: they come as a file.
    [again] = await group.say("!compte-rendu 1")
    assert content_size(again.content) < 40_000
    assert again.content["msgtype"] == "m.file"
    assert again.content["filename"] == "compte-rendu-1.md"


# --- After the meeting.


async def test_a_chair_amends_the_minutes_after_the_meeting(group: TestBot) -> None:
    await group.say("!réunion commencer")
    await group.say(f"!président {ERWAN}")
    await group.say("!info Budget de 500 €")
    assert "encore en cours" in await group.ask("!compte-rendu amender 1 Budget de 600 €")
    await group.say("!réunion fin")
    assert "Seul·es les président·es" in await group.ask(
        "!compte-rendu amender 1 Faux", sender=PAULINE
    )
    amended = await group.ask(
        "!compte-rendu amender 1 Le budget est de 600 €, pas 500 €.", sender=ERWAN
    )
    assert amended.startswith("Rectificatif ajouté au compte rendu de la réunion n° 1")
    minutes = await group.ask("!compte-rendu 1")
    assert (
        "## Rectificatifs\n\n- vendredi 27 novembre 2026, Erwan Joud : Le budget est de 600 €"
        in minutes
    )
    assert "Il n'y a pas de réunion n° 9" in await group.ask("!compte-rendu 9")
    listing = await group.ask("!compte-rendu")
    assert (
        "n° 1 vendredi 27 novembre 2026 à 10:00 · 0 sujet(s), 0 décision(s), 0 action(s)" in listing
    )


async def test_a_check_mark_on_an_action_closes_its_follow_up(group: TestBot) -> None:
    await group.say("!réunion commencer")
    [answer] = await group.say(f"!action {ERWAN} Écrire à BMO")
    [said] = await group.deliver(group.reaction(answer.event_id, sender=ERWAN))
    assert "marquée(s) faite(s) par @erwan:fablab.test" in said.body
    [followup] = await rows(group, Followup)
    assert followup.status == "done"


async def test_escaping_in_minutes_and_messages(group: TestBot) -> None:
    await group.say("!réunion commencer <b>Titre</b>")
    await group.say("!sujet [lien](javascript:alert(1)) # titre")
    await group.say("!info <img src=x onerror=alert(1)> & @room _souligné_ `code`")
    summary, md, html = await group.say("!réunion fin")
    assert "<b>Titre</b>" not in summary.html
    assert "&lt;b&gt;Titre&lt;/b&gt;" in summary.html
    assert md.attachment is not None
    assert html.attachment is not None
    markdown = md.attachment.data.decode()
    page = html.attachment.data.decode()
    assert "## \\[lien\\](javascript:alert(1)) # titre" in markdown
    assert "\\<img src=x onerror=alert(1)\\> & @\u2060room \\_souligné\\_ \\`code\\`" in markdown
    assert "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; @\u2060room _souligné_ `code`" in page
    assert "@room" not in markdown
    assert "@room" not in page


# --- Settings.


@pytest.mark.parametrize(
    ("section", "reminded"),
    [
        ({"reminder_hour": "18:30"}, "2026-11-30 18:30"),
        ({"reminder_days_before": 2}, "2026-11-29 09:00"),
        ({"reminder_days_before": 0}, None),
    ],
)
async def test_the_reminder_follows_the_settings(
    db_url: str, section: dict[str, object], reminded: str | None
) -> None:
    settings = Settings.model_validate(
        {
            "admins": [ALICE],
            "rooms": [RoomSettings(id=ROOM, locale="fr", timezone="Europe/Paris")],
            "database": {"url": db_url},
            "meetings": {**section, "duration_minutes": 90},
        }
    )
    bot = TestBot(settings, FakeClock(START))
    await bot.start()
    try:
        sent = await bot.say('!réunion planifier "mardi 18h"')
        [(_, data)] = files(sent).items()
        [event] = Calendar.from_ical(data).walk("VEVENT")
        assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=90)
        [meeting] = await rows(bot, Meeting)
        assert meeting.reminder_at == (paris(reminded) if reminded else None)
        sent = mine(await bot.travel(paris("2026-12-01 12:00")))
        assert [s.body.startswith("📅 Rappel") for s in sent] == ([True] if reminded else [])
    finally:
        await bot.close()


async def test_meetings_are_held_in_the_groups_room(group: TestBot) -> None:
    room = await group.open_direct(ERWAN)
    await group.join(ERWAN)
    answer = await group.ask("!réunion commencer", sender=ERWAN, room=room)
    assert answer == "Les réunions se tiennent dans le salon du groupe, pas en message privé."
    await group.say("!odj ajouter Budget")
    # Read from a direct message, the agenda is the group's room's.
    assert "1. Budget" in await group.ask("!odj", sender=ERWAN, room=room)
