"""No answer is lost to Matrix's 64 KiB limit on events: a message too large is sent as
a text file with a short caption, in reply to the command."""

from __future__ import annotations

from commands.kit.context import MAX_CONTENT_BYTES, content_size
from tests.botkit import BOB, TestBot


async def test_a_history_page_of_long_notes_arrives_as_a_file(bot: TestBot) -> None:
    await bot.ask("!partenaire ajouter KidiTap", sender=BOB)
    for number in range(15):
        await bot.ask(f"!partenaire note KidiTap {number:02d} " + "é" * 3900, sender=BOB)
    [command] = [bot.event("!partenaire historique KidiTap", sender=BOB)]
    [answer] = await bot.deliver(command)
    assert content_size(answer.content) < MAX_CONTENT_BYTES
    assert answer.content["msgtype"] == "m.file"
    assert answer.content["m.relates_to"] == {"m.in_reply_to": {"event_id": command.event_id}}
    assert answer.body.startswith("Cette réponse est trop longue pour un seul message (")
    assert "Historique de KidiTap" in answer.body  # its first lines, as a preview
    assert answer.attachment is not None
    assert answer.attachment.name == "reponse.txt"
    text = answer.attachment.data.decode("utf-8")
    for number in range(15):
        assert f"{number:02d} " + "é" * 3900 in text


async def test_ordinary_answers_stay_messages(bot: TestBot) -> None:
    [answer] = await bot.say("!aide")
    assert answer.content["msgtype"] == "m.notice"
    assert answer.attachment is None
