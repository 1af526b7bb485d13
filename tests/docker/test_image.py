"""The Docker image as an operator runs it: answers, keeps its data in the /data volume,
stops cleanly, uses the database the config file names, and says in one line what is
wrong with a /data it cannot write."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from .dockerkit import CONTAINER_UID, DockerBot, docker

pytestmark = pytest.mark.asyncio(loop_scope="session")

PG_URL = os.environ.get(
    "PASSERELLE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


async def test_help_is_answered_and_the_database_is_private_in_data(docker_bot: DockerBot) -> None:
    container = await docker_bot.run(docker_bot.config())
    await docker_bot.ready(container)
    started = time.monotonic()
    answer = await docker_bot.ask(container, "!help")
    took = time.monotonic() - started
    assert "!partner" in answer, answer
    assert took < 5, f"!help answered in {took:.1f} s"
    # The config names no database: SQLite in the volume, readable by the bot only.
    listing = await docker(
        "exec",
        container,
        "stat",
        "-c",
        "%a %U %n",
        "/data",
        *(f"/data/passerelle.db{suffix}" for suffix in ("", "-wal", "-shm")),
    )
    modes = [line.split() for line in listing.stdout.splitlines()]
    assert [mode for mode, _, _ in modes] == ["700", "600", "600", "600"], listing.stdout
    assert {user for _, user, _ in modes} == {"passerelle"}
    uid = await docker("exec", container, "id", "-u")
    assert uid.stdout.strip() == str(CONTAINER_UID)


async def test_a_partner_outlives_the_container_and_the_device_stays_one(
    docker_bot: DockerBot,
) -> None:
    config = docker_bot.config()
    first = await docker_bot.run(config)
    await docker_bot.ready(first)
    added = await docker_bot.ask(first, '!partner add "Leroy Merlin" kind=company')
    assert "Leroy Merlin" in added, added
    await docker("rm", "-f", first)

    # The new container catches up with what was said while none ran.
    second = await docker_bot.run(config)
    shown = await docker_bot.ask(second, '!partner show "Leroy Merlin"')
    assert shown.startswith("Leroy Merlin"), shown  # its card, not "No partner ..."
    # The access token and device were kept in the volume: no second login.
    devices = await docker_bot.devices()
    assert len(devices) == 1, devices


async def test_docker_stop_ends_the_bot_cleanly_within_the_grace_period(
    docker_bot: DockerBot,
) -> None:
    container = await docker_bot.run(docker_bot.config())
    await docker_bot.ready(container)
    started = time.monotonic()
    await docker("stop", "-t", "10", container, timeout=30)
    took = time.monotonic() - started
    state = await docker("inspect", "-f", "{{.State.ExitCode}} {{.State.OOMKilled}}", container)
    log = await docker_bot.logs(container)
    assert state.stdout.split() == ["0", "false"], log
    assert took < 8, f"docker stop took {took:.1f} s"
    assert "Traceback" not in log, log


@pytest_asyncio.fixture(loop_scope="session")
async def pg_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database on the local server; its URL."""
    asyncpg = pytest.importorskip("asyncpg")
    admin = make_url(PG_URL)
    try:
        conn = await asyncpg.connect(
            host=admin.host,
            port=admin.port or 5432,
            user=admin.username,
            password=admin.password,
            database=admin.database,
            timeout=5,
        )
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL at {admin.render_as_string()}: {exc}")
    name = f"passerelle_docker_{uuid.uuid4().hex[:10]}"
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        yield admin.set(database=name).render_as_string(hide_password=False)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def test_the_postgresql_url_of_the_config_file_is_used(
    docker_bot: DockerBot, pg_database: str
) -> None:
    import asyncpg

    container = await docker_bot.run(docker_bot.config(database_url=pg_database))
    await docker_bot.ready(container)
    answer = await docker_bot.ask(container, '!partner add "KidiTap"')
    assert "KidiTap" in answer, answer
    url = make_url(pg_database)
    conn = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    try:
        schema = await conn.fetchval("SELECT to_regclass('partners') IS NOT NULL")
        assert schema, "the bot did not use the PostgreSQL database that its config names"
        names = await conn.fetch("SELECT name FROM partners")
    finally:
        await conn.close()
    assert [row["name"] for row in names] == ["KidiTap"]
    listing = await docker("exec", container, "ls", "-A", "/data")
    assert "passerelle.db" not in listing.stdout.split(), "SQLite was used in /data"


def _unwritable_data(tmp_path: Path, case: str) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)  # owned by the host's user: the container's cannot write it
    if case == "folder-with-database":
        database = data / "passerelle.db"
        database.touch(mode=0o600)
        os.chown(database, CONTAINER_UID, CONTAINER_UID)
    elif case == "database-of-another-user":
        os.chown(data, CONTAINER_UID, CONTAINER_UID)
        (data / "passerelle.db").touch(mode=0o600)  # the host's user's
    return data


NOT_WRITABLE = {
    "empty-folder": "cannot create or open the database file /data/passerelle.db: the "
    f"folder /data is not writable by user id {CONTAINER_UID}",
    "folder-with-database": "cannot create or open the database file /data/passerelle.db: "
    f"the folder /data is not writable by user id {CONTAINER_UID}",
    "database-of-another-user": "cannot open the database file /data/passerelle.db: it is "
    f"not readable and writable by user id {CONTAINER_UID}",
}


@pytest.mark.parametrize("case", list(NOT_WRITABLE))
async def test_an_unwritable_data_folder_is_one_line(
    docker_bot: DockerBot, tmp_path: Path, case: str
) -> None:
    if case != "empty-folder" and os.geteuid() != 0:
        pytest.skip("giving a file to the container's user id needs root")
    data = _unwritable_data(tmp_path, case)
    done = await docker_bot.run_once(docker_bot.config(), "-v", f"{data}:/data")
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [f"passerelle: {NOT_WRITABLE[case]}"]
    assert done.stdout == ""
