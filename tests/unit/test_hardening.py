"""Hostile text, as plain function calls: website values that broke the parser, cells a
spreadsheet would run, invisible and direction-changing characters, `@room` in disguise."""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import UTC, datetime

import pytest

from bot.app import build_registry, default_catalog
from commands.kit.args import ParseContext, Website
from commands.kit.errors import ArgError, CommandError
from commands.kit.text import name_text
from commands.partners.csv_io import export_csv, neutralise, unneutralise
from storage.models import Partner
from storage.repos.partners import Listed
from storage.search import fold, squash, words

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
PCTX = ParseContext(now=NOW, timezone="Europe/Paris", locale="fr")
CATALOG = default_catalog()


def pinging(text: str) -> bool:
    """Whether a client reading `text` (width and case aside) could see `@room` in it."""
    return "@room" in unicodedata.normalize("NFKC", text).casefold()


# --- 1. Website values that raised instead of being refused.


@pytest.mark.parametrize(
    "raw",
    [
        "kiditap.]fr",
        "[x",
        "https://[::1",
        "http://[oops",
        "https://kiditap.fr:99999",
        "kiditap.fr:port",
        "ki\u202editap.fr",
        "kiditap.fr\u200b",
        "https://kiditap.fr/\x1b[2J",
    ],
)
def test_a_malformed_website_is_refused_with_its_message(raw: str) -> None:
    with pytest.raises(ArgError) as refused:
        Website().parse(raw, PCTX)
    assert (refused.value.key, refused.value.data) == ("core.arg.bad_website", {"value": raw})


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("kiditap.fr", "https://kiditap.fr"),
        ("http://kiditap.fr:8080/jeux?x=1", "http://kiditap.fr:8080/jeux?x=1"),
        ("https://[2001:db8::1].example.org", None),
        ("-", ""),
    ],
)
def test_good_websites_still_pass(raw: str, value: str | None) -> None:
    if value is None:  # an IPv6 literal has no dotted host name: refused, not crashed
        with pytest.raises(ArgError):
            Website().parse(raw, PCTX)
    else:
        assert Website().parse(raw, PCTX) == value


# --- 2. Cells a spreadsheet would run as formulas.

FORMULAS = [
    '=HYPERLINK("http://evil","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
]


def _listed(name: str, *, tags: list[str], description: str | None, owner: str | None) -> Listed:
    partner = Partner(
        name=name,
        name_key=squash(name),
        kind="company",
        status="idea",
        social_economy=False,
        owner=owner,
        consortium_member=None,
        website=None,
        description=description,
        created_at=NOW,
        updated_at=NOW,
        last_interaction_at=NOW,
    )
    return Listed(partner, tags)


def _cells(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("formula", FORMULAS)
def test_export_neutralises_formulas_in_names_descriptions_and_tags(formula: str) -> None:
    data = export_csv([_listed(formula, tags=[formula, "bois"], description=formula, owner=None)])
    [row] = _cells(data)
    assert row["name"] == row["description"] == f"'{formula}"
    assert row["tags"] == f"'{formula}, bois"
    for column, cell in row.items():
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), column


def test_exported_bytes_of_a_formula() -> None:
    data = export_csv([_listed("@SUM(1+1)", tags=["-2+3"], description="=1+1", owner=None)])
    assert data.split(b"\r\n")[1] == (
        b"'@SUM(1+1),company,idea,no,'-2+3,,,,'=1+1,"
        b"2026-11-27T09:00:00+00:00,2026-11-27T09:00:00+00:00,2026-11-27T09:00:00+00:00"
    )


def test_export_leaves_plain_cells_and_the_owner_as_they_are() -> None:
    data = export_csv(
        [_listed("KidiTap", tags=["jeux"], description="Jeux", owner="@bob:fablab.test")]
    )
    [row] = _cells(data)
    assert (row["name"], row["tags"], row["description"], row["owner"]) == (
        "KidiTap",
        "jeux",
        "Jeux",
        "@bob:fablab.test",
    )


@pytest.mark.parametrize(
    "value",
    [*FORMULAS, "'quoted", "''twice", "'", "'=x", "plain", "", "O'Brien", "a-b", "x=1"],
)
def test_neutralising_is_undone_exactly(value: str) -> None:
    assert unneutralise(neutralise(value)) == value
    assert not neutralise(value).startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize("cell", ["'quoted", "'", "'Brien", "plain"])
def test_import_keeps_a_quote_the_export_did_not_add(cell: str) -> None:
    assert unneutralise(cell) == cell


# --- 3. Invisible and direction-changing characters.


@pytest.mark.parametrize(
    "text",
    [
        "Ac\u200bme",  # zero-width space
        "Acme\u200d",  # zero-width joiner
        "\u200cAcme",  # zero-width non-joiner
        "A\u2060cme",  # word joiner
        "\ufeffAcme",  # byte-order mark
        "Ac\u00adme",  # soft hyphen
        "\u202aAcme\u202c",  # embedding
        "\u2066Acme\u2069",  # isolate
        "Acme\u200e",  # left-to-right mark
        "Ac\u034fme",  # combining grapheme joiner
        "Acme\ufe0f",  # variation selector
        "ＡＣＭＥ",  # fullwidth
        "ÀCMÉ",
    ],
)
def test_fold_ignores_what_does_not_show(text: str) -> None:
    assert fold(text) == squash(text) == "acme"
    assert words(text) == ["acme"]


def test_fold_of_a_direction_override_keeps_what_it_really_spells() -> None:
    assert fold("\u202eemcA") == "emca"


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("Ac\u200bme", "Acme"),
        ("  Acme\u200d  Lab ", "Acme Lab"),
        ("\u202eemcA", "emcA"),
        ("\u2067Acme\u2069", "Acme"),
        ("Kidi\u00a0Tap", "Kidi Tap"),
    ],
)
def test_names_lose_invisible_characters(typed: str, name: str) -> None:
    assert name_text(typed) == name


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("\u200b", "core.arg.invisible"),
        ("\u200b\u200d\u202e", "core.arg.invisible"),
        ("\u3164", "core.arg.invisible"),  # Hangul filler
        ("   ", "core.arg.empty"),
        ("Ac\x1bme", "core.error.control_chars"),
        ("Ac\x9bme", "core.error.control_chars"),
        ("Acme\x85", "core.error.control_chars"),
    ],
)
def test_names_with_nothing_visible_or_controls_are_refused(typed: str, key: str) -> None:
    with pytest.raises(CommandError) as refused:
        name_text(typed)
    assert refused.value.key == key


@pytest.mark.parametrize("control", ["\x80", "\x85", "\x9b", "\x9f", "\x1b", "\x07"])
def test_the_parser_refuses_c0_and_c1_controls(control: str) -> None:
    with pytest.raises(CommandError) as refused:
        build_registry().parse(f"!partner add Ac{control}me", PCTX)
    assert refused.value.key == "core.error.control_chars"


def test_the_parser_still_takes_line_breaks_and_accents() -> None:
    parsed = build_registry().parse('!partner add "Kidi\tTáp" description="a\nb"', PCTX)
    assert parsed is not None


# --- 4. `@room` in every case and width.


@pytest.mark.parametrize(
    "text",
    [
        "@room",
        "@ROOM",
        "@Room",
        "@rOOm",
        "＠room",  # fullwidth at sign
        "﹫room",  # small at sign
        "@ｒｏｏｍ",  # fullwidth letters
        "＠ＲＯＯＭ",
        "@\u200broom",  # split by a zero-width space
        "@r\u200doom",
        "hello @ROOM and @room!",
    ],
)
def test_room_pings_are_defused_in_every_variant(text: str) -> None:
    rendered = CATALOG.render("en", "core.error.unknown_command", name=text, suggestions=[])
    for body in (rendered.plain, rendered.html):
        assert not pinging(body), body
        assert "\u2060" in body
    # What shows is what was typed (less the invisible characters).
    shown = "".join(c for c in rendered.plain if c != "\u2060")
    visible = "".join(c for c in text if unicodedata.category(c) != "Cf")
    assert visible in shown


def test_defusing_leaves_other_text_alone_and_is_stable() -> None:
    rendered = CATALOG.render(
        "en", "core.error.unknown_command", name="rooms @roo m", suggestions=[]
    )
    assert "rooms @roo m" in rendered.plain
    once = CATALOG.render("en", "core.error.unknown_command", name="@ROOM", suggestions=[])
    again = CATALOG.render("en", "core.error.unknown_command", name=once.plain, suggestions=[])
    assert once.plain.count("\u2060") == 1
    assert again.plain.count("\u2060") == 1
