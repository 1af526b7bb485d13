"""Export to CSV and import from a posted CSV file: preview, confirm, and every bad file."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from commands.kit.errors import CommandError
from storage.models import PendingAction, Role
from storage.repos.core import MemberRepository
from storage.repos.partners import PartnerRepository
from tests.botkit import BOB, CAROL, GROUP, TestBot
from tests.domain.test_partners import audit_actions, count_partners, events, partner
from tests.domain.test_partners import settings as partners_settings

HEADER = "name,kind,status,social_economy,tags,owner,consortium_member,website,description\n"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return partners_settings.__wrapped__(db_url)  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
async def group(bot: TestBot) -> TestBot:
    """Carol is a moderator; KidiTap exists, contacted."""
    async with bot.services.db.unit_of_work() as uow:
        await uow.repo(MemberRepository, GROUP).set_role(CAROL, Role.MODERATOR, now=bot.clock.now())
    await bot.ask("!partenaire ajouter KidiTap type=entreprise etiquettes=jeux", sender=BOB)
    await bot.ask("!partenaire statut KidiTap contacté", sender=BOB)
    return bot


def rows_of(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM, for spreadsheets
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


async def preview(bot: TestBot, data: bytes, command: str = "!partenaire importer") -> str:
    await bot.post_file("partenaires.csv", data, sender=CAROL)
    return await bot.ask(command, sender=CAROL)


# --- Export.


async def test_export_posts_a_csv_file(group: TestBot) -> None:
    await group.ask(
        '!partenaire ajouter "Leroy Merlin" type=entreprise ess=non etiquettes="outillage, bois" '
        'site=leroymerlin.fr description=«Magasin, rayon "maker"» suivi=moi',
        sender=BOB,
    )
    await group.ask("!partenaire ajouter Chrysalide type=association ess=oui entite=MDL")
    [sent] = await group.say("!partenaire exporter", sender=BOB)
    assert sent.content["msgtype"] == "m.file"
    assert sent.content["filename"] == "partenaires.csv"
    assert sent.content["info"]["mimetype"] == "text/csv"
    assert sent.body.startswith("3 partenaire(s), au format CSV (UTF-8, séparateur virgule")
    assert sent.attachment is not None
    assert (sent.attachment.name, sent.attachment.mimetype) == ("partenaires.csv", "text/csv")
    rows = rows_of(sent.attachment.data)
    assert list(rows[0]) == [
        "name",
        "kind",
        "status",
        "social_economy",
        "tags",
        "owner",
        "consortium_member",
        "website",
        "description",
        "created_at",
        "updated_at",
        "last_interaction_at",
    ]
    assert [r["name"] for r in rows] == ["Chrysalide", "KidiTap", "Leroy Merlin"]
    leroy = rows[2]
    assert leroy == {
        "name": "Leroy Merlin",
        "kind": "company",
        "status": "idea",
        "social_economy": "no",
        "tags": "bois, outillage",
        "owner": BOB,
        "consortium_member": "",
        "website": "https://leroymerlin.fr",
        "description": 'Magasin, rayon "maker"',
        "created_at": "2026-11-27T09:00:00+00:00",
        "updated_at": "2026-11-27T09:00:00+00:00",
        "last_interaction_at": "2026-11-27T09:00:00+00:00",
    }
    assert rows[0]["consortium_member"] == "MDL"
    assert rows[0]["social_economy"] == "yes"
    assert "partner.export" in await audit_actions(group)


async def test_export_with_filters_and_nothing_to_export(group: TestBot) -> None:
    await group.ask("!partenaire ajouter Chrysalide type=association", sender=BOB)
    [sent] = await group.say("!partenaire exporter type=association", sender=BOB)
    assert sent.attachment is not None
    assert [r["name"] for r in rows_of(sent.attachment.data)] == ["Chrysalide"]
    assert await group.ask("!partenaire exporter statut=actif", sender=BOB) == (
        "Aucun partenaire à exporter."
    )


# --- Import: preview, then confirm.


async def test_import_preview_then_confirm(group: TestBot) -> None:
    data = (
        HEADER
        + "KidiTap,company,intéressé,yes,jeux;fablab,,,,\n"
        + "Leroy Merlin,entreprise,à contacter,non,outillage,,,leroymerlin.fr,Magasin\n"
        + "Mairie de Brest,collectivité,idée,,,,,,\n"
        + f"Chrysalide,association,active,yes,,{BOB},MDL,,SCOP\n"
    ).encode()
    answer = await preview(group, data)
    assert answer.splitlines() == [
        "Aperçu de l'import de partenaires.csv : 2 à créer, 1 à mettre à jour, 1 ignoré(s).",
        "À créer :",
        "• ligne 3 : Leroy Merlin",
        "• ligne 5 : Chrysalide",
        "À mettre à jour :",
        "• ligne 2 : KidiTap — statut contacté → intéressé ; ESS non → oui ; "
        "étiquettes jeux → jeux, fablab",
        "Ignorés :",
        "• ligne 4 : Mairie de Brest — collectivité : hors du périmètre du groupe "
        "(forcer=oui pour l'importer quand même)",
        "Rien n'est encore modifié. Pour appliquer : !partenaire importer confirmer ; "
        "pour abandonner : !partenaire importer annuler.",
    ]
    # A preview changes nothing.
    assert await count_partners(group) == 1
    assert (await partner(group, "kiditap")).status == "contacted"

    group.clock.advance(timedelta(minutes=5))
    answer = await group.ask("!partenaire importer confirmer", sender=CAROL)
    assert answer == ("Import de partenaires.csv terminé : 2 créé(s), 1 mis à jour, 1 ignoré(s).")
    assert await count_partners(group) == 3
    leroy = await partner(group, "leroy merlin")
    assert (leroy.kind, leroy.status, leroy.website, leroy.description) == (
        "company",
        "to_contact",
        "https://leroymerlin.fr",
        "Magasin",
    )
    chrysalide = await partner(group, "chrysalide")
    assert (chrysalide.status, chrysalide.owner, chrysalide.consortium_member) == (
        "active",
        BOB,
        "MDL",
    )
    [created] = await events(group, "leroy merlin")
    assert (created.kind, created.actor, created.detail["source"]) == ("created", CAROL, "import")
    kidi = await events(group, "kiditap")
    assert [e.kind for e in kidi] == ["created", "status", "edited", "status"]
    assert (kidi[-1].actor, kidi[-1].detail) == (CAROL, {"from": "contacted", "to": "interested"})
    assert kidi[-1].at == group.clock.now()
    assert "KidiTap — intéressé · entreprise · ESS · fablab, jeux" in await group.ask(
        "!partenaire liste", sender=BOB
    )
    assert "partner.import" in await audit_actions(group)
    async with group.services.db.unit_of_work() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(PendingAction)) == 0
    assert await group.ask("!partenaire importer confirmer", sender=CAROL) == (
        "Aucun import ne vous attend : déposez un fichier CSV, puis !partenaire importer."
    )


async def test_import_forced_takes_excluded_kinds(group: TestBot) -> None:
    data = (HEADER + "Mairie de Brest,collectivité,idée,,,,,,\n").encode()
    answer = await preview(group, data, "!partenaire importer forcer=oui")
    assert answer.startswith("Aperçu de l'import de partenaires.csv : 1 à créer, 0 à mettre à jour")
    await group.ask("!partenaire importer confirmer", sender=CAROL)
    assert (await partner(group, "mairie de brest")).kind == "public_authority"


async def test_import_is_for_moderators(group: TestBot) -> None:
    await group.post_file("partenaires.csv", (HEADER + "Conrad,,,,,,,,\n").encode(), sender=BOB)
    assert await group.ask("!partenaire importer", sender=BOB) == (
        "Cette commande demande le rôle modérateur."
    )


async def test_import_needs_a_posted_file(group: TestBot) -> None:
    assert await group.ask("!partenaire importer", sender=CAROL) == (
        "Déposez d'abord le fichier dans ce salon, puis retapez la commande."
    )
    # Someone else's file is not yours.
    await group.post_file("partenaires.csv", (HEADER + "Conrad,,,,,,,,\n").encode(), sender=BOB)
    assert (await group.ask("!partenaire importer", sender=CAROL)).startswith("Déposez d'abord")


async def test_export_then_import_is_a_no_op(group: TestBot) -> None:
    await group.ask('!partenaire ajouter "Leroy Merlin" etiquettes="bois, outillage"', sender=BOB)
    [sent] = await group.say("!partenaire exporter", sender=BOB)
    assert sent.attachment is not None
    answer = await preview(group, sent.attachment.data)
    assert answer.splitlines() == [
        "Aperçu de l'import de partenaires.csv : 0 à créer, 0 à mettre à jour, 2 ignoré(s).",
        "Ignorés :",
        "• ligne 2 : KidiTap — déjà à jour",
        "• ligne 3 : Leroy Merlin — déjà à jour",
        "Rien à importer.",
    ]


async def test_french_spreadsheet_with_semicolons_and_french_columns(group: TestBot) -> None:
    data = "\ufeffNom;Type;Statut;ESS;Étiquettes\nConrad;entreprise;contacté;oui;électronique\n"
    answer = await preview(group, data.encode())
    assert answer.startswith("Aperçu de l'import de partenaires.csv : 1 à créer")
    await group.ask("!partenaire importer confirmer", sender=CAROL)
    conrad = await partner(group, "conrad")
    assert (conrad.kind, conrad.status, conrad.social_economy) == ("company", "contacted", True)


async def test_cancel_and_expiry(group: TestBot) -> None:
    data = (HEADER + "Conrad,,,,,,,,\n").encode()
    await preview(group, data)
    assert await group.ask("!partenaire importer annuler", sender=CAROL) == (
        "Import de partenaires.csv abandonné ; rien n'a été modifié."
    )
    await preview(group, data)
    group.clock.advance(timedelta(days=2))
    assert (await group.ask("!partenaire importer confirmer", sender=CAROL)).startswith(
        "Cet aperçu date de plus d'un jour"
    )
    assert await count_partners(group) == 1


async def test_confirm_after_the_partners_changed_previews_again(group: TestBot) -> None:
    data = (HEADER + "Conrad,company,,,,,,,\n").encode()
    await preview(group, data)
    await group.ask("!partenaire ajouter Conrad type=entreprise", sender=BOB)
    answer = await group.ask("!partenaire importer confirmer", sender=CAROL)
    assert answer.startswith(
        "Aperçu de l'import de partenaires.csv (les partenaires ont changé depuis l'aperçu "
        "précédent) : 0 à créer, 0 à mettre à jour, 1 ignoré(s)."
    )
    assert await count_partners(group) == 2


async def test_import_is_all_or_nothing(group: TestBot, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (HEADER + "Conrad,,,,,,,,\nVirtualys,,,,,,,,\nOceanDataLab,,,,,,,,\n").encode()
    await preview(group, data)
    create_many = PartnerRepository.create_many

    async def failing(self: PartnerRepository, rows: Any, **kwargs: Any) -> int:
        # The creations are written, then something fails before the import ends.
        await create_many(self, rows, **kwargs)
        raise CommandError("partners.import.changed")

    monkeypatch.setattr(PartnerRepository, "create_many", failing)
    answer = await group.ask("!partenaire importer confirmer", sender=CAROL)
    assert answer == (
        "Les partenaires ont changé pendant l'import ; rien n'a été importé. Relancez l'aperçu."
    )
    assert await count_partners(group) == 1  # the creations were rolled back


# --- Bad files: a clear answer, and nothing changes.


async def assert_refused(bot: TestBot, data: bytes, *expected: str) -> None:
    answer = await preview(bot, data)
    for text in expected:
        assert text in answer, answer
    assert await count_partners(bot) == 1
    async with bot.services.db.unit_of_work() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(PendingAction)) == 0


async def test_wrong_columns(group: TestBot) -> None:
    await assert_refused(
        group,
        b"name,colour,size\nConrad,red,XL\n",
        "Colonne(s) inconnue(s) : colour, size.",
        "Les colonnes sont celles de l'export : name, kind, status",
        "Rien n'a été importé.",
    )


async def test_missing_name_column(group: TestBot) -> None:
    await assert_refused(
        group, b"kind,status\ncompany,idea\n", "La colonne name (ou nom) est obligatoire."
    )


async def test_duplicate_columns(group: TestBot) -> None:
    await assert_refused(group, b"name,nom\nConrad,Conrad\n", "Colonne(s) en double : name.")


async def test_latin1_file_is_refused_with_a_hint(group: TestBot) -> None:
    data = (HEADER + "Conrad,,,,,,,,\nTélécom Bretagne,école,,,,,,,\n").encode("latin-1")
    await assert_refused(
        group,
        data,
        "Ce fichier n'est pas du texte UTF-8 (caractère illisible ligne 3).",
        "Enregistrez-le en « CSV UTF-8 »",
    )


async def test_utf16_file_is_refused(group: TestBot) -> None:
    await assert_refused(
        group, (HEADER + "Conrad,,,,,,,,\n").encode("utf-16"), "n'est pas du texte UTF-8"
    )


async def test_ten_thousand_rows_are_refused(group: TestBot) -> None:
    data = (HEADER + "".join(f"Partenaire {n},,,,,,,,\n" for n in range(10_000))).encode()
    await assert_refused(
        group,
        data,
        "Ce fichier a 10000 lignes ; un import en accepte 5000 au plus.",
        "Découpez-le en plusieurs fichiers.",
    )


async def test_empty_file(group: TestBot) -> None:
    await assert_refused(group, b"", "Ce fichier ne contient aucun partenaire.")
    await assert_refused(group, HEADER.encode(), "Ce fichier ne contient aucun partenaire.")


async def test_one_bad_row_refuses_the_whole_file(group: TestBot) -> None:
    data = (
        HEADER
        + "Conrad,company,idea,,,,,,\n"
        + "Virtualys,startup,idea,,,,,,\n"
        + "OceanDataLab,company,fini,,,,,,\n"
        + "Chrysalide,,,peut-être,,,,,\n"
        + "KidiLab,,,,,bob,,,\n"
        + "Ifremer,,,,,,Ifremer,,\n"
        + "Fablab,,,,,,,pas un site,\n"
        + ",company,,,,,,,\n"
        + "conrad,,,,,,,,\n"
        + "Court,,,\n"
    ).encode()
    answer = await preview(group, data)
    assert answer.splitlines() == [
        "Ce fichier est refusé et rien n'a été importé : 9 ligne(s) à corriger.",
        "• ligne 3 : startup n'est pas parmi : entreprise, institution, association, fondation, "
        "artisan, chambre consulaire, école, collectivité, autre.",
        "• ligne 4 : fini n'est pas parmi : idée, à contacter, contacté, intéressé, "
        "en négociation, actif (formalisé), en pause, décliné.",
        "• ligne 5 : peut-être n'est ni oui ni non.",
        "• ligne 6 : bob n'est pas un utilisateur : écrivez @nom:serveur ou mentionnez-le.",
        "• ligne 7 : Ifremer n'est pas une entité du consortium : MDL, Petits Débrouillards, "
        "Télécom Bretagne.",
        "• ligne 8 : pas un site n'est pas une adresse de site (https://exemple.fr).",
        "• ligne 9 : pas de nom.",
        "• ligne 10 : « conrad » figure déjà ligne 2 "
        "(les noms sont comparés sans majuscules ni accents).",
        "• ligne 11 : 4 cellules au lieu de 9.",
    ]
    assert await count_partners(group) == 1


async def test_duplicate_names_in_the_file_with_accents(group: TestBot) -> None:
    data = (HEADER + "Télécom Bretagne,school,,,,,,,\nTELECOM BRETAGNE,,,,,,,,\n").encode()
    await assert_refused(group, data, "ligne 3 : « TELECOM BRETAGNE » figure déjà ligne 2")


async def test_many_bad_rows_are_summed_up(group: TestBot) -> None:
    data = (HEADER + "".join(f"P{n},nope,,,,,,,\n" for n in range(30))).encode()
    answer = await preview(group, data)
    assert answer.startswith("Ce fichier est refusé et rien n'a été importé : 30 ligne(s)")
    assert answer.endswith("… et 20 autre(s).")
    assert answer.count("• ligne") == 10
