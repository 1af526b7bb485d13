"""What members type about polls: the question and its options, who votes, a choice."""

from __future__ import annotations

from dataclasses import dataclass

from commands.kit.args import ArgType, Integer, Opt, ParseContext, User, When, Word, YesNo
from commands.kit.errors import ArgError
from commands.kit.text import USER_ID, fold, tokenize
from storage.models import Voters

MAX_OPTIONS = 20
MAX_QUESTION = 500
MAX_OPTION = 200
SECRET_WORDS = frozenset({"secret", "secrete", "anonyme", "anonymous"})


@dataclass(frozen=True)
class PollSpec:
    question: str
    options: tuple[str, ...]
    secret: bool = False


class PollSpecArg(ArgType[PollSpec]):
    """`"Question ?" "Option A" "Option B" … [secret]`: the question first, then the
    options, each quoted when it has several words."""

    metavar = "poll"

    def __init__(self, *, options_only: bool = False) -> None:
        # Only the options (the question comes from elsewhere: a proposal).
        self.options_only = options_only
        if options_only:
            self.metavar = "options"

    def parse(self, raw: str, pctx: ParseContext) -> PollSpec:
        tokens = tokenize(raw)
        secret = False
        if tokens and not tokens[-1].quoted and fold(tokens[-1].value) in SECRET_WORDS:
            secret = True
            tokens = tokens[:-1]
        values = [" ".join(t.value.split()) for t in tokens]
        if self.options_only:
            values = ["-", *values]
        if not values or not values[0]:
            raise ArgError("polls.arg.no_question")
        question, options = values[0], values[1:]
        if len(question) > MAX_QUESTION:
            raise ArgError("core.arg.too_long", limit=MAX_QUESTION)
        if len(options) < 2:
            raise ArgError("polls.arg.too_few", count=len(options))
        if len(options) > MAX_OPTIONS:
            raise ArgError("polls.arg.too_many", count=len(options), limit=MAX_OPTIONS)
        if any(not option for option in options):
            raise ArgError("polls.arg.empty_option")
        long = next((o for o in options if len(o) > MAX_OPTION), None)
        if long is not None:
            raise ArgError("polls.arg.long_option", value=long, limit=MAX_OPTION)
        seen: dict[str, str] = {}
        for option in options:
            key = fold(option)
            if key in seen:
                raise ArgError("polls.arg.duplicate", value=option, other=seen[key])
            seen[key] = option
        return PollSpec(question, tuple(options), secret)


@dataclass(frozen=True)
class VoterRule:
    kind: Voters
    users: tuple[str, ...] = ()


VOTER_WORDS = {
    "members": Voters.MEMBERS,
    "membres": Voters.MEMBERS,
    "tous": Voters.MEMBERS,
    "all": Voters.MEMBERS,
    "moderators": Voters.MODERATORS,
    "moderateurs": Voters.MODERATORS,
    "moderateur": Voters.MODERATORS,
    "copil": Voters.MODERATORS,
}


class VotersArg(ArgType[VoterRule]):
    """`members`, `moderators` (the COPIL) or a list of users `@a:x,@b:x`."""

    metavar = "voters"

    def parse(self, raw: str, pctx: ParseContext) -> VoterRule:
        kind = VOTER_WORDS.get(fold(raw.strip()))
        if kind is not None:
            return VoterRule(kind)
        users = [u.strip() for u in raw.replace(";", ",").replace(" ", ",").split(",") if u.strip()]
        if not users or not all(USER_ID.fullmatch(u) for u in users):
            raise ArgError("polls.arg.not_voters", value=raw)
        return VoterRule(Voters.LIST, tuple(dict.fromkeys(User().parse(u, pctx) for u in users)))


O_CLOSES = Opt(
    "closes",
    When(),
    fr="fin",
    aliases=("cloture", "clôture", "deadline", "echeance", "échéance", "jusqua", "until", "close"),
)
O_QUORUM = Opt("quorum", Integer(minimum=1, maximum=10_000))
O_VOTERS = Opt("voters", VotersArg(), fr="votants", aliases=("electeurs", "électeurs"))
O_CHOICES = Opt("choices", Integer(minimum=1, maximum=MAX_OPTIONS), fr="choix")
O_SECRET = Opt("secret", YesNo(), fr="secret")
O_PARTNER = Opt("partner", Word(200, metavar="partner"), fr="partenaire")
