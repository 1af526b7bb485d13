"""Follow-ups, typed as the group would type them, chased on a fake clock.

The room speaks French, in Europe/Paris. The clock starts on Friday 27 November 2026
at 10:00 in Paris. ALICE is an administrator by configuration, BOB and CAROL members,
DAVE a moderator.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.cli import OWN_LOGGERS
from bot.config import RoomSettings, Settings
from commands.kit.clock import FakeClock
from storage.models import Followup, FollowupEvent, PartnerEvent, Role
from storage.repos.core import MemberRepository
from tests.botkit import ALICE, BOB, CAROL, GROUP, ROOM, Sent, TestBot

PARIS = ZoneInfo("Europe/Paris")
DAVE = "@dave:fablab.test"
OTHER = "!autre-groupe"


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
    """The bot, with Dave a moderator."""
    async with bot.services.db.unit_of_work() as uow:
        await uow.repo(MemberRepository, GROUP).set_role(DAVE, Role.MODERATOR, now=bot.clock.now())
    return bot


async def stored(bot: TestBot, number: int, group: str = GROUP) -> Followup:
    async with bot.services.db.unit_of_work() as uow:
        row = await uow.session.scalar(
            select(Followup).where(Followup.group_id == group, Followup.number == number)
        )
        assert row is not None
        return row


async def history(bot: TestBot, number: int) -> list[str]:
    followup = await stored(bot, number)
    async with bot.services.db.unit_of_work() as uow:
        rows = await uow.session.scalars(
            select(FollowupEvent.kind)
            .where(FollowupEvent.followup_id == followup.id)
            .order_by(FollowupEvent.id)
        )
        return list(rows)


def reminders(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.body.startswith("🔔")]


# --- Creating.


async def test_a_follow_up_repeats_its_due_date_in_full(group: TestBot) -> None:
    answer = await group.ask(f'!relance {BOB} Rappeler KidiTap echeance="mardi 14h"')
    assert answer.startswith(f"Relance n° 1 pour {BOB} : Rappeler KidiTap.")
    assert "Échéance mardi 1 décembre 2026 à 14:00" in answer
    assert "premier rappel le 30/11/2026 09:00" in answer
    row = await stored(group, 1)
    assert (row.assignee, row.creator, row.text) == (BOB, ALICE, "Rappeler KidiTap")
    assert row.due_at == paris("2026-12-01 14:00")
    assert row.next_reminder_at == paris("2026-11-30 09:00")
    assert (row.status, row.origin) == ("open", "command")
    assert await history(group, 1) == ["created"]


async def test_english_room_and_natural_dates(group: TestBot) -> None:
    answer = await group.ask('!followup Send the minutes due="next monday"', room=OTHER)
    assert "Follow-up #1 for @alice:fablab.test: Send the minutes." in answer
    assert "Due Monday 30 November 2026 at 09:00" in answer


async def test_several_mentions_make_one_follow_up_each(group: TestBot) -> None:
    answer = await group.ask(f'!relance {BOB} {CAROL} Préparer l\'atelier echeance="dans 3 jours"')
    assert answer.startswith(f"Relances n° 1 pour {BOB}, n° 2 pour {CAROL} : Préparer l'atelier.")
    assert (await stored(group, 1)).assignee == BOB
    assert (await stored(group, 2)).assignee == CAROL
    # Without a mention, the follow-up is the sender's; without a date, it is not chased.
    answer = await group.ask("!relance Écrire à la MDL", sender=BOB)
    assert "Sans échéance : pas de rappels" in answer
    row = await stored(group, 3)
    assert (row.assignee, row.due_at, row.next_reminder_at) == (BOB, None, None)


async def test_the_answer_mentions_only_the_assignees(group: TestBot) -> None:
    [answer] = await group.say(f"!relance {BOB} Appeler Ti Lab")
    assert answer.content["m.mentions"] == {}
    [reassigned] = await group.say(f"!reattribuer 1 {CAROL}")
    assert reassigned.content["m.mentions"] == {"user_ids": [CAROL]}


# --- Bad input: a clear answer, nothing changed.


async def test_bad_input_changes_nothing(group: TestBot) -> None:
    past = await group.ask('!relance Appeler echeance="hier"')
    assert "est dans le passé" in past
    bad = await group.ask('!relance Appeler echeance="à la saint-glinglin"')
    assert "saint-glinglin" in bad
    assert "« vendredi 14h »" in bad
    assert "« dans 3 jours »" in bad
    assert "Il n'y a pas de relance n° 7" in await group.ask("!fait 7")
    assert "Indiquez ce qu'il faut faire" in await group.ask(f"!relance {BOB}")
    async with group.services.db.unit_of_work() as uow:
        assert list(await uow.session.scalars(select(Followup))) == []


async def test_only_assignee_creator_or_moderator_may_close(group: TestBot) -> None:
    await group.say(f"!relance {BOB} Appeler Ti Lab", sender=CAROL)
    refused = await group.ask("!fait 1", sender=DAVE.replace("dave", "eve"))
    assert "Seuls @bob:fablab.test (qui l'a), @carol:fablab.test (qui l'a créée)" in refused
    assert (await stored(group, 1)).status == "open"
    assert "faite" in await group.ask("!fait 1", sender=DAVE)  # a moderator may
    assert "déjà faite" in await group.ask("!reporter 1 3j", sender=BOB)
    assert "déjà faite" in await group.ask("!fait 1", sender=BOB)
    assert await history(group, 1) == ["created", "done"]


# --- Moving along.


async def test_done_snooze_reassign_edit_cancel(group: TestBot) -> None:
    await group.say(f'!relance {BOB} Appeler Ti Lab echeance="mardi 14h"')
    snoozed = await group.ask("!reporter 1 3j", sender=BOB)
    assert "nouvelle échéance lundi 30 novembre 2026 à 10:00" in snoozed
    assert (await stored(group, 1)).due_at == paris("2026-11-30 10:00")
    edited = await group.ask('!relance modifier 1 texte="Appeler Ti Lab et KidiTap"')
    assert edited.startswith("Relance n° 1 : Appeler Ti Lab et KidiTap")
    cleared = await group.ask("!relance modifier 1 echeance=-")
    assert "sans échéance (plus de rappels)" in cleared
    assert (await stored(group, 1)).next_reminder_at is None
    assert "passe de @bob:fablab.test à @carol:fablab.test" in await group.ask(
        f"!reattribuer 1 {CAROL}", sender=BOB
    )
    assert "Relance n° 1 annulée" in await group.ask("!annuler 1 plus utile", sender=CAROL)
    assert await history(group, 1) == [
        "created",
        "snoozed",
        "edited",
        "edited",
        "reassigned",
        "cancelled",
    ]
    shown = await group.ask("!relance voir 1")
    assert "annulée" in shown
    assert "réattribuée @bob:fablab.test → @carol:fablab.test" in shown


async def test_lists_and_filters(group: TestBot) -> None:
    await group.say(f'!relance {BOB} Un echeance="demain"')
    await group.say(f'!relance {BOB} Deux echeance="dans 2 semaines"')
    await group.say(f"!relance {CAROL} Trois")
    await group.say("!fait 3", sender=CAROL)
    mine = await group.ask("!relances", sender=BOB)
    assert mine.startswith("Vos relances ouvertes (2)")
    assert mine.index("Un") < mine.index("Deux")
    assert "Relances ouvertes de @bob:fablab.test (2)" in await group.ask(f"!relances {BOB}")
    week = await group.ask("!relances semaine")
    assert "Un" in week
    assert "Deux" not in week
    await group.advance(timedelta(days=2))
    late = await group.ask("!relances retard")
    assert late.startswith("Relances en retard (1)")
    assert "en retard de 1 jour(s)" in late
    assert "Trois" in await group.ask("!relances faites")
    assert "n'est pas un filtre" in await group.ask("!relances hier")


async def test_long_lists_are_paged(group: TestBot) -> None:
    for index in range(40):
        await group.say(f"!relance {BOB} Tâche {index} " + "x" * 900)
    [answer] = await group.say("!relances toutes")
    assert "(40, page 1/3)" in answer.body
    assert len(answer.body.encode()) < 40_000
    assert "page=2" in answer.body
    assert "Tâche 15" in await group.ask("!relances toutes page=2")


# --- Chasing.


async def test_a_whole_chase_from_creation_to_done(group: TestBot) -> None:
    await group.say(f'!relance {BOB} Rappeler KidiTap echeance="mardi 14h"', sender=CAROL)
    chased = reminders(await group.travel(paris("2026-12-14 12:00")))
    async with group.services.db.unit_of_work() as uow:
        rows = await uow.session.scalars(
            select(FollowupEvent.at)
            .where(FollowupEvent.kind == "reminded")
            .order_by(FollowupEvent.id)
        )
        times = [t.astimezone(PARIS).strftime("%a %d %H:%M") for t in rows]
    # The working day before, the day itself, then every two days while late; the
    # slot of Saturday the 5th and Sunday the 13th move to the Monday after.
    assert times == [
        "Mon 30 09:00",
        "Tue 01 09:00",
        "Thu 03 09:00",
        "Mon 07 09:00",
        "Wed 09 09:00",
        "Fri 11 09:00",
        "Mon 14 09:00",
    ]
    assert all(s.room_id == ROOM for s in chased)
    mentions = [s.content["m.mentions"]["user_ids"] for s in chased]
    assert mentions[:4] == [[BOB]] * 4
    assert mentions[4] == [BOB, CAROL]  # the third late reminder: the creator too
    assert mentions[5] == [BOB, CAROL]
    assert mentions[6] == [BOB, CAROL, DAVE]  # the fifth: the moderators
    assert "Pour information : @carol:fablab.test, @dave:fablab.test." in chased[6].body
    # Bob reacts ✅ to the last reminder: done, said in its thread.
    [said] = await group.deliver(group.reaction(chased[6].event_id, sender=BOB))
    assert (
        said.body == "✅ n° 1 (Rappeler KidiTap) marquée(s) faite(s) par @bob:fablab.test. Merci !"
    )
    assert said.content["m.relates_to"]["m.in_reply_to"]["event_id"] == chased[6].event_id
    row = await stored(group, 1)
    assert (row.status, row.next_reminder_at) == ("done", None)
    assert reminders(await group.advance(timedelta(days=30))) == []


async def test_a_third_persons_reaction_is_ignored(group: TestBot) -> None:
    [created] = await group.say(f'!relance {BOB} Appeler echeance="lundi"')
    assert await group.deliver(group.reaction(created.event_id, sender=DAVE)) == []
    assert await group.deliver(group.reaction(created.event_id, "👍", sender=BOB)) == []
    assert (await stored(group, 1)).status == "open"
    # The creator's ✅ on the answer to the creation closes it.
    [said] = await group.deliver(group.reaction(created.event_id, "✔️", sender=ALICE))
    assert "marquée(s) faite(s) par @alice:fablab.test" in said.body
    assert (await stored(group, 1)).status == "done"


async def test_downtime_across_several_slots_sends_one_reminder(group: TestBot) -> None:
    await group.say(f'!relance {BOB} Appeler echeance="mardi 14h"')
    # Down from Friday to Thursday 10 December at 10:00: five slots missed.
    group.clock.set(paris("2026-12-10 10:00"))
    await group.bot.scheduler.run_due(group.clock.now())
    await group.sender.flush()
    sent = reminders(group.sent)
    assert len(sent) == 1
    assert "en retard de 8 jour(s)" in sent[0].body
    row = await stored(group, 1)
    assert row.next_reminder_at == paris("2026-12-11 09:00")
    assert row.overdue_reminders == 1


async def test_no_reminder_in_quiet_hours_or_at_weekends(group: TestBot) -> None:
    await group.say(f'!relance {BOB} Appeler echeance="lundi 14h"')
    # Down over the day before's slot (Friday 09:00 already passed: next is Monday).
    group.clock.set(paris("2026-11-28 22:00"))  # Saturday night
    await group.bot.scheduler.run_due(group.clock.now())
    assert reminders(group.sent) == []
    sent = reminders(await group.travel(paris("2026-11-30 08:59")))
    assert sent == []
    sent = reminders(await group.travel(paris("2026-11-30 09:00")))
    assert len(sent) == 1


async def test_reminders_due_together_are_grouped(group: TestBot) -> None:
    await group.say(f'!relance {BOB} Un echeance="mardi 14h"')
    await group.say(f'!relance {BOB} Deux echeance="mardi 16h"')
    await group.say(f'!relance {CAROL} Trois echeance="mardi 14h"')
    sent = reminders(await group.travel(paris("2026-11-30 09:00")))
    assert len(sent) == 2
    bobs = next(s for s in sent if BOB in s.content["m.mentions"]["user_ids"])
    assert "2 relances vous attendent" in bobs.body
    assert "Un" in bobs.body
    assert "Deux" in bobs.body
    assert "Trois" not in bobs.body


async def test_a_huge_reminder_still_arrives(group: TestBot) -> None:
    for index in range(60):
        await group.say(f'!relance {BOB} Tâche {index} {"y" * 900} echeance="mardi 14h"')
    [sent] = await group.travel(paris("2026-11-30 09:00"))
    assert sent.body.startswith("Cette réponse est trop longue pour un seul message")
    assert "🔔 @bob:fablab.test, 60 relances vous attendent" in sent.body
    assert sent.content["m.mentions"] == {"user_ids": [BOB]}
    assert len(sent.body.encode()) < 40_000
    assert sent.attachment is not None  # the whole list, as a file
    assert "Tâche 59".encode() in sent.attachment.data


async def test_dm_mode_sends_reminders_in_a_direct_message(db_url: str, clock: FakeClock) -> None:
    settings = Settings.model_validate(
        {
            "admins": [ALICE],
            "rooms": [RoomSettings(id=ROOM, locale="fr", timezone="Europe/Paris")],
            "database": {"url": db_url},
            "followups": {"rooms": [{"id": ROOM, "deliver": "dm"}]},
        }
    )
    bot = TestBot(settings, clock)
    await bot.start()
    try:
        await bot.join(BOB)
        await bot.say(f'!relance {BOB} Appeler echeance="mardi 14h"')
        [sent] = reminders(await bot.travel(paris("2026-11-30 09:00")))
        assert sent.room_id == bot.transport.direct[BOB]
        [done] = await bot.deliver(bot.reaction(sent.event_id, sender=BOB, room=sent.room_id))
        assert "marquée(s) faite(s)" in done.body
    finally:
        await bot.close()


# --- Daylight saving: a 09:00 reminder stays at 09:00 local.


@pytest.mark.parametrize(
    ("start", "due", "expected"),
    [
        # Summer time starts on Sunday 28 March 2027 (UTC+1 → UTC+2).
        ("2027-03-25 10:00", "lundi 29 mars 2027 14h", "2027-03-26 09:00"),
        # It ends on Sunday 31 October 2027 (UTC+2 → UTC+1).
        ("2027-10-28 10:00", "mardi 2 novembre 2027 14h", "2027-11-01 09:00"),
    ],
)
async def test_daylight_saving_keeps_the_local_hour(
    db_url: str, settings: Settings, start: str, due: str, expected: str
) -> None:
    bot = TestBot(settings, FakeClock(paris(start)))
    await bot.start()
    try:
        await bot.say(f'!relance {BOB} Appeler echeance="{due}"')
        sent = await bot.travel(paris(expected) + timedelta(days=6))
        async with bot.services.db.unit_of_work() as uow:
            rows = list(
                await uow.session.scalars(
                    select(FollowupEvent.at).where(FollowupEvent.kind == "reminded")
                )
            )
        assert len(reminders(sent)) == len(rows) >= 3
        assert {r.astimezone(PARIS).strftime("%H:%M") for r in rows} == {"09:00"}
        assert rows[0] == paris(expected)
    finally:
        await bot.close()


# --- Partners.


async def test_partner_card_history_and_automatic_follow_up(group: TestBot) -> None:
    await group.say("!partenaire ajouter KidiTap type=entreprise suivi=" + CAROL)
    await group.say(f'!relance {BOB} Envoyer le devis echeance="mardi" partenaire=KidiTap')
    card = await group.ask("!partenaire voir KidiTap")
    assert "Relances ouvertes" in card
    assert "n° 1 Envoyer le devis" in card
    assert "Envoyer le devis" in await group.ask("!relances toutes partenaire=KidiTap")
    await group.say("!fait 1 devis envoyé", sender=BOB)
    assert "Relances ouvertes" not in await group.ask("!partenaire voir KidiTap")
    async with group.services.db.unit_of_work() as uow:
        done = await uow.session.scalar(
            select(PartnerEvent).where(PartnerEvent.kind == "link_done")
        )
    assert done is not None
    assert done.detail["note"] == "devis envoyé"
    assert "relance n° 1 faite : Envoyer le devis (devis envoyé)" in await group.ask(
        "!partenaire historique KidiTap"
    )
    # Interested with no open follow-up: one for the owner, in three working days.
    answers = await group.say("!partenaire statut KidiTap intéressé", sender=BOB)
    assert len(answers) == 2
    assert "personne n'a de relance à son sujet : relance n° 2 pour @carol:fablab.test" in (
        answers[1].body
    )
    assert "échéance mercredi 2 décembre 2026 à 09:00" in answers[1].body
    row = await stored(group, 2)
    assert (row.assignee, row.origin, row.partner_id) == (CAROL, "automatic", done.partner_id)
    # Back and forth: one is open already, no second one.
    await group.say("!partenaire statut KidiTap contacté")
    assert len(await group.say("!partenaire statut KidiTap intéressé")) == 1


# --- Groups, personal data, logs.


async def test_another_group_sees_nothing(group: TestBot) -> None:
    await group.say(f"!relance {BOB} Secret du groupe")
    assert "There is no follow-up #1" in await group.ask("!done 1", room=OTHER)
    assert "Secret" not in await group.ask("!followups all", room=OTHER)
    await group.say("!followup Theirs", room=OTHER)
    assert (await stored(group, 1, OTHER)).text == "Theirs"
    assert (await stored(group, 1)).text == "Secret du groupe"


async def test_forget_person_erases_follow_ups_naming_them(group: TestBot) -> None:
    await group.say(f"!relance {BOB} Appeler Zoé Martin au sujet de l'atelier")
    await group.say(f"!relance {BOB} Appeler Zoéline")
    await group.say("!fait 1 Zoé Martin rappellera", sender=BOB)
    found = await group.ask("!donnees-personne Zoé Martin", sender=DAVE)
    assert "1 relance(s) qui la nomment" in found
    await group.say("!oublier-personne Zoé Martin", sender=DAVE)
    await group.say("!oublier-personne confirmer", sender=DAVE)
    assert (await stored(group, 1)).text == "Appeler [effacé] au sujet de l'atelier"
    assert (await stored(group, 2)).text == "Appeler Zoéline"  # whole words only
    async with group.services.db.unit_of_work() as uow:
        notes = list(await uow.session.scalars(select(FollowupEvent.text)))
    assert "[effacé] rappellera" in notes
    assert not any("Martin" in (n or "") for n in notes)


async def test_no_follow_up_text_in_logs(group: TestBot, caplog: pytest.LogCaptureFixture) -> None:
    # What `passerelle run -v` logs (`setup_logging`): ours at DEBUG, libraries at INFO.
    caplog.set_level(logging.INFO)
    for name in OWN_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.WARNING, logger="sqlalchemy.engine")
    await group.say(f'!relance {BOB} Appeler Zoé Martin echeance="mardi 14h"')
    await group.travel(paris("2026-12-02 10:00"))
    await group.say("!fait 1 Zoé a répondu", sender=BOB)
    assert reminders(group.sent)
    assert "Zoé" not in caplog.text
    assert "Martin" not in caplog.text


async def test_a_check_mark_in_a_direct_message_acts_for_the_reminders_group(
    db_url: str, clock: FakeClock
) -> None:
    """Bob is in two groups; his direct messages act for neither until he chooses, yet
    his ✅ on a reminder sent there closes the follow-up of the reminder's group."""
    settings = Settings.model_validate(
        {
            "admins": [ALICE],
            "rooms": [
                RoomSettings(id=ROOM, locale="fr", timezone="Europe/Paris"),
                RoomSettings(id=OTHER, locale="en", timezone="Europe/Paris"),
            ],
            "database": {"url": db_url},
            "followups": {"deliver": "dm"},
        }
    )
    bot = TestBot(settings, clock)
    await bot.start()
    try:
        await bot.join(BOB)
        await bot.join(BOB, room=OTHER)
        await bot.say(f'!relance {BOB} Appeler echeance="mardi 14h"')
        [sent] = reminders(await bot.travel(paris("2026-11-30 09:00")))
        assert sent.content["m.mentions"] == {"user_ids": [BOB]}
        [done] = await bot.deliver(bot.reaction(sent.event_id, sender=BOB, room=sent.room_id))
        assert "marquée(s) faite(s) par @bob:fablab.test" in done.body
        assert (await stored(bot, 1)).status == "done"
    finally:
        await bot.close()
