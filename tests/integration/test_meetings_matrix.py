"""Meetings over a real homeserver: a short meeting typed by a member's client, and the
minutes arriving in the room as `m.file` events (Markdown and HTML), downloadable."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nio import DownloadResponse

from .botrun import BotWorld, Watcher

pytestmark = pytest.mark.asyncio(loop_scope="session")

TIMEOUT = 30.0


async def answers(watcher: Watcher, command: str, count: int) -> list[dict[str, Any]]:
    """The bot's first `count` events in reply to a command, waiting for them."""
    async with asyncio.timeout(TIMEOUT):
        while len(watcher.replies().get(command, [])) < count:
            watcher.changed.clear()
            await watcher.changed.wait()
    return watcher.replies()[command][:count]


async def test_the_minutes_arrive_as_files_in_the_room(world: BotWorld) -> None:
    watcher = await world.watcher()
    await world.start_bot()
    alice = world.alice
    assert alice is not None
    try:
        started = await world.send(alice, "!réunion commencer Groupe partenariats")
        [opened] = await answers(watcher, started, 1)
        assert opened["content"]["body"].startswith("🟢 Réunion n° 1 ouverte : Groupe partenariats")
        present = await world.send(alice, "!présents Erwan, Christelle Bouquet")
        await answers(watcher, present, 1)
        topic = await world.send(alice, "!sujet Légitimité, statut et objet du groupe")
        await answers(watcher, topic, 1)
        agreed = await world.send(alice, "!accord Le principe est validé par le COPIL.")
        await answers(watcher, agreed, 1)
        ended = await world.send(alice, "!réunion fin")
        summary, markdown, html = await answers(watcher, ended, 3)
        assert summary["content"]["msgtype"] == "m.notice"
        assert summary["content"]["body"].startswith("🔴 Réunion n° 1 terminée")
        for event, name, mimetype in (
            (markdown, "compte-rendu-1.md", "text/markdown"),
            (html, "compte-rendu-1.html", "text/html"),
        ):
            content = event["content"]
            assert event["type"] == "m.room.message"
            assert content["msgtype"] == "m.file"
            assert content["filename"] == name
            assert content["info"]["mimetype"] == mimetype
            assert content["url"].startswith("mxc://")
            download = await alice.download(mxc=content["url"])
            assert isinstance(download, DownloadResponse), download
            assert len(download.body) == content["info"]["size"]
            text = download.body.decode("utf-8")
            assert "Compte rendu de la réunion du" in text
            assert "Erwan et Christelle Bouquet" in text
            assert "Le principe est validé par le COPIL." in text
        markdown_text = (await alice.download(mxc=markdown["content"]["url"])).body.decode()
        assert "## Légitimité, statut et objet du groupe" in markdown_text
    finally:
        await watcher.stop()
        await world.stop_bot()
