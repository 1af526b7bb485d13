"""What a deployment relies on without a Docker engine at hand: where the default
database goes (PASSERELLE_DATA_DIR), one line for a database folder the bot cannot
write, pinned dependencies that agree with pyproject.toml, and a Dockerfile that
overrides no configured value."""

from __future__ import annotations

import os
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.config import DATA_DIR_ENV, data_dir, load_settings
from storage.db import Database, DatabaseUnavailable

PG = "postgresql+asyncpg://passerelle:secret@db.example.test/passerelle"


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text", ["", "database:\n", "database:\n  url:\n", "locale: en\n"])
def test_the_data_folder_holds_the_database_when_the_config_names_none(
    tmp_path: Path, text: str
) -> None:
    settings = load_settings(_config(tmp_path, text), {DATA_DIR_ENV: "/data"})
    assert settings.database.url == "sqlite+aiosqlite:////data/passerelle.db"


def test_a_database_named_in_the_file_wins_over_the_data_folder(tmp_path: Path) -> None:
    settings = load_settings(
        _config(tmp_path, f"database:\n  url: {PG}\n"), {DATA_DIR_ENV: "/data"}
    )
    assert settings.database.url == PG


def test_the_environment_still_overrides_any_key(tmp_path: Path) -> None:
    environ = {DATA_DIR_ENV: "/data", "PASSERELLE__DATABASE__URL": PG}
    settings = load_settings(
        _config(tmp_path, "database:\n  url: sqlite+aiosqlite:///other.db\n"), environ
    )
    assert settings.database.url == PG
    assert load_settings(None, environ).database.url == PG


def test_without_a_data_folder_the_default_is_the_working_directory(tmp_path: Path) -> None:
    assert load_settings(_config(tmp_path, ""), {}).database.url == (
        "sqlite+aiosqlite:///passerelle.db"
    )
    assert load_settings(None, {DATA_DIR_ENV: "  "}).database.url == (
        "sqlite+aiosqlite:///passerelle.db"
    )
    assert data_dir({}) == Path()
    assert data_dir({DATA_DIR_ENV: "var/bot"}) == Path("var/bot")
    # A relative folder stays relative to the working directory, like the default.
    assert load_settings(None, {DATA_DIR_ENV: "var/bot"}).database.url == (
        "sqlite+aiosqlite:///var/bot/passerelle.db"
    )


def _refuse_access(monkeypatch: pytest.MonkeyPatch, refused: Path) -> None:
    # The tests may run as root, whom permissions do not stop: the refusal is simulated.
    real_access = os.access

    def access(path: os.PathLike[str] | str, mode: int) -> bool:
        return False if Path(path) == refused else real_access(path, mode)

    monkeypatch.setattr(os, "access", access)


def test_a_database_in_a_folder_the_bot_cannot_write_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite could open the file, then fail for ever to create its log beside it.
    (tmp_path / "bot.db").touch(mode=0o600)
    _refuse_access(monkeypatch, tmp_path)
    with pytest.raises(DatabaseUnavailable) as caught:
        Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    assert str(caught.value) == (
        f"cannot create or open the database file {tmp_path / 'bot.db'}: the folder "
        f"{tmp_path} is not writable by user id {os.getuid()}"
    )


def test_a_database_file_the_bot_cannot_write_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bot.db").touch(mode=0o600)
    _refuse_access(monkeypatch, tmp_path / "bot.db")
    with pytest.raises(DatabaseUnavailable) as caught:
        Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    assert str(caught.value) == (
        f"cannot open the database file {tmp_path / 'bot.db'}: it is not readable and "
        f"writable by user id {os.getuid()}"
    )


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version.strip()
    return pins


def _extra_requirements(requirement: Requirement) -> list[str]:
    """What `requirement`'s extras bring (matrix-nio[e2e]: its crypto libraries), read
    from the installed distribution's metadata."""
    if not requirement.extras:
        return []
    try:
        declared = metadata.requires(requirement.name) or []
    except metadata.PackageNotFoundError:
        return []
    brought = []
    for text in declared:
        needed = Requirement(text)
        if needed.marker is not None and any(
            needed.marker.evaluate({"extra": extra}) for extra in requirement.extras
        ):
            needed.marker = None
            brought.append(str(needed))
    return brought


def _unpinned(
    requirements: list[str], pins: dict[str, str], seen: frozenset[str] = frozenset()
) -> list[str]:
    problems = []
    for text in requirements:
        requirement = Requirement(text)
        if text in seen:  # an extra that asks for another extra of the same package
            continue
        version = pins.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name}: not pinned")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} is outside {requirement.specifier}")
        problems += _unpinned(_extra_requirements(requirement), pins, seen | {text})
    return problems


def test_the_pinned_sets_agree_with_pyproject(repo_root: Path) -> None:
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    runtime = _pins(repo_root / "requirements.lock")
    dev = _pins(repo_root / "requirements-dev.lock")
    advice = " (run scripts/lock to refresh the pinned sets)"
    assert _unpinned(project["dependencies"], runtime) == [], "requirements.lock" + advice
    dev_requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    assert _unpinned(dev_requirements, dev) == [], "requirements-dev.lock" + advice
    # The image runs the versions the tests ran.
    differ = {name: (v, dev.get(name)) for name, v in runtime.items() if dev.get(name) != v}
    assert differ == {}, "requirements.lock and requirements-dev.lock disagree" + advice


def test_the_dockerfile_overrides_no_configured_value(repo_root: Path) -> None:
    dockerfile = (repo_root / "Dockerfile").read_text()
    # An ENV PASSERELLE__... would win over the operator's config file.
    assert not re.search(r"^ENV\b.*\bPASSERELLE__", dockerfile, re.MULTILINE | re.IGNORECASE)
    assert re.search(r"^ARG BASE_IMAGE=", dockerfile, re.MULTILINE)
    assert re.search(r"^FROM \$\{BASE_IMAGE\}", dockerfile, re.MULTILINE)
