"""Finding a person in text and erasing them from it: whole words and whole values only
(storage.personal)."""

from __future__ import annotations

import re

import pytest

from storage.personal import PersonMatcher, is_email, is_phone, like_regex, mask, phone_key

ZOE = PersonMatcher(
    names=["Zoé O'Brien", "Jean-Pierre Roux"],
    emails=["Zoe.OBrien@Example.org"],
    phones=["+33 6 12 34 56 78", "+44 20 7946 0958"],
)
LI = PersonMatcher(names=["Li"])


def like(pattern: str, text: str) -> bool:
    """SQL's LIKE ... ESCAPE '\\' (case aside), for checking the prefilter."""
    parts = re.split(r"(\\.|%|_)", pattern)
    regex = "".join(
        ".*" if p == "%" else "." if p == "_" else re.escape(p[1:] if p.startswith("\\") else p)
        for p in parts
    )
    return re.fullmatch(regex, text, re.DOTALL | re.IGNORECASE) is not None


@pytest.mark.parametrize(
    ("matcher", "text", "expected"),
    [
        # Whole words: never a part of another word.
        (LI, "Public meeting in the library with Li.", "Public meeting in the library with [x]."),
        (LI, "Lili, Lisa, Aline, Li2, _Li", "Lili, Lisa, Aline, Li2, _Li"),
        (LI, "LI et li, (Li) « Li »", "[x] et [x], ([x]) « [x] »"),
        (LI, "Li-Ann et Anne-Li", "Li-Ann et Anne-Li"),  # a compound name is another name
        (LI, "d'Li, l’Li", "d'[x], l’[x]"),  # French elision
        (LI, "Li - la stagiaire", "[x] - la stagiaire"),
        # Case, accents, apostrophes, hyphens and spaces.
        (ZOE, "ZOÉ O'BRIEN et zoe o’brien", "[x] et [x]"),
        (ZOE, "Zoé OBrien, Zoé O Brien, Zoé Oʼbrien", "[x], [x], [x]"),
        (ZOE, "Zoe\u0301 O'Brien", "[x]"),  # decomposed accent
        (ZOE, "Zo\u00adé O'Brien", "[x]"),  # an invisible soft hyphen inside
        (ZOE, "Zoé O'Briens, Zoé O'Brien-Smith", "Zoé O'Briens, Zoé O'Brien-Smith"),
        (ZOE, "Zoé, O'Brien", "Zoé, O'Brien"),  # parts of a name alone are not the name
        (ZOE, "jean pierre roux; Jean–Pierre Roux; JEAN-PIERRE  ROUX", "[x]; [x]; [x]"),
        (ZOE, "Jean-Pierre-Marie Roux", "Jean-Pierre-Marie Roux"),
        # E-mails: whole addresses, any case; others untouched.
        (ZOE, "Écrire à zoe.obrien@example.org.", "Écrire à [x]."),
        (ZOE, "<ZOE.OBRIEN@EXAMPLE.ORG>", "<[x]>"),
        (ZOE, "mailto:zoe.obrien@example.org?subject=x", "mailto:[x]?subject=x"),
        (
            ZOE,
            "xzoe.obrien@example.org zoe.obrien@example.org.uk",
            "xzoe.obrien@example.org zoe.obrien@example.org.uk",
        ),
        # Phones: the usual spellings of one number; a longer number is another one.
        (ZOE, "06 12 34 56 78, 0612345678, 06.12.34.56.78", "[x], [x], [x]"),
        (ZOE, "+33612345678 ou +33 6 12 34 56 78 ou 06-12-34-56-78", "[x] ou [x] ou [x]"),
        (ZOE, "+33 (0)6 12 34 56 78, 0033 6 12 34 56 78", "[x], [x]"),
        (ZOE, "tel:+33612345678", "tel:[x]"),
        (ZOE, "0612345678901 10612345678", "0612345678901 10612345678"),
        (ZOE, "336123456789 +336123456789", "336123456789 +336123456789"),
        (ZOE, "06 12 34 56 78 9 et 1.06.12.34.56.78", "06 12 34 56 78 9 et 1.06.12.34.56.78"),
        (ZOE, "612345678", "612345678"),  # no prefix: not a phone number
        (ZOE, "+44 20 7946 0958 et 0044 20 7946 0958", "[x] et [x]"),
        (ZOE, "ref 2026-11-27 12:34:56", "ref 2026-11-27 12:34:56"),
    ],
)
def test_redact(matcher: PersonMatcher, text: str, expected: str) -> None:
    assert matcher.redact(text, "[x]") == expected
    assert matcher.mentions(text) == (text != expected)
    # The database's prefilter lets through every text the matcher finds her in.
    if text != expected:
        assert any(like(p, text) for p in matcher.like_patterns()), matcher.like_patterns()


def test_the_prefilter_reads_json_and_html_escapes() -> None:
    stored = [
        '{"body": "Zo\\u00e9 O\\u2019Brien a appel\\u00e9"}',
        '{"formatted_body": "<b>Zo\\u00e9 O&#39;Brien</b>"}',
        '{"body": "ZOE.OBRIEN@EXAMPLE.ORG"}',
        '{"body": "+33 (0)6.12.34.56.78"}',
    ]
    for text in stored:
        assert any(like(p, text) for p in ZOE.like_patterns()), text
    assert not any(like(p, '{"body": "Zoé à Brest"}') for p in ZOE.like_patterns())
    assert ZOE.folded_like_patterns() == sorted(ZOE.folded_like_patterns())
    assert "%zoe%o%brien%" in ZOE.folded_like_patterns()


def test_redact_html_across_escapes_and_tags() -> None:
    markup = (
        "<p>Chez <b>KidiTap</b> : Zoé O&#39;Brien, Zoé O&#x27;Brien, <i>Zoé</i> O’Brien "
        '<a href="mailto:zoe.obrien@example.org">zoe.obrien@example.org</a> &amp; '
        "Li &lt;library&gt;</p>"
    )
    assert ZOE.redact_html(markup, "[x]") == (
        "<p>Chez <b>KidiTap</b> : [x], [x], <i>[x]</i> "
        '<a href="mailto:[x]">[x]</a> &amp; Li &lt;library&gt;</p>'
    )
    assert ZOE.redact_html("<p>Rien &amp; personne</p>", "[x]") == "<p>Rien &amp; personne</p>"
    assert ZOE.redact_html("Zoé O'Brien", "<x>") == "&lt;x&gt;"
    assert ZOE.mentions_html("<p>Zoé O&#39;Brien</p>")
    assert not LI.mentions_html("<p>Public</p><p>library</p>")
    # A tag between two words is a space, never glue.
    assert LI.redact_html("<li>Li</li><li>Public</li>", "[x]") == "<li>[x]</li><li>Public</li>"


def test_redact_json_walks_every_string_and_keeps_keys() -> None:
    content = {
        "msgtype": "m.text",
        "body": "* Zoé O'Brien a rappelé",
        "formatted_body": "<b>Zoé O&#39;Brien</b>",
        "m.new_content": {"body": "Zoé O'Brien (06 12 34 56 78)", "Zoé O'Brien": 3},
        "list": ["zoe.obrien@example.org", 12, None, True],
        "m.relates_to": {"rel_type": "m.replace", "event_id": "$ev1"},
    }
    assert ZOE.redact_json(content, "[x]") == {
        "msgtype": "m.text",
        "body": "* [x] a rappelé",
        "formatted_body": "<b>[x]</b>",
        "m.new_content": {"body": "[x] ([x])", "Zoé O'Brien": 3},
        "list": ["[x]", 12, None, True],
        "m.relates_to": {"rel_type": "m.replace", "event_id": "$ev1"},
    }
    assert ZOE.mentions_json(content)
    assert list(ZOE.texts({"formatted_body": "<b>Zoé</b> O&#39;Brien"})) == [" Zoé  O'Brien"]
    assert not ZOE.mentions_json({"body": "rien", "n": 1})


def test_excerpts_show_where_not_who() -> None:
    text = (
        "Long compte rendu de la réunion du mardi, où nous avons rencontré Zoé O'Brien "
        "(zoe.obrien@example.org, 06 12 34 56 78) qui dirige la bibliothèque du quartier."
    )
    assert ZOE.excerpt(text, width=70) == "…où nous avons rencontré Z. O. (z…@…, ••78…"
    assert ZOE.excerpt(text, width=120) == (
        "…de la réunion du mardi, où nous avons rencontré Z. O. (z…@…, ••78) qui dirige…"
    )
    assert ZOE.excerpt("rien à voir") is None
    assert LI.excerpt("Li") == "L."


@pytest.mark.parametrize(
    ("kind", "text", "shown"),
    [
        ("name", "Jean-Pierre O'Brien", "J. P. O."),
        ("email", "zoe@example.org", "z…@…"),
        ("phone", "06 12 34 56 78", "••78"),
    ],
)
def test_mask(kind: str, text: str, shown: str) -> None:
    assert mask(text, kind) == shown


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("+33 6 12 34 56 78", "fr:612345678"),
        ("06 12 34 56 78", "fr:612345678"),
        ("06.12.34.56.78", "fr:612345678"),
        ("0612345678", "fr:612345678"),
        ("+33612345678", "fr:612345678"),
        ("+33 (0)6 12 34 56 78", "fr:612345678"),
        ("0033 6 12 34 56 78", "fr:612345678"),
        ("+44 20 7946 0958", "+442079460958"),
        ("12 34 56", "123456"),
    ],
)
def test_phone_key(value: str, key: str) -> None:
    assert phone_key(value) == key


def test_what_was_typed() -> None:
    assert is_email("Zoe.OBrien@example.org")
    assert not is_email("Zoé O'Brien")
    assert is_phone("+33 6 12 34 56 78")
    assert not is_phone("12")
    assert not is_phone("Zoé")


def test_an_empty_matcher_finds_nothing() -> None:
    empty = PersonMatcher(names=["  ", "-"], emails=[""], phones=["12"])
    assert empty.empty
    assert empty.redact("Li - 12", "[x]") == "Li - 12"
    assert empty.spans("anything") == []
    assert not empty.mentions_json({"a": "b"})


@pytest.mark.parametrize(
    ("patterns", "regex"),
    [
        (["%zo%o%brien%"], "zo.*o.*brien"),
        (["%6%1%2%", "%zoe\\.o\\_b@%"], "6.*1.*2|zoe\\.o_b@"),
        (["abc%", "%100\\%"], "^abc|100%$"),
    ],
)
def test_like_patterns_as_one_regex(patterns: list[str], regex: str) -> None:
    assert like_regex(patterns) == regex
    for text in ("Zoé O'Brien", "abcd", "x 100%", "06 12", "zoe.o_b@x"):
        assert bool(re.search(regex, text, re.IGNORECASE)) == any(like(p, text) for p in patterns)
