"""The bot on a real Synapse: the round trip of one command."""

from __future__ import annotations

import pytest

from .botrun import BotWorld

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_help_round_trip(world: BotWorld) -> None:
    watcher = await world.watcher()
    await world.start_bot()
    assert world.bob is not None
    command = await world.send(world.bob, "!aide")
    await watcher.wait_for_replies(1, timeout=20)
    [reply] = watcher.replies()[command]
    content = reply["content"]
    assert content["msgtype"] == "m.notice"
    assert content["body"].startswith("Commandes à votre disposition")
    assert content["format"] == "org.matrix.custom.html"
    assert "<ul>" in content["formatted_body"]
    await watcher.stop()
    await world.stop_bot()
