"""The docker tier: the project's image, built and run as an operator would.

Not part of the default run (`norecursedirs` in pyproject.toml): run it with
`.venv/bin/python -m pytest tests/docker`; `.ci/run` does when it can start a Docker
engine. Without one, every test here is skipped, saying why. The image runs with
`--network host` against the suite's Synapse (and the local PostgreSQL for one test).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from _pytest.terminal import TerminalReporter

from bot.homeserver import LocalSynapse
from tests.integration.conftest import synapse  # noqa: F401 (the suite's Synapse fixture)

from .dockerkit import BuildReport, DockerBot, build_image, engine_problem

_HERE = Path(__file__).resolve().parent
_REPORT = BuildReport()


def _is_here(item: pytest.Item) -> bool:
    return _HERE in item.path.resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark this folder's tests `docker`; skip them all, with the reason, when no Docker
    engine answers. (Their modules put them on the session's loop, the Synapse fixture's.)"""
    mine = [item for item in items if _is_here(item)]
    if not mine:
        return
    problem = engine_problem()
    for item in mine:
        item.add_marker(pytest.mark.docker)
        if problem is not None:
            item.add_marker(pytest.mark.skip(reason=f"docker tier: {problem}"))


@pytest.fixture(scope="session")
def image() -> Iterator[str]:
    """The image under test, built once for the session."""
    try:
        yield build_image(_REPORT)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest_asyncio.fixture(loop_scope="session")
async def docker_bot(
    synapse: LocalSynapse,  # noqa: F811
    image: str,
    tmp_path: Path,
) -> AsyncIterator[DockerBot]:
    """A fresh bot account and room; the containers the test starts are removed after."""
    world = DockerBot(synapse, tmp_path, image)
    try:
        await world.setup()
        yield world
    finally:
        with contextlib.suppress(Exception):
            await world.close()


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    """What the image cost, so that CI's log shows it."""
    if _REPORT.image:
        terminalreporter.section("docker tier")
        for line in _REPORT.lines():
            terminalreporter.write_line(line)
