"""Hostile input to the contact book, typed or imported: what the user reads back, and
what is (or is not) stored. The room speaks French; ALICE is an administrator."""

from __future__ import annotations

import csv
import io
import unicodedata

import pytest

from storage.repos.partners import PartnerRepository
from tests.botkit import GROUP, TestBot
from tests.domain.test_partners import count_partners, partner

COLUMNS = ["name", "kind", "status", "social_economy", "tags", "owner", "website", "description"]


def csv_file(*rows: dict[str, str]) -> bytes:
    """A CSV file as a spreadsheet would save it: the columns above, quoted as needed."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, restval="", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def import_(bot: TestBot, data: bytes) -> str:
    """Post a file and preview its import; the answer."""
    await bot.post_file("partenaires.csv", data)
    return await bot.ask("!partenaire importer")


async def export(bot: TestBot) -> bytes:
    [sent] = await bot.say("!partenaire exporter")
    assert sent.attachment is not None
    return sent.attachment.data


async def tags_of(bot: TestBot, name_key: str) -> list[str]:
    found = await partner(bot, name_key)
    async with bot.services.db.unit_of_work() as uow:
        return sorted((await uow.repo(PartnerRepository, GROUP).tags_of([found.id]))[found.id])


async def people_of(bot: TestBot, name_key: str) -> list[str]:
    found = await partner(bot, name_key)
    async with bot.services.db.unit_of_work() as uow:
        return sorted(p.name for p in await uow.repo(PartnerRepository, GROUP).people(found.id))


# --- 1. Website values that made the bot answer "something went wrong".

BAD_WEBSITES = ["kiditap.]fr", "[x", "https://[::1", "http://[oops"]


@pytest.mark.parametrize("website", BAD_WEBSITES)
async def test_a_malformed_website_on_edit_is_refused_and_changes_nothing(
    bot: TestBot, website: str
) -> None:
    await bot.ask("!partenaire ajouter Acme site=acme.fr")
    answer = await bot.ask(f"!partner edit Acme website={website}")
    assert answer.splitlines()[0] == (
        f"{website} n'est pas une adresse de site (https://exemple.fr)."
    )
    assert "Quelque chose s'est mal passé" not in answer
    assert (await partner(bot, "acme")).website == "https://acme.fr"


@pytest.mark.parametrize("website", BAD_WEBSITES)
async def test_a_malformed_website_on_add_is_refused(bot: TestBot, website: str) -> None:
    answer = await bot.ask(f"!partenaire ajouter Acme site={website}")
    assert answer.startswith(f"{website} n'est pas une adresse de site")
    assert await count_partners(bot) == 0


@pytest.mark.parametrize("website", BAD_WEBSITES)
async def test_a_malformed_website_in_an_import_is_a_bad_row(bot: TestBot, website: str) -> None:
    answer = await import_(bot, csv_file({"name": "Acme", "website": website}))
    assert answer.splitlines() == [
        "Ce fichier est refusé et rien n'a été importé : 1 ligne(s) à corriger.",
        f"• ligne 2 : {website} n'est pas une adresse de site (https://exemple.fr).",
    ]
    assert await count_partners(bot) == 0


# --- 2. Cells a spreadsheet would run, exported as they were typed.

FORMULAS = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"]


@pytest.mark.parametrize("formula", FORMULAS)
async def test_export_neutralises_formulas_in_names_descriptions_and_tags(
    bot: TestBot, formula: str
) -> None:
    tag = formula.split(",")[0]  # a comma would split it in two tags
    await bot.ask(f"!partenaire ajouter «{formula}» etiquettes=«{tag},zz» description=«{formula}»")
    assert (await partner(bot, formula.casefold())).name == formula
    data = await export(bot)
    [row] = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert row["name"] == row["description"] == f"'{formula}"
    assert row["tags"] == f"'{tag}, zz"
    for column, cell in row.items():
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), column


async def test_exported_bytes_start_no_cell_with_a_formula(bot: TestBot) -> None:
    await bot.ask("!partenaire ajouter @SUM(1+1) etiquettes=«-2+3,x» description=«=1+1»")
    data = await export(bot)
    line = data.split(b"\r\n")[1]
    assert line.startswith(b"'@SUM(1+1),other,idea,no,\"'-2+3, x\",,,,'=1+1,")


async def test_an_export_imported_back_changes_nothing(bot: TestBot) -> None:
    names = [*FORMULAS, "'Quoted", "''Twice", "'=Both", "O'Brien", "Plain"]
    for name in names:
        tag = name.split(",")[0]
        await bot.ask(f"!partenaire ajouter «{name}» etiquettes=«{tag},x» description=«{name}»")
    stored = {name: await partner(bot, name.casefold()) for name in names}
    assert [stored[n].name for n in names] == names
    assert [stored[n].description for n in names] == names

    data = await export(bot)
    answer = await import_(bot, data)
    assert answer.startswith(
        f"Aperçu de l'import de partenaires.csv : 0 à créer, 0 à mettre à jour, {len(names)} "
    )
    assert answer.count("déjà à jour") == min(len(names), 5)
    # What the export neutralised is stored as it was typed, once imported back.
    for name in names:
        assert (await partner(bot, name.casefold())).name == name


async def test_a_quote_the_export_did_not_add_is_kept(bot: TestBot) -> None:
    await import_(bot, csv_file({"name": "'Quoted"}, {"name": "'=Neutralised"}))
    await bot.ask("!partenaire importer confirmer")
    assert (await partner(bot, "'quoted")).name == "'Quoted"
    assert (await partner(bot, "=neutralised")).name == "=Neutralised"


# --- 3. Invisible and direction-changing characters.

LOOK_ALIKES = [
    "Ac\u200bme",
    "Acme\u200d",
    "\ufeffAcme",
    "A\u2060cme",
    "\u202aAcme\u202c",
    "ACME\u200c",
]


@pytest.mark.parametrize("typed", LOOK_ALIKES)
async def test_an_invisible_character_does_not_make_another_partner(
    bot: TestBot, typed: str
) -> None:
    await bot.ask("!partenaire ajouter Acme")
    answer = await bot.ask(f"!partenaire ajouter «{typed}»")
    assert answer == (
        "Il existe déjà un partenaire nommé Acme "
        "(les noms sont comparés sans majuscules ni accents)."
    )
    assert await count_partners(bot) == 1


@pytest.mark.parametrize("typed", LOOK_ALIKES)
async def test_an_invisible_character_still_finds_the_partner(bot: TestBot, typed: str) -> None:
    await bot.ask("!partenaire ajouter Acme etiquettes=outils")
    assert (await bot.ask(f"!partenaire voir «{typed}»")).startswith("Acme")
    assert "1. Acme" in await bot.ask(f"!partenaire chercher «{typed}»")


async def test_a_direction_override_is_left_out_of_the_name(bot: TestBot) -> None:
    await bot.ask("!partenaire ajouter Acme")
    answer = await bot.ask("!partenaire ajouter \u202eemcA")
    assert answer.startswith("emcA ajouté (autre, idée).")
    stored = await partner(bot, "emca")
    assert stored.name == "emcA"
    listing = await bot.ask("!partenaire liste")
    assert "\u202e" not in listing
    assert "emcA" in listing


async def test_invisible_characters_are_left_out_of_a_new_name(bot: TestBot) -> None:
    answer = await bot.ask("!partenaire ajouter «Kidi\u200bTap\u200d»")
    assert answer.startswith("KidiTap ajouté")
    assert (await partner(bot, "kiditap")).name == "KidiTap"
    await bot.ask("!partenaire modifier KidiTap nom=«Kidi\u2066Lab\u2069»")
    assert (await partner(bot, "kidilab")).name == "KidiLab"


@pytest.mark.parametrize("typed", ["\u200b", "\u200b\u200d", "\u202e\u202c", "\ufeff"])
async def test_a_name_made_only_of_invisible_characters_is_refused(
    bot: TestBot, typed: str
) -> None:
    answer = await bot.ask(f"!partenaire ajouter «{typed}»")
    assert answer == (
        "Un nom ne peut pas être fait que de caractères invisibles "
        "(espaces sans largeur, marques de direction)."
    )
    assert await count_partners(bot) == 0


async def test_people_names_lose_invisible_characters(bot: TestBot) -> None:
    await bot.ask("!partenaire ajouter Acme")
    await bot.ask("!partenaire personne ajouter Acme «Anne\u200b Le\u202e Goff»")
    assert await people_of(bot, "acme") == ["Anne Le Goff"]
    answer = await bot.ask("!partenaire personne ajouter Acme «Anne Le Goff\u200d»")
    assert answer == "Acme a déjà quelqu'un du nom de Anne Le Goff."
    answer = await bot.ask("!partenaire personne ajouter Acme «\u200b\u200c»")
    assert answer.startswith("Un nom ne peut pas être fait que de caractères invisibles")
    answer = await bot.ask("!partenaire personne modifier Acme Anne nom=«\u2060»")
    assert answer.startswith("Un nom ne peut pas être fait que de caractères invisibles")
    assert await people_of(bot, "acme") == ["Anne Le Goff"]


async def test_tags_lose_invisible_characters(bot: TestBot) -> None:
    await bot.ask("!partenaire ajouter Acme etiquettes=«bo\u200bis,\u202eoutils»")
    assert await tags_of(bot, "acme") == ["bois", "outils"]
    answer = await bot.ask("!partenaire modifier Acme etiquettes=+\u200b")
    assert answer.startswith("Un nom ne peut pas être fait que de caractères invisibles")
    answer = await bot.ask("!partenaire modifier Acme etiquettes=«jeux,\u200d»")
    assert answer.startswith("Un nom ne peut pas être fait que de caractères invisibles")
    assert await tags_of(bot, "acme") == ["bois", "outils"]


@pytest.mark.parametrize("control", ["\x9b", "\x85", "\x80", "\x9f"])
async def test_c1_controls_in_a_command_are_refused(bot: TestBot, control: str) -> None:
    answer = await bot.ask(f"!partenaire ajouter Ac{control}me")
    assert answer == (
        "Cette commande contient des caractères de contrôle invisibles ; "
        "retapez-la, s'il vous plaît."
    )
    assert await count_partners(bot) == 0


@pytest.mark.parametrize(
    ("column", "cell", "code"),
    [
        ("name", "Ac\x1b[2Jme", "U+001B"),
        ("name", "Acme\x07", "U+0007"),
        ("description", "\x1b]0;pwned\x07", "U+001B"),
        ("description", "rouge\x9b31m", "U+009B"),
        ("tags", "bois,\x85outils", "U+0085"),
        ("website", "acme.fr\x90", "U+0090"),
        ("kind", "company\x7f", "U+007F"),
    ],
)
async def test_control_characters_in_an_imported_cell_refuse_the_row(
    bot: TestBot, column: str, cell: str, code: str
) -> None:
    answer = await import_(bot, csv_file({"name": "Acme", column: cell}))
    assert answer.splitlines() == [
        "Ce fichier est refusé et rien n'a été importé : 1 ligne(s) à corriger.",
        f"• ligne 2 : la colonne {column} contient un caractère de contrôle invisible ({code}) ; "
        "retirez-le.",
    ]
    assert "\x1b" not in answer
    assert await count_partners(bot) == 0


async def test_a_control_character_in_the_header_refuses_the_file(bot: TestBot) -> None:
    answer = await import_(bot, b"name,descr\x1bption\r\nAcme,x\r\n")
    assert answer == (
        "La première ligne (les noms des colonnes) contient un caractère de contrôle invisible "
        "(U+001B) ; retirez-le. Rien n'a été importé."
    )
    assert await count_partners(bot) == 0


async def test_imported_cells_lose_direction_controls_and_names_invisible_ones(
    bot: TestBot,
) -> None:
    await bot.ask("!partenaire ajouter Acme")
    data = csv_file(
        {"name": "\u202eemcA", "description": "Jeux \u202eéducatifs\u202c", "tags": "b\u200bois"},
        {"name": "Acme\u200b", "kind": "company"},
        {"name": "Ac\u200dme Lab", "kind": "company"},
    )
    answer = await import_(bot, data)
    assert "\u202e" not in answer
    assert answer.splitlines()[:5] == [
        "Aperçu de l'import de partenaires.csv : 2 à créer, 1 à mettre à jour, 0 ignoré(s).",
        "À créer :",
        "• ligne 2 : emcA",
        "• ligne 4 : Acme Lab",
        "À mettre à jour :",
    ]
    await bot.ask("!partenaire importer confirmer")
    assert await count_partners(bot) == 3
    emca = await partner(bot, "emca")
    assert (emca.name, emca.description) == ("emcA", "Jeux éducatifs")
    assert await tags_of(bot, "emca") == ["bois"]
    assert (await partner(bot, "acme lab")).name == "Acme Lab"
    assert (await partner(bot, "acme")).kind == "company"


async def test_a_name_made_only_of_invisible_characters_is_a_bad_row(bot: TestBot) -> None:
    answer = await import_(bot, csv_file({"name": "\u200b\u200d", "kind": "company"}))
    assert answer.splitlines()[1] == (
        "• ligne 2 : Un nom ne peut pas être fait que de caractères invisibles "
        "(espaces sans largeur, marques de direction)."
    )
    assert await count_partners(bot) == 0


async def test_a_description_loses_direction_controls(bot: TestBot) -> None:
    await bot.ask("!partenaire ajouter Acme description=«Jeux \u202eéducatifs»")
    assert (await partner(bot, "acme")).description == "Jeux éducatifs"


# --- 4. `@room`, whatever its case or width, pings nobody.


def pinging(text: str) -> bool:
    return "@room" in unicodedata.normalize("NFKC", text).casefold()


@pytest.mark.parametrize(
    "typed", ["@room", "@ROOM", "@Room", "＠room", "＠ＲＯＯＭ", "@ｒｏｏｍ", "@\u200broom"]
)
async def test_room_pings_in_names_are_defused(bot: TestBot, typed: str) -> None:
    [answer] = await bot.say(f"!partenaire ajouter «Équipe {typed}»")
    assert answer.body.startswith("Équipe ")
    assert not pinging(answer.body)
    assert not pinging(answer.html)
    [listing] = await bot.say("!partenaire liste")
    assert "Équipe" in listing.body
    assert not pinging(listing.body)
    assert not pinging(listing.html)
