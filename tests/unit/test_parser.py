"""The command parser, called as a plain function on a small registry of its own.

The registry below mirrors the commands to come (partners, follow-ups, agenda) so
that names, aliases, quotes, options, mentions, dates and errors are pinned down
before any domain module relies on them. Nothing here is async: parsing is pure.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.kit.args import (
    Arg,
    Choice,
    Duration,
    Integer,
    Opt,
    ParseContext,
    Text,
    User,
    When,
    Word,
)
from commands.kit.errors import CommandError
from commands.kit.registry import MAX_LENGTH, Args, Command, Group, ParsedCommand, Registry, Router
from commands.kit.text import QUOTES, Token, tokenize
from storage.models import Role

if TYPE_CHECKING:
    from _pytest.mark.structures import ParameterSet

    from commands.kit.context import Context

# Friday 27 November 2026, 10:00 in Paris (winter time, UTC+1).
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
BOB = "@bob:example.org"
PILL = f'<a href="https://matrix.to/#/{BOB}">Bob</a>'


def build_registry() -> Registry:
    """The test commands, declared the way domain modules declare theirs."""
    router = Router("test")

    kind = Choice(
        ("association", "company", "institution"),
        aliases={"asso": "association", "entreprise": "company", "société": "company"},
        label="kind",
    )
    partner = router.group("partner", fr="partenaire", aliases=("partenaires",))

    @partner.command(
        "add",
        fr="ajouter",
        aliases=("nouveau",),
        args=[Arg("name", Word())],
        options=[Opt("type", kind, fr="genre"), Opt("tags", Word(), fr="étiquettes")],
    )
    async def partner_add(ctx: Context, args: Args) -> None:
        """Not called: parsing never runs handlers."""

    @partner.command("note", fr="noter", args=[Arg("name", Word()), Arg("text", Text(), rest=True)])
    async def partner_note(ctx: Context, args: Args) -> None:
        """Not called."""

    @partner.command("show", fr="voir", aliases=("détails",), args=[Arg("name", Word())])
    async def partner_show(ctx: Context, args: Args) -> None:
        """Not called."""

    @router.command(
        "followup",
        fr="relance",
        aliases=("rappel",),
        args=[Arg("user", User()), Arg("text", Text(), rest=True)],
        options=[Opt("due", When(), fr="echeance"), Opt("partner", Word(), fr="partenaire")],
    )
    async def followup(ctx: Context, args: Args) -> None:
        """Not called."""

    @router.command("done", fr="fait", args=[Arg("id", Integer(minimum=1))])
    async def done(ctx: Context, args: Args) -> None:
        """Not called."""

    @router.command(
        "snooze",
        fr="reporter",
        args=[Arg("id", Integer(minimum=1)), Arg("delay", Duration())],
    )
    async def snooze(ctx: Context, args: Args) -> None:
        """Not called."""

    agenda = router.group("agenda", fr="agenda")

    @agenda.default_command()
    async def agenda_show(ctx: Context, args: Args) -> None:
        """Not called."""

    @agenda.command(
        "add",
        fr="ajouter",
        args=[Arg("title", Text(), rest=True)],
        options=[Opt("when", When(), fr="quand")],
    )
    async def agenda_add(ctx: Context, args: Args) -> None:
        """Not called."""

    @router.command("meeting", fr="réunion", aliases=("réunions",))
    async def meeting(ctx: Context, args: Args) -> None:
        """Not called."""

    @router.command(
        "purge",
        fr="purger",
        args=[Arg("days", Integer(minimum=1, maximum=365), required=False)],
        role=Role.MODERATOR,
    )
    async def purge(ctx: Context, args: Args) -> None:
        """Not called."""

    return Registry([router])


REGISTRY = build_registry()


def entry(path: str) -> Command | Group:
    """A declared command or group by its English path: 'partner', 'partner add'."""
    head, _, sub = path.partition(" ")
    found = REGISTRY.lookup(head)
    assert found is not None
    if sub:
        assert isinstance(found, Group)
        return found.subcommands[sub]
    return found


def parse(
    body: str, html: str | None = None, *, locale: str = "fr", prefix: str = "!"
) -> ParsedCommand | None:
    return REGISTRY.parse(body, ParseContext(NOW, "Europe/Paris", locale, prefix), html)


def ok(
    case_id: str,
    body: str,
    qualname: str,
    invoked_as: str,
    /,
    *,
    html: str | None = None,
    locale: str = "fr",
    prefix: str = "!",
    **args: Any,
) -> ParameterSet:
    """A message that parses; `args` lists the values given, every other one is None."""
    return pytest.param(body, html, locale, prefix, (qualname, invoked_as, args), id=case_id)


def chat(case_id: str, body: str, /, *, html: str | None = None, prefix: str = "!") -> ParameterSet:
    """A message that is not addressed to the bot."""
    return pytest.param(body, html, "fr", prefix, None, id=case_id)


def bad(
    case_id: str,
    body: str,
    key: str,
    usage: str | None,
    /,
    *,
    html: str | None = None,
    locale: str = "fr",
    prefix: str = "!",
    **data: Any,
) -> ParameterSet:
    """A malformed command: the error's catalog key, its exact data, and whose usage to show."""
    return pytest.param(body, html, locale, prefix, key, usage, data, id=case_id)


REPLY_HTML = (
    "<mx-reply><blockquote>"
    '<a href="https://matrix.to/#/!room:example.org/$event">In reply to</a> '
    '<a href="https://matrix.to/#/@carol:example.org">@carol:example.org</a>'
    "<br>!fait 99</blockquote></mx-reply>"
)
LONGEST = "!partner note Kidi ".ljust(MAX_LENGTH, "x")

# fmt: off
VALID = [
    # Names: English, French, aliases, any case, any accent, mixed languages.
    ok("en-group-sub", "!partner add Kidi", "partner.add", "partner add", name="Kidi"),
    ok("fr-group-sub", "!partenaire ajouter Kidi", "partner.add", "partenaire ajouter",
       name="Kidi"),
    ok("group-alias-sub-alias", "!partenaires nouveau Kidi", "partner.add",
       "partenaires nouveau", name="Kidi"),
    ok("en-group-fr-sub", "!partner ajouter Kidi", "partner.add", "partner ajouter", name="Kidi"),
    ok("upper-case-names", "!PARTENAIRE Ajouter KidiTap", "partner.add", "PARTENAIRE Ajouter",
       name="KidiTap"),
    ok("accented-name", "!réunion", "meeting", "réunion"),
    ok("accent-left-out", "!reunion", "meeting", "reunion"),
    ok("accented-upper-case", "!RÉUNION", "meeting", "RÉUNION"),
    ok("accented-alias-no-accent", "!Reunions", "meeting", "Reunions"),
    ok("sub-alias-accent-left-out", "!partenaire details Kidi", "partner.show",
       "partenaire details", name="Kidi"),
    ok("fr-command", "!relance @bob:example.org appeler Kidi", "followup", "relance",
       user=BOB, text="appeler Kidi"),
    ok("en-command-alias", "!rappel @bob:example.org appeler", "followup", "rappel",
       user=BOB, text="appeler"),
    ok("nbsp-between-words", "!fait\u00a03", "done", "fait", id=3),
    ok("tab-between-words", "!fait\t3", "done", "fait", id=3),
    # Quotes: straight, typographic, guillemets, with inner and non-breaking spaces.
    ok("straight-quotes", '!partner add "Kidi Tap"', "partner.add", "partner add",
       name="Kidi Tap"),
    ok("typographic-quotes", "!partner add “Kidi Tap”", "partner.add", "partner add",
       name="Kidi Tap"),
    ok("typographic-open-straight-close", '!partner add “Kidi Tap"', "partner.add",
       "partner add", name="Kidi Tap"),
    ok("low-high-quotes", "!partner add „Kidi Tap“", "partner.add", "partner add",
       name="Kidi Tap"),
    ok("guillemets-nbsp", "!partenaire ajouter «\u00a0Kidi Tap\u00a0»", "partner.add",
       "partenaire ajouter", name="Kidi Tap"),
    ok("guillemets-narrow-nbsp", "!partenaire ajouter «\u202fKidi Tap\u202f»", "partner.add",
       "partenaire ajouter", name="Kidi Tap"),
    ok("apostrophe-in-word", "!partenaire ajouter l'atelier", "partner.add",
       "partenaire ajouter", name="l'atelier"),
    ok("typographic-apostrophe-in-word", "!partenaire ajouter l’atelier", "partner.add",
       "partenaire ajouter", name="l’atelier"),
    # Options: key=value, quoted values, any position, French and accented keys.
    ok("option-choice-alias", "!partner add Kidi type=asso", "partner.add", "partner add",
       name="Kidi", type="association"),
    ok("option-quoted-value", '!partner add Kidi type=company tags="école numérique"',
       "partner.add", "partner add", name="Kidi", type="company", tags="école numérique"),
    ok("option-guillemets", "!partenaire ajouter Kidi genre=«\u00a0entreprise\u00a0»",
       "partner.add", "partenaire ajouter", name="Kidi", type="company"),
    ok("option-typographic-quotes", "!partner add Kidi tags=“a b”", "partner.add",
       "partner add", name="Kidi", tags="a b"),
    ok("option-before-positional", "!partner add type=institution Kidi", "partner.add",
       "partner add", name="Kidi", type="institution"),
    ok("option-key-any-case", "!partner add TYPE=Association Kidi", "partner.add",
       "partner add", name="Kidi", type="association"),
    ok("fr-option-names", "!partenaire ajouter Kidi genre=société etiquettes=jeunesse",
       "partner.add", "partenaire ajouter", name="Kidi", type="company", tags="jeunesse"),
    ok("fr-option-key-accented", "!partenaire ajouter Kidi étiquettes=jeunesse", "partner.add",
       "partenaire ajouter", name="Kidi", tags="jeunesse"),
    ok("option-before-every-arg", "!relance partner=Kidi @bob:example.org appeler",
       "followup", "relance", user=BOB, text="appeler", partner="Kidi"),
    ok("option-inside-rest-text", "!relance @bob:example.org appeler partenaire=Kidi demain",
       "followup", "relance", user=BOB, text="appeler demain", partner="Kidi"),
    # Rest-of-line text: inner quotes and apostrophes kept, unknown keys and URLs too.
    ok("rest-keeps-inner-quotes", '!partner note Kidi a dit "oui" hier', "partner.note",
       "partner note", name="Kidi", text='a dit "oui" hier'),
    ok("rest-keeps-guillemets", "!partner note Kidi a dit « oui » hier", "partner.note",
       "partner note", name="Kidi", text="a dit « oui » hier"),
    ok("rest-single-quoted-unquoted", '!partner note "Kidi Tap" "tout le texte"',
       "partner.note", "partner note", name="Kidi Tap", text="tout le texte"),
    ok("rest-one-key-value-word-kept", "!partner note Kidi ratio=3", "partner.note",
       "partner note", name="Kidi", text="ratio=3"),
    ok("positional-key-value-word-kept", "!partner note a=b texte", "partner.note",
       "partner note", name="a=b", text="texte"),
    ok("rest-keeps-line-breaks", "!partner note Kidi ligne 1\nligne 2", "partner.note",
       "partner note", name="Kidi", text="ligne 1\nligne 2"),
    ok("windows-line-breaks", "!partner note Kidi ligne 1\r\nligne 2", "partner.note",
       "partner note", name="Kidi", text="ligne 1\nligne 2"),
    ok("rest-apostrophes", "!partner note Kidi l'atelier d'Anne", "partner.note",
       "partner note", name="Kidi", text="l'atelier d'Anne"),
    ok("rest-unknown-key-kept", "!relance @bob:example.org voir ratio=3 ensemble", "followup",
       "relance", user=BOB, text="voir ratio=3 ensemble"),
    ok("rest-url", "!relance @bob:example.org lire https://example.org/?a=b", "followup",
       "relance", user=BOB, text="lire https://example.org/?a=b"),
    ok("longest-message", LONGEST, "partner.note", "partner note", name="Kidi",
       text="x" * (MAX_LENGTH - len("!partner note Kidi "))),
    # Mentions: typed, or pills in formatted_body turned into the user id.
    ok("mention-with-comma", "!relance @bob:example.org, appeler", "followup", "relance",
       user=BOB, text="appeler"),
    ok("pill", "!relance Bob appeler", "followup", "relance", html=f"!relance {PILL} appeler",
       user=BOB, text="appeler"),
    ok("pill-colon-percent-encoded", "!relance Bob appeler", "followup", "relance",
       html='!relance <a href="https://matrix.to/#/@bob%3Aexample.org">Bob</a> appeler',
       user=BOB, text="appeler"),
    ok("pill-percent-encoded", "!relance Bob appeler", "followup", "relance",
       html='!relance <a href="https://matrix.to/#/%40bob%3Aexample.org">Bob</a> appeler',
       user=BOB, text="appeler"),
    ok("pill-matrix-uri", "!relance Bob appeler", "followup", "relance",
       html='!relance <a href="matrix:u/bob:example.org?action=chat">Bob</a> appeler',
       user=BOB, text="appeler"),
    ok("pill-with-via", "!relance Bob appeler", "followup", "relance",
       html='!relance <a href="https://matrix.to/#/@bob:example.org?via=example.org">Bob</a>'
       " appeler", user=BOB, text="appeler"),
    ok("pill-in-paragraph", "!relance Bob appeler", "followup", "relance",
       html=f"<p>!relance {PILL} appeler</p>", user=BOB, text="appeler"),
    ok("pill-in-reply", "> <@carol:example.org> !fait 99\n\n!relance Bob: appeler", "followup",
       "relance", html=f"{REPLY_HTML}!relance {PILL}: appeler &lt;vite&gt; &amp; &quot;bien&quot;",
       user=BOB, text='appeler <vite> & "bien"'),
    ok("reply-fallback-in-body", "> <@carol:example.org> quoted\n\n!fait 3", "done", "fait",
       id=3),
    ok("reply-fallback-many-lines", "> <@carol:example.org> one\n> two\n\n!fait 3", "done",
       "fait", id=3),
    ok("html-without-pill-ignored", "!fait 3", "done", "fait", html="<b>!fait 4</b>", id=3),
    # Integers and durations.
    ok("integer-hash", "!fait #12", "done", "fait", id=12),
    ok("integer-plus", "!done +5", "done", "done", id=5),
    ok("duration-days-fr", "!snooze 3 2j", "snooze", "snooze", id=3, delay=timedelta(days=2)),
    ok("duration-hours-minutes", "!snooze #3 1h30", "snooze", "snooze", id=3,
       delay=timedelta(hours=1, minutes=30)),
    ok("duration-quoted-words", '!reporter 3 "2 semaines"', "snooze", "reporter", id=3,
       delay=timedelta(weeks=2)),
    ok("duration-minutes", "!snooze 3 90m", "snooze", "snooze", id=3,
       delay=timedelta(minutes=90)),
    # Dates, read in Paris time and returned in UTC.
    ok("date-next-friday", '!relance @bob:example.org appeler due="vendredi prochain 14h"',
       "followup", "relance", user=BOB, text="appeler",
       due=datetime(2026, 12, 4, 13, 0, tzinfo=UTC)),
    ok("date-tomorrow-fr-key", "!relance @bob:example.org appeler echeance=demain", "followup",
       "relance", user=BOB, text="appeler", due=datetime(2026, 11, 28, 8, 0, tzinfo=UTC)),
    ok("date-accented-key-first", "!relance ÉCHÉANCE=«demain 14h30» @bob:example.org appeler",
       "followup", "relance", user=BOB, text="appeler",
       due=datetime(2026, 11, 28, 13, 30, tzinfo=UTC)),
    ok("date-offset", '!relance @bob:example.org appeler due="dans 3 jours"', "followup",
       "relance", user=BOB, text="appeler", due=datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),
    ok("date-en", "!followup @bob:example.org call due=tomorrow", "followup", "followup",
       locale="en", user=BOB, text="call", due=datetime(2026, 11, 28, 8, 0, tzinfo=UTC)),
    # Groups: the bare name runs the default command.
    ok("group-default", "!agenda", "agenda", "agenda"),
    ok("group-default-any-case", "!Agenda", "agenda", "Agenda"),
    ok("group-sub-with-date", '!agenda ajouter Réunion CA quand="lundi 9h"', "agenda.add",
       "agenda ajouter", title="Réunion CA", when=datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),
    # Roles are checked later: parsing a moderator's command is the same as any other.
    ok("moderator-command", "!purge", "purge", "purge"),
    ok("moderator-command-fr", "!purger 30", "purge", "purger", days=30),
    # Another prefix.
    ok("prefix-question-mark", "?fait 3", "done", "fait", prefix="?", id=3),
    ok("prefix-question-mark-group", "?partenaire voir Kidi", "partner.show", "partenaire voir",
       prefix="?", name="Kidi"),
    # Plain chat: not addressed to the bot.
    chat("chat-word", "bonjour"),
    chat("chat-exclamations", "Super !!"),
    chat("chat-bangs", "!!!"),
    chat("chat-interrobang", "?!"),
    chat("chat-ellipsis", "!…"),
    chat("chat-double-prefix", "!!fait 3"),
    chat("chat-empty", ""),
    chat("chat-blank", "   "),
    chat("chat-other-prefix", "!fait 3", prefix="?"),
    chat("chat-long", "x" * (MAX_LENGTH + 10)),
    chat("chat-command-only-in-quote", "> <@carol:example.org> !fait 3\n\nmerci"),
    chat("chat-pill-first", "Bob: !fait 3", html=f"{PILL}: !fait 3"),
    chat("chat-command-only-in-mx-reply", "> <@carol:example.org> !fait 99\n\nmerci",
         html=f"{REPLY_HTML}merci"),
]
# fmt: on

KIND_VALUES = ("association", "company", "institution")

# fmt: off
INVALID = [
    # Unknown names, with suggestions in the room's language.
    bad("unknown-command-fr", "!partnr", "core.error.unknown_command", None, name="partnr",
        suggestions=["partenaire"]),
    bad("unknown-command-en", "!partnr", "core.error.unknown_command", None, locale="en",
        name="partnr", suggestions=["partner"]),
    bad("unknown-command-fr-typo", "!relanse @bob:example.org x", "core.error.unknown_command",
        None, name="relanse", suggestions=["relance"]),
    bad("unknown-command-fr-typo-en", "!relanse", "core.error.unknown_command", None,
        locale="en", name="relanse", suggestions=["followup"]),
    bad("unknown-command-no-suggestion", "!zzz", "core.error.unknown_command", None, name="zzz",
        suggestions=[]),
    bad("unknown-subcommand-fr", "!partenaire ajoute Kidi", "core.error.unknown_subcommand",
        "partner", group="partenaire", name="ajoute",
        suggestions=["partenaire ajouter", "partenaire noter"]),
    bad("unknown-subcommand-en", "!partner ad Kidi", "core.error.unknown_subcommand", "partner",
        locale="en", group="partner", name="ad", suggestions=["partner add"]),
    bad("unknown-subcommand-after-default", "!agenda demain", "core.error.unknown_subcommand",
        "agenda", group="agenda", name="demain", suggestions=[]),
    bad("missing-subcommand", "!partner", "core.error.missing_subcommand", "partner",
        group="partenaire"),
    bad("missing-subcommand-en", "!partenaire", "core.error.missing_subcommand", "partner",
        locale="en", group="partner"),
    bad("quoted-command", '! "partner" add Kidi', "core.error.unknown_command", None,
        name='"partner"', suggestions=["partenaire"]),
    bad("quoted-command-guillemets", "! «fait» 3", "core.error.unknown_command", None,
        name="«fait»", suggestions=["fait"]),
    bad("quoted-subcommand", '!partner "add" Kidi', "core.error.unknown_subcommand", "partner",
        group="partenaire", name='"add"', suggestions=["partenaire ajouter"]),
    bad("option-as-command", "!type=asso", "core.error.unknown_command", None, name="type=asso",
        suggestions=[]),
    bad("option-as-command-near-name", "!partner=add", "core.error.unknown_command", None,
        name="partner=add", suggestions=["partenaire"]),
    # Message shape.
    bad("quote-unbalanced-straight", '!partner add "Kidi Tap', "core.error.unbalanced_quotes",
        None, quote='"'),
    bad("quote-unbalanced-typographic", "!partner add “Kidi Tap",
        "core.error.unbalanced_quotes", None, quote="“"),
    bad("quote-unbalanced-guillemets", "!partner add « Kidi Tap", "core.error.unbalanced_quotes",
        None, quote="«"),
    bad("quote-guillemet-closed-straight", '!partner add «Kidi Tap"',
        "core.error.unbalanced_quotes", None, quote="«"),
    bad("quote-unbalanced-option", '!partner add Kidi tags="a b', "core.error.unbalanced_quotes",
        None, quote='"'),
    bad("too-long", LONGEST + "x", "core.error.too_long", None, limit=MAX_LENGTH),
    bad("control-nul", "!fait 3\x00", "core.error.control_chars", None),
    bad("control-bell", "!fait\x07 3", "core.error.control_chars", None),
    bad("control-escape", "!partner note Kidi \x1b[31mrouge", "core.error.control_chars", None),
    bad("empty", "!", "core.error.empty", None),
    bad("empty-spaces", "!   ", "core.error.empty", None),
    bad("empty-other-prefix", "?", "core.error.empty", None, prefix="?"),
    # Arguments.
    bad("missing-arg", "!fait", "core.error.missing_arg", "done", arg="number"),
    bad("missing-user", "!relance", "core.error.missing_arg", "followup", arg="user"),
    bad("missing-rest-text", "!relance @bob:example.org due=demain", "core.error.missing_arg",
        "followup", arg="text"),
    bad("missing-second-arg", "!snooze 3", "core.error.missing_arg", "snooze", arg="duration"),
    bad("missing-arg-in-group", "!partner show", "core.error.missing_arg", "partner show",
        arg="word"),
    bad("too-many-args", "!fait 1 2", "core.error.too_many_args", "done", extra="2"),
    bad("too-many-args-unquoted-name", "!partner add Kidi Tap", "core.error.too_many_args",
        "partner add", extra="Tap"),
    bad("unknown-option", "!partner add Kidi couleur=rouge", "core.error.unknown_option",
        "partner add", option="couleur"),
    bad("unknown-option-integer", "!fait 3 note=x", "core.error.unknown_option", "done",
        option="note"),
    bad("empty-quoted-word", '!partner add ""', "core.arg.empty", "partner add"),
    bad("bad-integer", "!fait abc", "core.arg.not_integer", "done", value="abc"),
    bad("bad-integer-decimal", "!fait 1.5", "core.arg.not_integer", "done", value="1.5"),
    bad("bad-integer-too-many-digits", "!fait 1234567890123", "core.arg.not_integer", "done",
        value="1234567890123"),
    bad("integer-below-minimum", "!fait 0", "core.arg.out_of_range", "done", value=0, min=1,
        max=None),
    bad("integer-negative", "!fait #-3", "core.arg.out_of_range", "done", value=-3, min=1,
        max=None),
    bad("integer-above-maximum", "!purger 400", "core.arg.out_of_range", "purge", value=400,
        min=1, max=365),
    bad("bad-user-no-sigil", "!relance bob appeler", "core.arg.not_user", "followup",
        value="bob"),
    bad("bad-user-no-server", "!relance @bob appeler", "core.arg.not_user", "followup",
        value="@bob"),
    bad("bad-user-pill-to-room", "!relance Bob appeler", "core.arg.not_user", "followup",
        html='!relance <a href="https://matrix.to/#/#room:example.org">Room</a> appeler',
        value="Room"),
    bad("bad-date", "!relance @bob:example.org appeler due=jamais", "core.arg.not_date",
        "followup", value="jamais"),
    bad("bad-date-vague", "!relance @bob:example.org appeler échéance=juin",
        "core.arg.not_date", "followup", value="juin"),
    bad("bad-duration", "!snooze 3 bientôt", "core.arg.not_duration", "snooze",
        value="bientôt"),
    bad("bad-duration-zero", "!snooze 3 0d", "core.arg.not_duration", "snooze", value="0d"),
    bad("bad-duration-unquoted-words", "!snooze 3 2 semaines", "core.arg.not_duration",
        "snooze", value="2"),
    bad("bad-duration-huge", "!snooze 3 99999999999d", "core.arg.not_duration", "snooze",
        value="99999999999d"),
    bad("bad-date-huge-offset", '!relance @bob:example.org x due="dans 500000 semaines"',
        "core.arg.not_date", "followup", value="dans 500000 semaines"),
    bad("bad-date-far-offset", '!relance @bob:example.org x due="dans 999999 jours"',
        "core.arg.not_date", "followup", value="dans 999999 jours"),
    bad("bad-choice", "!partner add Kidi type=ong", "core.arg.not_choice", "partner add",
        value="ong", choices=KIND_VALUES, label="kind"),
    bad("bad-choice-fr-key", "!partenaire ajouter Kidi genre=", "core.arg.not_choice",
        "partner add", value="", choices=KIND_VALUES, label="kind"),
]
# fmt: on


@pytest.mark.parametrize(("body", "html", "locale", "prefix", "expected"), VALID)
def test_valid(
    body: str,
    html: str | None,
    locale: str,
    prefix: str,
    expected: tuple[str, str, dict[str, Any]] | None,
) -> None:
    parsed = parse(body, html, locale=locale, prefix=prefix)
    if expected is None:
        assert parsed is None
        return
    qualname, invoked_as, given_args = expected
    assert parsed is not None
    declared = [a.name for a in parsed.command.args] + [o.name for o in parsed.command.options]
    assert parsed.command.qualname == qualname
    assert parsed.invoked_as == invoked_as
    assert dict(parsed.args) == dict.fromkeys(declared) | given_args


@pytest.mark.parametrize(("body", "html", "locale", "prefix", "key", "usage", "data"), INVALID)
def test_invalid(
    body: str,
    html: str | None,
    locale: str,
    prefix: str,
    key: str,
    usage: str | None,
    data: dict[str, Any],
) -> None:
    with pytest.raises(CommandError) as caught:
        parse(body, html, locale=locale, prefix=prefix)
    assert caught.value.key == key
    assert caught.value.data == data
    if usage is None:
        assert caught.value.usage is None
    else:
        assert caught.value.usage is entry(usage)


def test_dates_are_aware_utc() -> None:
    parsed = parse('!relance @bob:example.org appeler due="vendredi prochain 14h"')
    assert parsed is not None
    assert parsed.args["due"].tzinfo is UTC


def test_roles_come_from_the_declaration() -> None:
    assert entry("purge").role is Role.MODERATOR
    assert entry("partner add").role is Role.MEMBER
    assert entry("partner").role is Role.MEMBER


def test_names_equal_up_to_accents_are_refused() -> None:
    router = Router("clash")
    router.command("meeting", fr="réunion")(_noop)
    router.command("gathering", fr="reunion")(_noop)
    with pytest.raises(ValueError, match="declared twice"):
        Registry([router])


async def _noop(ctx: Context, args: Args) -> None:
    """A handler that parsing never calls."""


# Properties: whatever is typed, the parser answers or raises a CommandError.

PCTX = ParseContext(NOW, "Europe/Paris", "fr", "!")
HEADS = (
    "partner add ",
    "partenaire noter Kidi ",
    "relance @bob:example.org appeler ",
    "relance @bob:example.org appeler due=",
    "fait ",
    "snooze 3 ",
    "agenda ",
    "agenda add ",
    "purge ",
)


def outcome(
    body: str, pctx: ParseContext, html: str | None = None
) -> ParsedCommand | CommandError | None:
    """What parsing answers, with a CommandError returned rather than raised."""
    try:
        return REGISTRY.parse(body, pctx, formatted_body=html)
    except CommandError as exc:
        return exc


@settings(deadline=None, database=None)
@given(st.text(), st.none() | st.text())
def test_parse_raises_only_command_errors(text: str, html: str | None) -> None:
    result = outcome("!" + text, PCTX, html)
    if isinstance(result, CommandError):
        assert result.key.startswith(("core.error.", "core.arg."))
    else:
        assert result is None or isinstance(result, ParsedCommand)


@settings(deadline=None, database=None)
@given(st.sampled_from(HEADS), st.text(), st.sampled_from(["fr", "en"]))
def test_arguments_raise_only_command_errors(head: str, text: str, locale: str) -> None:
    result = outcome("!" + head + text, ParseContext(NOW, "Europe/Paris", locale, "!"))
    if isinstance(result, CommandError):
        assert result.key.startswith(("core.error.", "core.arg."))
    else:
        assert isinstance(result, ParsedCommand)


@settings(database=None)
@given(st.text())
def test_tokenize_raises_only_unbalanced_quotes(text: str) -> None:
    tokens: list[Token] | CommandError
    try:
        tokens = tokenize(text)
    except CommandError as exc:
        tokens = exc
    if isinstance(tokens, CommandError):
        assert tokens.key == "core.error.unbalanced_quotes"
        assert tokens.data["quote"] in QUOTES
    else:
        assert all(isinstance(t, Token) and t.raw and t.raw in text for t in tokens)


@settings(database=None)
@given(st.text().filter(lambda s: "=" not in s and not set(s) & set(QUOTES)))
def test_tokenize_without_quotes_splits_on_whitespace(text: str) -> None:
    assert [t.value for t in tokenize(text)] == text.split()


def test_errors_repeat_a_huge_value_shortened() -> None:
    huge = "x" * 100_000  # a CSV cell, say: the command line itself is limited
    with pytest.raises(CommandError) as caught:
        Choice(("oui", "non")).parse(huge, PCTX)
    value = caught.value.data["value"]
    assert len(value) == 200
    assert value.endswith("…")
