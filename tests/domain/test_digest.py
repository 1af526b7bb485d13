"""The weekly digest on a fake clock, across weeks.

The room speaks French, in Europe/Paris; the clock starts on Friday 27 November 2026 at
10:00 in Paris. The runtime runs a scheduler pass at start: the tests do it too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.config import RoomSettings, Settings
from commands.kit.clock import FakeClock
from storage.models import DigestSchedule, OutboxEvent, Role
from storage.repos.core import MemberRepository
from tests.botkit import ALICE, BOB, CAROL, GROUP, ROOM, Sent, TestBot

PARIS = ZoneInfo("Europe/Paris")
DAVE = "@dave:fablab.test"
OTHER = "!other-group"


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).astimezone(UTC)


def config(db_url: str, **digest: object) -> Settings:
    return Settings.model_validate(
        {
            "admins": [ALICE],
            "rooms": [
                RoomSettings(id=ROOM, locale="fr", timezone="Europe/Paris"),
                RoomSettings(id=OTHER, locale="en", timezone="Europe/Paris"),
            ],
            "database": {"url": db_url},
            "followups": {"interested_followup_days": 0},
            "digest": digest,
            "members": {"knock_join_rule": False},  # its state event would count here
        }
    )


@pytest.fixture
def settings(db_url: str) -> Settings:
    return config(db_url)


async def started(bot: TestBot) -> TestBot:
    async with bot.services.db.unit_of_work() as uow:
        await uow.repo(MemberRepository, GROUP).set_role(DAVE, Role.MODERATOR, now=bot.clock.now())
    await bot.join(ALICE, BOB, CAROL, DAVE)
    await bot.bot.scheduler.run_due(bot.clock.now())  # as the runtime does at start
    return bot


@pytest.fixture
async def group(bot: TestBot) -> TestBot:
    return await started(bot)


def digests(sent: list[Sent]) -> list[Sent]:
    """This group's digests (the other group's, in English, go to its own room)."""
    return [s for s in sent if "Résumé de la semaine" in s.body]


async def a_busy_week(bot: TestBot) -> None:
    await bot.say("!partenaire ajouter KidiTap type=entreprise")
    await bot.say("!partenaire ajouter Conrad type=entreprise")
    await bot.say("!partenaire statut KidiTap intéressé")
    await bot.say(f'!relance {BOB} Rappeler KidiTap echeance="samedi 10h"')
    await bot.say(f'!relance {CAROL} Envoyer le devis echeance="mardi 14h"')
    await bot.say(f"!relance {BOB} Écrire à Conrad")
    await bot.say("!fait 3", sender=BOB)
    await bot.say('!sondage "Technicien ?" Oui Non fin="dimanche 18h"')
    await bot.say('!sondage "Salle ?" A B')
    await bot.say("!vote 2 A", sender=BOB)
    await bot.say("!sondage fermer 2")
    await bot.say("!proposer Un atelier commun avec la MDL", sender=CAROL)


async def test_the_first_digest_goes_out_on_monday_at_nine(group: TestBot) -> None:
    async with group.services.db.unit_of_work() as uow:
        row = await uow.session.scalar(select(DigestSchedule))
    assert row is not None
    assert row.next_at == paris("2026-11-30 09:00")
    await a_busy_week(group)
    assert digests(await group.travel(paris("2026-11-30 08:59"))) == []
    [digest] = digests(await group.travel(paris("2026-11-30 09:00")))
    body = digest.body
    assert digest.room_id == ROOM
    assert body.startswith(
        "📰 Résumé de la semaine, du lundi 23 novembre 2026 au lundi 30 novembre 2026"
    )
    assert "Nouveaux partenaires (2) : KidiTap, Conrad." in body
    assert "Changements de statut : KidiTap idée → intéressé." in body
    assert "Relances en retard : @bob:fablab.test (1)." in body
    assert "À faire cette semaine : n° 2 Envoyer le devis (@carol:fablab.test" in body
    assert "Faites cette semaine, merci ! n° 3 Écrire à Conrad (@bob:fablab.test)." in body
    assert "Sondages clos : n° 2 Salle ? → A ; n° 1 Technicien ? → aucun vote." in body
    assert "Décisions : n° 1 Salle ? (A) ; n° 2 Technicien ? (aucun vote)." in body
    assert "En attente du COPIL : n° 1 Un atelier commun avec la MDL." in body
    assert "Sondages ouverts" not in body  # poll 1 closed on Sunday at its deadline, unanswered
    # The week after: only what is still true shows.
    await group.say("!fait 1", sender=BOB)
    [quiet] = digests(await group.travel(paris("2026-12-07 09:00")))
    assert "Nouveaux partenaires" not in quiet.body
    assert "Relances en retard : @carol:fablab.test (1)." in quiet.body
    assert "Faites cette semaine, merci ! n° 1 Rappeler KidiTap" in quiet.body


async def test_a_quiet_week_says_so(group: TestBot) -> None:
    [digest] = digests(await group.travel(paris("2026-11-30 09:00")))
    assert "Semaine calme : rien de neuf." in digest.body


async def test_a_slot_missed_during_a_downtime_is_sent_once_labelled(group: TestBot) -> None:
    await a_busy_week(group)
    # Down from Friday to the Wednesday after next: two Monday slots missed.
    group.clock.set(paris("2026-12-09 11:00"))
    await group.bot.scheduler.run_due(group.clock.now())
    await group.sender.flush()
    [late] = digests(group.sent)
    assert "du lundi 30 novembre 2026 au lundi 7 décembre 2026" in late.body
    assert digests(await group.travel(paris("2026-12-14 08:59"))) == []
    assert len(digests(await group.travel(paris("2026-12-14 09:00")))) == 1


async def test_nine_stays_nine_across_daylight_saving(db_url: str) -> None:
    bot = TestBot(config(db_url), FakeClock(paris("2027-03-20 10:00")))
    await bot.start()
    try:
        await started(bot)
        sent = digests(await bot.travel(paris("2027-04-06 12:00")))
        assert len(sent) == 3  # 22 March, 29 March (after the change), 5 April
        async with bot.services.db.unit_of_work() as uow:
            events = await uow.session.scalars(
                select(OutboxEvent.created_at).where(OutboxEvent.room_id == ROOM)
            )
            hours = {e.astimezone(PARIS).strftime("%a %H:%M") for e in events}
        assert hours == {"Mon 09:00"}
        async with bot.services.db.unit_of_work() as uow:
            row = await uow.session.scalar(select(DigestSchedule))
        assert row is not None
        assert row.next_at == paris("2027-04-12 09:00")
        assert row.last_sent_at == paris("2027-04-05 09:00")
    finally:
        await bot.close()


async def test_schedule_preview_and_english(group: TestBot) -> None:
    refused = await group.ask('!résumé planifier "vendredi 17h"', sender=BOB)
    assert "modérateur" in refused
    answer = await group.ask('!résumé planifier "vendredi 17h"', sender=DAVE)
    assert answer == (
        "Le résumé part désormais chaque vendredi à 17:00 ; "
        "le prochain vendredi 27 novembre 2026 à 17:00."
    )
    assert digests(await group.travel(paris("2026-11-27 16:59"))) == []
    assert len(digests(await group.travel(paris("2026-11-27 17:00")))) == 1
    assert digests(await group.travel(paris("2026-11-30 09:00"))) == []  # no longer Mondays
    preview = await group.ask("!résumé", sender=BOB)
    assert preview.startswith("Aperçu du résumé, du lundi 23 novembre 2026 au lundi 30 novembre")
    await group.say("!followup Translate the minutes", room=OTHER)
    english = await group.ask("!digest", room=OTHER)
    assert english.startswith("Preview of the digest, Monday 23 November 2026 to")
    assert "Translate the minutes" not in await group.ask("!résumé")  # another group's


async def test_direct_messages_and_opting_out(db_url: str, clock: FakeClock) -> None:
    bot = TestBot(config(db_url, mode="dm"), clock)
    await bot.start()
    try:
        await started(bot)
        assert "Vous ne recevrez plus le résumé" in await bot.ask("!résumé off", sender=CAROL)
        sent = digests(await bot.travel(paris("2026-11-30 09:00")))
        rooms = sorted(s.room_id for s in sent)
        assert rooms == sorted(bot.transport.direct[u] for u in (ALICE, BOB, DAVE))
        assert "Vous recevez déjà" in await bot.ask("!résumé on", sender=BOB)
    finally:
        await bot.close()


async def test_a_digest_fits_one_event(group: TestBot) -> None:
    for index in range(40):
        await group.say(f'!partenaire ajouter "Partenaire {index:02d} {"x" * 150}"')
    [digest] = digests(await group.travel(paris("2026-11-30 09:00")))
    assert "et 35 autre(s)" in digest.body
    assert len(digest.body.encode()) < 40_000


async def test_join_requests_only_for_moderators(group: TestBot) -> None:
    zoe = "@zoe:elsewhere.test"
    await group.deliver(group.membership(zoe, "knock", reason="Je viens du TyFab"))
    sent = await group.travel(paris("2026-11-30 09:00"))
    [room] = digests(sent)
    assert zoe not in room.body
    assert "demandes d'accès" not in room.body
    told = [s for s in sent if "Pour les modérateurs" in s.body]
    assert sorted(s.room_id for s in told) == sorted(
        group.transport.direct[u] for u in (ALICE, DAVE)
    )
    assert zoe in told[0].body
    # A moderator's preview in a direct message shows them; in the room it does not.
    dm = await group.open_direct(DAVE)
    assert zoe in await group.ask("!résumé", sender=DAVE, room=dm)
    assert zoe not in await group.ask("!résumé", sender=DAVE)
