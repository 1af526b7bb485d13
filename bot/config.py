"""Passerelle's settings: one validated object built from defaults, a YAML file and the environment.

`load_settings` is the only way in. Every problem it finds (bad value, unknown key,
placeholder left from `config.example.yaml`, malformed environment variable) is
reported at once in a `ConfigError`, one "path: message" line each, so a
deployment can be fixed in one pass instead of one restart per typo.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from bot.domains import DOMAINS
from commands.kit.domain import Domain
from commands.kit.settings import (
    CoreSettings,
    Locale,
    RoomId,
    RoomSettings,
    Section,
    UserId,
)

__all__ = [
    "DATA_DIR_ENV",
    "ENV_PREFIX",
    "PLACEHOLDERS",
    "AppSettings",
    "ConfigError",
    "DatabaseSettings",
    "Locale",
    "MatrixSettings",
    "RetentionSettings",
    "RoomId",
    "RoomSettings",
    "Settings",
    "SyncSettings",
    "UserId",
    "WebSettings",
    "data_dir",
    "load_settings",
    "require_matrix",
]

# The example values of config.example.yaml. A config still holding one of them was
# copied without being filled in; starting with it would fail later and less clearly.
PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "https://matrix.example.org",
        "@passerelle:example.org",
        "change-me",
        "!abcdef:example.org",
        "@alice:example.org",
    }
)

# PASSERELLE__SECTION__KEY=value overrides the file (whole name case-insensitive).
ENV_PREFIX = "PASSERELLE__"

# The folder of what the bot keeps on disk: its default SQLite database (the Docker image
# sets it to its /data volume). Not a key: it changes a default, never a configured value.
DATA_DIR_ENV = "PASSERELLE_DATA_DIR"
DATABASE_FILE = "passerelle.db"

_DATABASE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
_CREDENTIALS = ("password", "access_token")

_Loc = tuple[str | int, ...]


class ConfigError(Exception):
    """The configuration cannot be used; `problems` holds one "path: message" line each."""

    def __init__(self, *problems: str) -> None:
        super().__init__(*problems)
        self.problems: list[str] = list(problems)

    def __str__(self) -> str:
        return "\n".join(self.problems)


# --- Field checks: each raises ValueError with the short message shown to the user.


def _has_space(value: str) -> bool:
    return any(c.isspace() for c in value)


def _check_http_url(value: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or _has_space(value):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _check_secret(value: SecretStr) -> SecretStr:
    if not value.get_secret_value():
        raise ValueError("must not be empty")
    return value


def _check_database_url(value: str) -> str:
    if not value.startswith(_DATABASE_SCHEMES):
        raise ValueError("must start with " + " or ".join(_DATABASE_SCHEMES))
    return value


def _split_bind(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not re.fullmatch(r"[0-9]{1,5}", port) or not 1 <= int(port) <= 65535:
        raise ValueError("must be host:port with a port from 1 to 65535")
    return host, int(port)


def _check_bind(value: str) -> str:
    _split_bind(value)
    return value


Secret = Annotated[SecretStr, AfterValidator(_check_secret)]


# --- The runtime's sections.


class MatrixSettings(Section):
    """How the bot reaches and logs in to its homeserver."""

    homeserver: Annotated[str, AfterValidator(_check_http_url)]
    user_id: UserId
    password: Secret | None = None
    access_token: Secret | None = None
    device_name: str = Field(default="passerelle", min_length=1)
    # The bot's encryption keys (a file); empty: beside the SQLite database, or
    # passerelle-crypto.db in the working directory (see bot.crypto.crypto_store_path).
    crypto_store: str | None = Field(default=None, min_length=1)
    # Seconds an encrypted event waits for its room key before its sender is told.
    key_wait: float = Field(default=30.0, gt=0, allow_inf_nan=False)

    @model_validator(mode="wrap")
    @classmethod
    def _has_credentials(
        cls, data: Any, handler: ModelWrapValidatorHandler[MatrixSettings]
    ) -> MatrixSettings:
        # A wrap validator rather than an "after" one, so that this problem is reported
        # together with those of the other fields instead of only once they are fixed.
        if not isinstance(data, dict) or any(data.get(k) is not None for k in _CREDENTIALS):
            return handler(data)
        errors: list[InitErrorDetails] = []
        try:
            handler(data)
        except ValidationError as exc:
            errors = [_init_error(error) for error in exc.errors()]
        message = " or ".join(_CREDENTIALS) + " required"
        errors.append(
            InitErrorDetails(
                type=PydanticCustomError("credentials_required", message), loc=(), input=data
            )
        )
        raise ValidationError.from_exception_data(cls.__name__, errors)


class DatabaseSettings(Section):
    """Where the bot keeps its memory (an async SQLAlchemy URL)."""

    url: Annotated[str, AfterValidator(_check_database_url)] = "sqlite+aiosqlite:///passerelle.db"

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A PostgreSQL URL may carry a password: keep it out of repr, str and logs.
        yield "url", _hide_password(self.url)


class WebSettings(Section):
    """The web server (archive pages, health check)."""

    bind: Annotated[str, AfterValidator(_check_bind)] = "127.0.0.1:8080"

    @property
    def host(self) -> str:
        """The address to listen on, as written ("[::1]" keeps its brackets)."""
        return _split_bind(self.bind)[0]

    @property
    def port(self) -> int:
        """The port to listen on."""
        return _split_bind(self.bind)[1]


class SyncSettings(Section):
    """The /sync long-poll and when its failures make the bot unhealthy."""

    timeout_ms: int = Field(default=30000, ge=0)
    # Seconds without a successful sync before the bot reports unhealthy.
    unhealthy_after: float = Field(default=90.0, gt=0, allow_inf_nan=False)

    @field_validator("unhealthy_after")
    @classmethod
    def _longer_than_timeout(cls, value: float, info: ValidationInfo) -> float:
        # A healthy long-poll lasts up to timeout_ms; a shorter limit would flap.
        timeout_ms = info.data.get("timeout_ms")
        if isinstance(timeout_ms, int) and value * 1000 <= timeout_ms:
            raise ValueError(f"must be longer than sync.timeout_ms ({timeout_ms / 1000:g} s)")
        return value


class RetentionSettings(Section):
    """How long the bot keeps its copies of messages and its audit log."""

    # Days the bot keeps its copies of handled events and of the messages it sent.
    messages_days: int = Field(default=90, ge=1)
    # Days the audit log is kept; empty: for ever.
    audit_days: int | None = Field(default=None, ge=1)


class AppSettings(CoreSettings):
    """Everything Passerelle can be configured with, but the domains' own sections."""

    # Absent is fine for the console front-end; `require_matrix` checks it before connecting.
    matrix: MatrixSettings | None = None
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)


def settings_model(domains: Sequence[Domain]) -> type[AppSettings]:
    """The settings class with a section for each domain that declares one."""
    sections: dict[str, Any] = {
        domain.name: (domain.settings, Field(default_factory=domain.settings))
        for domain in domains
        if domain.settings is not None
    }
    return create_model("Settings", __base__=AppSettings, __module__=__name__, **sections)


# The bot's settings: the runtime's sections and every domain's.
Settings = settings_model(DOMAINS)


# --- Loading.


def load_settings(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> AppSettings:
    """Read `path` (or start from the defaults), apply PASSERELLE__* overrides, validate.

    `environ` defaults to `os.environ`. Raises ConfigError listing every problem found.
    """
    environ = os.environ if environ is None else environ
    data = {} if path is None else _read_yaml(path)
    origins: dict[_Loc, str] = {}
    problems = _apply_environment(data, environ, origins)
    _default_database(data, environ)
    placeholders = [
        _line(loc, f'still the example placeholder "{value}"', origins)
        for loc, value in _find_placeholders(data, ())
    ]
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        invalid = [
            _line(error["loc"], _message(error), origins)
            for error in exc.errors(include_url=False, include_input=False)
        ]
        # `from None`: pydantic's own text quotes the input, which may be a secret.
        raise ConfigError(*problems, *invalid, *placeholders) from None
    if problems or placeholders:
        raise ConfigError(*problems, *placeholders)
    return settings


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The folder for what the bot keeps on disk: PASSERELLE_DATA_DIR, else the working
    directory (where the default `sqlite+aiosqlite:///passerelle.db` lives)."""
    folder = (os.environ if environ is None else environ).get(DATA_DIR_ENV, "").strip()
    return Path(folder) if folder else Path()


def _default_database(data: dict[Any, Any], environ: Mapping[str, str]) -> None:
    """With PASSERELLE_DATA_DIR set, a configuration that names no database (neither the
    file nor PASSERELLE__DATABASE__URL) gets SQLite in that folder; one that names a
    database keeps it (the Docker image once overrode a PostgreSQL URL here)."""
    if not environ.get(DATA_DIR_ENV, "").strip():
        return
    section = data.get("database")
    if section is None:  # absent, or an empty `database:`
        section = data["database"] = {}
    if isinstance(section, dict) and section.get("url") is None:
        section["url"] = f"sqlite+aiosqlite:///{data_dir(environ) / DATABASE_FILE}"


def require_matrix(settings: AppSettings) -> MatrixSettings:
    """The matrix section, for front-ends that connect to a homeserver."""
    if settings.matrix is None:
        raise ConfigError("matrix: section required to connect to a homeserver")
    return settings.matrix


def _read_yaml(path: Path) -> dict[Any, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise ConfigError(f"{path}: cannot be read (permission denied)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        # Only the position and the parser's verdict: the offending line may hold a secret.
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: invalid YAML{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError:
        raise ConfigError(f"{path}: invalid YAML") from None
    if data is None:  # an empty file: all defaults
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, not {_kind(data)}")
    return data


def _apply_environment(
    data: dict[Any, Any], environ: Mapping[str, str], origins: dict[_Loc, str]
) -> list[str]:
    """Write PASSERELLE__A__B=value into `data["a"]["b"]`; return the problems found."""
    problems: list[str] = []
    overrides: list[tuple[int, str, list[str]]] = []
    for name in environ:
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if not all(parts):
            problems.append(f"{name}: malformed name, expected {ENV_PREFIX}SECTION__KEY")
            continue
        overrides.append((len(parts), name, parts))
    # Shorter paths first, so PASSERELLE__ROOMS__0__LOCALE refines PASSERELLE__ROOMS.
    for _, name, parts in sorted(overrides):
        try:
            _set_path(data, parts, _env_value(environ[name]), name, origins)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    return problems


def _set_path(
    data: dict[Any, Any], parts: list[str], value: Any, name: str, origins: dict[_Loc, str]
) -> None:
    """Write `value` at `parts` in `data`, creating missing sections; ValueError if impossible."""
    node: Any = data
    loc: _Loc = ()
    for depth, part in enumerate(parts):
        key: str | int = part
        if isinstance(node, list):
            if not re.fullmatch(r"[0-9]+", part) or int(part) >= len(node):
                raise ValueError(f"{_format_loc(loc)} has no item {part}")
            key = int(part)
        elif not isinstance(node, dict):
            raise ValueError(f"{_format_loc(loc)} is not a section")
        loc = (*loc, key)
        if depth == len(parts) - 1:
            node[key] = value
            origins[loc] = name
        else:
            if isinstance(node, dict) and node.get(key) is None:
                node[key] = {}
                origins.setdefault(loc, name)  # the section exists because of this variable
            node = node[key]


def _env_value(raw: str) -> Any:
    """An environment value: YAML for lists, mappings and quoted strings, verbatim otherwise.

    Plain values stay text (pydantic turns "5000" into an int where one is wanted), so a
    password with "#" or ": " in it, or an unquoted @user:server, arrives unchanged.
    """
    if raw.strip()[:1] in ("[", "{", '"', "'"):
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError:
            pass
    return raw


def _find_placeholders(node: Any, loc: _Loc) -> Iterator[tuple[_Loc, str]]:
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _find_placeholders(child, (*loc, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _find_placeholders(child, (*loc, index))
    elif isinstance(node, str) and node.strip() in PLACEHOLDERS:
        yield loc, node.strip()


# --- Turning pydantic's errors into short lines.

_MESSAGES = {
    "missing": "field required",
    "extra_forbidden": "unknown key",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
}


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    if kind in ("literal_error", "enum"):
        return "must be one of " + ", ".join(re.findall(r"'([^']*)'", str(ctx.get("expected"))))
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt'):g}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge'):g}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    text = error["msg"]
    return text[:1].lower() + text[1:]


def _line(loc: _Loc, message: str, origins: Mapping[_Loc, str]) -> str:
    line = f"{_format_loc(loc) or '(top level)'}: {message}"
    # Name the environment variable when the value came from one: it is not in the file.
    for length in range(len(loc), 0, -1):
        if loc[:length] in origins:
            return f"{line} (from {origins[loc[:length]]})"
    return line


def _format_loc(loc: _Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


def _init_error(error: ErrorDetails) -> InitErrorDetails:
    """Turn a reported error back into one that can be raised again with others."""
    details = InitErrorDetails(type=error["type"], loc=error["loc"], input=error["input"])
    if "ctx" in error:
        details["ctx"] = error["ctx"]
    return details


def _hide_password(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
