"""Partners over a real homeserver: the CSV export arrives as a file in the room."""

from __future__ import annotations

import csv
import io

import pytest
from nio import DownloadResponse

from .botrun import BotWorld

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_export_arrives_as_a_csv_file(world: BotWorld) -> None:
    watcher = await world.watcher()
    await world.start_bot()
    alice = world.alice
    assert alice is not None
    try:
        added = await world.send(alice, "!partenaire ajouter KidiTap type=entreprise tags=jeux")
        await watcher.wait_for_replies(1, timeout=20)
        assert watcher.replies()[added][0]["content"]["body"].startswith("KidiTap")
        export = await world.send(alice, "!partenaire exporter")
        await watcher.wait_for_replies(2, timeout=20)
        [message] = watcher.replies()[export]
        content = message["content"]
        assert content["msgtype"] == "m.file"
        assert content["filename"].endswith(".csv")
        assert content["info"]["mimetype"] == "text/csv"
        assert content["url"].startswith("mxc://")
        download = await alice.download(mxc=content["url"])
        assert isinstance(download, DownloadResponse), download
        assert len(download.body) == content["info"]["size"]
        rows = list(csv.DictReader(io.StringIO(download.body.decode("utf-8-sig"))))
        assert [row["name"] for row in rows] == ["KidiTap"]
        assert rows[0]["kind"] == "company"
        assert rows[0]["tags"] == "jeux"
    finally:
        await watcher.stop()
        await world.stop_bot()
