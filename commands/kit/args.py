"""Typed arguments: each turns one token into a value or raises an ArgError for the user."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from commands.kit.errors import ArgError
from commands.kit.text import CONTROL, USER_ID, fold
from commands.kit.timeparse import parse_datetime, parse_duration
from storage.search import invisible

T = TypeVar("T")

ME = "\x00me"  # what `Owner` returns for `me` (`moi`): the sender, whom only the handler knows
NOBODY = ""  # what `Owner`, `Email`, `Phone` and `Website` return for `-`: nobody, nothing


@dataclass(frozen=True)
class ParseContext:
    """What parsing may depend on: the room's language and time zone, and the clock's now."""

    now: datetime
    timezone: str
    locale: str
    prefix: str = "!"


class ArgType(ABC, Generic[T]):
    """Base of argument types. `metavar` is a catalog key under `arg.`."""

    metavar = "value"

    @abstractmethod
    def parse(self, raw: str, pctx: ParseContext) -> T:
        """The value of `raw`, or an ArgError naming what is wrong with it."""


class Word(ArgType[str]):
    """One word, or a "quoted string" (the tokenizer already unquoted it)."""

    metavar = "word"

    def __init__(self, max_length: int = 200, metavar: str | None = None) -> None:
        self.max_length = max_length
        if metavar:
            self.metavar = metavar

    def parse(self, raw: str, pctx: ParseContext) -> str:
        if not raw:
            raise ArgError("core.arg.empty")
        if len(raw) > self.max_length:
            raise ArgError("core.arg.too_long", limit=self.max_length)
        return raw


class Text(Word):
    """Free text: the rest of the line when declared `rest=True`."""

    metavar = "text"

    def __init__(self, max_length: int = 4000, metavar: str | None = None) -> None:
        super().__init__(max_length, metavar)


class Integer(ArgType[int]):
    metavar = "number"

    def __init__(self, minimum: int | None = None, maximum: int | None = None) -> None:
        self.minimum, self.maximum = minimum, maximum

    def parse(self, raw: str, pctx: ParseContext) -> int:
        text = raw.lstrip("#")
        if not re.fullmatch(r"[+-]?\d{1,12}", text):
            raise ArgError("core.arg.not_integer", value=raw)
        value = int(text)
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            raise ArgError("core.arg.out_of_range", value=value, min=self.minimum, max=self.maximum)
        return value


class User(ArgType[str]):
    """A Matrix user id: typed as @user:server, or a pill (already turned into its id)."""

    metavar = "user"

    def parse(self, raw: str, pctx: ParseContext) -> str:
        text = raw.strip().rstrip(",;:")
        if USER_ID.fullmatch(text):
            return text
        raise ArgError("core.arg.not_user", value=raw)


class Owner(User):
    """The member who follows something: @user:server, `me` (moi) or `-` for nobody;
    returns ME or NOBODY for those two."""

    def parse(self, raw: str, pctx: ParseContext) -> str:
        word = fold(raw.strip())
        if word in ("me", "moi"):
            return ME
        if word in ("-", "personne", "nobody", "none", "aucun"):
            return NOBODY
        return super().parse(raw, pctx)


class When(ArgType[datetime]):
    """A date and time in natural language, in the room's language and time zone."""

    metavar = "date"

    def parse(self, raw: str, pctx: ParseContext) -> datetime:
        when = parse_datetime(raw, now=pctx.now, tz=pctx.timezone, locale=pctx.locale)
        if when is None:
            raise ArgError("core.arg.not_date", value=raw)
        return when


class Duration(ArgType[timedelta]):
    metavar = "duration"

    def parse(self, raw: str, pctx: ParseContext) -> timedelta:
        delta = parse_duration(raw, locale=pctx.locale)
        if delta is None:
            raise ArgError("core.arg.not_duration", value=raw)
        return delta


class Days(Integer):
    metavar = "days"


class Page(Integer):
    metavar = "page"


class YesNo(ArgType[bool]):
    metavar = "yesno"
    TRUE = frozenset({"oui", "o", "yes", "y", "true", "vrai", "1", "x"})
    FALSE = frozenset({"non", "n", "no", "false", "faux", "0"})

    def parse(self, raw: str, pctx: ParseContext) -> bool:
        word = fold(raw.strip())
        if word in self.TRUE:
            return True
        if word in self.FALSE:
            return False
        raise ArgError("core.arg.not_yesno", value=raw)


class Email(ArgType[str]):
    """An e-mail address; `-` (NOBODY) clears one."""

    metavar = "email"
    PATTERN = re.compile(r"[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[^@\s<>(),;:\".]{2,}")

    def parse(self, raw: str, pctx: ParseContext) -> str:
        text = raw.strip()
        if text == "-":
            return NOBODY
        if len(text) > 254 or not self.PATTERN.fullmatch(text) or ".." in text:
            raise ArgError("core.arg.bad_email", value=raw)
        return text


class Phone(ArgType[str]):
    """A phone number as people write it: digits, spaces, dots, dashes, a leading +;
    `-` (NOBODY) clears one."""

    metavar = "phone"
    PATTERN = re.compile(r"\+?[0-9 .\-()/]+")

    def parse(self, raw: str, pctx: ParseContext) -> str:
        text = " ".join(raw.split())
        if text == "-":
            return NOBODY
        digits = sum(c.isdigit() for c in text)
        if not self.PATTERN.fullmatch(text) or not 6 <= digits <= 15:
            raise ArgError("core.arg.bad_phone", value=raw)
        return text


class Website(ArgType[str]):
    """An http(s) address; `kiditap.fr` means https://kiditap.fr; `-` (NOBODY) clears one."""

    metavar = "website"

    def parse(self, raw: str, pctx: ParseContext) -> str:
        text = raw.strip()
        if text == "-":
            return NOBODY
        if "://" not in text:
            text = f"https://{text}"
        if (
            len(text) > 500
            or any(c.isspace() or CONTROL.match(c) or invisible(c) for c in text)
            or not self._http_host(text)
        ):
            raise ArgError("core.arg.bad_website", value=raw)
        return text

    @staticmethod
    def _http_host(text: str) -> bool:
        """Whether `text` is an http(s) URL with a dotted host name (and a valid port, if any)."""
        try:
            # urlsplit and its properties raise ValueError on a malformed address
            # ("https://[::1", "kiditap.]fr", "a.fr:99999")
            parts = urlsplit(text)
            host, _port = parts.hostname or "", parts.port
        except ValueError:
            return False
        return parts.scheme in ("http", "https") and "." in host


class Choice(ArgType[str]):
    """One of fixed values, typed as the value itself or one of its aliases.

    `label` is a catalog prefix: value `v` is shown to users as `{label}.{v}`.
    """

    metavar = "choice"

    def __init__(
        self,
        values: Sequence[str],
        aliases: dict[str, str] | None = None,
        *,
        label: str | None = None,
        metavar: str | None = None,
    ) -> None:
        self.values = tuple(values)
        self.aliases = {fold(k): v for k, v in (aliases or {}).items()}
        self.label = label
        if metavar:
            self.metavar = metavar

    def parse(self, raw: str, pctx: ParseContext) -> str:
        folded = fold(raw)
        for value in self.values:
            if fold(value) == folded:
                return value
        if folded in self.aliases:
            return self.aliases[folded]
        raise ArgError("core.arg.not_choice", value=raw, choices=self.values, label=self.label)


class TimeZone(ArgType[str]):
    metavar = "timezone"

    def parse(self, raw: str, pctx: ParseContext) -> str:
        try:
            ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ArgError("core.arg.not_timezone", value=raw) from exc
        return raw


@dataclass(frozen=True)
class Arg:
    """A positional argument. `rest=True` takes the remaining words as one text."""

    name: str
    type: ArgType[Any] = field(default_factory=Word)
    required: bool = True
    rest: bool = False


@dataclass(frozen=True)
class Opt:
    """A key=value option; `fr` is the key's French spelling, both are accepted, and so
    are its `aliases` (other spellings people type, never shown in usage lines)."""

    name: str
    type: ArgType[Any] = field(default_factory=Word)
    fr: str | None = None
    aliases: tuple[str, ...] = ()

    def spellings(self) -> tuple[str, ...]:
        return (self.name, *((self.fr,) if self.fr else ()), *self.aliases)

    def key_for(self, locale: str) -> str:
        return self.fr if locale == "fr" and self.fr else self.name
