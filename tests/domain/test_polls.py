"""Polls for the steering committee, typed as the group would type them, on a fake clock.

The room speaks French, in Europe/Paris; the clock starts on Friday 27 November 2026 at
10:00 in Paris. ALICE is an administrator by configuration, DAVE a moderator, BOB and
CAROL members; all four are in the room.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.config import RoomSettings, Settings
from commands.kit.transport import IncomingEvent
from storage.models import Decision, Poll, PollVote, Proposal, Role
from storage.repos.core import MemberRepository
from tests.botkit import ALICE, BOB, CAROL, GROUP, ROOM, Sent, TestBot

PARIS = ZoneInfo("Europe/Paris")
DAVE = "@dave:fablab.test"
EVE = "@eve:fablab.test"
OTHER = "!autre-groupe"
START = "org.matrix.msc3381.poll.start"
END = "org.matrix.msc3381.poll.end"


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
            "digest": {"enabled": False},  # this file counts what the bot sends
        }
    )


@pytest.fixture
async def group(bot: TestBot) -> TestBot:
    async with bot.services.db.unit_of_work() as uow:
        await uow.repo(MemberRepository, GROUP).set_role(DAVE, Role.MODERATOR, now=bot.clock.now())
    await bot.join(ALICE, BOB, CAROL, DAVE)
    return bot


async def poll_of(bot: TestBot, number: int = 1, group: str = GROUP) -> Poll:
    async with bot.services.db.unit_of_work() as uow:
        row = await uow.session.scalar(
            select(Poll).where(Poll.group_id == group, Poll.number == number)
        )
        assert row is not None
        return row


async def votes(bot: TestBot) -> dict[str, list[int]]:
    async with bot.services.db.unit_of_work() as uow:
        return {v.voter: v.choices for v in await uow.session.scalars(select(PollVote))}


async def decisions(bot: TestBot) -> list[Decision]:
    async with bot.services.db.unit_of_work() as uow:
        return list(await uow.session.scalars(select(Decision).order_by(Decision.id)))


async def start(bot: TestBot, command: str, **kwargs: Any) -> Sent:
    [posted] = await bot.say(command, **kwargs)
    return posted


def response(
    bot: TestBot, poll: Sent, answers: list[str], sender: str, *, stable: bool = False
) -> IncomingEvent:
    """A vote as Element sends it (unstable), or in the stable form."""
    relates = {"rel_type": "m.reference", "event_id": poll.event_id}
    if stable:
        content = {"m.relates_to": relates, "m.selections": answers}
        return bot.raw("m.poll.response", content, sender=sender)
    content = {
        "m.relates_to": relates,
        "org.matrix.msc3381.poll.response": {"answers": answers},
    }
    return bot.raw("org.matrix.msc3381.poll.response", content, sender=sender)


# --- Posting.


async def test_a_poll_is_posted_as_element_posts_one(group: TestBot) -> None:
    posted = await start(
        group, '!sondage "Un technicien de surface ?" Oui Non fin="dans 3 jours" quorum=3'
    )
    assert posted.event_type == START
    body = posted.content[START]
    assert body["question"]["org.matrix.msc1767.text"] == (
        "Sondage n° 1 : Un technicien de surface ?"
    )
    assert body["kind"] == "org.matrix.msc3381.poll.disclosed"
    assert body["max_selections"] == 1
    assert [(a["id"], a["org.matrix.msc1767.text"]) for a in body["answers"]] == [
        ("1", "Oui"),
        ("2", "Non"),
    ]
    fallback = posted.content["org.matrix.msc1767.text"]
    assert "1. Oui" in fallback
    assert "!vote 1 NUMÉRO" in fallback
    assert "Clôture lundi 30 novembre 2026 à 10:00" in fallback
    assert "Quorum : 3 sur 4" in fallback
    poll = await poll_of(group)
    assert (poll.options, poll.quorum, poll.voters, poll.status) == (
        ["Oui", "Non"],
        3,
        "members",
        "open",
    )
    assert poll.closes_at == paris("2026-11-30 10:00")
    assert poll.next_due_at == paris("2026-11-29 10:00")  # the reminder, a day before


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ('!sondage "Question ?" Oui', "au moins deux options (1 données)"),
        ("!sondage " + '"Q ?" ' + " ".join(f"o{i}" for i in range(21)), "Au plus 20 options"),
        ('!sondage "Q ?" Oui oui', "est donnée deux fois"),
        ('!sondage "" Oui Non', "Donnez d'abord la question"),
        ('!sondage "Q ?" Oui Non fin="hier"', "est dans le passé"),
        ('!sondage "Q ?" Oui Non quorum=5', "Un quorum de 5 est impossible à atteindre : 4"),
        ('!sondage "Q ?" Oui Non choix=3', "choix=3 mais le sondage a 2 options"),
        ('!sondage "Q ?" Oui Non votants=personne', "ne dit pas qui vote"),
    ],
)
async def test_bad_polls_change_nothing(group: TestBot, command: str, answer: str) -> None:
    assert answer in await group.ask(command)
    async with group.services.db.unit_of_work() as uow:
        assert list(await uow.session.scalars(select(Poll))) == []


# --- Voting.


async def test_native_votes_last_one_counts_and_empty_withdraws(group: TestBot) -> None:
    posted = await start(group, '!sondage "Quelle salle ?" "Salle A" "Salle B"')
    assert await group.deliver(response(group, posted, ["1"], BOB)) == []
    await group.deliver(response(group, posted, ["2"], BOB))  # changes his mind
    await group.deliver(response(group, posted, ["1"], CAROL, stable=True))
    await group.deliver(response(group, posted, ["9"], DAVE))  # spoiled: nothing counted
    assert await votes(group) == {BOB: [1], CAROL: [0]}
    await group.deliver(response(group, posted, [], CAROL))
    assert await votes(group) == {BOB: [1]}
    shown = await group.ask("!sondage voir 1")
    assert "2. Salle B : 1 (100 %)" in shown
    assert "1 votant(s) sur 4" in shown
    assert BOB not in shown  # who voted what is never shown


async def test_text_votes_and_replies(group: TestBot) -> None:
    posted = await start(group, '!sondage "Quelle date ?" "12 janvier" "19 janvier" choix=2')
    [mark] = await group.say("!vote 1 1,2", sender=BOB)
    assert mark.event_type == "m.reaction"
    relates = {"m.in_reply_to": {"event_id": posted.event_id}}
    await group.deliver(
        group.event("> <@passerelle> Sondage\n\n19 janv", sender=CAROL, relates_to=relates)
    )
    await group.deliver(group.event("bonne idée !", sender=DAVE, relates_to=relates))
    assert await votes(group) == {BOB: [0, 1], CAROL: [1]}
    assert "n'est pas une option du sondage n° 1 : 1. 12 janvier, 2. 19 janvier" in (
        await group.ask("!vote 1 mars", sender=DAVE)
    )
    assert "Il n'y a pas de sondage n° 4" in await group.ask("!vote 4 Oui")
    await group.say("!vote 1 -", sender=BOB)
    assert await votes(group) == {CAROL: [1]}


async def test_someone_not_eligible_is_told_once_privately(group: TestBot) -> None:
    posted = await start(group, '!sondage "COPIL ?" Oui Non votants=moderateurs')
    [told] = await group.deliver(response(group, posted, ["1"], BOB))
    assert told.room_id == group.transport.direct[BOB]
    assert "seuls les modérateurs (le COPIL) y votent" in told.body
    assert await group.deliver(response(group, posted, ["2"], BOB)) == []  # once
    await group.deliver(response(group, posted, ["1"], DAVE))
    assert await votes(group) == {DAVE: [0]}
    assert "ne compte pas" in await group.ask("!vote 1 Oui", sender=CAROL)


# --- Closing.


async def test_reminder_then_close_at_the_deadline_with_a_decision(group: TestBot) -> None:
    posted = await start(group, '!sondage "Technicien ?" Oui Non fin="lundi 18h" quorum=2')
    await group.deliver(response(group, posted, ["1"], BOB))
    [reminder] = await group.travel(paris("2026-11-29 18:00"))
    assert reminder.body.startswith("⏳ Le sondage n° 1 se clôt lundi 30 novembre 2026 à 18:00")
    assert set(reminder.content["m.mentions"]["user_ids"]) == {ALICE, CAROL, DAVE}
    await group.deliver(response(group, posted, ["1"], CAROL))
    await group.deliver(response(group, posted, ["2"], DAVE))
    # Down over the deadline: the poll closes once, at restart.
    group.clock.set(paris("2026-12-02 09:00"))
    await group.bot.scheduler.run_due(group.clock.now())
    await group.sender.flush()
    end, results = group.sent[-2:]
    assert end.event_type == END
    assert end.content["m.relates_to"] == {"rel_type": "m.reference", "event_id": posted.event_id}
    assert "Résultat : Oui" in end.content["org.matrix.msc1767.text"]
    assert results.body.startswith("Sondage n° 1 clos : Technicien ?")
    assert "1. Oui : 2 (67 %)" in results.body
    assert "3 votant(s) sur 4, quorum de 2 atteint" in results.body
    assert "Résultat : Oui — décision n° 1 au registre." in results.body
    [decision] = await decisions(group)
    assert (decision.text, decision.outcome, decision.source) == ("Technicien ?", "Oui", "poll")
    assert decision.event_id == posted.event_id
    assert decision.counts["counts"] == [2, 1]
    assert (await poll_of(group)).status == "closed"
    assert await group.advance(timedelta(days=10)) == []
    assert "est clos : les votes ne comptent plus" in await group.ask("!vote 1 Non", sender=BOB)


async def test_no_quorum_and_tie(group: TestBot) -> None:
    await start(group, '!sondage "A ?" Oui Non quorum=3')
    await group.say("!vote 1 Oui", sender=BOB)
    await group.say("!sondage fermer 1")
    await start(group, '!sondage "B ?" Oui Non')
    await group.say("!vote 2 Oui", sender=BOB)
    await group.say("!vote 2 Non", sender=CAROL)
    [_, results] = await group.say("!sondage fermer 2")
    assert "égalité entre Oui et Non" in results.body
    outcomes = [d.outcome for d in await decisions(group)]
    assert outcomes == ["quorum non atteint (1 sur 3)", "égalité entre Oui et Non"]


async def test_only_the_creator_or_a_moderator_closes(group: TestBot) -> None:
    await start(group, '!sondage "A ?" Oui Non', sender=BOB)
    assert "Seul @bob:fablab.test" in await group.ask("!sondage fermer 1", sender=CAROL)
    assert (await poll_of(group)).status == "open"
    await group.say("!sondage fermer 1", sender=DAVE)
    assert "déjà clos" in await group.ask("!sondage fermer 1", sender=BOB)


# --- Secret polls.


async def test_a_secret_poll_takes_votes_by_direct_message_only(group: TestBot) -> None:
    [posted] = await group.say('!sondage "Budget ?" Pour Contre secret')
    assert posted.event_type == "m.room.message"
    assert "Votez en message privé avec moi" in posted.body
    refused = await group.ask("!vote 1 Pour", sender=BOB)
    assert "est secret : envoyez-moi votre vote en message privé" in refused
    dm = await group.open_direct(BOB)
    answer = await group.ask("!vote 1 Pour", sender=BOB, room=dm)
    assert answer == "Votre vote au sondage n° 1 : Pour. Il reste secret."
    assert await votes(group) == {BOB: [0]}
    [results] = await group.say("!sondage fermer 1")  # no end event: no native poll
    assert "1. Pour : 1 (100 %)" in results.body
    assert BOB not in results.body


# --- Proposals, partners, groups, personal data.


async def test_a_proposal_put_to_the_vote(group: TestBot) -> None:
    async with group.services.db.unit_of_work() as uow:
        uow.session.add(
            Proposal(
                group_id=GROUP,
                number=1,
                text="Embaucher un technicien",
                author=BOB,
                origin="command",
                status="pending",
                created_at=group.clock.now(),
            )
        )
    posted = await start(group, "!sondage depuis-proposition 1", sender=DAVE)
    answers = [a["org.matrix.msc1767.text"] for a in posted.content[START]["answers"]]
    assert answers == ["Oui", "Non", "Abstention"]
    assert "ne compte pas" in await group.ask("!vote 1 Oui", sender=BOB)  # moderators vote
    await group.say("!vote 1 Non", sender=DAVE)
    await group.say("!vote 1 Non", sender=ALICE)
    await group.say("!sondage fermer 1", sender=DAVE)
    async with group.services.db.unit_of_work() as uow:
        proposal = await uow.session.scalar(select(Proposal))
    assert proposal is not None
    assert (proposal.status, proposal.poll_id) == ("rejected", 1)
    assert "n'attend plus" in await group.ask("!sondage depuis-proposition 1", sender=DAVE)


async def test_another_group_sees_nothing(group: TestBot) -> None:
    await start(group, '!sondage "Secret du groupe ?" Oui Non')
    assert "There is no poll #1" in await group.ask("!vote 1 Yes", room=OTHER)
    assert "Secret" not in await group.ask("!polls", room=OTHER)


async def test_forget_person_in_polls_and_votes(group: TestBot) -> None:
    posted = await start(group, '!sondage "Inviter Zoé Martin ?" Oui Non')
    await group.deliver(response(group, posted, ["1"], BOB))
    await group.say("!proposer Un atelier avec Zoé Martin", sender=BOB)
    await group.say("!sondage fermer 1")
    await group.say("!oublier-personne Zoé Martin", sender=DAVE)
    await group.say("!oublier-personne confirmer", sender=DAVE)
    assert (await poll_of(group)).question == "Inviter [effacé] ?"
    assert [d.text for d in await decisions(group)] == ["Inviter [effacé] ?"]
    preview = await group.ask(f"!oublier-personne {BOB}", sender=DAVE)
    assert "1 vote(s) exprimé(s) par elle" in preview
    await group.say("!oublier-personne confirmer", sender=DAVE)
    [(voter, choices)] = (await votes(group)).items()
    assert voter.startswith("[effacé]")
    assert choices == [0]
    async with group.services.db.unit_of_work() as uow:
        proposal = await uow.session.scalar(select(Proposal))
    assert proposal is not None
    assert (proposal.text, proposal.author) == ("Un atelier avec [effacé]", "[effacé]")


async def test_votes_cast_before_a_deadline_passed_during_a_downtime_count(
    group: TestBot,
) -> None:
    posted = await start(group, '!sondage "A ?" Oui Non fin="lundi 18h"')
    deadline = paris("2026-11-30 18:00")
    in_time = replace(response(group, posted, ["1"], BOB), origin_ts=deadline - timedelta(hours=1))
    too_late = replace(
        response(group, posted, ["2"], CAROL), origin_ts=deadline + timedelta(minutes=1)
    )
    group.clock.set(deadline + timedelta(hours=2))  # the bot comes back after the deadline
    await group.bot.pipeline.ingest([in_time, too_late])
    await group.bot.scheduler.run_due(group.clock.now())  # a vote waits: not closed yet
    assert (await poll_of(group)).status == "open"
    await group.bot.pipeline.process_pending()
    await group.advance(timedelta(seconds=5))
    assert (await poll_of(group)).status == "closed"
    assert await votes(group) == {BOB: [0]}
    [decision] = await decisions(group)
    assert decision.counts["counts"] == [1, 0]


async def test_odd_digits_are_no_option(group: TestBot) -> None:
    posted = await start(group, '!sondage "A ?" Oui Non')
    assert "n'est pas une option" in await group.ask("!vote 1 ²", sender=BOB)
    assert await group.deliver(response(group, posted, ["²"], BOB)) == []
    assert await votes(group) == {}
