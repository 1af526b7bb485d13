"""Meetings, continued: taking a line back with what it made elsewhere (`!undo`), calling
off the next meeting (`!meeting cancel`), taking a chair off (`!unchair`) and taking
agenda point N as the topic (`!topic N`).

The same room, clock and people as tests/domain/test_meetings.py: the room speaks
French, in Europe/Paris, OTHER is another group's room, in English; the clock starts on
Friday 27 November 2026 at 10:00 in Paris; ALICE is an administrator (she chairs),
ERWAN and PAULINE members, DAVE a moderator.
"""

from __future__ import annotations

import pytest
from icalendar import Calendar
from sqlalchemy import update

from bot.config import Settings
from storage.models import (
    AuditEntry,
    Decision,
    Followup,
    FollowupEvent,
    Meeting,
    MeetingItem,
    Proposal,
)
from tests.botkit import ALICE, TestBot
from tests.domain.test_meetings import DAVE, ERWAN, OTHER, PAULINE, files, mine, paris, rows
from tests.domain.test_meetings import group as meetings_group
from tests.domain.test_meetings import settings as meetings_settings

REASON = "annulée pendant la réunion n° 1 : retirée de son compte rendu"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return meetings_settings.__wrapped__(db_url)  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
async def group(bot: TestBot) -> TestBot:
    return await meetings_group.__wrapped__(bot)  # type: ignore[attr-defined, no-any-return]


async def audit(bot: TestBot, action: str) -> list[dict[str, object]]:
    return [e.detail for e in await rows(bot, AuditEntry, AuditEntry.action == action)]


# --- Undo: the line, and what it made elsewhere.


async def test_undo_of_an_action_for_two_cancels_both_follow_ups(group: TestBot) -> None:
    await group.say("!réunion commencer")
    await group.say("!sujet Budget")
    await group.say(
        f'!action {ERWAN} {PAULINE} Chiffrer le budget echeance="mercredi 2 décembre 14h"'
    )
    await group.say("!info Le budget sera présenté en janvier")
    assert len(await rows(group, MeetingItem)) == 4
    # The last command first: the information, alone.
    assert await group.ask("!annuler-dernier") == (
        "↩ Retiré du compte rendu : l'information « Le budget sera présenté en janvier »."
    )
    # Then the action: both of its lines, both of its follow-ups.
    assert await group.ask("!annuler-dernier") == (
        "↩ Retiré du compte rendu : l'action « Chiffrer le budget » (2 lignes). "
        "Les relances n° 1, n° 2 sont annulées : plus de rappels."
    )
    assert [i.kind for i in await rows(group, MeetingItem)] == ["topic"]
    followups = await rows(group, Followup)
    assert [(f.number, f.status, f.next_reminder_at) for f in followups] == [
        (1, "cancelled", None),
        (2, "cancelled", None),
    ]
    events = await rows(group, FollowupEvent, FollowupEvent.kind == "cancelled")
    assert [(e.followup_id, e.actor, e.text) for e in events] == [
        (followups[0].id, ALICE, REASON),
        (followups[1].id, ALICE, REASON),
    ]
    shown = await group.ask("!relance voir 2")
    assert f"@alice:fablab.test · annulée : {REASON}" in shown
    assert await audit(group, "meeting.undo") == [
        {
            "number": 1,
            "kind": "info",
            "lines": 1,
            "cancelled": [],
            "decision": None,
            "proposal": None,
        },
        {
            "number": 1,
            "kind": "action",
            "lines": 2,
            "cancelled": [1, 2],
            "decision": None,
            "proposal": None,
        },
    ]
    # Nobody is chased for them: not the day before, not on the day, not later.
    sent = await group.travel(paris("2026-12-10 12:00"))
    assert not any("Chiffrer le budget" in s.body for s in sent)
    [summary, md, _html] = await group.say("!réunion fin")
    assert "0 action(s)" in summary.body
    assert md.attachment is not None
    assert "Chiffrer" not in md.attachment.data.decode()


async def test_undo_says_which_follow_up_was_already_done_and_leaves_it(group: TestBot) -> None:
    await group.say("!réunion commencer")
    await group.say(f"!action {ERWAN} {PAULINE} Écrire à BMO")
    await group.say("!fait 1", sender=ERWAN)
    undone = await group.ask("!annuler-dernier")
    assert undone == (
        "↩ Retiré du compte rendu : l'action « Écrire à BMO » (2 lignes). "
        "La relance n° 2 est annulée : plus de rappels. "
        "La relance n° 1 était déjà faite : elle le reste."
    )
    assert [(f.number, f.status) for f in await rows(group, Followup)] == [
        (1, "done"),
        (2, "cancelled"),
    ]
    assert await rows(group, MeetingItem) == []


async def test_undo_of_agreed_withdraws_the_decision_and_its_number_stays_used(
    group: TestBot,
) -> None:
    await group.say("!réunion commencer")
    await group.say("!sujet Ménage")
    assert (await group.ask("!accord Un technicien de surface chaque semaine")).startswith(
        "✅ Décidé, décision n° 1 au registre"
    )
    assert "Un technicien de surface" in await group.ask("!décisions")
    assert await group.ask("!annuler-dernier") == (
        "↩ Retiré du compte rendu : la décision « Un technicien de surface chaque semaine ». "
        "La décision n° 1 est retirée du registre des décisions."
    )
    [decision] = await rows(group, Decision)
    assert (decision.withdrawn_at, decision.withdrawn_by) == (group.clock.now(), ALICE)
    # Out of the log: not listed, not shown, not found.
    assert "Un technicien de surface" not in await group.ask("!décisions")
    assert "Un technicien de surface" not in await group.ask("!décisions technicien")
    assert await group.ask("!décision voir 1") == (
        "La décision n° 1 (Un technicien de surface chaque semaine) a été retirée du "
        f"registre le vendredi 27 novembre 2026 à 10:00 par {ALICE}."
    )
    # Its number is not given again.
    assert (await group.ask("!accord Chacun range après soi")).startswith(
        "✅ Décidé, décision n° 2 au registre"
    )
    [summary, *_] = await group.say("!réunion fin")
    assert "1 décision(s)" in summary.body
    assert "Un technicien" not in summary.body
    assert [i.kind for i in await rows(group, MeetingItem)] == ["topic", "agreed"]
    assert [d["decision"] for d in await audit(group, "meeting.undo")] == [1]


async def test_undo_keeps_a_decision_recorded_otherwise_or_used_meanwhile(group: TestBot) -> None:
    await group.say("!réunion commencer")
    # A decision the log's own command recorded goes to the minutes, but is not theirs.
    await group.say("!décision ajouter Un technicien de surface viendra", sender=DAVE)
    assert await group.ask("!annuler-dernier") == (
        "↩ Retiré du compte rendu : la décision « Un technicien de surface viendra ». "
        "La décision n° 1 reste au registre des décisions : elle a été notée avec "
        "!décision ajouter, pas par cette réunion."
    )
    # A decision of this meeting that a partner's history names by then stays too.
    await group.say("!partenaire ajouter KidiTap type=entreprise")
    await group.say("!accord Signer avec KidiTap")
    async with group.services.db.unit_of_work() as uow:
        await uow.session.execute(update(Decision).where(Decision.number == 2).values(partner_id=1))
    assert await group.ask("!annuler-dernier") == (
        "↩ Retiré du compte rendu : la décision « Signer avec KidiTap ». "
        "La décision n° 2 reste au registre des décisions : l'historique de KidiTap la cite."
    )
    decisions = await rows(group, Decision)
    assert [(d.number, d.withdrawn_at) for d in decisions] == [(1, None), (2, None)]
    assert await rows(group, MeetingItem) == []
    assert "Signer avec KidiTap" in await group.ask("!décisions")


async def test_undo_of_copil_withdraws_the_proposal_unless_put_to_a_vote(group: TestBot) -> None:
    await group.say("!réunion commencer")
    await group.say("!copil Revoir les conditions d'accès à internet")
    assert await group.ask("!annuler-dernier") == (
        "↩ Retiré du compte rendu : la proposition au COPIL « Revoir les conditions d'accès "
        "à internet ». La proposition n° 1 est retirée de la liste des propositions au COPIL."
    )
    [proposal] = await rows(group, Proposal)
    assert (proposal.status, proposal.decided_by, proposal.note) == ("withdrawn", ALICE, REASON)
    assert "Revoir les conditions" not in await group.ask("!propositions")
    assert await group.ask("!proposition 1") == (
        "La proposition n° 1 (Revoir les conditions d'accès à internet) a été retirée le "
        f"vendredi 27 novembre 2026 à 10:00 par {ALICE}."
    )
    # Put to a vote meanwhile, the next one stays in the queue.
    assert (await group.ask("!copil Une liste de mailing")).startswith(
        "📨 Soumis au COPIL, proposition n° 2"
    )
    await group.say("!sondage depuis-proposition 2", sender=DAVE)
    assert await group.ask("!annuler-dernier") == (
        "↩ Retiré du compte rendu : la proposition au COPIL « Une liste de mailing ». "
        "La proposition n° 2 reste : entre-temps, elle est au vote (sondage n° 1)."
    )
    assert [(p.number, p.status) for p in await rows(group, Proposal)] == [
        (1, "withdrawn"),
        (2, "polled"),
    ]
    # The next agenda lists what waits for the COPIL: not the withdrawn one.
    await group.say("!réunion fin")
    agenda = await group.ask("!odj")
    assert "Proposition n° 2 au COPIL : Une liste de mailing" in agenda
    assert "Revoir les conditions" not in agenda


async def test_undo_in_english(group: TestBot) -> None:
    await group.say("!meeting start", room=OTHER)
    await group.say(f"!action {ERWAN} Draft the budget", room=OTHER)
    assert await group.ask("!undo", room=OTHER) == (
        "↩ Removed from the minutes: the action “Draft the budget”. "
        "Follow-up #1 is cancelled: no more reminders."
    )
    await group.say("!agreed Weekly cleaning", room=OTHER)
    assert await group.ask("!undo", room=OTHER) == (
        "↩ Removed from the minutes: the decision “Weekly cleaning”. "
        "Decision #1 is withdrawn from the decision log."
    )
    await group.say("!copil Better internet", room=OTHER)
    assert await group.ask("!undo", room=OTHER) == (
        "↩ Removed from the minutes: the proposal for the COPIL “Better internet”. "
        "Proposal #1 is withdrawn from the COPIL's queue."
    )
    assert await group.ask("!undo", room=OTHER) == "The minutes are empty: nothing to undo."


# --- Calling off the next meeting.


async def test_cancel_the_next_meeting_no_reminder_and_the_agenda_waits(group: TestBot) -> None:
    sent = await group.say('!réunion planifier "mardi 18h" Point mensuel')
    [(_, first)] = files(sent).items()
    [invited] = Calendar.from_ical(first).walk("VEVENT")
    await group.say("!odj ajouter Budget 2027")
    cancelled, calendar = await group.say("!réunion annuler")
    assert cancelled.body == (
        "🚫 La réunion du mardi 1 décembre 2026 à 18:00 (Point mensuel) est annulée. "
        "Aucun rappel ne sera envoyé. L'ordre du jour (1 point(s)) attend la prochaine "
        "réunion : !odj. !réunion planifier QUAND fixe une nouvelle date. "
        "L'annulation pour votre agenda suit."
    )
    assert calendar.attachment is not None
    assert calendar.attachment.name == "reunion-annulee-2026-12-01.ics"
    [event] = Calendar.from_ical(calendar.attachment.data.decode()).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED"
    assert str(event["uid"]) == str(invited["uid"])
    assert int(event["sequence"]) == int(invited["sequence"]) + 1
    [meeting] = await rows(group, Meeting)
    assert (meeting.status, meeting.scheduled_at, meeting.reminder_at, meeting.next_due_at) == (
        "planned",
        None,
        None,
        None,
    )
    assert await audit(group, "meeting.cancel") == [
        {
            "meeting": meeting.id,
            "scope": "one",
            "date": paris("2026-12-01 18:00").isoformat(),
            "next": None,
        }
    ]
    # The day before, no reminder; the agenda is still there for the next meeting.
    assert mine(await group.travel(paris("2026-12-02 12:00"))) == []
    status = await group.ask("!réunion")
    assert "Pas de date pour la prochaine réunion" in status
    assert "1. Budget 2027" in status
    # Set again, the invitation is a newer version of the same event.
    sent = await group.say('!réunion planifier "jeudi 18h"')
    [(_, again)] = files(sent).items()
    [renewed] = Calendar.from_ical(again).walk("VEVENT")
    assert str(renewed["uid"]) == str(invited["uid"])
    assert int(renewed["sequence"]) == int(event["sequence"]) + 1
    assert "STATUS" not in renewed


async def test_cancel_one_date_of_a_series_moves_it_to_the_next(group: TestBot) -> None:
    await group.say(
        '!réunion planifier 18h Groupe partenariats repeter="tous les premiers mardis du mois"'
    )
    await group.say("!odj ajouter Budget 2027")
    cancelled, calendar = await group.say("!reunion annuler")
    assert cancelled.body == (
        "🚫 La réunion du mardi 1 décembre 2026 à 18:00 (Groupe partenariats) est annulée. "
        "Prochaine de la série (tous les premiers mardis du mois) : mardi 5 janvier 2027 à "
        "18:00 ; l'ordre du jour (1 point(s)) lui revient. L'ordre du jour sera rappelé le "
        "04/01/2027 09:00. L'invitation de la série suit, à partir de cette date."
    )
    assert calendar.attachment is not None
    assert calendar.attachment.name == "reunion-2027-01-05.ics"
    [event] = Calendar.from_ical(calendar.attachment.data.decode()).walk("VEVENT")
    assert "RRULE" in event
    assert "STATUS" not in event
    [meeting] = await rows(group, Meeting)
    assert meeting.scheduled_at == paris("2027-01-05 18:00")
    assert meeting.rule == "FREQ=MONTHLY;BYDAY=+1TU"
    assert [d["scope"] for d in await audit(group, "meeting.cancel")] == ["occurrence"]
    # No reminder for the date called off, and no "was not held" for it either.
    assert mine(await group.travel(paris("2026-12-20 12:00"))) == []
    [reminder] = mine(await group.travel(paris("2027-01-04 12:00")))
    assert reminder.body.startswith(
        "📅 Rappel : réunion mardi 5 janvier 2027 à 18:00 — Groupe partenariats."
    )
    assert "1. Budget 2027" in reminder.body


async def test_cancel_series_stops_it(group: TestBot) -> None:
    await group.say(
        '!réunion planifier "jeudi 18h" Groupe partenariats repeter="un jeudi sur deux"'
    )
    cancelled, calendar = await group.say("!réunion annuler série", sender=DAVE)
    assert cancelled.body.startswith(
        "🚫 La série « un jeudi sur deux » est arrêtée, et la réunion du jeudi 3 décembre "
        "2026 à 18:00 (Groupe partenariats) annulée. Aucun rappel ne sera envoyé."
    )
    assert calendar.attachment is not None
    [event] = Calendar.from_ical(calendar.attachment.data.decode()).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED"
    assert "RRULE" in event  # the whole series goes from the calendars
    [meeting] = await rows(group, Meeting)
    assert (meeting.rule, meeting.rule_text, meeting.scheduled_at, meeting.next_due_at) == (
        None,
        None,
        None,
        None,
    )
    assert [d["scope"] for d in await audit(group, "meeting.cancel")] == ["series"]
    assert mine(await group.travel(paris("2027-01-30 12:00"))) == []
    assert "Pas de date pour la prochaine réunion" in await group.ask("!réunion")


async def test_cancel_in_english_and_its_spellings(group: TestBot) -> None:
    await group.say('!meeting schedule "tuesday 6pm" every="every tuesday"', room=OTHER)
    cancelled, _ = await group.say("!meeting cancel", room=OTHER)
    assert cancelled.body.startswith(
        "🚫 The meeting of Tuesday 1 December 2026 at 18:00 is cancelled. "
        "Next in the series (every tuesday): Tuesday 8 December 2026 at 18:00."
    )
    cancelled, _ = await group.say("!meeting cancel serie", room=OTHER)
    assert cancelled.body.startswith(
        "🚫 The series “every tuesday” is stopped, and the meeting of Tuesday 8 December 2026 "
        "at 18:00 cancelled. No reminder will be sent."
    )


async def test_cancel_bad_input_is_answered_and_changes_nothing(group: TestBot) -> None:
    assert await group.ask("!réunion annuler") == (
        "Aucune réunion n'est planifiée ici : rien à annuler. !réunion fait le point."
    )
    await group.say("!odj ajouter Budget")  # an agenda, no date
    assert (await group.ask("!réunion annuler")).startswith("Aucune réunion n'est planifiée")
    await group.say('!réunion planifier "mardi 18h"')
    [before] = await rows(group, Meeting)
    assert await group.ask("!réunion annuler", sender=ERWAN) == (
        "Seul·e qui a planifié la prochaine réunion (@alice:fablab.test) ou un modérateur "
        "peut l'annuler. Rien n'a changé."
    )
    assert await group.ask("!réunion annuler série") == (
        "La réunion du mardi 1 décembre 2026 à 18:00 ne fait pas partie d'une série : "
        "!réunion annuler l'annule. Rien n'a changé."
    )
    assert (await group.ask("!réunion annuler tout-de-suite")).startswith(
        "tout-de-suite n'est pas parmi : série."
    )
    room = await group.open_direct(ERWAN)
    await group.join(ERWAN)
    assert await group.ask("!réunion annuler", sender=ERWAN, room=room) == (
        "Les réunions se tiennent dans le salon du groupe, pas en message privé."
    )
    [after] = await rows(group, Meeting)
    assert (after.scheduled_at, after.sequence, after.reminder_at) == (
        before.scheduled_at,
        before.sequence,
        before.reminder_at,
    )
    # While a meeting runs, the next one (planned meanwhile) is not called off.
    await group.say("!réunion commencer")
    await group.say('!réunion planifier "jeudi 18h"')
    assert await group.ask("!réunion annuler") == (
        "La réunion n° 1 est en cours : elle ne s'annule pas, elle se clôt (!réunion fin). "
        "Rien n'a changé."
    )
    [_, planned] = await rows(group, Meeting)
    assert (planned.status, planned.scheduled_at) == ("planned", paris("2026-12-03 18:00"))
    assert planned.reminder_at is not None
    assert await audit(group, "meeting.cancel") == []


# --- Chairs.


async def test_a_chair_takes_a_chair_off_but_never_the_last_one(group: TestBot) -> None:
    await group.say("!réunion commencer")
    await group.say(f"!président {ERWAN}")
    assert await group.ask(f"!retirer-président {PAULINE}") == (
        f"{PAULINE} ne préside pas cette réunion : rien n'a changé. "
        f"Président·es : {ALICE}, {ERWAN}."
    )
    assert (await group.ask(f"!retirer-président {ALICE}", sender=PAULINE)).startswith(
        "Seul·es les président·es de la réunion peuvent le faire"
    )
    assert (await group.ask("!retirer-président Alice")).startswith(
        "Mentionnez les président·es à retirer (@membre:serveur, ou moi)."
    )
    assert await group.ask(f"!retirer-president {ALICE}", sender=ERWAN) == (
        f"Ne préside plus : {ALICE}. Président·es : {ERWAN}."
    )
    # No longer a chair, Alice cannot do what chairs do.
    assert (await group.ask("!accord Oui")).startswith("Seul·es les président·es")
    assert (await group.ask("!retirer-président moi", sender=ERWAN)).startswith(
        f"Une réunion a besoin d'un·e président·e : sans {ERWAN}, il n'en resterait aucun·e."
    )
    [meeting] = await rows(group, Meeting)
    assert meeting.chairs == [ERWAN]
    assert await audit(group, "meeting.unchair") == [{"number": 1, "removed": [ALICE]}]
    # A moderator can still end a meeting whose chairs have gone.
    [summary, *_] = await group.say("!réunion fin", sender=DAVE)
    assert summary.body.startswith("🔴 Réunion n° 1 terminée")


async def test_unchair_in_english(group: TestBot) -> None:
    await group.say("!meeting start", room=OTHER)
    await group.say(f"!chair {ERWAN}", room=OTHER)
    assert await group.ask("!unchair me", room=OTHER) == (
        f"No longer chairing: {ALICE}. Chairs: {ERWAN}."
    )
    assert (await group.ask("!unchair me", sender=ERWAN, room=OTHER)).startswith(
        f"A meeting needs a chair: {ERWAN} would leave it with none."
    )


# --- A topic by its number on the agenda.


async def test_topic_by_number_takes_that_agenda_point(group: TestBot) -> None:
    for point in ("Budget", "Éthique", "Calendrier"):
        await group.say(f"!odj ajouter {point}")
    await group.say("!réunion commencer")
    assert await group.ask("!sujet 2") == (
        "📌 Sujet 1 : Éthique (reste 2 point(s) à l'ordre du jour)"
    )
    agenda = await group.ask("!odj")
    assert "1. Budget" in agenda
    assert "2. Calendrier" in agenda
    assert "Éthique" not in agenda
    assert await group.ask("!sujet 5") == (
        "Il n'y a pas de point 5 à l'ordre du jour : il en reste 2 (!odj). "
        "Un sujet qui n'est qu'un nombre : !sujet titre=5."
    )
    assert await group.ask("!sujet #2") == (
        "📌 Sujet 2 : Calendrier (reste 1 point(s) à l'ordre du jour)"
    )
    # A topic that is a number, given as its title; and a number among words is text.
    assert await group.ask("!sujet titre=2027") == (
        "📌 Sujet 3 : 2027 (reste 1 point(s) à l'ordre du jour)"
    )
    assert (await group.ask("!sujet 2027 en chiffres")).startswith("📌 Sujet 4 : 2027 en chiffres")
    items = await rows(group, MeetingItem)
    assert [(i.text, i.agenda_item_id is not None) for i in items] == [
        ("Éthique", True),
        ("Calendrier", True),
        ("2027", False),
        ("2027 en chiffres", False),
    ]
    # Undone, a point taken by its number goes back to its place.
    for _ in items:
        await group.say("!annuler-dernier")
    agenda = await group.ask("!odj")
    assert agenda.index("1. Budget") < agenda.index("2. Éthique") < agenda.index("3. Calendrier")


async def test_topic_by_number_in_english(group: TestBot) -> None:
    await group.say("!agenda add Budget", room=OTHER)
    await group.say("!meeting start", room=OTHER)
    assert await group.ask("!topic 1", room=OTHER) == "📌 Topic 1: Budget"
    assert await group.ask("!topic 1", room=OTHER) == (
        "There is no point 1 on the agenda: it has 0 left (!agenda). "
        "A topic that is only a number: !topic title=1."
    )
