"""What members type during meetings, read purely: names of people present, a date
and a title typed together, Markdown escaping of the minutes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from commands.kit.args import ParseContext
from commands.kit.errors import ArgError
from commands.kit.text import leading_users
from commands.meetings.minutes import markdown_escape
from commands.meetings.schedule import split_when
from commands.meetings.vocabulary import split_names, trailing_user

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # Friday 10:00 in Paris
PCTX = ParseContext(NOW, "Europe/Paris", "fr")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Erwan, Alice et Christelle Bouquet", ["Erwan", "Alice", "Christelle Bouquet"]),
        ("Christelle Bouquet", ["Christelle Bouquet"]),
        ('"Christelle Bouquet" Erwan', ["Christelle Bouquet", "Erwan"]),
        ("Stéphane; Pauline and Romain.", ["Stéphane", "Pauline", "Romain"]),
        ("Zoé\u200b Martin, Jean-Pierre", ["Zoé Martin", "Jean-Pierre"]),
    ],
)
def test_names_of_people_present(text: str, names: list[str]) -> None:
    assert [name for _, name in split_names(text)] == names


def test_mentions_among_names_are_accounts() -> None:
    assert split_names("@bob:fablab.test, Erwan") == [
        ("@bob:fablab.test", "@bob:fablab.test"),
        (None, "Erwan"),
    ]
    assert split_names("@bob:fablab.test @carol:fablab.test") == [
        ("@bob:fablab.test", "@bob:fablab.test"),
        ("@carol:fablab.test", "@carol:fablab.test"),
    ]


def test_too_many_names_are_refused() -> None:
    with pytest.raises(ArgError):
        split_names(", ".join(f"N{i}" for i in range(60)))


def test_users_first_and_owner_last() -> None:
    assert leading_users("@a:x.test @b:x.test Appeler BMO") == (
        ["@a:x.test", "@b:x.test"],
        "Appeler BMO",
    )
    assert leading_users("moi Appeler BMO") == ([""], "Appeler BMO")
    assert leading_users("Appeler BMO") == ([], "Appeler BMO")
    assert trailing_user("Budget 2027 @bob:x.test") == ("@bob:x.test", "Budget 2027")
    assert trailing_user("Budget 2027") == (None, "Budget 2027")


@pytest.mark.parametrize(
    ("text", "when", "title"),
    [
        ('"mardi 18h" Point mensuel', datetime(2026, 12, 1, 17, 0, tzinfo=UTC), "Point mensuel"),
        ("mardi 18h Point mensuel", datetime(2026, 12, 1, 17, 0, tzinfo=UTC), "Point mensuel"),
        ("samedi 5 décembre 14h", datetime(2026, 12, 5, 13, 0, tzinfo=UTC), ""),
        ("demain", datetime(2026, 11, 28, 8, 0, tzinfo=UTC), ""),
    ],
)
def test_a_date_and_a_title_typed_together(text: str, when: datetime, title: str) -> None:
    assert split_when(text, PCTX) == (when, title)


@pytest.mark.parametrize("text", ["Bilan de l'année", "hier 18h Bilan"])
def test_no_date_or_a_past_one_is_refused(text: str) -> None:
    with pytest.raises(ArgError):
        split_when(text, PCTX)


def test_markdown_escaping() -> None:
    assert markdown_escape("*gras* _it_ [a](b) <b> #1 `c` | ~ \\") == (
        "\\*gras\\* \\_it\\_ \\[a\\](b) \\<b\\> #1 \\`c\\` \\| \\~ \\\\"
    )
    assert markdown_escape("Leroy & Merlin &amp; co\nsuite") == "Leroy & Merlin &amp;amp; co suite"
