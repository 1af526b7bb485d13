"""Partners, typed as the group would type them, answered through the fake transport.

Each test checks the answer and what is (or is not) stored. The room speaks French;
ALICE is an administrator by configuration, BOB a member, CAROL a moderator.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.config import RoomSettings, Settings
from commands.kit.clock import FakeClock
from storage.models import AuditEntry, Partner, PartnerEvent, Role
from storage.repos.core import MemberRepository
from storage.repos.partners import PartnerRepository
from tests.botkit import ALICE, BOB, CAROL, GROUP, ROOM, TestBot

CONSORTIUM = ["MDL", "Petits Débrouillards", "Télécom Bretagne"]


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings.model_validate(
        {
            "admins": [ALICE],
            "rooms": [RoomSettings(id=ROOM, locale="fr", timezone="Europe/Paris")],
            "database": {"url": db_url},
            "partners": {"consortium_members": CONSORTIUM},
            # The follow-up an interested partner gets has its own tests (test_followups):
            # here each command answers once.
            "followups": {"interested_followup_days": 0},
        }
    )


@pytest.fixture
async def group(bot: TestBot) -> TestBot:
    """The bot, with Carol a moderator."""
    async with bot.services.db.unit_of_work() as uow:
        await uow.repo(MemberRepository, GROUP).set_role(CAROL, Role.MODERATOR, now=bot.clock.now())
    return bot


async def partner(bot: TestBot, name_key: str) -> Partner:
    async with bot.services.db.unit_of_work() as uow:
        found = await uow.repo(PartnerRepository, GROUP).by_key(name_key)
        assert found is not None, name_key
        return found


async def count_partners(bot: TestBot) -> int:
    async with bot.services.db.unit_of_work() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Partner)) or 0)


async def events(bot: TestBot, name_key: str) -> list[PartnerEvent]:
    """A partner's history, oldest first."""
    found = await partner(bot, name_key)
    async with bot.services.db.unit_of_work() as uow:
        rows = await uow.session.scalars(
            select(PartnerEvent)
            .where(PartnerEvent.partner_id == found.id)
            .order_by(PartnerEvent.at, PartnerEvent.id)
        )
        return list(rows)


async def audit_actions(bot: TestBot) -> list[str]:
    async with bot.services.db.unit_of_work() as uow:
        rows = await uow.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))
        return list(rows)


# --- Adding.


async def test_add_with_every_field_in_french(group: TestBot) -> None:
    answer = await group.ask(
        "!partenaire ajouter KidiTap type=entreprise etiquettes=jeux,éducation ess=oui "
        'suivi=moi entite=mdl site=kiditap.fr description="Jeux éducatifs à Brest"',
        sender=BOB,
    )
    assert answer.startswith(
        f"KidiTap ajouté (entreprise, idée, ESS, suivi par {BOB}, jeux, éducation)."
    )
    stored = await partner(group, "kiditap")
    assert (stored.name, stored.kind, stored.status) == ("KidiTap", "company", "idea")
    assert stored.social_economy is True
    assert stored.owner == BOB
    assert stored.consortium_member == "MDL"
    assert stored.website == "https://kiditap.fr"
    assert stored.description == "Jeux éducatifs à Brest"
    assert stored.created_at == stored.updated_at == group.clock.now()
    [created] = await events(group, "kiditap")
    assert (created.kind, created.actor, created.at) == ("created", BOB, group.clock.now())
    assert created.detail["card"]["kind"] == "company"
    assert "partner.add" in await audit_actions(group)


async def test_add_in_english_with_english_values(group: TestBot) -> None:
    answer = await group.ask(
        '!partner add "Leroy Merlin" kind=company status=to_contact tags=tools', sender=BOB
    )
    assert answer.startswith("Leroy Merlin ajouté (entreprise, à contacter, tools).")
    stored = await partner(group, "leroy merlin")
    assert (stored.kind, stored.status, stored.owner) == ("company", "to_contact", None)


async def test_add_defaults_to_other_and_idea(group: TestBot) -> None:
    assert (await group.ask("!partenaire ajouter Virtualys", sender=BOB)).startswith(
        "Virtualys ajouté (autre, idée)."
    )


@pytest.mark.parametrize(
    "typed",
    ["KIDITAP", "kiditap", "KidiTáp", "  Kidi\u00a0Tap  ".replace("\u00a0", ""), "kîdîtap"],
)
async def test_duplicate_names_are_refused_whatever_the_case_or_accents(
    group: TestBot, typed: str
) -> None:
    await group.ask("!partenaire ajouter KidiTap", sender=BOB)
    answer = await group.ask(f'!partenaire ajouter "{typed}"', sender=BOB)
    assert answer == (
        "Il existe déjà un partenaire nommé KidiTap "
        "(les noms sont comparés sans majuscules ni accents)."
    )
    assert await count_partners(group) == 1


async def test_unknown_kind_lists_the_valid_ones_in_french(group: TestBot) -> None:
    answer = await group.ask("!partenaire ajouter KidiTap type=startup", sender=BOB)
    assert answer.startswith(
        "startup n'est pas parmi : entreprise, institution, association, fondation, artisan, "
        "chambre consulaire, école, collectivité, autre."
    )
    assert "Utilisation : !partenaire ajouter NOM [type=TYPE]" in answer
    assert await count_partners(group) == 0


async def test_unknown_status_lists_the_valid_ones_in_french(group: TestBot) -> None:
    answer = await group.ask("!partenaire ajouter KidiTap statut=enthousiaste", sender=BOB)
    assert answer.startswith(
        "enthousiaste n'est pas parmi : idée, à contacter, contacté, intéressé, "
        "en négociation, actif (formalisé), en pause, décliné."
    )
    assert await count_partners(group) == 0


async def test_unknown_status_in_english_room(group: TestBot) -> None:
    await group.ask("!settings locale=en")
    await group.ask("!partner add KidiTap")
    answer = await group.ask("!partner status KidiTap keen")
    assert answer.startswith(
        "keen is not one of: idea, to contact, contacted, interested, negotiating, "
        "active (formalised), paused, declined."
    )


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("site=pas-un-site", "pas-un-site n'est pas une adresse de site"),
        ("site=ftp://kiditap.fr", "ftp://kiditap.fr n'est pas une adresse de site"),
        ("ess=peut-être", "peut-être n'est ni oui ni non."),
        ("suivi=bob", "bob n'est pas un utilisateur"),
        ("entite=Ifremer", "Ifremer n'est pas une entité du consortium : MDL, Petits"),
        ("couleur=bleu", "Option inconnue : couleur=."),
    ],
)
async def test_bad_values_on_add_change_nothing(group: TestBot, option: str, message: str) -> None:
    answer = await group.ask(f"!partenaire ajouter KidiTap {option}", sender=BOB)
    assert message in answer
    assert await count_partners(group) == 0


@pytest.mark.parametrize("name", ["12", "#3"])
async def test_a_name_cannot_be_a_list_number(group: TestBot, name: str) -> None:
    answer = await group.ask(f'!partenaire ajouter "{name}"', sender=BOB)
    assert "les numéros désignent les lignes de votre dernière liste" in answer
    assert await count_partners(group) == 0


async def test_public_authority_is_refused_to_a_member_with_the_rule(group: TestBot) -> None:
    answer = await group.ask(
        '!partenaire ajouter "Mairie de Brest" type=collectivité forcer=oui', sender=BOB
    )
    assert answer == (
        "Les partenaires de type « collectivité » sont hors du périmètre du groupe de travail : "
        "les collectivités sont les partenaires structurels du projet, exclues du groupe par le "
        "COPIL. Seul un modérateur peut forcer."
    )
    answer = await group.ask('!partenaire ajouter "Mairie de Brest" type=collectivite', sender=BOB)
    assert answer.endswith("Un modérateur peut l'ajouter quand même, avec forcer=oui.")
    assert await count_partners(group) == 0


async def test_public_authority_can_be_forced_by_a_moderator(group: TestBot) -> None:
    answer = await group.ask(
        '!partenaire ajouter "Mairie de Brest" type=collectivite', sender=CAROL
    )
    assert answer.endswith("Pour l'ajouter quand même, ajoutez forcer=oui.")
    assert await count_partners(group) == 0
    answer = await group.ask(
        '!partenaire ajouter "Mairie de Brest" type=collectivite forcer=oui', sender=CAROL
    )
    assert answer.startswith("Mairie de Brest ajouté (collectivité, idée).")
    assert (await partner(group, "mairie de brest")).kind == "public_authority"


async def test_editing_into_an_excluded_kind_needs_a_moderator(group: TestBot) -> None:
    await group.ask("!partenaire ajouter Brest", sender=BOB)
    answer = await group.ask("!partenaire modifier Brest type=collectivite", sender=BOB)
    assert "hors du périmètre du groupe de travail" in answer
    assert (await partner(group, "brest")).kind == "other"


async def test_excluded_kinds_and_consortium_come_from_the_config(
    db_url: str, clock: FakeClock
) -> None:
    settings = Settings.model_validate(
        {
            "admins": [ALICE],
            "database": {"url": db_url},
            "partners": {"excluded_kinds": ["school"], "consortium_members": []},
        }
    )
    bot = TestBot(settings, clock)
    await bot.start()
    try:
        answer = await bot.ask("!partenaire ajouter Lycée type=école", sender=BOB, room="!r")
        assert answer.startswith("Les partenaires de type « école » sont hors du périmètre")
        answer = await bot.ask("!partenaire ajouter Brest type=collectivite", sender=BOB, room="!r")
        assert answer.startswith("Brest ajouté (collectivité, idée).")
        answer = await bot.ask("!partenaire ajouter KidiTap entite=MDL", sender=BOB, room="!r")
        assert answer.startswith("Aucune entité du consortium n'est configurée")
        # Without a consortium, active needs no member.
        answer = await bot.ask("!partenaire statut Brest actif", sender=BOB, room="!r")
        assert answer == "Brest : idée → actif (formalisé)."
    finally:
        await bot.close()


# --- Editing.


async def test_edit_several_fields_and_clear_one(group: TestBot) -> None:
    await group.ask("!partenaire ajouter KidiTap site=kiditap.fr etiquettes=jeux", sender=BOB)
    group.clock.advance(timedelta(hours=2))
    answer = await group.ask(
        "!partenaire modifier kiditap site=- etiquettes=+fablab,-jeux ess=oui "
        "suivi=@carol:fablab.test",
        sender=BOB,
    )
    assert answer == (
        "KidiTap modifié : ESS non → oui ; suivi (vide) → @carol:fablab.test ; "
        "site https://kiditap.fr → (vide) ; étiquettes jeux → fablab."
    )
    stored = await partner(group, "kiditap")
    assert (stored.website, stored.owner, stored.social_economy) == (None, CAROL, True)
    assert stored.updated_at == group.clock.now()
    # An edit is not an interaction with the partner: stale still counts from creation.
    assert stored.last_interaction_at == stored.created_at
    edited = (await events(group, "kiditap"))[-1]
    assert edited.kind == "edited"
    assert edited.detail["changes"]["website"] == ["https://kiditap.fr", None]
    assert edited.detail["changes"]["tags"] == [["jeux"], ["fablab"]]


async def test_rename_keeps_names_unique(group: TestBot) -> None:
    await group.ask("!partenaire ajouter KidiTap", sender=BOB)
    await group.ask("!partenaire ajouter Virtualys", sender=BOB)
    answer = await group.ask("!partenaire modifier Virtualys nom=KIDITAP", sender=BOB)
    assert answer.startswith("Il existe déjà un partenaire nommé KidiTap")
    answer = await group.ask('!partenaire modifier Virtualys nom="Virtualys SAS"', sender=BOB)
    assert answer == "Virtualys modifié : nom Virtualys → Virtualys SAS."
    assert (await partner(group, "virtualys sas")).name == "Virtualys SAS"
    # The new name is found, the old one suggests it.
    assert (await group.ask("!partenaire voir virtualys s", sender=BOB)).startswith(
        "Virtualys SAS — autre"
    )


async def test_edit_without_anything_to_change(group: TestBot) -> None:
    await group.ask("!partenaire ajouter KidiTap ess=oui", sender=BOB)
    answer = await group.ask("!partenaire modifier KidiTap", sender=BOB)
    assert answer.startswith("Indiquez quoi changer, sous la forme champ=valeur.")
    assert "Utilisation : !partenaire modifier PARTENAIRE [nom=NOM]" in answer
    answer = await group.ask("!partenaire modifier KidiTap ess=oui", sender=BOB)
    assert answer == "La fiche de KidiTap est déjà ainsi ; rien n'a changé."
    assert [e.kind for e in await events(group, "kiditap")] == ["created"]


# --- Status and history.


async def test_history_across_status_changes_says_who_and_when(group: TestBot) -> None:
    await group.ask("!partenaire ajouter KidiTap type=entreprise", sender=BOB)
    group.clock.advance(timedelta(days=2))
    answer = await group.ask("!partenaire statut KidiTap contacte", sender=BOB)
    assert answer == "KidiTap : idée → contacté."
    group.clock.advance(timedelta(days=5))
    answer = await group.ask("!partenaire statut kidi intéressé a répondu au mail", sender=CAROL)
    assert answer == "KidiTap : contacté → intéressé."
    group.clock.advance(timedelta(days=10))
    answer = await group.ask('!partenaire statut KidiTap "en négociation"', sender=BOB)
    assert answer == "KidiTap : intéressé → en négociation."
    group.clock.advance(timedelta(days=20))
    answer = await group.ask("!partenaire statut KidiTap actif", sender=BOB)
    assert answer.startswith("Un partenaire est actif une fois qu'il a formalisé avec l'une des")
    answer = await group.ask("!partenaire statut KidiTap actif entite=petits", sender=BOB)
    assert answer == "KidiTap : en négociation → actif (formalisé) (avec Petits Débrouillards)."

    history = [e for e in await events(group, "kiditap") if e.kind == "status"]
    assert [(e.detail["from"], e.detail["to"]) for e in history] == [
        ("idea", "contacted"),
        ("contacted", "interested"),
        ("interested", "negotiating"),
        ("negotiating", "active"),
    ]
    assert [e.actor for e in history] == [BOB, CAROL, BOB, BOB]
    assert history[1].text == "a répondu au mail"
    assert [e.at.isoformat() for e in history] == [
        "2026-11-29T09:00:00+00:00",
        "2026-12-04T09:00:00+00:00",
        "2026-12-14T09:00:00+00:00",
        "2027-01-03T09:00:00+00:00",
    ]
    stored = await partner(group, "kiditap")
    assert stored.last_interaction_at == group.clock.now()
    assert stored.consortium_member == "Petits Débrouillards"

    answer = await group.ask("!partenaire historique KidiTap", sender=BOB)
    assert answer.splitlines() == [
        "Historique de KidiTap",
        "• 03/01/2027 10:00 · @bob:fablab.test · statut en négociation → actif (formalisé)",
        "• 03/01/2027 10:00 · @bob:fablab.test · modifié : entité",
        "• 14/12/2026 10:00 · @bob:fablab.test · statut intéressé → en négociation",
        "• 04/12/2026 10:00 · @carol:fablab.test · statut contacté → intéressé (a répondu au mail)",
        "• 29/11/2026 10:00 · @bob:fablab.test · statut idée → contacté",
        "• 27/11/2026 10:00 · @bob:fablab.test · fiche créée",
    ]


async def test_same_status_is_said_and_not_logged(group: TestBot) -> None:
    await group.ask("!partenaire ajouter KidiTap", sender=BOB)
    assert await group.ask("!partenaire statut KidiTap idee", sender=BOB) == (
        "KidiTap est déjà au statut idée."
    )
    assert [e.kind for e in await events(group, "kiditap")] == ["created"]


@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ("interesse", "interested"),
        ("INTÉRESSÉ", "interested"),
        ("interested", "interested"),
        ("a-contacter", "to_contact"),
        ("à contacter", "to_contact"),
        ("to_contact", "to_contact"),
        ("en négociation", "negotiating"),
        ("negotiating", "negotiating"),
        ("pause", "paused"),
        ("décliné", "declined"),
    ],
)
async def test_statuses_are_read_in_both_languages(group: TestBot, typed: str, status: str) -> None:
    await group.ask("!partenaire ajouter KidiTap", sender=BOB)
    await group.ask(f"!partenaire statut KidiTap {typed}", sender=BOB)
    assert (await partner(group, "kiditap")).status == status


async def test_history_pages(group: TestBot) -> None:
    await group.ask("!partenaire ajouter KidiTap", sender=BOB)
    for number in range(20):
        await group.ask(f"!partenaire note KidiTap note {number}", sender=BOB)
    first = await group.ask("!partenaire historique KidiTap", sender=BOB)
    assert first.startswith("Historique de KidiTap (page 1/2)")
    assert "note 19" in first
    assert first.endswith("Suite : ajoutez page=2.")
    second = await group.ask("!partenaire historique KidiTap page=2", sender=BOB)
    assert "fiche créée" in second
    assert await group.ask("!partenaire historique KidiTap page=3", sender=BOB) == (
        "Il n'y a pas de page 3 (il y en a 2)."
    )


# --- Notes and the card.


async def test_note_goes_to_history_and_counts_as_interaction(group: TestBot) -> None:
    await group.ask("!partenaire ajouter KidiTap", sender=BOB)
    group.clock.advance(timedelta(days=3))
    answer = await group.ask(
        "!partenaire note KidiTap Rencontrés à l'OpenLab, veulent un atelier en mars", sender=BOB
    )
    assert answer == "Noté dans l'historique de KidiTap."
    note = (await events(group, "kiditap"))[-1]
    assert (note.kind, note.actor) == ("note", BOB)
    assert note.text == "Rencontrés à l'OpenLab, veulent un atelier en mars"
    assert note.text_key == "rencontres a l'openlab, veulent un atelier en mars"
    assert (await partner(group, "kiditap")).last_interaction_at == group.clock.now()
    assert "partner.note" in await audit_actions(group)


async def test_show_card(group: TestBot) -> None:
    await group.ask(
        "!partenaire ajouter KidiTap type=entreprise ess=oui suivi=moi etiquettes=jeux "
        'site=kiditap.fr description="Jeux éducatifs"',
        sender=BOB,
    )
    await group.ask("!partenaire statut KidiTap interesse", sender=BOB)
    await group.ask(
        '!partenaire personne ajouter KidiTap "Anne Le Goff" role="chargée de mission" '
        "email=anne@kiditap.fr",
        sender=BOB,
    )
    group.clock.advance(timedelta(days=1))
    await group.ask("!partenaire note KidiTap Atelier prévu en mars", sender=CAROL)
    async with group.services.db.unit_of_work() as uow:
        kidi = await uow.repo(PartnerRepository, GROUP).by_key("kiditap")
        assert kidi is not None
        await uow.repo(PartnerRepository, GROUP).link(
            kidi, type_="followup", ref="12", text="Relancer Anne", actor=BOB, now=group.clock.now()
        )
    answer = await group.ask("!partenaire voir kiditap", sender=BOB)
    assert answer.splitlines() == [
        "KidiTap — entreprise · intéressé · économie sociale et solidaire",
        f"Suivi par {BOB} · https://kiditap.fr",
        "Étiquettes : jeux",
        "Jeux éducatifs",
        "Personnes",
        "• Anne Le Goff, chargée de mission · anne@kiditap.fr",
        "Relances ouvertes",
        "• n° 12 Relancer Anne",
        "Dernières interactions",
        "• 28/11/2026 10:00 · @bob:fablab.test · relance n° 12 : Relancer Anne",
        "• 28/11/2026 10:00 · @carol:fablab.test · note : Atelier prévu en mars",
        "• 27/11/2026 10:00 · @bob:fablab.test · personne ajoutée : Anne Le Goff",
        "• 27/11/2026 10:00 · @bob:fablab.test · statut idée → intéressé",
        "• 27/11/2026 10:00 · @bob:fablab.test · fiche créée",
        "Créé le 27/11/2026 10:00, modifié le 28/11/2026 10:00.",
    ]
    # A follow-up once done leaves the card's open list (the follow-ups domain calls this).
    async with group.services.db.unit_of_work() as uow:
        assert (
            await uow.repo(PartnerRepository, GROUP).close_link(
                "followup", "12", now=group.clock.now()
            )
            == 1
        )
    assert "Relances ouvertes" not in await group.ask("!partenaire voir KidiTap", sender=BOB)


async def test_card_links_to_the_whole_history(group: TestBot) -> None:
    await group.ask("!partenaire ajouter KidiTap", sender=BOB)
    for number in range(6):
        await group.ask(f"!partenaire note KidiTap n{number}", sender=BOB)
    answer = await group.ask("!partenaire voir KidiTap", sender=BOB)
    assert '… et 2 de plus : !partenaire historique "KidiTap"' in answer


async def test_card_html_escapes_user_text(group: TestBot) -> None:
    await group.ask('!partenaire ajouter "<b>Evil</b> @room" description="<script>x</script>"')
    [answer] = await group.say("!partenaire voir <b>Evil")
    assert "<script>" not in answer.html
    assert "&lt;script&gt;" in answer.html
    assert "@room" not in answer.body


# --- Naming a partner.


async def seed(bot: TestBot, *names: str) -> None:
    for name in names:
        await bot.ask(f'!partenaire ajouter "{name}"', sender=BOB)


async def test_name_by_unique_prefix_case_and_accents(group: TestBot) -> None:
    await seed(group, "Télécom Bretagne", "Leroy Merlin")
    assert (await group.ask("!partenaire voir telecom", sender=BOB)).startswith(
        "Télécom Bretagne — autre"
    )
    assert (await group.ask("!partenaire voir LEROY", sender=BOB)).startswith("Leroy Merlin")


async def test_exact_name_wins_over_longer_ones(group: TestBot) -> None:
    await seed(group, "Kidi", "KidiTap")
    assert (await group.ask("!partenaire voir kidi", sender=BOB)).startswith("Kidi — autre")


async def test_ambiguous_name_offers_numbered_choices_usable_next(group: TestBot) -> None:
    await seed(group, "KidiTap", "Kidi Lab", "Conrad")
    answer = await group.ask("!partenaire statut kidi contacté", sender=BOB)
    assert answer.splitlines() == [
        "Plusieurs partenaires commencent par « kidi » :",
        "1. Kidi Lab",
        "2. KidiTap",
        "Précisez le nom, ou donnez son numéro à la place du nom.",
    ]
    assert (await partner(group, "kiditap")).status == "idea"
    assert await group.ask("!partenaire statut 2 contacté", sender=BOB) == (
        "KidiTap : idée → contacté."
    )
    # The choices were Bob's: Alice has no list.
    assert await group.ask("!partenaire voir 2", sender=ALICE) == (
        "Vous n'avez pas de liste où prendre le numéro 2 : "
        "affichez d'abord une liste ou une recherche."
    )


async def test_unknown_name_suggests(group: TestBot) -> None:
    await seed(group, "Leroy Merlin", "Conrad")
    assert await group.ask("!partenaire voir Leroi Merlin", sender=BOB) == (
        "Pas de partenaire « Leroi Merlin » ; vouliez-vous dire Leroy Merlin ?"
    )
    assert await group.ask("!partenaire voir Merlin", sender=BOB) == (
        "Pas de partenaire « Merlin » ; vouliez-vous dire Leroy Merlin ?"
    )
    assert await group.ask("!partenaire note Zorglub bonjour", sender=BOB) == (
        "Pas de partenaire « Zorglub »."
    )


async def test_number_from_the_last_list(group: TestBot) -> None:
    await seed(group, "Conrad", "KidiTap", "Virtualys")
    await group.ask("!partenaire liste", sender=BOB)
    assert (await group.ask("!partenaire voir 3", sender=BOB)).startswith("Virtualys")
    assert (await group.ask("!partenaire voir #1", sender=BOB)).startswith("Conrad")
    assert await group.ask("!partenaire voir 4", sender=BOB) == (
        "Votre dernière liste n'a pas de ligne 4 (elle va de 1 à 3)."
    )


# --- Lists.


async def test_list_pages_and_numbers_across_pages(group: TestBot) -> None:
    await seed(group, *(f"Partenaire {n:02d}" for n in range(1, 46)))
    first = await group.ask("!partenaire liste", sender=BOB)
    lines = first.splitlines()
    assert lines[0] == "Partenaires 1 à 20 sur 45 :"
    assert lines[1] == "1. Partenaire 01 — idée · autre"
    assert lines[-1] == "Suite : ajoutez page=2. Une fiche : !partenaire voir NUMÉRO."
    third = await group.ask("!partenaire liste page=3", sender=BOB)
    assert third.splitlines()[0] == "Partenaires 41 à 45 sur 45 :"
    assert "41. Partenaire 41" in third
    # Numbers stay those shown: 42 is the second line of page 3.
    assert (await group.ask("!partenaire voir 42", sender=BOB)).startswith("Partenaire 42")
    assert await group.ask("!partenaire liste page=4", sender=BOB) == (
        "Il n'y a pas de page 4 (il y en a 3)."
    )


async def test_list_filters(group: TestBot) -> None:
    await group.ask(
        "!partenaire ajouter KidiTap type=entreprise ess=oui etiquettes=jeux suivi=moi",
        sender=BOB,
    )
    await group.ask(
        '!partenaire ajouter "Leroy Merlin" type=entreprise etiquettes=outillage statut=contacte',
        sender=CAROL,
    )
    await group.ask('!partenaire ajouter "Chrysalide" type=association ess=oui', sender=BOB)
    await group.ask("!partenaire statut Chrysalide actif entite=MDL", sender=BOB)

    async def names(filters: str) -> list[str]:
        answer = await group.ask(f"!partenaire liste {filters}", sender=BOB)
        return [line.split(" — ")[0].split(". ", 1)[1] for line in answer.splitlines()[1:-1]]

    assert await names("type=entreprise") == ["KidiTap", "Leroy Merlin"]
    assert await names("ess=oui") == ["Chrysalide", "KidiTap"]
    assert await names("etiquette=JEUX") == ["KidiTap"]
    assert await names("suivi=moi") == ["KidiTap"]
    assert await names("statut=contacté") == ["Leroy Merlin"]
    assert await names("entite=mdl") == ["Chrysalide"]
    assert await names("ess=non type=entreprise") == ["Leroy Merlin"]
    answer = await group.ask("!partenaire liste statut=intéressé", sender=BOB)
    assert answer == "Aucun partenaire (statut intéressé) pour l'instant."
    heading = (await group.ask("!partenaire liste type=entreprise ess=oui", sender=BOB)).split(
        "\n"
    )[0]
    assert heading == "Partenaires 1 à 1 sur 1 (type entreprise, ESS oui) :"


async def test_list_with_a_bad_filter(group: TestBot) -> None:
    answer = await group.ask("!partenaire liste statut=fini", sender=BOB)
    assert answer.startswith("fini n'est pas parmi : idée, à contacter")
    answer = await group.ask("!partenaire liste page=0", sender=BOB)
    assert answer.startswith("0 est hors limites (au moins 1).")


async def test_empty_list(group: TestBot) -> None:
    assert await group.ask("!partenaire liste", sender=BOB) == ("Aucun partenaire pour l'instant.")


# --- Search.


async def test_find_names_tags_and_notes(group: TestBot) -> None:
    await group.ask("!partenaire ajouter KidiTap etiquettes=jeux", sender=BOB)
    await group.ask('!partenaire ajouter "Leroy Merlin" etiquettes=outillage', sender=BOB)
    await group.ask("!partenaire ajouter Conrad etiquettes=électronique", sender=BOB)
    await group.ask("!partenaire note Conrad Ils prêtent une imprimante 3D", sender=BOB)
    group.clock.advance(timedelta(days=1))
    await group.ask("!partenaire note KidiTap Voudraient une IMPRIMANTE pour l'atelier", sender=BOB)

    answer = await group.ask("!partenaire chercher merlin", sender=BOB)
    assert answer.splitlines()[:2] == [
        "1 résultat pour « merlin » :",
        "1. Leroy Merlin — idée · autre · outillage",
    ]
    answer = await group.ask("!partenaire chercher ELECTRONIQUE", sender=BOB)
    assert "1. Conrad — idée · autre · électronique — étiquette « électronique »" in answer
    answer = await group.ask("!partenaire chercher imprimante", sender=BOB)
    assert answer.splitlines()[:3] == [
        "2 résultats pour « imprimante » :",
        "1. Conrad — idée · autre · électronique — note du 27/11/2026 10:00 : "
        "« Ils prêtent une imprimante 3D »",
        "2. KidiTap — idée · autre · jeux — note du 28/11/2026 10:00 : "
        "« Voudraient une IMPRIMANTE pour l'atelier »",
    ]
    # Several words: every one must start a word somewhere.
    answer = await group.ask("!partenaire chercher imprim 3d", sender=BOB)
    assert answer.startswith("1 résultat pour « imprim 3d » :\n1. Conrad")
    # The results are a list: numbers work next.
    assert (await group.ask("!partenaire voir 1", sender=BOB)).startswith("Conrad")


async def test_find_ranks_name_matches_first(group: TestBot) -> None:
    await group.ask("!partenaire ajouter Atelier", sender=BOB)
    await group.ask('!partenaire ajouter "Atelier du Bois"', sender=BOB)
    await group.ask('!partenaire ajouter "Le Grand Atelier"', sender=BOB)
    await group.ask("!partenaire ajouter Zeta etiquettes=atelier", sender=BOB)
    await group.ask("!partenaire ajouter Alpha", sender=BOB)
    await group.ask("!partenaire note Alpha un atelier ensemble", sender=BOB)
    answer = await group.ask("!partenaire chercher atelier", sender=BOB)
    names = [line.split(" — ")[0] for line in answer.splitlines()[1:-1]]
    assert names == [
        "1. Atelier",
        "2. Atelier du Bois",
        "3. Le Grand Atelier",
        "4. Zeta",
        "5. Alpha",
    ]


async def test_find_forgives_typos(group: TestBot) -> None:
    await seed(group, "Leroy Merlin", "KidiTap", "OceanDataLab")
    answer = await group.ask("!partenaire chercher lerox merlen", sender=BOB)
    assert answer.splitlines()[:2] == [
        "Rien d'exact pour « lerox merlen » ; proches :",
        "1. Leroy Merlin — idée · autre",
    ]
    answer = await group.ask("!partenaire chercher oceandatalba", sender=BOB)
    assert "1. OceanDataLab" in answer


async def test_find_nothing(group: TestBot) -> None:
    await seed(group, "KidiTap")
    assert await group.ask("!partenaire chercher zzzzqqq", sender=BOB) == (
        "Rien trouvé pour « zzzzqqq »."
    )


async def test_find_ignores_removed_partners(group: TestBot) -> None:
    await seed(group, "KidiTap")
    await group.ask("!partenaire supprimer KidiTap", sender=CAROL)
    assert (await group.ask("!partenaire chercher kidi", sender=BOB)).startswith("Rien trouvé")


# --- Stale.


async def test_stale_lists_quiet_interested_and_negotiating_partners(group: TestBot) -> None:
    await seed(group, "KidiTap", "Conrad", "Virtualys", "Leroy Merlin")
    await group.ask("!partenaire statut KidiTap intéressé", sender=BOB)
    await group.ask("!partenaire statut Conrad en négociation", sender=BOB)
    await group.ask("!partenaire statut Virtualys contacté", sender=BOB)
    await group.ask("!partenaire statut Leroy intéressé", sender=BOB)
    group.clock.advance(timedelta(days=20))
    await group.ask("!partenaire note Leroy On les a rappelés", sender=BOB)
    group.clock.advance(timedelta(days=15))

    answer = await group.ask("!partenaire dormants", sender=BOB)
    assert answer.splitlines() == [
        "2 partenaires intéressés ou en négociation sans interaction depuis 30 jours :",
        "1. Conrad — en négociation · autre — dernière le 27/11/2026 10:00 (il y a 35 jours)",
        "2. KidiTap — intéressé · autre — dernière le 27/11/2026 10:00 (il y a 35 jours)",
        "Quelqu'un pour les relancer ?",
    ]
    answer = await group.ask("!partenaire dormants 10", sender=BOB)
    assert answer.startswith("3 partenaires")
    assert "Leroy Merlin — intéressé · autre — dernière le 17/12/2026 10:00 (il y a 15 jours)" in (
        answer
    )
    # A status change is an interaction: KidiTap wakes up.
    await group.ask("!partenaire statut KidiTap en négociation", sender=BOB)
    assert "KidiTap" not in await group.ask("!partenaire dormants", sender=BOB)
    group.clock.advance(timedelta(days=400))
    assert (await group.ask("!partenaire dormants 3650", sender=BOB)).startswith(
        "Aucun partenaire intéressé ou en négociation n'est resté sans nouvelles depuis 3650 jours."
    )


async def test_stale_bad_days(group: TestBot) -> None:
    answer = await group.ask("!partenaire dormants bientôt", sender=BOB)
    assert answer.startswith("bientôt n'est pas un nombre.")


# --- Merge, remove, restore.


async def test_merge_moves_everything_to_the_partner_kept(group: TestBot) -> None:
    await group.ask("!partenaire ajouter KidiTap etiquettes=jeux", sender=BOB)
    await group.ask('!partenaire ajouter "Kidi Tap" site=kiditap.fr etiquettes=fablab', sender=BOB)
    await group.ask(
        '!partenaire personne ajouter "Kidi Tap" Anne email=anne@kiditap.fr', sender=BOB
    )
    await group.ask('!partenaire note "Kidi Tap" Premier contact', sender=BOB)

    answer = await group.ask('!partenaire fusionner "Kidi Tap" KidiTap', sender=BOB)
    assert answer == "Cette commande demande le rôle modérateur."
    answer = await group.ask('!partenaire fusionner "Kidi Tap" KidiTap', sender=CAROL)
    assert answer == (
        "« Kidi Tap » fusionné dans KidiTap : 1 personne(s), 3 ligne(s) d'historique et "
        "1 étiquette(s) reprises ; complété : site."
    )
    card = await group.ask("!partenaire voir KidiTap", sender=BOB)
    assert "Étiquettes : fablab, jeux" in card
    assert "• Anne · anne@kiditap.fr" in card
    assert "note : Premier contact" in card
    assert "a absorbé le doublon « Kidi Tap »" in card
    assert (await partner(group, "kiditap")).website == "https://kiditap.fr"
    # The duplicate's name leads to the partner kept; it cannot be added again.
    assert await group.ask('!partenaire voir "Kidi Tap"', sender=BOB) == (
        "Kidi Tap a été fusionné dans KidiTap : utilisez ce nom."
    )
    assert "réservé" in await group.ask('!partenaire ajouter "Kidi Tap"', sender=BOB)
    assert (await group.ask("!partenaire chercher fablab", sender=BOB)).count("KidiTap") == 1


async def test_merge_with_itself(group: TestBot) -> None:
    await seed(group, "KidiTap")
    assert await group.ask("!partenaire fusionner KidiTap kidi", sender=CAROL) == (
        "KidiTap ne peut pas être fusionné avec lui-même."
    )


async def test_remove_and_restore(group: TestBot) -> None:
    await seed(group, "KidiTap", "Conrad")
    await group.ask("!partenaire note KidiTap Bonne discussion", sender=BOB)
    assert await group.ask("!partenaire supprimer KidiTap", sender=BOB) == (
        "Cette commande demande le rôle modérateur."
    )
    assert await group.ask("!partenaire supprimer KidiTap", sender=CAROL) == (
        'KidiTap est retiré des listes. Pour annuler : !partenaire restaurer "KidiTap".'
    )
    assert "KidiTap" not in await group.ask("!partenaire liste", sender=BOB)
    assert await group.ask("!partenaire voir KidiTap", sender=BOB) == (
        "KidiTap a été supprimé ; un modérateur peut le faire revenir avec restaurer."
    )
    assert "KidiTap" in await group.ask("!partenaire liste supprimes=oui", sender=BOB)
    assert "supprimé s'appelle KidiTap" in await group.ask(
        "!partenaire ajouter kiditap", sender=BOB
    )
    assert await group.ask("!partenaire restaurer Conrad", sender=CAROL) == (
        "Conrad n'est pas supprimé."
    )
    assert await group.ask("!partenaire restaurer kidi", sender=CAROL) == (
        "KidiTap est de retour, avec son historique."
    )
    card = await group.ask("!partenaire voir KidiTap", sender=BOB)
    assert "restauré" in card
    assert "supprimé" in card
    assert "note : Bonne discussion" in card
    assert [e.kind for e in await events(group, "kiditap")][-2:] == ["removed", "restored"]
    assert {"partner.remove", "partner.restore"} <= set(await audit_actions(group))


# --- Help and languages.


async def test_help_lists_every_sub_command_in_french(group: TestBot) -> None:
    answer = await group.ask("!aide partenaire", sender=BOB)
    for usage in (
        "!partenaire ajouter NOM [type=TYPE] [statut=STATUT]",
        "!partenaire modifier PARTENAIRE",
        "!partenaire statut PARTENAIRE STATUT [COMMENTAIRE]…",
        "!partenaire note PARTENAIRE TEXTE…",
        "!partenaire personne ajouter|modifier|retirer PARTENAIRE PERSONNE",
        "!partenaire voir PARTENAIRE",
        "!partenaire historique PARTENAIRE",
        "!partenaire liste [statut=STATUT] [type=TYPE] [etiquette=ÉTIQUETTE]",
        "!partenaire chercher TEXTE…",
        "!partenaire dormants [JOURS]",
        "!partenaire fusionner DOUBLON PARTENAIRE",
        "!partenaire supprimer PARTENAIRE",
        "!partenaire restaurer PARTENAIRE",
        "!partenaire donnees-personne PERSONNE…",
        "!partenaire oublier-personne PERSONNE…",
        "!partenaire exporter",
        "!partenaire importer [confirmer|annuler]",
    ):
        assert usage in answer, usage
    assert "!partenaire" in await group.ask("!aide", sender=BOB)


async def test_help_for_one_sub_command_with_examples(group: TestBot) -> None:
    answer = await group.ask("!aide partenaire ajouter", sender=BOB)
    assert "!partenaire ajouter KidiTap type=entreprise" in answer
    answer = await group.ask("!help partner merge", sender=BOB)
    assert "Demande le rôle modérateur (que vous n'avez pas)." in answer


async def test_english_room(group: TestBot) -> None:
    await group.ask("!settings locale=en")
    answer = await group.ask("!partner add KidiTap type=company social=yes", sender=BOB)
    assert answer.startswith("Added KidiTap (company, idea, social economy).")
    assert await group.ask("!partner status KidiTap negotiating", sender=BOB) == (
        "KidiTap: idea → negotiating."
    )
    card = await group.ask("!partner show KidiTap", sender=BOB)
    assert card.startswith("KidiTap — company · negotiating · social and solidarity economy")
    assert "2026-11-27 10:00 · @bob:fablab.test · status idea → negotiating" in card
    answer = await group.ask("!partner list", sender=BOB)
    assert answer.startswith("Partners 1–1 of 1:")


async def test_unknown_sub_command_suggests(group: TestBot) -> None:
    answer = await group.ask("!partenaire ajoutr KidiTap", sender=BOB)
    assert answer.startswith(
        "partenaire n'a pas de sous-commande ajoutr. Vouliez-vous dire partenaire ajouter"
    )
    assert await count_partners(group) == 0
