"""What `passerelle run` writes to its log: useful lines, never a secret or what people
typed, even with -v; a refused login is one clear line."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from .botrun import BotWorld
from .reliability_helpers import BotProcess, bot_state, wait_until, write_config

pytestmark = pytest.mark.asyncio(loop_scope="session")

NOTE = "Zoé O'Brien, zoe.obrien@example.org, 06 12 34 56 78"


async def test_verbose_logs_hold_no_token_and_no_personal_data(
    world: BotWorld, tmp_path: Path
) -> None:
    assert world.alice is not None
    process = BotProcess(
        write_config(world, tmp_path / "config.yaml"),
        tmp_path / "bot.log",
        tmp_path,
        options=("-v",),
    )
    await process.start()
    watcher = await world.watcher()
    db = world.database()
    try:

        async def synced() -> bool:
            return await bot_state(db, "sync_token") is not None

        await wait_until(synced, timeout=60, what="the bot's first sync")
        await world.send(world.alice, f'!partenaire ajouter "Atelier {NOTE}"')
        await world.send(world.alice, f"!partenaire note Atelier {NOTE}")
        await watcher.wait_for_replies(2, timeout=60)
    finally:
        await watcher.stop()
        assert await process.terminate() == 0
    token = await bot_state(db, "access_token")
    await db.dispose()
    assert token
    log = process.log.read_text(encoding="utf-8")
    assert " INFO nio." in log  # -v shows the libraries' information lines too
    assert "!partner.add in " in log  # and the one line per handled command
    for secret in (token, "bot-password"):
        assert secret not in log
    for personal in ("Zoé", "Zo\\u00e9", "O'Brien", "obrien", "06 12 34 56 78", "Atelier"):
        assert personal not in log, personal
    assert "INSERT INTO" not in log
    assert "[parameters:" not in log


async def test_a_refused_login_is_one_clear_line(world: BotWorld, tmp_path: Path) -> None:
    config = write_config(world, tmp_path / "config.yaml")
    config.write_text(config.read_text().replace("bot-password", "wrong-password"))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--config",
        str(config),
        cwd=tmp_path,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        _, stderr = await process.communicate()
    assert process.returncode == 1
    text = stderr.decode()
    assert "Traceback" not in text
    assert text.splitlines()[-1].startswith(
        f"passerelle: the homeserver refused to log in as {world.bot_id}: "
    )
    assert "wrong-password" not in text
