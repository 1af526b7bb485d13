"""People at partners, and their personal data: what is shown, and how it is erased."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.config import Settings
from storage.models import AuditEntry, InboxEvent, OutboxEvent, PartnerPerson, PartnerTerm, Role
from storage.repos.core import MemberRepository
from tests.botkit import BOB, CAROL, GROUP, TestBot
from tests.domain.test_partners import events
from tests.domain.test_partners import settings as partners_settings

ANNE = (
    '!partenaire personne ajouter KidiTap "Anne Le Goff" role="chargée de mission" '
    'email=anne@kiditap.fr tel="02 98 00 00 00" notes="préfère le téléphone"'
)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return partners_settings.__wrapped__(db_url)  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
async def group(bot: TestBot) -> TestBot:
    """Carol is a moderator; KidiTap and Conrad exist."""
    async with bot.services.db.unit_of_work() as uow:
        await uow.repo(MemberRepository, GROUP).set_role(CAROL, Role.MODERATOR, now=bot.clock.now())
    await bot.ask("!partenaire ajouter KidiTap type=entreprise", sender=BOB)
    await bot.ask("!partenaire ajouter Conrad type=entreprise", sender=BOB)
    return bot


async def people(bot: TestBot) -> list[PartnerPerson]:
    async with bot.services.db.unit_of_work() as uow:
        return list(await uow.session.scalars(select(PartnerPerson).order_by(PartnerPerson.id)))


async def test_add_a_person_with_details(group: TestBot) -> None:
    answer = await group.ask(ANNE, sender=BOB)
    assert answer == (
        "Ajouté chez KidiTap : Anne Le Goff, chargée de mission · anne@kiditap.fr · "
        "02 98 00 00 00 — préfère le téléphone."
    )
    [anne] = await people(group)
    assert (anne.name, anne.role, anne.email, anne.phone, anne.notes) == (
        "Anne Le Goff",
        "chargée de mission",
        "anne@kiditap.fr",
        "02 98 00 00 00",
        "préfère le téléphone",
    )
    added = (await events(group, "kiditap"))[-1]
    assert added.kind == "person_added"
    assert added.detail == {"person_id": anne.id, "fields": ["role", "email", "phone", "notes"]}
    # The audit log keeps ids, never personal details.
    async with group.services.db.unit_of_work() as uow:
        entry = (await uow.audit.latest(1))[0]
    assert entry.action == "partner.person.add"
    assert "Anne" not in str(entry.detail)
    assert "anne@" not in str(entry.detail)


async def test_english_person_sub_command_and_options(group: TestBot) -> None:
    answer = await group.ask(
        "!partner person add Conrad Jean role=buyer email=jean@conrad.fr phone=+33298000000",
        sender=BOB,
    )
    assert answer == "Ajouté chez Conrad : Jean, buyer · jean@conrad.fr · +33298000000."


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("email=anne@", "anne@ n'est pas une adresse e-mail"),
        ("email=anne.kiditap.fr", "anne.kiditap.fr n'est pas une adresse e-mail"),
        ("email=anne@kiditap", "anne@kiditap n'est pas une adresse e-mail"),
        ("tel=12", "12 n'est pas un numéro de téléphone"),
        ("tel=appelez-moi", "appelez-moi n'est pas un numéro de téléphone"),
        ('tel="02 98 00 00 00 00 00 00"', "n'est pas un numéro de téléphone"),
    ],
)
async def test_malformed_email_and_phone_are_refused(
    group: TestBot, option: str, message: str
) -> None:
    answer = await group.ask(f"!partenaire personne ajouter KidiTap Anne {option}", sender=BOB)
    assert message in answer
    assert "Utilisation : !partenaire personne ajouter|modifier|retirer" in answer
    assert await people(group) == []


async def test_same_person_twice_is_refused(group: TestBot) -> None:
    await group.ask(ANNE, sender=BOB)
    answer = await group.ask('!partenaire personne ajouter kidi "anne LE góff"', sender=BOB)
    assert answer == "KidiTap a déjà quelqu'un du nom de anne LE góff."
    # The same name at another partner is someone else's record.
    await group.ask('!partenaire personne ajouter Conrad "Anne Le Goff"', sender=BOB)
    assert len(await people(group)) == 2


async def test_edit_and_remove_a_person(group: TestBot) -> None:
    await group.ask(ANNE, sender=BOB)
    answer = await group.ask(
        "!partenaire personne modifier KidiTap anne email=anne.legoff@kiditap.fr tel=-", sender=BOB
    )
    assert answer == (
        "Modifié chez KidiTap : Anne Le Goff, chargée de mission · anne.legoff@kiditap.fr — "
        "préfère le téléphone."
    )
    [anne] = await people(group)
    assert (anne.email, anne.phone) == ("anne.legoff@kiditap.fr", None)
    edited = (await events(group, "kiditap"))[-1]
    assert edited.detail == {
        "person_id": anne.id,
        "fields": ["email", "phone"],
        # What identified her before is kept, for an erasure to find (and erase) it.
        "before": {"email": "anne@kiditap.fr", "phone": "02 98 00 00 00"},
    }
    answer = await group.ask("!partenaire personne modifier KidiTap anne email=x@", sender=BOB)
    assert "x@ n'est pas une adresse e-mail" in answer
    answer = await group.ask("!partenaire personne modifier KidiTap anne", sender=BOB)
    assert answer.startswith("Indiquez quoi changer : role=, email=, tel=, notes=, nom=.")
    answer = await group.ask(
        '!partenaire personne modifier KidiTap anne nom="Anne Le Goff-Morvan"', sender=BOB
    )
    assert answer.startswith("Modifié chez KidiTap : Anne Le Goff-Morvan")

    answer = await group.ask("!partenaire personne retirer KidiTap Anne", sender=BOB)
    assert answer == "Anne Le Goff-Morvan retiré de KidiTap."
    assert await people(group) == []
    assert "Personnes : aucune pour l'instant." in await group.ask(
        "!partenaire voir KidiTap", sender=BOB
    )


async def test_unknown_or_ambiguous_person(group: TestBot) -> None:
    await group.ask(ANNE, sender=BOB)
    await group.ask('!partenaire personne ajouter KidiTap "Annick Roudaut"', sender=BOB)
    assert await group.ask("!partenaire personne retirer KidiTap Paul", sender=BOB) == (
        "Pas de « Paul » chez KidiTap : Anne Le Goff, Annick Roudaut."
    )
    assert await group.ask("!partenaire personne retirer KidiTap Ann", sender=BOB) == (
        "Plusieurs personnes chez KidiTap correspondent à « Ann » : Anne Le Goff, Annick Roudaut."
    )
    assert len(await people(group)) == 2


async def test_people_are_searchable(group: TestBot) -> None:
    await group.ask(ANNE, sender=BOB)
    answer = await group.ask("!partenaire chercher goff", sender=BOB)
    assert answer.startswith("1 résultat pour « goff » :\n1. KidiTap")


# --- Data protection.


async def test_person_data_shows_everything_stored(group: TestBot) -> None:
    await group.ask(ANNE, sender=BOB)
    await group.ask('!partenaire personne ajouter Conrad "Anne Le Goff" role=stagiaire', sender=BOB)
    await group.ask("!partenaire note KidiTap Appel avec Anne Le Goff, très motivée", sender=BOB)
    await group.ask("!partenaire note Conrad Rien à voir", sender=BOB)
    answer = await group.ask("!partenaire donnees-personne anne le goff", sender=BOB)
    assert answer.splitlines() == [
        "Ce que je garde sur « anne le goff »",
        "Chez Conrad : nom Anne Le Goff, rôle stagiaire "
        "(depuis le 27/11/2026 10:00, modifié le 27/11/2026 10:00).",
        "Chez KidiTap : nom Anne Le Goff, rôle chargée de mission, e-mail anne@kiditap.fr, "
        "téléphone 02 98 00 00 00, notes : préfère le téléphone "
        "(depuis le 27/11/2026 10:00, modifié le 27/11/2026 10:00).",
        "Lignes d'historique :",
        "• KidiTap — 27/11/2026 10:00 · @bob:fablab.test · personne ajoutée : Anne Le Goff",
        "• Conrad — 27/11/2026 10:00 · @bob:fablab.test · personne ajoutée : Anne Le Goff",
        "Notes qui la mentionnent :",
        "• KidiTap — 27/11/2026 10:00 · @bob:fablab.test · note : "
        "Appel avec Anne Le Goff, très motivée",
        "Pour tout effacer : !partenaire oublier-personne anne le goff (modérateurs).",
    ]
    # By e-mail, and narrowed to one partner.
    by_email = await group.ask("!partenaire donnees-personne ANNE@kiditap.fr", sender=BOB)
    assert "Chez KidiTap : nom Anne Le Goff" in by_email
    assert "Chez Conrad" not in by_email
    narrowed = await group.ask(
        "!partenaire donnees-personne Anne Le Goff partenaire=Conrad", sender=BOB
    )
    assert "Chez KidiTap" not in narrowed
    assert await group.ask("!partenaire donnees-personne Paul Personne", sender=BOB) == (
        "Je ne garde rien sur « Paul Personne »."
    )


async def test_forget_person_is_for_moderators(group: TestBot) -> None:
    await group.ask(ANNE, sender=BOB)
    assert await group.ask("!partenaire oublier-personne Anne Le Goff", sender=BOB) == (
        "Cette commande demande le rôle modérateur."
    )
    [anne] = await people(group)
    assert anne.erased_at is None


async def test_forget_person_erases_and_leaves_an_anonymous_trace(group: TestBot) -> None:
    await group.ask(ANNE, sender=BOB)
    await group.ask("!partenaire personne modifier KidiTap Anne role=directrice", sender=BOB)
    await group.ask(
        "!partenaire note KidiTap Appel avec ANNE LE GOFF (anne@kiditap.fr), très motivée",
        sender=BOB,
    )
    await group.ask("!partenaire statut KidiTap intéressé après l'appel d'Anne Le Goff", sender=BOB)
    await group.ask('!partenaire personne ajouter Conrad "Jean Kerouac"', sender=BOB)

    await group.ask("!partenaire oublier-personne anne le goff", sender=CAROL)  # the preview
    answer = await group.ask("!partenaire oublier-personne confirmer", sender=CAROL)
    assert answer.splitlines()[0] == (
        "Effacé : 1 fiche(s) de personne (KidiTap), 2 ligne(s) d'historique anonymisée(s), "
        "2 note(s) caviardée(s). Mes copies de 6 message(s) qui la nommaient sont caviardées "
        "aussi ; l'historique ne garde qu'une trace anonyme de l'effacement. Les messages du "
        "salon eux-mêmes ne sont pas effacés par moi : un modérateur peut les supprimer dans le "
        "salon."
    )
    anne, jean = await people(group)
    assert (anne.name, anne.role, anne.email, anne.phone, anne.notes) == (
        "",
        None,
        None,
        None,
        None,
    )
    assert anne.erased_at == group.clock.now()
    assert jean.name == "Jean Kerouac"  # someone else, untouched

    history = await events(group, "kiditap")
    texts = " ".join(f"{e.text} {e.text_key} {e.detail}" for e in history).casefold()
    assert "anne" not in texts
    assert "goff" not in texts
    assert "kiditap.fr" not in texts
    note = next(e for e in history if e.kind == "note")
    assert note.text == "Appel avec [effacé] ([effacé]), très motivée"
    status = next(e for e in history if e.kind == "status")
    assert status.text == "après l'appel d'[effacé]"
    erased = history[-1]
    assert (erased.kind, erased.actor, erased.detail) == (
        "person_erased",
        CAROL,
        {"person_id": anne.id},
    )
    # Nothing left to find or show.
    async with group.services.db.unit_of_work() as uow:
        terms = set(await uow.session.scalars(select(PartnerTerm.term)))
        audit = list(await uow.session.scalars(select(AuditEntry)))
    assert not {"anne", "goff", "directrice"} & terms
    assert "goff" not in str([a.detail for a in audit]).casefold()
    assert (await group.ask("!partenaire chercher goff", sender=BOB)).startswith("Rien trouvé")
    assert await group.ask("!partenaire donnees-personne Anne Le Goff", sender=BOB) == (
        "Je ne garde rien sur « Anne Le Goff »."
    )
    card = await group.ask("!partenaire voir KidiTap", sender=BOB)
    assert "coordonnées d'une personne effacées" in card
    assert "Anne" not in card
    assert await group.ask("!partenaire oublier-personne Anne Le Goff", sender=CAROL) == (
        "Je ne garde rien sur « Anne Le Goff » : rien à effacer."
    )


async def test_forget_person_at_one_partner_only(group: TestBot) -> None:
    await group.ask(ANNE, sender=BOB)
    await group.ask('!partenaire personne ajouter Conrad "Anne Le Goff"', sender=BOB)
    await group.ask("!partenaire oublier-personne Anne Le Goff partenaire=Conrad", sender=CAROL)
    answer = await group.ask("!partenaire oublier-personne confirmer", sender=CAROL)
    assert answer.startswith("Effacé : 1 fiche(s) de personne (Conrad)")
    kidi_anne, conrad_anne = await people(group)
    assert kidi_anne.name == "Anne Le Goff"
    assert conrad_anne.erased_at is not None


async def test_forget_person_blacks_out_the_bots_copies_of_messages(group: TestBot) -> None:
    await group.ask(ANNE, sender=BOB)
    await group.ask("!partenaire donnees-personne Anne Le Goff", sender=BOB)
    await group.ask("!partenaire oublier-personne Anne Le Goff", sender=CAROL)
    await group.ask("!partenaire oublier-personne confirmer", sender=CAROL)
    async with group.services.db.unit_of_work() as uow:
        inbox = [e.content for e in await uow.session.scalars(select(InboxEvent))]
        outbox = [e.content for e in await uow.session.scalars(select(OutboxEvent))]
    stored = str(inbox + outbox).casefold()
    assert "goff" not in stored
    assert "anne@kiditap.fr" not in stored
    assert "02 98 00 00 00" not in stored
    assert any('"[effacé]"' in str(c.get("body")) for c in inbox)
