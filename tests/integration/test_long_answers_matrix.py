"""The largest answers the partners' commands can give reach a real Synapse: none is
refused for going over Matrix's 64 KiB limit on an event (a long one comes as a file).
"""

from __future__ import annotations

import io
import json

import pytest
from nio import DownloadResponse, RoomSendResponse, UploadResponse

from .botrun import BotWorld

pytestmark = pytest.mark.asyncio(loop_scope="session")

NOTE = "é" * 3900  # a note is at most 4,000 characters; é takes two bytes
EVENT_LIMIT = 65536


async def test_the_largest_answers_arrive(world: BotWorld) -> None:
    alice = world.alice
    assert alice is not None
    watcher = await world.watcher()
    await world.start_bot()
    try:
        commands = [
            await world.send(alice, "!partenaire ajouter KidiTap description=Anne"),
            await world.send(alice, '!partenaire personne ajouter KidiTap "Anne Le Goff"'),
        ]
        for number in range(16):
            commands.append(
                await world.send(alice, f"!partenaire note KidiTap Anne Le Goff {number} {NOTE}")
            )
        await watcher.wait_for_replies(len(commands), timeout=120)
        # A CSV whose 200 rows each hold a 60,000-character cell, all of them wrong.
        rows = "\n".join(f"Partenaire {n},{'x' * 60_000}" for n in range(200))
        data = f"name,kind\n{rows}\n".encode()
        upload, _ = await alice.upload(
            io.BytesIO(data), content_type="text/csv", filename="enorme.csv", filesize=len(data)
        )
        assert isinstance(upload, UploadResponse), upload
        posted = await alice.room_send(
            world.room_id,
            "m.room.message",
            {"msgtype": "m.file", "body": "enorme.csv", "url": upload.content_uri},
        )
        assert isinstance(posted, RoomSendResponse), posted
        largest = [
            await world.send(alice, "!partenaire historique KidiTap"),
            await world.send(alice, "!partenaire voir KidiTap"),
            await world.send(alice, "!partenaire donnees-personne Anne Le Goff"),
            await world.send(alice, "!partenaire chercher anne"),
            await world.send(alice, "!partenaire importer"),
            await world.send(alice, "!aide"),
        ]
        await watcher.wait_for_replies(len(commands) + len(largest), timeout=120)
        replies = watcher.replies()
        for command in largest:
            [reply] = replies[command]
            assert len(json.dumps(reply).encode()) < EVENT_LIMIT
        history = replies[largest[0]][0]["content"]
        assert history["msgtype"] == "m.file"
        download = await alice.download(mxc=history["url"])
        assert isinstance(download, DownloadResponse), download
        text = download.body.decode("utf-8")
        assert all(f"Anne Le Goff {n} {NOTE}" in text for n in range(1, 16))
        preview = replies[largest[4]][0]["content"]
        assert "x" * 300 not in json.dumps(preview, ensure_ascii=False)  # echoes shortened
    finally:
        await watcher.stop()
        await world.stop_bot()
