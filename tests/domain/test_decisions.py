"""The decision log and the proposals for the steering committee (COPIL), typed as the
group would type them.

The room speaks French, in Europe/Paris; OTHER is another group's room, in English. The
clock starts on Friday 27 November 2026 at 10:00 in Paris. ALICE is an administrator by
configuration, DAVE a moderator of the group, BOB and CAROL members.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import RoomSettings, Settings
from bot.domains import DOMAINS
from commands.kit.clock import FakeClock
from commands.kit.context import Context, content_size
from commands.kit.domain import Domain
from commands.kit.events import Signal
from commands.kit.registry import Router
from commands.polls.decisions import event_link
from storage.models import AuditEntry, Decision, PartnerEvent, Poll, Proposal, Role
from storage.repos.core import MemberRepository
from storage.repos.polls import DecisionRepository, PollRepository
from tests.botkit import ALICE, BOB, CAROL, GROUP, ROOM, TestBot
from tests.conftest import START

DAVE = "@dave:fablab.test"
OTHER = "!autre-groupe"
LONG = "x" * 1990
SPECIAL = '&<"' * 10  # what HTML escaping makes longer


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
def heard() -> list[dict[str, Any]]:
    """What the other domains were told of the decisions recorded."""
    return []


@pytest.fixture
async def bot(
    settings: Settings, clock: FakeClock, tmp_path: Path, heard: list[dict[str, Any]]
) -> AsyncIterator[TestBot]:
    """The bot, with a listener standing in for the meetings domain."""
    listener = Router("listener")

    @listener.on_signal("polls.decision")
    async def listen(ctx: Context, signal: Signal) -> None:
        heard.append(signal.data)

    messages = tmp_path / "listener.yaml"
    messages.write_text("{}\n")
    test_bot = TestBot(settings, clock, domains=(*DOMAINS, Domain("listener", listener, messages)))
    await test_bot.start()
    try:
        yield test_bot
    finally:
        await test_bot.close()


@pytest.fixture
async def group(bot: TestBot) -> TestBot:
    """The bot, with Dave a moderator."""
    async with bot.services.db.unit_of_work() as uow:
        await uow.repo(MemberRepository, GROUP).set_role(DAVE, Role.MODERATOR, now=bot.clock.now())
    return bot


async def decisions(bot: TestBot, group: str = GROUP) -> list[Decision]:
    async with bot.services.db.unit_of_work() as uow:
        rows = await uow.session.scalars(
            select(Decision).where(Decision.group_id == group).order_by(Decision.number)
        )
        return list(rows)


async def proposals(bot: TestBot, group: str = GROUP) -> list[Proposal]:
    async with bot.services.db.unit_of_work() as uow:
        rows = await uow.session.scalars(
            select(Proposal).where(Proposal.group_id == group).order_by(Proposal.number)
        )
        return list(rows)


def state(rows: list[Proposal]) -> list[tuple[Any, ...]]:
    """What deciding a proposal may change."""
    return [
        (p.number, p.text, p.status, p.note, p.decided_at, p.decided_by, p.decision_id)
        for p in rows
    ]


async def count(bot: TestBot, model: Any) -> int:
    async with bot.services.db.unit_of_work() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


async def a_poll(bot: TestBot, *, status: str) -> Poll:
    """A poll as the polls module would have stored it."""
    async with bot.services.db.unit_of_work() as uow:
        return await uow.repo(PollRepository, GROUP).create(
            room_id=ROOM,
            question="Technicien de surface ?",
            options=["Oui", "Non"],
            creator=DAVE,
            voters="members",
            status=status,
            created_at=bot.clock.now(),
        )


# --- Recording and showing a decision.


async def test_a_moderator_records_a_decision_dated_in_full(
    group: TestBot, heard: list[dict[str, Any]]
) -> None:
    answer = await group.ask(
        "!décision ajouter Créer une liste de mailing pour le groupe de travail", sender=DAVE
    )
    assert answer.startswith(
        "Décision n° 1 enregistrée le vendredi 27 novembre 2026 à 10:00 : "
        "Créer une liste de mailing pour le groupe de travail."
    )
    assert "!décision voir 1 la montre." in answer
    [row] = await decisions(group)
    assert (row.number, row.source, row.actor, row.outcome) == (1, "manual", DAVE, None)
    assert row.text == "Créer une liste de mailing pour le groupe de travail"
    assert row.decided_at == START
    assert (row.poll_id, row.partner_id, row.event_id, row.counts) == (None, None, None, {})
    # The other domains are told (the meetings' minutes list it).
    assert heard == [{"decision_id": row.id, "number": 1, "text": row.text}]
    # The next one takes the next number; `!decision` works without the accent.
    await group.advance(timedelta(days=3))
    answer = await group.ask("!decision add Seconde réunion en septembre", sender=DAVE)
    assert answer.startswith("Décision n° 2 enregistrée le lundi 30 novembre 2026 à 10:00")


async def test_a_decision_shows_everything_it_holds(group: TestBot) -> None:
    await group.say("!décision ajouter Revoir l'accès à internet", sender=DAVE)
    shown = await group.ask("!décision voir 1")
    assert shown.splitlines() == [
        "Décision n° 1 : Revoir l'accès à internet",
        "Décidée le vendredi 27 novembre 2026 à 10:00, par @dave:fablab.test "
        "(enregistrée à la main).",
    ]
    assert shown == await group.ask("!decision voir #1")


async def test_a_decision_from_a_poll_shows_its_votes_and_links_the_poll(group: TestBot) -> None:
    poll = await a_poll(group, status="closed")
    counts = {
        "options": ["Oui", "Non"],
        "counts": [5, 2],
        "voters": 7,
        "eligible": 12,
        "quorum": 5,
        "reached": True,
    }
    async with group.services.db.unit_of_work() as uow:
        await uow.repo(DecisionRepository, GROUP).record(
            text="Technicien de surface ?",
            source="poll",
            actor=DAVE,
            now=group.clock.now(),
            outcome="Oui",
            counts=counts,
            poll_id=poll.id,
            room_id=ROOM,
            event_id="$poll:fablab.test",
        )
    [answer] = await group.say("!décision voir 1")
    assert answer.body.splitlines() == [
        "Décision n° 1 : Technicien de surface ?",
        "Issue : Oui",
        "Votes : Oui 5 · Non 2 — 7 votant(s) sur 12, quorum 5 atteint",
        "Décidée le vendredi 27 novembre 2026 à 10:00, par @dave:fablab.test (sondage n° 1).",
        "Le sondage : https://matrix.to/#/!groupe/%24poll%3Afablab.test",
    ]
    assert '<a href="https://matrix.to/#/!groupe/%24poll%3Afablab.test">' in answer.html
    listed = await group.ask("!décisions")
    assert "n° 1 27/11/2026 10:00 · Technicien de surface ? — Oui · sondage" in listed


def test_a_link_to_an_event_keeps_the_room_id_opaque() -> None:
    assert event_link("!AbC_12-x", "$Ev/+=") == "https://matrix.to/#/!AbC_12-x/%24Ev%2F%2B%3D"
    assert event_link(None, "$ev") is None
    assert event_link("!room", None) is None


async def test_a_decision_about_a_partner_shows_in_its_history(group: TestBot) -> None:
    await group.say("!partenaire ajouter KidiTap type=entreprise")
    answer = await group.ask(
        "!décision ajouter Atelier commun avec KidiTap le 22/08 partenaire=kidi", sender=DAVE
    )
    assert answer.startswith("Décision n° 1 enregistrée le vendredi 27 novembre 2026 à 10:00")
    assert "Atelier commun avec KidiTap le 22/08 (partenaire KidiTap)." in answer
    [row] = await decisions(group)
    assert row.partner_id is not None
    history = await group.ask("!partenaire historique KidiTap")
    assert "décision n° 1 : Atelier commun avec KidiTap le 22/08" in history
    assert "Partenaire : KidiTap" in await group.ask("!décision voir 1")
    assert "· KidiTap" in await group.ask("!décisions")


# --- Listing and searching.


async def test_the_log_lists_the_latest_first_and_searches_any_word(group: TestBot) -> None:
    for text in (
        "Créer une liste de mailing privée",
        "Revoir l'accès à Internet",
        "Atelier « qualité de l'accueil » à la Fabrique des Fabriques",
        "Rédiger le cahier des charges de BMO",
    ):
        await group.say(f"!décision ajouter {text}", sender=DAVE)
        await group.advance(timedelta(hours=1))
    listed = await group.ask("!décisions")
    assert listed.startswith("Registre des décisions (4)")
    assert listed.index("n° 4") < listed.index("n° 3") < listed.index("n° 2") < listed.index("n° 1")
    assert "enregistrée à la main" in listed
    # Every word, in any case, with or without its accents.
    found = await group.ask("!décisions QUALITE accueil")
    assert found.startswith("Décisions contenant « QUALITE accueil » (1)")
    assert "qualité de l'accueil" in found
    assert "n° 3" in found
    assert "(1)" in await group.ask("!decisions rédiger")
    assert "(1)" in await group.ask("!décisions REDIGER")
    assert "(1)" in await group.ask('!décisions "liste de mailing"')
    assert "(1)" in await group.ask("!décisions ACCÈS")
    none = await group.ask("!décisions mailing internet")
    assert none.startswith("Décisions contenant « mailing internet » (0)")
    assert "Aucune ne contient tous ces mots." in none


async def test_an_empty_log_says_how_to_fill_it(group: TestBot) -> None:
    answer = await group.ask("!décisions")
    assert answer.startswith("Registre des décisions (0)")
    assert "!décision ajouter TEXTE" in answer


async def test_a_long_log_is_paged_and_each_page_fits_one_event(group: TestBot) -> None:
    async with group.services.db.unit_of_work() as uow:
        log = uow.repo(DecisionRepository, GROUP)
        for index in range(40):
            text = f"Décision {index:02d} é{SPECIAL} {LONG}"[:2000]
            now = START + timedelta(minutes=index)
            await log.record(text=text, source="manual", actor=DAVE, now=now, outcome="x" * 500)
    [first] = await group.say("!décisions")
    assert first.content["msgtype"] == "m.notice"
    assert content_size(first.content) < 40_000
    assert "(40, page 1/3)" in first.body
    assert "Décision 39" in first.body
    assert "Décision 24" not in first.body
    assert "Suite : page=2." in first.body
    [last] = await group.say("!décisions page=3")
    assert content_size(last.content) < 40_000
    assert "(40, page 3/3)" in last.body
    assert "Décision 00" in last.body
    assert "Suite" not in last.body
    # `!decision show` gives the whole text, in one event too.
    [shown] = await group.say("!décision voir 40")
    assert content_size(shown.content) < 40_000
    assert LONG[:1000] in shown.body


# --- Bad input: a clear answer, nothing changed.


async def test_bad_decisions_change_nothing(group: TestBot, heard: list[dict[str, Any]]) -> None:
    before = await count(group, AuditEntry)
    assert "Indiquez ce qui a été décidé" in await group.ask("!décision ajouter", sender=DAVE)
    assert "Un argument est vide." in await group.ask('!décision ajouter "  "', sender=DAVE)
    too_long = await group.ask("!décision ajouter " + "a" * 2001, sender=DAVE)
    assert "trop long (2000 caractères au plus)" in too_long
    refused = await group.ask("!décision ajouter Un technicien de surface", sender=BOB)
    assert refused.startswith("Cette commande demande le rôle modérateur")
    unknown = await group.ask("!décision ajouter Atelier partenaire=Inconnu", sender=DAVE)
    assert "Inconnu" in unknown
    assert await decisions(group) == []
    assert await count(group, PartnerEvent) == 0
    assert heard == []
    assert await count(group, AuditEntry) == before
    # Reading: unknown numbers and pages.
    assert await group.ask("!décision voir 7") == (
        "Il n'y a pas de décision n° 7. !décisions les liste."
    )
    assert "n'est pas un nombre" in await group.ask("!décision voir sept")
    assert "Il n'y a pas de page 2 : 1 page(s)." in await group.ask("!décisions page=2")
    assert "hors limites" in await group.ask("!décisions page=0")


# --- Proposals.


async def test_a_proposal_is_queued_listed_and_shown(group: TestBot) -> None:
    answer = await group.ask(
        "!proposer Mettre la qualité de l'accueil comme atelier à la prochaine "
        "Fabrique des Fabriques",
        sender=BOB,
    )
    assert answer == (
        "Proposition n° 1 soumise au COPIL : Mettre la qualité de l'accueil comme atelier à la "
        "prochaine Fabrique des Fabriques. !propositions liste celles en attente."
    )
    [row] = await proposals(group)
    assert (row.number, row.author, row.origin, row.status) == (1, BOB, "command", "pending")
    assert (row.created_at, row.decided_at, row.decision_id) == (START, None, None)
    await group.say("!proposer Créer une liste de mailing", sender=CAROL)
    listed = await group.ask("!propositions")
    assert listed.startswith("Propositions en attente du COPIL (2)")
    assert "n° 1 Mettre la qualité de l'accueil" in listed
    assert f"— {CAROL} · 27/11/2026 10:00" in listed
    assert listed.index("n° 1") < listed.index("n° 2")
    shown = await group.ask("!proposition 2")
    assert shown.splitlines() == [
        "Proposition n° 2 : Créer une liste de mailing",
        f"Soumise par {CAROL} le vendredi 27 novembre 2026 à 10:00.",
        "En attente du COPIL.",
    ]


async def test_an_accepted_proposal_becomes_a_decision_and_leaves_the_list(
    group: TestBot, heard: list[dict[str, Any]]
) -> None:
    await group.say("!proposer Créer une liste de mailing", sender=BOB)
    await group.advance(timedelta(days=1))
    answer = await group.ask("!proposition 1 acceptée modération par le COPIL", sender=DAVE)
    assert answer == (
        "✅ Proposition n° 1 acceptée : Créer une liste de mailing (modération par le COPIL). "
        "Décision n° 1 enregistrée (!décision voir 1)."
    )
    [row] = await proposals(group)
    [decision] = await decisions(group)
    assert (row.status, row.note, row.decided_by) == ("accepted", "modération par le COPIL", DAVE)
    assert row.decided_at == START + timedelta(days=1)
    assert row.decision_id == decision.id
    assert (decision.source, decision.outcome, decision.text) == (
        "proposal",
        "acceptée",
        "Créer une liste de mailing",
    )
    assert heard == [{"decision_id": decision.id, "number": 1, "text": decision.text}]
    assert "Aucune." in await group.ask("!propositions")
    assert "(proposition n° 1)" in await group.ask("!décision voir 1")
    assert "Issue : acceptée" in await group.ask("!décision voir 1")
    shown = await group.ask("!proposition 1")
    assert (
        "Acceptée le samedi 28 novembre 2026 à 10:00 par @dave:fablab.test : "
        "modération par le COPIL. Décision n° 1 (!décision voir 1)."
    ) in shown
    # The outcome is searchable in the log.
    assert "(1)" in await group.ask("!décisions mailing acceptee")


async def test_a_rejected_proposal_is_a_decision_too(group: TestBot) -> None:
    await group.say("!proposer Un technicien de surface", sender=BOB)
    answer = await group.ask("!proposition 1 rejetée", sender=DAVE)
    assert answer == (
        "Proposition n° 1 rejetée : Un technicien de surface. "
        "Décision n° 1 enregistrée (!décision voir 1)."
    )
    [decision] = await decisions(group)
    assert decision.outcome == "rejetée"
    assert "Aucune." in await group.ask("!propositions")


async def test_a_postponed_proposal_stays_listed_until_decided(group: TestBot) -> None:
    await group.say("!proposer Organiser un hackathon sur l'aménagement", sender=BOB)
    await group.say("!proposer Créer une liste de mailing", sender=BOB)
    answer = await group.ask("!proposition 1 reportée à septembre", sender=DAVE)
    assert answer == (
        "Proposition n° 1 reportée : Organiser un hackathon sur l'aménagement (à septembre). "
        "Elle reste dans !propositions pour la prochaine réunion."
    )
    assert await decisions(group) == []
    row = (await proposals(group))[0]
    assert (row.status, row.note, row.decision_id) == ("postponed", "à septembre", None)
    listed = await group.ask("!propositions")
    assert listed.startswith("Propositions en attente du COPIL (2)")
    # Waiting ones first, then the postponed ones, marked.
    assert listed.index("n° 2") < listed.index("n° 1")
    assert "reportée le 27/11/2026 10:00 (à septembre)" in listed
    # Decided at a later meeting.
    assert "acceptée" in await group.ask("!proposition 1 accepte", sender=DAVE)
    assert [p.status for p in await proposals(group)] == ["accepted", "pending"]
    assert len(await decisions(group)) == 1


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("acceptée", "accepted"),
        ("ACCEPTÉ", "accepted"),
        ("acceptee", "accepted"),
        ("accepted", "accepted"),
        ("rejeté", "rejected"),
        ("Rejetee", "rejected"),
        ("rejected", "rejected"),
        ("refusée", "rejected"),
        ("reportée", "postponed"),
        ("reporte", "postponed"),
        ("postponed", "postponed"),
    ],
)
async def test_outcome_words_in_both_languages(group: TestBot, word: str, status: str) -> None:
    await group.say("!proposer Créer une liste de mailing", sender=BOB)
    await group.say(f"!proposition 1 {word}", sender=DAVE)
    assert [p.status for p in await proposals(group)] == [status]


async def test_bad_proposals_change_nothing(group: TestBot) -> None:
    assert (await group.ask("!proposer", sender=BOB)).startswith(
        "Indiquez ce que vous proposez au COPIL.\nUtilisation : !proposer [TEXTE…]"
    )
    assert "trop long (2000 caractères au plus)" in await group.ask(
        "!proposer " + "a" * 2001, sender=BOB
    )
    assert await proposals(group) == []
    await group.say("!proposer Créer une liste de mailing", sender=BOB)
    await group.say("!proposer Un technicien de surface", sender=BOB)
    await group.say("!proposition 2 rejetée", sender=DAVE)
    before = state(await proposals(group))
    audits = await count(group, AuditEntry)
    unknown = await group.ask("!proposition 9")
    assert unknown == "Il n'y a pas de proposition n° 9. !propositions liste celles en attente."
    assert "Il n'y a pas de proposition n° 9" in await group.ask(
        "!proposition 9 acceptée", sender=DAVE
    )
    bad_word = await group.ask("!proposition 1 peut-être", sender=DAVE)
    assert "peut-être n'est pas parmi : acceptée, rejetée, reportée." in bad_word
    refused = await group.ask("!proposition 1 acceptée", sender=BOB)
    assert refused.startswith("Cette commande demande le rôle modérateur")
    again = await group.ask("!proposition 2 acceptée", sender=DAVE)
    assert again == "La proposition n° 2 est déjà rejetée : rien n'a changé."
    assert "déjà rejetée" in await group.ask("!proposition 2 reportée", sender=DAVE)
    assert "Il manque" in await group.ask("!proposition")
    assert "Il n'y a pas de page 2 : 1 page(s)." in await group.ask("!propositions page=2")
    assert state(await proposals(group)) == before
    assert len(await decisions(group)) == 1
    assert await count(group, AuditEntry) == audits


async def test_a_proposal_being_voted_on_waits_for_its_poll(group: TestBot) -> None:
    await group.say("!proposer Un technicien de surface", sender=BOB)
    poll = await a_poll(group, status="open")
    async with group.services.db.unit_of_work() as uow:
        row = await uow.session.scalar(select(Proposal).where(Proposal.number == 1))
        assert row is not None
        row.status, row.poll_id = "polled", poll.id
    listed = await group.ask("!propositions")
    assert "n° 1 Un technicien de surface" in listed
    assert "au vote (sondage n° 1)" in listed
    assert "Au vote : sondage n° 1." in await group.ask("!proposition 1")
    before = state(await proposals(group))
    answer = await group.ask("!proposition 1 acceptée", sender=DAVE)
    assert answer == (
        "La proposition n° 1 est au vote (sondage n° 1) : le résultat du sondage la tranchera. "
        "Rien n'a changé."
    )
    assert state(await proposals(group)) == before
    # Once the poll is closed without deciding it, a moderator may.
    async with group.services.db.unit_of_work() as uow:
        closed = await uow.session.get(Poll, poll.id)
        assert closed is not None
        closed.status = "closed"
    assert "acceptée" in await group.ask("!proposition 1 acceptée", sender=DAVE)


async def test_a_long_queue_is_paged_and_each_page_fits_one_event(group: TestBot) -> None:
    for index in range(20):
        await group.say(f"!proposer Proposition {index:02d} {SPECIAL}{LONG[:1900]}", sender=BOB)
    [first] = await group.say("!propositions")
    assert first.content["msgtype"] == "m.notice"
    assert content_size(first.content) < 40_000
    assert "(20, page 1/2)" in first.body
    [second] = await group.say("!propositions page=2")
    assert "(20, page 2/2)" in second.body
    assert "Proposition 19" in second.body
    [shown] = await group.say("!proposition 20")
    assert LONG[:1900] in shown.body


# --- Another language, another group.


async def test_an_english_room_answers_in_english(group: TestBot) -> None:
    added = await group.ask("!decision add Create a mailing list", room=OTHER)
    assert added.startswith(
        "Decision #1 recorded on Friday 27 November 2026 at 10:00: Create a mailing list."
    )
    assert "!decision show 1 shows it." in added
    shown = await group.ask("!decision show 1", room=OTHER)
    assert "Decided on Friday 27 November 2026 at 10:00, by @alice:fablab.test" in shown
    assert "(recorded by hand)" in shown
    assert (await group.ask("!decisions", room=OTHER)).startswith("Decision log (1)")
    assert "Decisions holding “MAILING” (1)" in await group.ask("!decisions MAILING", room=OTHER)
    queued = await group.ask("!propose Hire a cleaner", room=OTHER)
    assert queued == (
        "Proposal #1 queued for the COPIL: Hire a cleaner. !proposals lists those waiting."
    )
    assert (await group.ask("!proposals", room=OTHER)).startswith(
        "Proposals waiting for the COPIL (1)"
    )
    decided = await group.ask("!proposal 1 accepted", room=OTHER)
    assert decided == (
        "✅ Proposal #1 accepted: Hire a cleaner. Decision #2 recorded (!decision show 2)."
    )
    [_, decision] = await decisions(group, OTHER)
    assert decision.outcome == "accepted"
    assert "not one of: accepted, rejected, postponed" in await group.ask(
        "!proposal 1 maybe", room=OTHER
    )
    assert await group.ask("!decision show 9", room=OTHER) == (
        "There is no decision #9. !decisions lists them."
    )


async def test_another_group_sees_nothing_of_this_one(group: TestBot) -> None:
    await group.say("!décision ajouter Créer une liste de mailing", sender=DAVE)
    await group.say("!proposer Un technicien de surface", sender=BOB)
    assert "No decision yet" in await group.ask("!decisions", room=OTHER)
    assert "(0)" in await group.ask("!decisions mailing", room=OTHER)
    assert "There is no decision #1" in await group.ask("!decision show 1", room=OTHER)
    assert "None." in await group.ask("!proposals", room=OTHER)
    assert "There is no proposal #1" in await group.ask("!proposal 1", room=OTHER)
    # Not even an administrator can decide this group's proposal from there.
    before = state(await proposals(group))
    assert "There is no proposal #1" in await group.ask("!proposal 1 accepted", room=OTHER)
    assert state(await proposals(group)) == before
    assert len(await decisions(group)) == 1
    assert await decisions(group, OTHER) == []
    # And its own numbers start at 1.
    assert "Decision #1 recorded" in await group.ask("!decision add Its own", room=OTHER)


async def test_help_names_the_commands_in_french(group: TestBot) -> None:
    helped = await group.ask("!aide décisions")
    assert "!décisions [TEXTE…] [page=PAGE]" in helped
    assert "!décisions liste de mailing" in helped
    proposal = await group.ask("!aide proposition")
    assert "!proposition NUMÉRO [acceptée|rejetée|reportée] [NOTE…]" in proposal
