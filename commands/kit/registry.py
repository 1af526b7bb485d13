"""The command registry: declared once with decorators, parsed purely, used for help.

A domain creates a `Router`, declares its commands and its event handlers on it, and
the application joins the routers of every domain into one `Registry`. Parsing
(`Registry.parse`) is synchronous and pure: text in, `ParsedCommand` or
`CommandError` out.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from commands.kit.args import Arg, Opt, ParseContext
from commands.kit.errors import ArgError, CommandError
from commands.kit.events import (
    MEMBERSHIP,
    POLL_END,
    POLL_RESPONSE,
    REACTION,
    REDACTION,
    ROOM_MESSAGE,
    E,
    Event,
    EventFilter,
    EventHandler,
    Membership,
    Message,
    PollEnd,
    PollResponse,
    Reaction,
    Redaction,
    Signal,
)
from commands.kit.text import CONTROL, Token, command_text, fold, tokenize
from storage.models import Role

if TYPE_CHECKING:
    from commands.kit.context import Context

Handler = Callable[["Context", "Args"], Awaitable[None]]
# An event handler returns None, or False when it had nothing to do with the event.
EventCallback = Callable[["Context", E], Awaitable[bool | None]]
SignalHandler = Callable[["Context", Signal], Awaitable[None]]
RequestHandler = Callable[..., Awaitable[Any]]
MAX_LENGTH = 4000


class Args(dict[str, Any]):
    """Parsed values by argument name; absent optional arguments are None."""


@dataclass
class Command:
    """One runnable command or sub-command."""

    name: str
    fr: str
    domain: str
    handler: Handler
    args: tuple[Arg, ...] = ()
    options: tuple[Opt, ...] = ()
    role: Role = Role.MEMBER
    aliases: tuple[str, ...] = ()
    parent: Group | None = None

    @property
    def qualname(self) -> str:
        if self.parent is None or self.parent.default is self:
            return self.name
        return f"{self.parent.name}.{self.name}"

    @property
    def help_key(self) -> str:
        return f"cmd.{self.qualname}"

    def names(self) -> tuple[str, ...]:
        return (self.name, self.fr, *self.aliases)

    def local_name(self, locale: str) -> str:
        return self.fr if locale == "fr" else self.name

    def invocation(self, locale: str, prefix: str) -> str:
        """`!partner add` in English, `!partenaire ajouter` in French."""
        own = self.local_name(locale)
        if self.parent is None:
            return f"{prefix}{own}"
        if self.parent.default is self:
            return f"{prefix}{self.parent.local_name(locale)}"
        return f"{prefix}{self.parent.local_name(locale)} {own}"

    def bind(self, tokens: Sequence[Token], pctx: ParseContext) -> Args:
        """Match tokens to arguments and options, parsing each with its type."""
        values = Args({a.name: None for a in self.args})
        values.update({o.name: None for o in self.options})
        options = {fold(k): o for o in self.options for k in o.spellings()}
        has_rest = any(a.rest for a in self.args)
        positional: list[Token] = []
        for token in tokens:
            if token.key is not None:
                opt = options.get(fold(token.key))
                if opt is not None:
                    values[opt.name] = _parse_one(self, opt.type, token.value, pctx)
                    continue
                if not has_rest:
                    raise CommandError("core.error.unknown_option", usage=self, option=token.key)
            positional.append(token)
        for index, arg in enumerate(self.args):
            if arg.rest:
                rest = positional[index:]
                positional = positional[:index]
                if not rest:
                    break
                if len(rest) == 1:
                    text = _word(rest[0])
                else:
                    text = rest[0].raw + "".join(t.space + t.raw for t in rest[1:])
                values[arg.name] = _parse_one(self, arg.type, text, pctx)
                break
            if index >= len(positional):
                break
            values[arg.name] = _parse_one(self, arg.type, _word(positional[index]), pctx)
        else:
            if len(positional) > len(self.args):
                extra = positional[len(self.args)].raw
                raise CommandError("core.error.too_many_args", usage=self, extra=extra)
        missing = [a for a in self.args if a.required and values[a.name] is None]
        if missing:
            raise CommandError("core.error.missing_arg", usage=self, arg=missing[0].type.metavar)
        return values


def _word(token: Token) -> str:
    """A positional word: its value, or as typed when it only looks like key=value."""
    return token.raw if token.key is not None else token.value


def _parse_one(command: Command, type_: Any, raw: str, pctx: ParseContext) -> Any:
    try:
        return type_.parse(raw, pctx)
    except ArgError as exc:
        exc.usage = command
        raise


@dataclass
class Group:
    """A command with sub-commands (`!partner add`); `default` runs when none is given."""

    name: str
    fr: str
    domain: str
    aliases: tuple[str, ...] = ()
    subcommands: dict[str, Command] = field(default_factory=dict)
    default: Command | None = None

    def names(self) -> tuple[str, ...]:
        return (self.name, self.fr, *self.aliases)

    def local_name(self, locale: str) -> str:
        return self.fr if locale == "fr" else self.name

    @property
    def role(self) -> Role:
        roles = [c.role for c in self.commands()]
        return min(roles) if roles else Role.MEMBER

    def commands(self) -> Iterator[Command]:
        if self.default is not None:
            yield self.default
        seen = set()
        for command in self.subcommands.values():
            if id(command) not in seen:
                seen.add(id(command))
                yield command

    def command(
        self,
        name: str,
        *,
        fr: str,
        args: Sequence[Arg] = (),
        options: Sequence[Opt] = (),
        role: Role = Role.MEMBER,
        aliases: Sequence[str] = (),
    ) -> Callable[[Handler], Handler]:
        """Declare a sub-command of this group."""

        def register(handler: Handler) -> Handler:
            command = Command(
                name, fr, self.domain, handler, tuple(args), tuple(options), role, tuple(aliases)
            )
            command.parent = self
            for key in command.names():
                self.subcommands[fold(key)] = command
            return handler

        return register

    def default_command(
        self,
        *,
        args: Sequence[Arg] = (),
        options: Sequence[Opt] = (),
        role: Role = Role.MEMBER,
    ) -> Callable[[Handler], Handler]:
        """Declare what the group's bare name does (`!agenda` shows the agenda)."""

        def register(handler: Handler) -> Handler:
            command = Command(
                self.name, self.fr, self.domain, handler, tuple(args), tuple(options), role
            )
            command.parent = self
            self.default = command
            return handler

        return register


class Router:
    """The commands and event handlers of one domain."""

    def __init__(self, domain: str) -> None:
        self.domain = domain
        self.entries: list[Command | Group] = []
        self.handlers: list[EventHandler[Any]] = []
        self.signals: list[tuple[str, SignalHandler]] = []
        self.requests: dict[str, RequestHandler] = {}

    def on_request(self, name: str) -> Callable[[RequestHandler], RequestHandler]:
        """What another domain asks of this one and waits for (`Context.request`): the
        meetings' `!action` asks the follow-ups to create one and gets its number."""

        def register(handler: RequestHandler) -> RequestHandler:
            if name in self.requests:
                raise ValueError(f"request {name!r} declared twice")
            self.requests[name] = handler
            return handler

        return register

    def on_signal(self, name: str) -> Callable[[SignalHandler], SignalHandler]:
        """What another domain tells (`Context.emit(name, ...)`): a partner's status changed."""

        def register(handler: SignalHandler) -> SignalHandler:
            self.signals.append((name, handler))
            return handler

        return register

    # --- Events other than commands.

    def _on(
        self,
        types: tuple[str, ...],
        kind: type[E],
        about: tuple[str, str] | None,
        where: EventFilter[E] | None,
    ) -> Callable[[EventCallback[E]], EventCallback[E]]:
        def register(handler: EventCallback[E]) -> EventCallback[E]:
            self.handlers.append(EventHandler(self.domain, types, kind, handler, about, where))
            return handler

        return register

    def on_reaction(
        self, *, about: tuple[str, str] | None = None, where: EventFilter[Reaction] | None = None
    ) -> Callable[[EventCallback[Reaction]], EventCallback[Reaction]]:
        """A reaction; with `about=(domain, kind)`, only to messages the bot sent about
        such a record (a reminder)."""
        return self._on(REACTION, Reaction, about, where)

    def on_poll_response(
        self,
        *,
        about: tuple[str, str] | None = None,
        where: EventFilter[PollResponse] | None = None,
    ) -> Callable[[EventCallback[PollResponse]], EventCallback[PollResponse]]:
        """A native poll response, in its stable or unstable form."""
        return self._on(POLL_RESPONSE, PollResponse, about, where)

    def on_poll_end(
        self, *, about: tuple[str, str] | None = None, where: EventFilter[PollEnd] | None = None
    ) -> Callable[[EventCallback[PollEnd]], EventCallback[PollEnd]]:
        return self._on(POLL_END, PollEnd, about, where)

    def on_membership(
        self, *memberships: str, where: EventFilter[Membership] | None = None
    ) -> Callable[[EventCallback[Membership]], EventCallback[Membership]]:
        """A membership change: `knock`, `join`, `leave`, `invite`, `ban` (any when none)."""
        wanted = frozenset(memberships)

        def test(event: Membership) -> bool:
            return (not wanted or event.membership in wanted) and (where is None or where(event))

        return self._on(MEMBERSHIP, Membership, None, test)

    def on_redaction(
        self, *, about: tuple[str, str] | None = None, where: EventFilter[Redaction] | None = None
    ) -> Callable[[EventCallback[Redaction]], EventCallback[Redaction]]:
        return self._on(REDACTION, Redaction, about, where)

    def on_message(
        self, *, about: tuple[str, str] | None = None, where: EventFilter[Message] | None = None
    ) -> Callable[[EventCallback[Message]], EventCallback[Message]]:
        """Every message of a room, commands included (`Message.command`): for a log,
        or an answer given by replying to one of the bot's messages (`about`)."""
        return self._on(ROOM_MESSAGE, Message, about, where)

    # --- Commands.

    def command(
        self,
        name: str,
        *,
        fr: str,
        args: Sequence[Arg] = (),
        options: Sequence[Opt] = (),
        role: Role = Role.MEMBER,
        aliases: Sequence[str] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.entries.append(
                Command(
                    name,
                    fr,
                    self.domain,
                    handler,
                    tuple(args),
                    tuple(options),
                    role,
                    tuple(aliases),
                )
            )
            return handler

        return register

    def group(self, name: str, *, fr: str, aliases: Sequence[str] = ()) -> Group:
        group = Group(name, fr, self.domain, tuple(aliases))
        self.entries.append(group)
        return group


@dataclass(frozen=True)
class ParsedCommand:
    command: Command
    args: Args
    invoked_as: str


class Registry:
    """Every command of the bot, looked up by any of its names, in any case or accent,
    and every event handler, looked up by event type."""

    def __init__(self, routers: Sequence[Router]) -> None:
        self.domains: list[str] = []
        self.entries: dict[str, Command | Group] = {}
        self.handlers: dict[str, list[EventHandler[Any]]] = {}
        self.signals: dict[str, list[SignalHandler]] = {}
        self.requests: dict[str, RequestHandler] = {}
        for router in routers:
            self.domains.append(router.domain)
            for name, answer in router.requests.items():
                if name in self.requests:
                    raise ValueError(f"request {name!r} declared by two domains")
                self.requests[name] = answer
            for name, callback in router.signals:
                self.signals.setdefault(name, []).append(callback)
            for handler in router.handlers:
                for event_type in handler.types:
                    self.handlers.setdefault(event_type, []).append(handler)
            for entry in router.entries:
                for key in entry.names():
                    folded = fold(key)
                    if self.entries.get(folded, entry) is not entry:
                        raise ValueError(f"command name {key!r} declared twice")
                    self.entries[folded] = entry

    def handlers_for(self, event: Event) -> list[EventHandler[Any]]:
        """The handlers that want this event, in the order the domains were listed."""
        return [h for h in self.handlers.get(event.event_type, ()) if h.wants(event)]

    def signal_handlers(self, name: str) -> list[SignalHandler]:
        """The handlers of a signal, in the order the domains were listed."""
        return self.signals.get(name, [])

    def handles(self, event_type: str) -> bool:
        return event_type in self.handlers

    def top_level(self) -> list[Command | Group]:
        unique: dict[int, Command | Group] = {id(e): e for e in self.entries.values()}
        return list(unique.values())

    def lookup(self, name: str) -> Command | Group | None:
        return self.entries.get(fold(name))

    def suggestions(self, name: str, candidates: Sequence[str] | None = None) -> list[str]:
        pool = list(candidates if candidates is not None else self.entries)
        return difflib.get_close_matches(fold(name), pool, n=3, cutoff=0.6)

    def is_command(self, text: str, prefix: str) -> bool:
        """Whether a message is addressed to the bot at all (plain chat is not)."""
        if not text.startswith(prefix):
            return False
        after = text[len(prefix) : len(prefix) + 1]
        return after == "" or after.isspace() or after.isalnum()

    def parse(
        self, body: str, pctx: ParseContext, formatted_body: str | None = None
    ) -> ParsedCommand | None:
        """The command a message asks for; None for plain chat; CommandError when malformed."""
        text = command_text(body.replace("\r\n", "\n"), formatted_body)
        if not self.is_command(text, pctx.prefix):
            return None
        if len(text) > MAX_LENGTH:
            raise CommandError("core.error.too_long", limit=MAX_LENGTH)
        if CONTROL.search(text):
            raise CommandError("core.error.control_chars")
        tokens = tokenize(text[len(pctx.prefix) :])
        if not tokens:
            raise CommandError("core.error.empty")
        head, rest = tokens[0], tokens[1:]
        entry = self.lookup(head.value) if head.key is None and not head.quoted else None
        if entry is None:
            raise CommandError(
                "core.error.unknown_command",
                name=head.raw,
                suggestions=list(
                    dict.fromkeys(self._display(s, pctx.locale) for s in self.suggestions(head.raw))
                ),
            )
        if isinstance(entry, Command):
            return ParsedCommand(entry, entry.bind(rest, pctx), head.value)
        return self._parse_group(entry, rest, pctx, head.value)

    def _parse_group(
        self, group: Group, tokens: Sequence[Token], pctx: ParseContext, invoked_as: str
    ) -> ParsedCommand:
        first = tokens[0] if tokens else None
        sub = None
        if first is not None and first.key is None and not first.quoted:
            sub = group.subcommands.get(fold(first.value))
        if sub is not None and first is not None:
            return ParsedCommand(sub, sub.bind(tokens[1:], pctx), f"{invoked_as} {first.value}")
        if group.default is not None and (
            first is None or group.default.args or group.default.options
        ):
            return ParsedCommand(group.default, group.default.bind(tokens, pctx), invoked_as)
        if first is None:
            raise CommandError(
                "core.error.missing_subcommand", usage=group, group=group.local_name(pctx.locale)
            )
        close = difflib.get_close_matches(fold(first.value), list(group.subcommands), n=3)
        raise CommandError(
            "core.error.unknown_subcommand",
            usage=group,
            group=group.local_name(pctx.locale),
            name=first.raw,
            suggestions=list(
                dict.fromkeys(
                    f"{group.local_name(pctx.locale)} "
                    f"{group.subcommands[c].local_name(pctx.locale)}"
                    for c in close
                )
            ),
        )

    def _display(self, folded: str, locale: str) -> str:
        entry = self.entries[folded]
        return entry.local_name(locale)
