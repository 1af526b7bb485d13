"""Settings: defaults, a good file, every kind of bad config, environment overrides, secrets."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from pydantic import BaseModel, SecretStr, ValidationError

from bot.config import (
    PLACEHOLDERS,
    ConfigError,
    RoomSettings,
    Settings,
    SyncSettings,
    load_settings,
    require_matrix,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"

GOOD = """\
matrix:
  homeserver: https://matrix.fablab-brest.test
  user_id: "@passerelle:fablab-brest.test"
  password: "correct horse battery staple"
  device_name: passerelle-prod
rooms:
  - id: "!partenariats:fablab-brest.test"
    locale: fr
    timezone: Europe/Paris
  - id: "!Zm9vYmFyYmF6cXV4"
    locale: en
    timezone: America/Montreal
admins: ["@alice:fablab-brest.test", "@bob:fablab-brest.test"]
database:
  url: postgresql+asyncpg://passerelle:db-secret@localhost/passerelle
command_prefix: "?"
locale: en
timezone: UTC
web:
  bind: 0.0.0.0:9000
sync:
  timeout_ms: 10000
  unhealthy_after: 45.5
"""

# A valid matrix section, so that a test can break exactly one thing next to it.
MATRIX = """\
matrix:
  homeserver: https://matrix.fablab-brest.test
  user_id: "@passerelle:fablab-brest.test"
  password: hunter2
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path | None, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, {} if environ is None else environ)
    return excinfo.value.problems


# --- Defaults and a good file.


def test_defaults_without_a_file() -> None:
    settings = load_settings(None, {})

    assert settings == Settings()
    assert settings.matrix is None
    assert settings.rooms == []
    assert settings.admins == []
    assert settings.database.url == "sqlite+aiosqlite:///passerelle.db"
    assert settings.command_prefix == "!"
    assert (settings.locale, settings.timezone) == ("fr", "Europe/Paris")
    assert settings.web.bind == "127.0.0.1:8080"
    assert (settings.web.host, settings.web.port) == ("127.0.0.1", 8080)
    assert settings.sync == SyncSettings(timeout_ms=30000, unhealthy_after=90.0)


def test_os_environ_is_read_when_no_mapping_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("PASSERELLE__"):
            monkeypatch.delenv(name)
    assert load_settings() == Settings()

    monkeypatch.setenv("PASSERELLE__COMMAND_PREFIX", "%")

    assert load_settings().command_prefix == "%"


def test_good_file_loads(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD), {})

    matrix = require_matrix(settings)
    assert matrix.homeserver == "https://matrix.fablab-brest.test"
    assert matrix.user_id == "@passerelle:fablab-brest.test"
    assert isinstance(matrix.password, SecretStr)
    assert matrix.password.get_secret_value() == "correct horse battery staple"
    assert matrix.access_token is None
    assert matrix.device_name == "passerelle-prod"
    assert [room.id for room in settings.rooms] == [
        "!partenariats:fablab-brest.test",
        "!Zm9vYmFyYmF6cXV4",  # room version 12: no :server part
    ]
    assert settings.rooms[1] == RoomSettings(
        id="!Zm9vYmFyYmF6cXV4", locale="en", timezone="America/Montreal"
    )
    assert settings.admins == ["@alice:fablab-brest.test", "@bob:fablab-brest.test"]
    assert settings.database.url.startswith("postgresql+asyncpg://")
    assert settings.command_prefix == "?"
    assert (settings.locale, settings.timezone) == ("en", "UTC")
    assert (settings.web.host, settings.web.port) == ("0.0.0.0", 9000)
    assert settings.sync == SyncSettings(timeout_ms=10000, unhealthy_after=45.5)


def test_access_token_alone_is_enough(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        matrix:
          homeserver: http://localhost:8008
          user_id: "@bot:localhost"
          access_token: syt_abc
        """,
    )

    matrix = require_matrix(load_settings(path, {}))

    assert matrix.password is None
    assert matrix.access_token is not None
    assert matrix.access_token.get_secret_value() == "syt_abc"


def test_room_gives_the_listed_room_or_the_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD), {})

    assert settings.room("!Zm9vYmFyYmF6cXV4").timezone == "America/Montreal"
    other = settings.room("!elsewhere:fablab-brest.test")
    assert other == RoomSettings(id="!elsewhere:fablab-brest.test", locale="en", timezone="UTC")
    # The console names its rooms freely; they get the defaults too.
    assert settings.room("general").locale == "en"


def test_empty_file_and_empty_keys_mean_defaults(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, ""), {}) == Settings()

    settings = load_settings(
        write(tmp_path, "matrix:\nrooms:\nadmins:\ndatabase:\ncommand_prefix:\nweb:\n"), {}
    )

    assert settings == Settings()


def test_settings_are_read_only() -> None:
    settings = load_settings(None, {})

    with pytest.raises(ValidationError):
        settings.command_prefix = "?"  # type: ignore[misc]


def test_require_matrix_refuses_a_config_without_matrix_section() -> None:
    with pytest.raises(ConfigError) as excinfo:
        require_matrix(load_settings(None, {}))

    assert excinfo.value.problems == ["matrix: section required to connect to a homeserver"]
    assert str(excinfo.value) == "matrix: section required to connect to a homeserver"


# --- One bad value, one line.

BAD_CONFIGS = [
    pytest.param(
        "rooms:\n  - id: '!r'\n    timezone: Europe/Pariss\n",
        'rooms[0].timezone: unknown time zone "Europe/Pariss"',
        id="room-timezone",
    ),
    pytest.param(
        "timezone: Mars/Olympus_Mons\n",
        'timezone: unknown time zone "Mars/Olympus_Mons"',
        id="default-timezone",
    ),
    pytest.param(
        "timezone: ../../etc/passwd\n",
        'timezone: unknown time zone "../../etc/passwd"',
        id="timezone-path",
    ),
    pytest.param("timezone: Europe\n", 'timezone: unknown time zone "Europe"', id="tz-directory"),
    pytest.param(
        "rooms:\n  - id: '!r'\n    locale: de\n",
        "rooms[0].locale: must be one of fr, en",
        id="room-locale",
    ),
    pytest.param("locale: FR\n", "locale: must be one of fr, en", id="default-locale"),
    pytest.param(
        "matrix:\n  homeserver: https://m.test\n  password: x\n",
        "matrix.user_id: field required",
        id="missing-user-id",
    ),
    pytest.param(
        "matrix:\n  homeserver: https://m.test\n  user_id: '@b:m.test'\n",
        "matrix: password or access_token required",
        id="no-credentials",
    ),
    pytest.param(
        "matrix:\n  homeserver: https://m.test\n  user_id: '@b:m.test'\n  password: ''\n",
        "matrix.password: must not be empty",
        id="empty-password",
    ),
    pytest.param(
        MATRIX + "  pasword: hunter2\n", "matrix.pasword: unknown key", id="unknown-nested-key"
    ),
    pytest.param("prefix: '?'\n", "prefix: unknown key", id="unknown-top-level-key"),
    pytest.param(
        "rooms:\n  - id: '!r'\n    tz: UTC\n", "rooms[0].tz: unknown key", id="unknown-room-key"
    ),
    pytest.param(
        "matrix:\n  homeserver: https://m.test\n  user_id: passerelle\n  password: x\n",
        "matrix.user_id: must look like @local:server",
        id="bad-user-id",
    ),
    pytest.param(
        "admins: ['@alice:m.test', 'bob@m.test']\n",
        "admins[1]: must look like @local:server",
        id="bad-admin",
    ),
    pytest.param("admins: '@alice:m.test'\n", "admins: must be a list", id="admins-not-list"),
    pytest.param(
        "rooms:\n  - id: partenariats\n",
        'rooms[0].id: must be a room id starting with "!"',
        id="bad-room-id",
    ),
    pytest.param(
        "rooms:\n  - id: '#partenariats:m.test'\n",
        'rooms[0].id: must be a room id starting with "!", not an alias',
        id="room-alias",
    ),
    pytest.param("rooms:\n  - locale: fr\n", "rooms[0].id: field required", id="room-without-id"),
    pytest.param(
        "rooms:\n  - id: '!r'\n  - id: '!r'\n",
        'rooms: room "!r" is listed twice',
        id="duplicate-room",
    ),
    pytest.param(
        "database:\n  url: sqlite:///passerelle.db\n",
        "database.url: must start with sqlite+aiosqlite:// or postgresql+asyncpg://",
        id="sync-sqlite-url",
    ),
    pytest.param(
        "database:\n  url: postgresql://u@h/db\n",
        "database.url: must start with sqlite+aiosqlite:// or postgresql+asyncpg://",
        id="sync-postgres-url",
    ),
    pytest.param(
        "web:\n  bind: 8080\n",
        "web.bind: must be a string",
        id="bind-not-string",
    ),
    pytest.param(
        "web:\n  bind: localhost\n",
        "web.bind: must be host:port with a port from 1 to 65535",
        id="bind-no-port",
    ),
    pytest.param(
        "web:\n  bind: 127.0.0.1:70000\n",
        "web.bind: must be host:port with a port from 1 to 65535",
        id="bind-port-too-big",
    ),
    pytest.param(
        "web:\n  bind: 127.0.0.1:0\n",
        "web.bind: must be host:port with a port from 1 to 65535",
        id="bind-port-zero",
    ),
    pytest.param(
        "web:\n  bind: ':8080'\n",
        "web.bind: must be host:port with a port from 1 to 65535",
        id="bind-no-host",
    ),
    pytest.param("command_prefix: ''\n", "command_prefix: must not be empty", id="prefix-empty"),
    pytest.param(
        "command_prefix: '! '\n", "command_prefix: must not contain whitespace", id="prefix-space"
    ),
    pytest.param(
        "command_prefix: '!!!!'\n",
        "command_prefix: must be at most 3 characters",
        id="prefix-too-long",
    ),
    pytest.param(
        "matrix:\n  homeserver: matrix.m.test\n  user_id: '@b:m.test'\n  password: x\n",
        "matrix.homeserver: must be an http:// or https:// URL",
        id="homeserver-not-url",
    ),
    pytest.param(
        "matrix:\n  homeserver: 'http://[::1'\n  user_id: '@b:m.test'\n  password: x\n",
        "matrix.homeserver: must be an http:// or https:// URL",
        id="homeserver-broken-ipv6",
    ),
    pytest.param("matrix: yes\n", "matrix: must be a mapping", id="section-not-mapping"),
    pytest.param(
        "sync:\n  timeout_ms: soon\n", "sync.timeout_ms: must be an integer", id="timeout-not-int"
    ),
    pytest.param(
        "sync:\n  unhealthy_after: 0\n",
        "sync.unhealthy_after: must be greater than 0",
        id="unhealthy-zero",
    ),
    pytest.param(
        "sync:\n  timeout_ms: 30000\n  unhealthy_after: 20\n",
        "sync.unhealthy_after: must be longer than sync.timeout_ms (30 s)",
        id="unhealthy-shorter-than-timeout",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_CONFIGS)
def test_bad_config_gives_its_line(tmp_path: Path, text: str, expected: str) -> None:
    assert problems_of(write(tmp_path, text)) == [expected]


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        matrix:
          homeserver: https://matrix.example.org
          user_id: alice
        rooms:
          - id: "!r"
            timezone: Europe/Pariss
            locale: es
        database:
          url: mysql://x
        command_prefix: "!!!!"
        colour: blue
        """,
    )

    problems = problems_of(path)

    assert sorted(problems) == sorted(
        [
            "matrix.user_id: must look like @local:server",
            "matrix: password or access_token required",
            "rooms[0].locale: must be one of fr, en",
            'rooms[0].timezone: unknown time zone "Europe/Pariss"',
            "database.url: must start with sqlite+aiosqlite:// or postgresql+asyncpg://",
            "command_prefix: must be at most 3 characters",
            "colour: unknown key",
            'matrix.homeserver: still the example placeholder "https://matrix.example.org"',
        ]
    )
    assert str(ConfigError(*problems)) == "\n".join(problems)


# --- The file itself.


def test_invalid_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "matrix:\n  homeserver: https://m.test\n user_id: [oops\n")

    [line] = problems_of(path)

    assert line.startswith(f"{path}: invalid YAML at line 3")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"

    assert problems_of(path) == [f"{path}: file not found"]


def test_unreadable_file(tmp_path: Path) -> None:
    assert problems_of(tmp_path) == [f"{tmp_path}: is a directory, not a file"]
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert problems_of(binary) == [f"{binary}: is not UTF-8 text"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [("- matrix\n- rooms\n", "a list"), ("just some words\n", "a string"), ("42\n", "a number")],
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    path = write(tmp_path, text)

    assert problems_of(path) == [f"{path}: the top level must be a mapping of keys, not {kind}"]


# --- The example file and its placeholders.


def test_example_file_refuses_each_placeholder() -> None:
    assert problems_of(EXAMPLE) == [
        'matrix.homeserver: still the example placeholder "https://matrix.example.org"',
        'matrix.user_id: still the example placeholder "@passerelle:example.org"',
        'matrix.password: still the example placeholder "change-me"',
        'rooms[0].id: still the example placeholder "!abcdef:example.org"',
        'admins[0]: still the example placeholder "@alice:example.org"',
        'followups.rooms[0].id: still the example placeholder "!abcdef:example.org"',
    ]


def test_example_file_loads_once_placeholders_are_replaced() -> None:
    settings = load_settings(
        EXAMPLE,
        {
            "PASSERELLE__MATRIX__HOMESERVER": "https://matrix.fablab-brest.test",
            "PASSERELLE__MATRIX__USER_ID": "@passerelle:fablab-brest.test",
            "PASSERELLE__MATRIX__PASSWORD": "s3cret",
            "PASSERELLE__ROOMS__0__ID": "!partenariats:fablab-brest.test",
            "PASSERELLE__ADMINS": '["@alice:fablab-brest.test"]',
            "PASSERELLE__FOLLOWUPS__ROOMS__0__ID": "!partenariats:fablab-brest.test",
        },
    )

    assert require_matrix(settings).device_name == "passerelle"
    assert settings.room("!partenariats:fablab-brest.test").timezone == "Europe/Paris"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, map(_model_in, get_args(annotation))), None)


def _model_keys(model: type[BaseModel]) -> dict[str, Any]:
    """The tree of keys a model accepts, sections (and list items) nested."""
    keys: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        section = _model_in(field.annotation)
        keys[name] = None if section is None else _model_keys(section)
    return keys


def _example_keys(node: Any) -> dict[str, Any] | None:
    if isinstance(node, list):
        node = node[0] if node and isinstance(node[0], dict) else None
    if isinstance(node, dict):
        return {key: _example_keys(value) for key, value in node.items()}
    return None


def test_example_file_has_every_key_each_with_a_comment() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")

    assert _example_keys(yaml.safe_load(text)) == _model_keys(Settings)
    lines = text.splitlines()
    for number, line in enumerate(lines):
        content = line.strip().removeprefix("- ")
        if not content or content.startswith("#"):
            continue
        key = content.split(":")[0]
        previous = lines[number - 1].strip()
        assert "#" in line or previous.startswith("#"), f"no comment for {key!r}"


def test_placeholder_constant_matches_the_example_file() -> None:
    def strings(node: Any) -> set[str]:
        if isinstance(node, dict):
            return set().union(*(strings(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(strings(v) for v in node))
        return {node} if isinstance(node, str) else set()

    example = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))

    assert strings(example) & PLACEHOLDERS == PLACEHOLDERS


@pytest.mark.parametrize("placeholder", sorted(PLACEHOLDERS))
def test_placeholder_from_the_environment_is_refused(placeholder: str) -> None:
    problems = problems_of(None, {"PASSERELLE__ADMINS": f"['{placeholder}']"})

    expected = f'admins[0]: still the example placeholder "{placeholder}"'
    assert f"{expected} (from PASSERELLE__ADMINS)" in problems


# --- Environment overrides.


def test_environment_overrides_nested_keys_of_the_file(tmp_path: Path) -> None:
    settings = load_settings(
        write(tmp_path, GOOD),
        {
            "PASSERELLE__MATRIX__PASSWORD": "from-the-vault",
            "PASSERELLE__DATABASE__URL": "sqlite+aiosqlite:///other.db",
            "PASSERELLE__SYNC__TIMEOUT_MS": "5000",
            "PASSERELLE__ROOMS__1__LOCALE": "fr",
            "HOME": "/root",
            "PASSERELLE_TEST_PG_URL": "postgresql+asyncpg://ignored",
        },
    )

    matrix = require_matrix(settings)
    assert matrix.password is not None
    assert matrix.password.get_secret_value() == "from-the-vault"
    assert matrix.user_id == "@passerelle:fablab-brest.test"  # the rest of the file stays
    assert settings.database.url == "sqlite+aiosqlite:///other.db"
    assert settings.sync.timeout_ms == 5000
    assert settings.rooms[1].locale == "fr"
    assert settings.rooms[1].timezone == "America/Montreal"


def test_environment_builds_a_section_absent_from_the_file() -> None:
    settings = load_settings(
        None,
        {
            "PASSERELLE__MATRIX__HOMESERVER": "https://m.test",
            "PASSERELLE__MATRIX__USER_ID": "@bot:m.test",  # not valid YAML, kept as text
            "PASSERELLE__MATRIX__ACCESS_TOKEN": "syt_token",
        },
    )

    assert require_matrix(settings).user_id == "@bot:m.test"


def test_environment_lists_are_read_as_yaml() -> None:
    settings = load_settings(
        None,
        {
            "PASSERELLE__ADMINS": '["@a:x", "@b:y"]',
            "PASSERELLE__ROOMS": "[{id: '!r', locale: en}]",
        },
    )

    assert settings.admins == ["@a:x", "@b:y"]
    assert settings.rooms == [RoomSettings(id="!r", locale="en")]


def test_environment_names_are_case_insensitive() -> None:
    settings = load_settings(
        None, {"passerelle__Web__BIND": "[::1]:8443", "Passerelle__command_prefix": '"!"'}
    )

    assert (settings.web.host, settings.web.port) == ("[::1]", 8443)
    assert settings.command_prefix == "!"


def test_environment_values_are_not_mangled_by_yaml() -> None:
    settings = load_settings(
        None,
        {
            "PASSERELLE__MATRIX__HOMESERVER": "https://m.test",
            "PASSERELLE__MATRIX__USER_ID": "@bot:m.test",
            "PASSERELLE__MATRIX__PASSWORD": "#not: a comment, 0123",
            "PASSERELLE__MATRIX__DEVICE_NAME": "1234",
            "PASSERELLE__COMMAND_PREFIX": "!",
        },
    )

    matrix = require_matrix(settings)
    assert matrix.password is not None
    assert matrix.password.get_secret_value() == "#not: a comment, 0123"
    assert matrix.device_name == "1234"
    assert settings.command_prefix == "!"


def test_environment_problems_name_the_variable() -> None:
    problems = problems_of(
        None,
        {
            "PASSERELLE__MATRIX__PASWORD": "x",
            "PASSERELLE__LOCALE": "de",
            "PASSERELLE__COMMAND_PREFIX__X": "1",
            "PASSERELLE__ROOMS__3__LOCALE": "fr",
            "PASSERELLE____LOCALE": "fr",
        },
    )

    assert sorted(problems) == sorted(
        [
            "PASSERELLE____LOCALE: malformed name, expected PASSERELLE__SECTION__KEY",
            "matrix: password or access_token required (from PASSERELLE__MATRIX__PASWORD)",
            "matrix.homeserver: field required (from PASSERELLE__MATRIX__PASWORD)",
            "matrix.user_id: field required (from PASSERELLE__MATRIX__PASWORD)",
            "matrix.pasword: unknown key (from PASSERELLE__MATRIX__PASWORD)",
            "locale: must be one of fr, en (from PASSERELLE__LOCALE)",
            "command_prefix: must be a string (from PASSERELLE__COMMAND_PREFIX__X)",
            "rooms: must be a list (from PASSERELLE__ROOMS__3__LOCALE)",
        ]
    )


def test_environment_cannot_reach_inside_a_value_or_past_a_list(tmp_path: Path) -> None:
    path = write(tmp_path, MATRIX + "rooms:\n  - id: '!r'\n")

    problems = problems_of(
        path,
        {
            "PASSERELLE__MATRIX__PASSWORD__X": "1",
            "PASSERELLE__ROOMS__1__LOCALE": "en",
            "PASSERELLE__ROOMS__FIRST__LOCALE": "en",
        },
    )

    assert sorted(problems) == [
        "PASSERELLE__MATRIX__PASSWORD__X: matrix.password is not a section",
        "PASSERELLE__ROOMS__1__LOCALE: rooms has no item 1",
        "PASSERELLE__ROOMS__FIRST__LOCALE: rooms has no item first",
    ]


# --- Secrets.


def test_secrets_stay_out_of_repr_and_str(tmp_path: Path) -> None:
    settings = load_settings(
        write(tmp_path, GOOD), {"PASSERELLE__MATRIX__ACCESS_TOKEN": "syt_very_secret"}
    )

    for text in (repr(settings), str(settings), repr(settings.matrix), str(settings.database)):
        assert "correct horse" not in text
        assert "syt_very_secret" not in text
        assert "db-secret" not in text
    assert "postgresql+asyncpg://passerelle:***@localhost/passerelle" in repr(settings)


def test_secrets_stay_out_of_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        matrix:
          homeserver: https://m.test
          user_id: "@bot:m.test"
          password: ["hunter2-secret"]
        """,
    )

    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, {})

    assert excinfo.value.problems == ["matrix.password: must be a string"]
    assert excinfo.value.__cause__ is None
    assert excinfo.value.__suppress_context__


# --- The partners section.


def test_partners_defaults_exclude_public_authorities() -> None:
    settings = load_settings(None, {})

    assert settings.partners.excluded_kinds == ["public_authority"]
    assert settings.partners.consortium_members == []


def test_partners_section_from_file_and_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        partners:
          excluded_kinds: [public_authority, school]
          consortium_members: ["MDL", " Petits Débrouillards ", "Télécom Bretagne"]
        """,
    )

    settings = load_settings(path, {})

    assert settings.partners.excluded_kinds == ["public_authority", "school"]
    assert settings.partners.consortium_members == [
        "MDL",
        "Petits Débrouillards",
        "Télécom Bretagne",
    ]
    overridden = load_settings(path, {"PASSERELLE__PARTNERS__EXCLUDED_KINDS": "[]"})
    assert overridden.partners.excluded_kinds == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "partners:\n  excluded_kinds: [mairie]\n",
            "partners.excluded_kinds[0]: must be one of company, institution, association, "
            "foundation, craft, chamber, school, public_authority, other",
        ),
        ("partners:\n  excluded_kinds: school\n", "partners.excluded_kinds: must be a list"),
        (
            "partners:\n  consortium_members: [MDL, mdl]\n",
            'partners.consortium_members: "mdl" is listed twice',
        ),
        (
            "partners:\n  consortium_members: [Télécom Bretagne, TELECOM BRETAGNE]\n",
            'partners.consortium_members: "TELECOM BRETAGNE" is listed twice',
        ),
        (
            "partners:\n  consortium_members: ['  ']\n",
            "partners.consortium_members: a consortium member must have a name",
        ),
        ("partners:\n  consortium: [MDL]\n", "partners.consortium: unknown key"),
    ],
)
def test_bad_partners_section(tmp_path: Path, text: str, expected: str) -> None:
    assert problems_of(write(tmp_path, text)) == [expected]
