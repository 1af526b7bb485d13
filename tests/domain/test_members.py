"""Membership, as the group and the people knocking at its door would live it, through
the fake transport and a fake clock.

The group "partenariats" has its room (MAIN, French) and its moderators' room (MODS);
OTHER is another group's room. ALICE is an administrator by configuration, DAVE a
moderator (the COPIL), BOB and CAROL members; ZOE and EVE ask to join. The clock starts
on Friday 27 November 2026 at 10:00 in Paris.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.cli import OWN_LOGGERS
from bot.config import Settings
from commands import core, followups, members, partners
from commands.kit.clock import FakeClock
from commands.kit.context import MAX_CONTENT_BYTES, content_size
from commands.kit.transport import SendError
from storage.models import (
    Admission,
    AuditEntry,
    JoinRequest,
    OutboxAction,
    Role,
)
from storage.repos.core import MemberRepository
from tests.botkit import ALICE, BOB, CAROL, Sent, TestBot

# The domains membership works with (the others' jobs have no part in these tests).
DOMAINS = (core.DOMAIN, partners.DOMAIN, followups.DOMAIN, members.DOMAIN)
MAIN, MODS, OTHER = "!partenariats", "!moderation", "!autre-groupe"
GROUP = "partenariats"
DAVE = "@dave:fablab.test"
ZOE = "@zoe:ailleurs.test"
EVE = "@eve:ailleurs.test"


def settings_for(db_url: str, *, other: bool = True, **members: Any) -> Settings:
    rooms: list[dict[str, Any]] = [{"id": MAIN, "group": GROUP}, {"id": MODS, "group": GROUP}]
    if other:
        rooms.append({"id": OTHER, "locale": "en"})
    return Settings.model_validate(
        {
            "admins": [ALICE],
            "rooms": rooms,
            "database": {"url": db_url},
            # The join rule's own tests turn knock_join_rule on; here it would be one
            # more room action to count.
            "members": {
                "moderators_room": MODS,
                "request_expiry_days": 7,
                "knock_join_rule": False,
                **members,
            },
        }
    )


@pytest.fixture
def settings(db_url: str) -> Settings:
    return settings_for(db_url)


@pytest.fixture
async def bot(settings: Settings, clock: FakeClock) -> AsyncIterator[TestBot]:
    test_bot = TestBot(settings, clock, domains=DOMAINS)
    await test_bot.start()
    try:
        yield test_bot
    finally:
        await test_bot.close()


@pytest.fixture
async def group(bot: TestBot) -> TestBot:
    """Dave is a moderator; Alice, Bob, Carol and Dave are in the group's rooms."""
    async with bot.services.db.unit_of_work() as uow:
        await uow.repo(MemberRepository, GROUP).set_role(DAVE, Role.MODERATOR, now=bot.clock.now())
        now = bot.clock.now()
        await uow.room_members.set(MAIN, DAVE, "join", now=now, display_name="Dave Le Goff")
    await bot.join(ALICE, BOB, CAROL, room=MAIN)
    await bot.join(ALICE, DAVE, room=MODS)
    return bot


def knock(bot: TestBot, user: str, reason: str | None = None, name: str | None = None) -> Any:
    content: dict[str, Any] = {"membership": "knock"}
    if reason is not None:
        content["reason"] = reason
    if name is not None:
        content["displayname"] = name
    return bot.raw("m.room.member", content, sender=user, room=MAIN, state_key=user)


def member_event(bot: TestBot, user: str, membership: str, *, by: str | None = None) -> Any:
    return bot.raw(
        "m.room.member", {"membership": membership}, sender=by or user, room=MAIN, state_key=user
    )


async def requests_of(bot: TestBot, user: str | None = None) -> list[JoinRequest]:
    async with bot.services.db.unit_of_work() as uow:
        query = select(JoinRequest).order_by(JoinRequest.id)
        if user is not None:
            query = query.where(JoinRequest.user_id == user)
        return list(await uow.session.scalars(query))


async def audit(bot: TestBot, action: str | None = None) -> list[AuditEntry]:
    async with bot.services.db.unit_of_work() as uow:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list(await uow.session.scalars(query))


async def pass_now(bot: TestBot) -> list[Sent]:
    """One scheduler pass at the current instant (what the runtime's loop does)."""
    return await bot.advance(timedelta(0))


def in_room(sent: list[Sent], room: str) -> list[Sent]:
    return [s for s in sent if s.room_id == room]


def actions(bot: TestBot, kind: str) -> list[Any]:
    return [a for a in bot.transport.actions if a.kind == kind]


# --- Asking, and the moderators hearing of it.


async def test_a_knock_is_a_request_the_moderators_hear_of_once(group: TestBot) -> None:
    answers = await group.deliver(knock(group, ZOE, "Je gère l'atelier bois du TyFab", "Zoé"))
    assert answers == []  # stored at once, announced by the next pass
    [request] = await requests_of(group)
    assert (request.room_id, request.user_id, request.display_name) == (MAIN, ZOE, "Zoé")
    assert (request.reason, request.source, request.status) == (
        "Je gère l'atelier bois du TyFab",
        "knock",
        "pending",
    )
    assert request.expires_at == group.clock.now() + timedelta(days=7)

    [notice] = await pass_now(group)
    assert notice.room_id == MODS  # the moderators' room, not the group's
    assert notice.body.startswith("🚪 Une nouvelle demande d'entrée :")
    assert f"{ZOE} (« Zoé ») — a frappé le 27/11/2026 10:00 : Je gère l'atelier bois" in notice.body
    assert "!accepter @membre" in notice.body
    assert sorted(notice.content["m.mentions"]["user_ids"]) == [DAVE]
    assert f'href="https://matrix.to/#/{ZOE}"' in notice.html
    # Told once: the next pass has nothing to say.
    assert await pass_now(group) == []
    [entry] = await audit(group, "members.request")
    assert (entry.actor, entry.group_id, entry.detail) == (
        ZOE,
        GROUP,
        {"user": ZOE, "source": "knock", "again": False},
    )


async def test_knocking_again_updates_the_request_and_tells_the_moderators_again(
    group: TestBot,
) -> None:
    await group.deliver(knock(group, ZOE, "Bonjour"))
    await pass_now(group)
    await group.deliver(knock(group, ZOE, "Je viens de la part de Bob"))
    [request] = await requests_of(group)
    assert request.reason == "Je viens de la part de Bob"
    [notice] = await pass_now(group)
    assert "Je viens de la part de Bob" in notice.body


async def test_requests_are_listed_for_moderators_only(group: TestBot) -> None:
    assert await group.ask("!demandes", sender=DAVE, room=MODS) == "Aucune demande en attente."
    await group.deliver(knock(group, ZOE, "Atelier bois", "Zoé"), knock(group, EVE))
    listed = await group.ask("!demandes", sender=DAVE, room=MODS)
    assert listed.startswith("Demandes en attente (2) :")
    assert "Zoé" in listed
    assert f"{EVE} — a frappé le 27/11/2026 10:00, sans raison donnée" in listed
    # A member is refused, and the refusal is in the audit log under their user id.
    refused = await group.ask("!demandes", sender=BOB, room=MAIN)
    assert refused == "Cette commande demande le rôle modérateur."
    [entry] = await audit(group, "members.refused")
    assert (entry.actor, entry.detail["command"], entry.detail["why"]) == (
        BOB,
        "requests",
        "needs_role",
    )


# --- Deciding.


async def test_approving_invites_once_and_is_audited(group: TestBot) -> None:
    await group.deliver(knock(group, ZOE, "Atelier bois"))
    answer = await group.ask(f"!accepter {ZOE}", sender=DAVE, room=MODS)
    assert answer.startswith(f"✅ {ZOE} est invité·e (sa demande d'entrée est acceptée)")
    [invite] = actions(group, OutboxAction.INVITE)
    assert (invite.room_id, invite.user_id) == (MAIN, ZOE)  # the room she knocked at
    [request] = await requests_of(group)
    assert (request.status, request.decided_by) == ("approved", DAVE)
    [entry] = await audit(group, "members.approve")
    assert (entry.actor, entry.detail["user"], entry.group_id) == (DAVE, ZOE, GROUP)

    # Approving twice: a clear answer, nothing sent again.
    again = await group.ask(f"!accepter {ZOE}", sender=DAVE, room=MODS)
    assert again.startswith(f"La demande de {ZOE} est déjà acceptée par {DAVE} (27/11/2026 10:00)")
    assert "rien n'a changé" in again
    assert len(actions(group, OutboxAction.INVITE)) == 1


async def test_approving_or_denying_someone_who_did_not_ask_changes_nothing(
    group: TestBot,
) -> None:
    unknown = await group.ask(f"!accepter {EVE}", sender=DAVE, room=MODS)
    assert unknown.startswith(f"{EVE} n'a pas demandé à entrer : il n'y a rien à décider.")
    assert unknown == await group.ask(f"!refuser {EVE} non", sender=DAVE, room=MODS)
    member = await group.ask(f"!accepter {BOB}", sender=DAVE, room=MODS)
    assert member == f"{BOB} est déjà membre du salon : rien n'a changé."
    assert group.transport.actions == []
    assert await requests_of(group) == []
    refusals = [(e.actor, e.detail["command"], e.detail["why"]) for e in await audit(group)]
    assert refusals == [
        (DAVE, "approve", "no_request"),
        (DAVE, "deny", "no_request"),
        (DAVE, "approve", "already_member"),
    ]
    bad = await group.ask("!accepter zoe", sender=DAVE, room=MODS)
    assert "@MEMBRE" in bad  # the usage line


async def test_a_member_cannot_approve_and_the_attempt_is_audited(group: TestBot) -> None:
    await group.deliver(knock(group, ZOE))
    refused = await group.ask(f"!accepter {ZOE}", sender=BOB, room=MAIN)
    assert refused == "Cette commande demande le rôle modérateur."
    assert group.transport.actions == []
    assert [r.status for r in await requests_of(group)] == ["pending"]
    [entry] = await audit(group, "members.refused")
    assert (entry.actor, entry.detail) == (
        BOB,
        {"command": "approve", "user": ZOE, "why": "needs_role"},
    )


async def test_denying_refuses_the_knock_with_the_reason(group: TestBot) -> None:
    await group.deliver(knock(group, ZOE, "Je vends des imprimantes"))
    answer = await group.ask(
        f"!refuser {ZOE} ce groupe est réservé aux fablabs", sender=DAVE, room=MODS
    )
    assert answer == (
        f"❌ La demande de {ZOE} est refusée (raison donnée : ce groupe est réservé aux fablabs)."
    )
    [kick] = actions(group, OutboxAction.KICK)
    assert (kick.room_id, kick.user_id, kick.reason) == (
        MAIN,
        ZOE,
        "ce groupe est réservé aux fablabs",
    )
    [request] = await requests_of(group)
    assert (request.status, request.decided_by, request.note) == (
        "denied",
        DAVE,
        "ce groupe est réservé aux fablabs",
    )
    [entry] = await audit(group, "members.deny")
    assert entry.detail == {
        "user": ZOE,
        "request": request.id,
        "source": "knock",
        "with_reason": True,
    }
    # Denied twice: said so, nothing more sent.
    again = await group.ask(f"!refuser {ZOE}", sender=DAVE, room=MODS)
    assert again.startswith(f"La demande de {ZOE} est déjà refusée par {DAVE}")
    assert "Cette personne peut redemander." in again
    assert len(actions(group, OutboxAction.KICK)) == 1
    # Without a reason, the knock is refused with the catalog's words.
    await group.deliver(knock(group, EVE))
    await group.say(f"!refuser {EVE}", sender=DAVE, room=MODS)
    assert actions(group, OutboxAction.KICK)[-1].reason == (
        "Votre demande d'entrée a été refusée par les modérateurs du groupe."
    )


async def test_a_moderators_invitation_or_refusal_through_a_client_settles_the_request(
    group: TestBot,
) -> None:
    await group.deliver(knock(group, ZOE), knock(group, EVE))
    await group.deliver(member_event(group, ZOE, "invite", by=DAVE))
    await group.deliver(member_event(group, EVE, "leave", by=DAVE))
    zoe, eve = await requests_of(group)
    assert (zoe.status, zoe.decided_by) == ("approved", DAVE)
    assert (eve.status, eve.decided_by) == ("denied", DAVE)
    # Someone who takes their knock back withdraws the request.
    carl = "@carl:ailleurs.test"
    await group.deliver(knock(group, carl), member_event(group, carl, "leave"))
    assert (await requests_of(group, carl))[0].status == "withdrawn"
    # A member's invitation lets in nobody's request: it is only remembered.
    await group.deliver(knock(group, "@fred:ailleurs.test"))
    await group.deliver(member_event(group, "@fred:ailleurs.test", "invite", by=BOB))
    assert (await requests_of(group, "@fred:ailleurs.test"))[0].status == "pending"
    [*_, entry] = await audit(group, "members.invite")
    assert (entry.actor, entry.detail["moderator"]) == (BOB, False)


# --- Joining: the welcome, the list of members.


async def test_the_new_member_is_welcomed_once_by_direct_message(group: TestBot) -> None:
    await group.deliver(knock(group, ZOE, "Atelier bois", "Zoé"))
    await group.say(f"!accepter {ZOE}", sender=DAVE, room=MODS)
    joined = member_event(group, ZOE, "join")
    [welcome] = await group.deliver(joined)
    assert welcome.room_id == "!dm-zoe"
    assert welcome.body.startswith(
        f"Bienvenue dans le groupe, {ZOE} ! Les échanges ici sont confidentiels"
    )
    assert "Besoin d'aide ? Tapez !aide dans le salon (ou ici)" in welcome.body
    # The same event handed over again (a replayed sync): no second welcome.
    assert await group.deliver(joined) == []
    listed = await group.ask("!membres", sender=BOB, room=MAIN)
    assert listed.startswith("Membres (5) :")
    assert f"{ALICE} — administrateur, là avant moi" in listed
    assert f"{DAVE} (« Dave Le Goff ») — modérateur" in listed
    assert f"{ZOE} (« Zoé ») — membre, arrivé·e le 27/11/2026 10:00, accepté·e par {DAVE}" in listed
    assert listed.index(ALICE) < listed.index(DAVE) < listed.index(BOB)


async def test_the_welcome_comes_from_the_configured_template(
    db_url: str, clock: FakeClock
) -> None:
    settings = settings_for(
        db_url,
        welcome={"fr": "Salut {name} ({user}) !\nLisez la charte épinglée.", "en": "Hi {name}"},
    )
    bot = TestBot(settings, clock, domains=DOMAINS)
    await bot.start()
    try:
        event = bot.raw(
            "m.room.member",
            {"membership": "join", "displayname": "Zoé"},
            sender=ZOE,
            room=MAIN,
            state_key=ZOE,
        )
        [welcome] = await bot.deliver(event)
        lines = welcome.body.splitlines()
        assert lines[:2] == [f"Salut Zoé ({ZOE}) !", "Lisez la charte épinglée."]
        assert lines[2].startswith("Besoin d'aide ?")
    finally:
        await bot.close()


def test_a_welcome_template_with_an_unknown_placeholder_is_refused(db_url: str) -> None:
    with pytest.raises(ValueError, match=r"unknown placeholder \{prenom\}"):
        settings_for(db_url, welcome={"fr": "Salut {prenom}", "en": "Hi"})


async def test_the_member_list_is_paged(group: TestBot) -> None:
    await group.join(*(f"@m{i:02}:fablab.test" for i in range(60)), room=MAIN)
    first = await group.say("!membres", sender=BOB, room=MAIN)
    assert first[0].body.startswith("Membres (64), page 1/3 :")
    assert "Suite : !membres page=2" in first[0].body
    assert content_size(first[0].content) < MAX_CONTENT_BYTES
    last = await group.ask("!membres page=3", sender=BOB, room=MAIN)
    assert "@m59:fablab.test" in last
    assert "Suite" not in last
    assert await group.ask("!membres page=4", sender=BOB, room=MAIN) == (
        "Il n'y a pas de page 4 : 3 page(s)."
    )


# --- Asking by direct message (clients without knocking).


async def test_join_by_direct_message_makes_the_same_request(group: TestBot) -> None:
    dm = await group.open_direct(ZOE)
    answer = await group.ask(
        "!rejoindre groupe=partenariats Je m'occupe de la découpeuse laser", sender=ZOE, room=dm
    )
    assert answer.startswith("Votre demande d'entrée est enregistrée")
    assert "jusqu'au 04/12/2026 10:00" in answer
    [request] = await requests_of(group)
    assert (request.room_id, request.source, request.group_id) == (MAIN, "dm", GROUP)
    [notice] = await pass_now(group)
    assert notice.room_id == MODS
    assert f"{ZOE} — a demandé en message privé le 27/11/2026 10:00" in notice.body
    again = await group.ask("!rejoindre groupe=partenariats C'est urgent", sender=ZOE, room=dm)
    assert again.startswith("Votre demande d'entrée était déjà en attente")
    assert len(await requests_of(group)) == 1

    # Approved: invited, and told in private.
    sent = await group.say(f"!accepter {ZOE}", sender=DAVE, room=MODS)
    assert [s.room_id for s in sent] == [MODS, dm]
    assert sent[1].body.startswith("Votre demande pour rejoindre le groupe est acceptée")
    [invite] = actions(group, OutboxAction.INVITE)
    assert (invite.room_id, invite.user_id) == (MAIN, ZOE)

    # A member asking gets told they are in already.
    bob_dm = await group.open_direct(BOB)
    assert await group.ask("!rejoindre", sender=BOB, room=bob_dm) == (
        "Vous êtes déjà membre du salon du groupe."
    )


async def test_a_request_by_direct_message_denied_is_told_in_private(group: TestBot) -> None:
    dm = await group.open_direct(EVE)
    await group.say("!rejoindre groupe=partenariats", sender=EVE, room=dm)
    sent = await group.say(f"!refuser {EVE} complet", sender=DAVE, room=MODS)
    assert [s.room_id for s in sent] == [MODS, dm]
    assert sent[1].body == (
        "Votre demande pour rejoindre le groupe a été refusée par ses modérateurs : complet"
    )
    assert actions(group, OutboxAction.KICK) == []  # no knock to refuse


async def test_join_names_the_group_when_the_bot_serves_several(
    db_url: str, clock: FakeClock
) -> None:
    settings = Settings.model_validate(
        {
            "admins": [ALICE],
            "rooms": [{"id": MAIN, "group": GROUP}, {"id": OTHER}],
            "database": {"url": db_url},
        }
    )
    bot = TestBot(settings, clock, domains=DOMAINS)
    await bot.start()
    try:
        dm = await bot.open_direct(ZOE)
        answer = await bot.ask("!rejoindre bonjour", sender=ZOE, room=dm)
        assert answer.startswith("Je sers plusieurs groupes : nommez celui")
        assert await bot.ask("!rejoindre groupe=inconnu", sender=ZOE, room=dm) == (
            "Je ne sers aucun groupe nommé « inconnu »."
        )
        answer = await bot.ask("!rejoindre groupe=Partenariats bonjour", sender=ZOE, room=dm)
        assert answer.startswith("Votre demande d'entrée est enregistrée")
        [request] = await requests_of(bot)
        assert (request.group_id, request.room_id, request.reason) == (GROUP, MAIN, "bonjour")
    finally:
        await bot.close()


# --- Bad input: a flood, a spoofed name.


async def test_a_knock_flood_is_one_grouped_notice_and_nothing_is_lost(group: TestBot) -> None:
    flood = [knock(group, f"@u{i:03}:spam.test", "x" * 600, f"Personne {i}") for i in range(100)]
    assert await group.deliver(*flood) == []
    requests = await requests_of(group)
    assert len(requests) == 100
    assert all(len(r.reason or "") == 500 for r in requests)  # bounded, kept
    assert len(await audit(group, "members.request")) == 100
    [notice] = await pass_now(group)
    assert notice.room_id == MODS
    assert notice.body.startswith("🚪 100 nouvelles demandes d'entrée :")
    assert "@u000:spam.test" in notice.body
    assert "… et 80 de plus" in notice.body
    assert content_size(notice.content) < MAX_CONTENT_BYTES
    assert notice.content["msgtype"] == "m.notice"  # one message, not a file
    # All of them are waiting and listed, 15 a page, each page one message.
    listed = await group.say("!demandes page=7", sender=DAVE, room=MODS)
    assert listed[0].body.startswith("Demandes en attente (100), page 7/7 :")
    assert content_size(listed[0].content) < MAX_CONTENT_BYTES
    assert await pass_now(group) == []


async def test_a_display_name_copying_a_moderators_is_flagged_and_gives_no_power(
    group: TestBot,
) -> None:
    await group.deliver(knock(group, EVE, "C'est moi, Dave", "Dave Le Goff"))
    [notice] = await pass_now(group)
    assert f"{EVE} (« Dave Le Goff »)" in notice.body
    assert f"le nom affiché se fait passer pour {DAVE}" in notice.body
    [entry] = await audit(group, "members.request")
    assert entry.detail["lookalike"] == DAVE
    # A member whose display name copies Dave's is still themselves: refused.
    async with group.services.db.unit_of_work() as uow:
        await uow.room_members.set(
            MAIN, CAROL, "join", now=group.clock.now(), display_name="Dave Le Goff"
        )
    refused = await group.ask(f"!accepter {EVE}", sender=CAROL, room=MAIN)
    assert refused == "Cette commande demande le rôle modérateur."
    assert group.transport.actions == []
    [refusal] = await audit(group, "members.refused")
    assert refusal.actor == CAROL
    # A display name showing someone else's user id is flagged too.
    await group.deliver(knock(group, ZOE, None, f"{DAVE}"))
    [notice] = await pass_now(group)
    assert f"se fait passer pour {DAVE}" in notice.body


# --- Expiry.


async def test_a_request_left_undecided_expires_with_a_notice(group: TestBot) -> None:
    await group.deliver(knock(group, ZOE, "Bonjour"))
    dm = await group.open_direct(EVE)
    await group.say("!rejoindre groupe=partenariats", sender=EVE, room=dm)
    await pass_now(group)
    assert await group.advance(timedelta(days=6, hours=23)) == []
    sent = await group.advance(timedelta(hours=1))
    [notice] = in_room(sent, MODS)
    assert notice.body.startswith("⌛ 2 demandes d'entrée sont restées sans décision 7 jours")
    assert f"{ZOE}, {EVE}" in notice.body
    [told] = in_room(sent, dm)
    assert told.body.startswith("Votre demande pour rejoindre le groupe a expiré")
    [kick] = actions(group, OutboxAction.KICK)
    assert (kick.user_id, kick.room_id) == (ZOE, MAIN)
    assert kick.reason is not None
    assert "a expiré" in kick.reason
    assert [r.status for r in await requests_of(group)] == ["expired", "expired"]
    assert len(await audit(group, "members.expire")) == 2
    # Expired: a decision now says so; a new knock is a new request.
    late = await group.ask(f"!accepter {ZOE}", sender=DAVE, room=MODS)
    assert late.startswith(f"La demande de {ZOE} est déjà expirée")
    await group.deliver(knock(group, ZOE, "Je réessaie"))
    assert [r.status for r in await requests_of(group, ZOE)] == ["expired", "pending"]


# --- Leaving.


async def test_a_member_who_leaves_has_their_open_follow_ups_listed(group: TestBot) -> None:
    await group.say(f'!relance {BOB} Rappeler KidiTap echeance="mardi 14h"', room=MAIN)
    await group.say(f"!relance {BOB} Écrire à la MDL", room=MAIN)
    await group.say(f"!relance {CAROL} Autre chose", room=MAIN)
    await group.say("!fait 2", sender=BOB, room=MAIN)
    [notice] = await group.deliver(member_event(group, BOB, "leave"))
    assert notice.room_id == MODS
    assert notice.body.startswith(
        f"👋 {BOB} a quitté le salon. Ses relances ouvertes sont à confier à quelqu'un d'autre"
    )
    assert "n° 1 Rappeler KidiTap — échéance 01/12/2026 14:00" in notice.body
    assert "n° 2" not in notice.body
    assert "n° 3" not in notice.body
    assert notice.content["m.mentions"]["user_ids"] == [DAVE]
    # Removed by a moderator: said so. Nothing open: nothing said.
    await group.say(f"!relance {CAROL} Encore", room=MAIN)
    [removed] = await group.deliver(member_event(group, CAROL, "leave", by=DAVE))
    assert f"{CAROL} a été retiré·e du salon par {DAVE}" in removed.body
    await group.join("@quiet:fablab.test", room=MAIN)
    assert await group.deliver(member_event(group, "@quiet:fablab.test", "leave")) == []
    assert [e.detail["open_followups"] for e in await audit(group, "members.leave")] == [1, 2, 0]


# --- Confidentiality.


async def test_a_non_member_gets_no_group_data_in_private(group: TestBot) -> None:
    await group.deliver(knock(group, ZOE, "Atelier"))
    dm = await group.open_direct(EVE)
    for command in ("!membres", "!relances toutes", "!donnees-personne Atelier"):
        answer = await group.ask(command, sender=EVE, room=dm)
        assert "Vous n'êtes dans aucun des salons que je sers" in answer, command
        assert ZOE not in answer
        assert BOB not in answer
    for command in ("!demandes", "!journal"):  # a moderator's: refused before anything
        answer = await group.ask(command, sender=EVE, room=dm)
        assert answer == "Cette commande demande le rôle modérateur."
        assert ZOE not in answer
        assert BOB not in answer
    # Nor someone who knocked, nor a member who left.
    zoe_dm = await group.open_direct(ZOE)
    assert "aucun des salons" in await group.ask("!membres", sender=ZOE, room=zoe_dm)
    await group.deliver(member_event(group, BOB, "leave"))
    bob_dm = await group.open_direct(BOB)
    assert "aucun des salons" in await group.ask("!membres", sender=BOB, room=bob_dm)


async def test_commands_from_someone_not_joined_are_not_answered(
    group: TestBot, caplog: pytest.LogCaptureFixture
) -> None:
    # The room's events say Zoé knocks and Bob left: what they type gets no answer.
    await group.deliver(knock(group, ZOE, "Atelier"))
    await group.say("!membres", sender=BOB, room=MAIN)  # Bob speaks while a member...
    await group.deliver(member_event(group, BOB, "leave"))
    with caplog.at_level(logging.INFO):
        assert await group.say("!membres", sender=ZOE, room=MAIN) == []
        assert await group.say("!membres", sender=BOB, room=MAIN) == []
    assert "not a member: ignored" in caplog.text
    # Someone the bot has not heard of yet speaks: the homeserver let them, so they are in.
    assert (await group.ask("!membres", sender=CAROL, room=MAIN)).startswith("Membres")


async def test_one_groups_membership_is_never_shown_in_another(group: TestBot) -> None:
    await group.deliver(knock(group, ZOE, "Atelier"))
    await group.say(f"!accepter {ZOE}", sender=DAVE, room=MODS)
    await group.join("@olga:autre.test", room=OTHER)
    await group.say(f"!role {CAROL} moderator", room=OTHER)
    assert await group.ask("!requests", sender=CAROL, room=OTHER) == "No request is waiting."
    other_log = await group.ask("!audit", sender=CAROL, room=OTHER)
    assert ZOE not in other_log
    assert DAVE not in other_log
    assert "member.role" in other_log
    members = await group.ask("!members", sender=CAROL, room=OTHER)
    assert "@olga:autre.test" in members
    assert BOB not in members
    # And a decision in one group cannot reach another's request.
    unknown = await group.ask(f"!approve {ZOE}", sender=CAROL, room=OTHER)
    assert unknown.startswith(f"{ZOE} has not asked to join")
    assert len(actions(group, OutboxAction.INVITE)) == 1


# --- The audit log.


async def test_the_audit_log_shows_the_groups_entries_newest_first(group: TestBot) -> None:
    await group.deliver(knock(group, ZOE, "Atelier"))
    await group.say(f"!refuser {ZOE} non", sender=DAVE, room=MODS)
    await group.say(f"!accepter {EVE}", sender=DAVE, room=MODS)
    log = await group.ask("!journal 3", sender=DAVE, room=MODS)
    lines = log.splitlines()
    assert lines[0] == "Journal d'audit, du plus récent au plus ancien (3) :"
    assert lines[1].startswith(f"• 27/11/2026 10:00 · {DAVE} · members.refused · command=approve")
    assert lines[2].startswith(f"• 27/11/2026 10:00 · {DAVE} · members.deny · user={ZOE}")
    assert lines[3].startswith(f"• 27/11/2026 10:00 · {ZOE} · members.request")
    assert await group.ask("!journal", sender=BOB, room=MAIN) == (
        "Cette commande demande le rôle modérateur."
    )
    assert "NUMÉRO" in await group.ask("!journal 500", sender=DAVE, room=MODS)


async def test_the_longest_audit_log_fits_in_one_message(group: TestBot) -> None:
    async with group.services.db.unit_of_work() as uow:
        for i in range(60):
            await uow.audit.record(
                actor=f"@{'x' * 200}:fablab.test",
                action="partner.note",
                now=group.clock.now(),
                group=GROUP,
                detail={"text": "é" * 5000, "number": i},
            )
    [answer] = await group.say("!journal 50", sender=DAVE, room=MODS)
    assert answer.content["msgtype"] == "m.notice"
    assert content_size(answer.content) < MAX_CONTENT_BYTES
    assert answer.body.count("partner.note") == 50


# --- Personal data.


async def test_a_requester_is_erased(group: TestBot) -> None:
    await group.deliver(knock(group, ZOE, "Zoé O'Brien, atelier bois", "Zoé O'Brien"))
    await group.deliver(knock(group, EVE, "Je connais Zoé O'Brien"))
    await pass_now(group)
    data = await group.ask("!donnees-personne Zoé O'Brien", sender=DAVE, room=MODS)
    assert "1 demande(s) d'entrée faite(s) par elle" in data
    assert "1 demande(s) d'entrée qui la nomment" in data
    preview = await group.ask("!oublier-personne Zoé O'Brien", sender=DAVE, room=MODS)
    assert "confirmer" in preview
    done = await group.ask("!oublier-personne confirmer", sender=DAVE, room=MODS)
    assert "1 demande(s) d'entrée supprimée(s)" in done
    assert "1 demande(s) d'entrée caviardée(s)" in done
    [eve] = await requests_of(group)
    assert eve.user_id == EVE
    assert eve.reason == "Je connais [effacé]"
    async with group.services.db.unit_of_work() as uow:
        texts = json.dumps(
            [e.detail for e in await uow.session.scalars(select(AuditEntry))], ensure_ascii=False
        )
    assert "O'Brien" not in texts
    # Erased by user id: the admission goes too.
    await group.deliver(member_event(group, BOB, "leave"))
    await group.say(f"!oublier-personne {BOB}", sender=DAVE, room=MODS)
    await group.say("!oublier-personne confirmer", sender=DAVE, room=MODS)
    async with group.services.db.unit_of_work() as uow:
        left = await uow.session.scalar(
            select(func.count()).select_from(Admission).where(Admission.user_id == BOB)
        )
    assert left == 0


async def test_no_personal_data_in_the_logs(
    group: TestBot, caplog: pytest.LogCaptureFixture
) -> None:
    # What `passerelle run -v` logs (`setup_logging`): ours at DEBUG, libraries at INFO.
    caplog.set_level(logging.INFO)
    for name in OWN_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.WARNING, logger="sqlalchemy.engine")
    await group.deliver(knock(group, ZOE, "Mon adresse est 3 rue Kerfautras", "Zoé Secret"))
    await pass_now(group)
    await group.say(f"!refuser {ZOE} motif confidentiel", sender=DAVE, room=MODS)
    await group.deliver(member_event(group, ZOE, "join"))
    assert group.sent  # the notice, the answer, the welcome
    assert "Kerfautras" not in caplog.text
    assert "Zoé Secret" not in caplog.text
    assert "motif confidentiel" not in caplog.text


# --- The room: the knock join rule, the moderators' power level.


@pytest.fixture
async def managed(db_url: str, clock: FakeClock) -> AsyncIterator[TestBot]:
    """The bot set to manage the join rule and the moderators' power levels."""
    bot = TestBot(
        settings_for(db_url, other=False, knock_join_rule=True, moderator_power_level=True),
        clock,
        domains=DOMAINS,
    )
    await bot.start()
    async with bot.services.db.unit_of_work() as uow:
        await uow.repo(MemberRepository, GROUP).set_role(DAVE, Role.MODERATOR, now=clock.now())
    await bot.join(ALICE, DAVE, BOB, room=MAIN)
    try:
        yield bot
    finally:
        await bot.close()


async def test_the_room_is_set_to_knock_at_start(managed: TestBot) -> None:
    assert await pass_now(managed) == []
    [rule] = actions(managed, OutboxAction.STATE)
    assert (rule.room_id, rule.event_type, rule.content) == (
        MAIN,
        "m.room.join_rules",
        {"join_rule": "knock"},
    )
    # Accepted: nothing more to do, no warning, not asked again in this process.
    assert await managed.advance(timedelta(minutes=1)) == []
    await managed.advance(timedelta(days=2))
    assert len(actions(managed, OutboxAction.STATE)) == 1


async def test_a_config_that_says_nothing_sets_the_room_to_knock(
    db_url: str, clock: FakeClock
) -> None:
    """Moderated joining is the default: no `members` section, the room still asks."""
    settings = Settings.model_validate(
        {"admins": [ALICE], "rooms": [{"id": MAIN}], "database": {"url": db_url}}
    )
    bot = TestBot(settings, clock, domains=DOMAINS)
    await bot.start()
    try:
        await pass_now(bot)
        assert [(a.room_id, a.event_type, a.content) for a in actions(bot, OutboxAction.STATE)] == [
            (MAIN, "m.room.join_rules", {"join_rule": "knock"})
        ]
    finally:
        await bot.close()


async def test_without_the_power_the_admins_are_warned_once(managed: TestBot) -> None:
    managed.transport.failures.append(SendError("403: M_FORBIDDEN", permanent=True))
    await pass_now(managed)
    assert actions(managed, OutboxAction.STATE) == []  # refused by the homeserver
    [warning] = await managed.advance(timedelta(minutes=1))
    assert warning.room_id == MODS
    assert warning.body.startswith(f"⚠️ {ALICE} : je n'ai pas pu régler le salon {MAIN}")
    assert warning.content["m.mentions"]["user_ids"] == [ALICE]
    # A day later it tries again, silently; refused again, no second warning.
    managed.transport.failures.append(SendError("403: M_FORBIDDEN", permanent=True))
    assert [s.body for s in await managed.advance(timedelta(days=1, minutes=2))] == []
    # When it finally can, it is done.
    await managed.advance(timedelta(days=1, minutes=2))
    assert len(actions(managed, OutboxAction.STATE)) == 1
    [entry] = await audit(managed, "members.join_rule")
    assert entry.detail == {"room": MAIN, "outcome": "refused"}


async def test_moderators_get_their_power_level_and_lose_it(managed: TestBot) -> None:
    await pass_now(managed)
    [power] = actions(managed, OutboxAction.POWER_LEVEL)
    assert (power.room_id, power.user_id, power.content) == (MAIN, DAVE, {"level": 50})
    # Not again; administrators are left alone.
    await managed.advance(timedelta(minutes=20))
    assert len(actions(managed, OutboxAction.POWER_LEVEL)) == 1
    # Carol joins as a moderator: given at once.
    await managed.say(f"!role {CAROL} moderateur", room=MAIN)
    await managed.deliver(member_event(managed, CAROL, "join"))
    assert [(a.user_id, a.content) for a in actions(managed, OutboxAction.POWER_LEVEL)][-1] == (
        CAROL,
        {"level": 50},
    )
    # Dave is no moderator any more: the next pass takes back what the bot gave.
    await managed.say(f"!role {DAVE} membre", room=MAIN)
    await managed.advance(timedelta(minutes=10))
    assert [(a.user_id, a.content) for a in actions(managed, OutboxAction.POWER_LEVEL)][-1] == (
        DAVE,
        {"level": 0},
    )
