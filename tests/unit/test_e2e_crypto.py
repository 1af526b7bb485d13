"""Encryption without a network: where the crypto store lives, its loss detected, the
transport decrypting what nio's Megolm encrypted, encrypted file URLs."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from nio import SyncResponse
from nio.crypto import Olm, OlmDevice, OutgoingKeyRequest
from nio.crypto.attachments import encrypt_attachment
from nio.crypto.sessions import OutboundGroupSession
from nio.store import SqliteMemoryStore

from bot.config import MatrixSettings
from bot.crypto import (
    ENCRYPTED,
    MEGOLM,
    Unreadable,
    crypto_store_path,
    file_url,
    split_file_url,
    store_holds_device,
)
from bot.matrix import ACTIONABLE, CryptoStoreLost, LoginRefused, MatrixError, MatrixTransport
from commands.kit.transport import IncomingEvent

BOT = "@passerelle:example.org"
ALICE = "@alice:example.org"
ROOM = "!room"
ALICE_CURVE = "alice-device-curve25519-key"  # any text: the transport does not check it
ALICE_ED = "alice-device-ed25519-key"


@pytest.mark.parametrize(
    ("configured", "url", "expected"),
    [
        (None, "sqlite+aiosqlite:///passerelle.db", "passerelle-crypto.db"),
        (None, "sqlite+aiosqlite:////data/passerelle.db", "/data/passerelle-crypto.db"),
        (None, "sqlite+aiosqlite:///var/bot/state.sqlite", "var/bot/state-crypto.db"),
        (None, "sqlite+aiosqlite:///:memory:", "passerelle-crypto.db"),
        (None, "postgresql+asyncpg://bot:secret@db/bot", "passerelle-crypto.db"),
        ("/keys/bot.db", "postgresql+asyncpg://bot@db/bot", "/keys/bot.db"),
    ],
)
def test_the_crypto_store_lives_beside_the_database(
    configured: str | None, url: str, expected: str
) -> None:
    assert crypto_store_path(configured, url) == Path(expected)


def transport(tmp_path: Path, device: str = "DEVICE1") -> MatrixTransport:
    settings = MatrixSettings(homeserver="http://127.0.0.1:1", user_id=BOT, password="x")
    matrix = MatrixTransport(settings, crypto_store=tmp_path / "bot-crypto.db")
    matrix.client.restore_login(BOT, device, "token")
    return matrix


async def test_the_store_is_opened_only_once_the_device_is_checked(tmp_path: Path) -> None:
    first = transport(tmp_path)
    assert first.client.olm is None  # logging in opened nothing
    assert await first.open_crypto(known_device=False)  # created now
    assert store_holds_device(tmp_path / "bot-crypto.db", BOT, "DEVICE1")
    assert (tmp_path / "bot-crypto.db").stat().st_mode & 0o077 == 0
    identity = first.client.olm.account.identity_keys
    await first.close()

    again = transport(tmp_path)
    assert not await again.open_crypto(known_device=True)  # the same keys, found again
    assert again.client.olm.account.identity_keys == identity
    await again.close()


async def test_a_lost_store_stops_the_bot_instead_of_making_new_keys(tmp_path: Path) -> None:
    matrix = transport(tmp_path)
    with pytest.raises(CryptoStoreLost) as raised:
        await matrix.open_crypto(known_device=True)
    assert isinstance(raised.value, LoginRefused)  # one line from the CLI, no traceback
    text = str(raised.value)
    assert "DEVICE1" in text
    assert "Restore that file from a backup" in text
    assert "log the device out" in text
    assert not (tmp_path / "bot-crypto.db").exists()
    assert matrix.client.olm is None
    await matrix.close()


async def test_another_device_in_the_store_is_not_this_one(tmp_path: Path) -> None:
    old = transport(tmp_path, "OLD")
    await old.open_crypto(known_device=False)
    await old.close()
    assert not store_holds_device(tmp_path / "bot-crypto.db", BOT, "NEW")
    assert not store_holds_device(tmp_path / "absent.db", BOT, "OLD")


async def test_a_store_that_cannot_be_read_is_not_called_lost(tmp_path: Path) -> None:
    (tmp_path / "bot-crypto.db").write_bytes(b"not a database" * 100)
    matrix = transport(tmp_path)
    with pytest.raises(LoginRefused, match="cannot read the crypto store") as raised:
        await matrix.open_crypto(known_device=True)
    assert not isinstance(raised.value, CryptoStoreLost)
    await matrix.close()


async def test_a_store_killed_in_the_middle_of_a_write_still_holds_its_device(
    tmp_path: Path,
) -> None:
    # nio writes some things in transactions; a kill in one leaves a "hot journal" that
    # SQLite rolls back when the file is next opened for writing (a read-only look
    # would fail, and would have called the store lost).
    store = tmp_path / "bot-crypto.db"
    first = transport(tmp_path)
    await first.open_crypto(known_device=False)
    await first.close()
    writer = sqlite3.connect(store, isolation_level=None)
    writer.execute("PRAGMA cache_size = 1")  # spill to the file before the commit
    writer.execute("BEGIN")
    writer.execute("CREATE TABLE filler (x BLOB)")
    for _ in range(200):
        writer.execute("INSERT INTO filler VALUES (randomblob(4000))")
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    shutil.copy(store, crashed / store.name)
    shutil.copy(f"{store}-journal", crashed / f"{store.name}-journal")
    writer.execute("ROLLBACK")
    writer.close()
    assert store_holds_device(crashed / store.name, BOT, "DEVICE1")


async def test_no_sync_before_the_store_is_open(tmp_path: Path) -> None:
    # nio would read the room keys of such a sync with no store to keep them in.
    matrix = transport(tmp_path)
    with pytest.raises(MatrixError, match="crypto store must be open"):
        await matrix.sync("s1")
    await matrix.close()


def encrypted(
    session: OutboundGroupSession,
    clear: dict[str, Any],
    *,
    event_id: str = "$e1",
    sender_key: str = ALICE_CURVE,
) -> IncomingEvent:
    """An m.room.encrypted event as Alice's client would send it with this room key."""
    content = {
        "algorithm": MEGOLM,
        "sender_key": sender_key,
        "ciphertext": session.encrypt(json.dumps(clear)),
        "session_id": session.id,
        "device_id": "ALICEDEV",
    }
    relates = clear["content"].get("m.relates_to")
    if relates is not None:
        content["m.relates_to"] = relates  # relations stay outside the ciphertext
    return IncomingEvent(
        event_id=event_id,
        room_id=ROOM,
        sender=ALICE,
        event_type=ENCRYPTED,
        content=content,
        origin_ts=datetime(2026, 11, 27, 9, 0, 0, 123000, tzinfo=UTC),
    )


def room_key() -> OutboundGroupSession:
    """Alice's client's room key, shared (with the bot's device, in the story)."""
    session = OutboundGroupSession()
    session.shared = True
    return session


def receive_key(matrix: MatrixTransport, session_id: str, session_key: str) -> None:
    """What nio does with an m.room_key to-device message (the key as it was shared,
    before the messages it encrypts)."""
    matrix.client.olm.create_group_session(ALICE_CURVE, ALICE_ED, ROOM, session_id, session_key)


async def test_decrypting_waits_for_the_key_then_reads_the_event(tmp_path: Path) -> None:
    matrix = transport(tmp_path)
    await matrix.open_crypto(known_device=False)
    session = room_key()
    clear = {
        "type": "m.room.message",
        "room_id": ROOM,
        "content": {"msgtype": "m.text", "body": "!aide"},
    }
    shared_key = session.session_key  # sent to the bot's device, arriving late
    event = encrypted(session, clear)
    assert ENCRYPTED in ACTIONABLE  # stored by the sync as it came

    assert matrix.decrypt(event) is None  # no key yet: the pipeline waits
    receive_key(matrix, session.id, shared_key)
    opened = matrix.decrypt(event)
    assert opened is not None
    assert (opened.event_type, opened.content) == ("m.room.message", clear["content"])
    assert matrix.decrypt(event) == opened  # again (a retry, a replay): the same
    await matrix.close()


async def test_a_reaction_and_a_poll_response_keep_their_relation(tmp_path: Path) -> None:
    matrix = transport(tmp_path)
    await matrix.open_crypto(known_device=False)
    session = room_key()
    receive_key(matrix, session.id, session.session_key)
    relates = {"rel_type": "m.annotation", "event_id": "$bot", "key": "✅"}
    reaction = {"type": "m.reaction", "room_id": ROOM, "content": {"m.relates_to": relates}}
    opened = matrix.decrypt(encrypted(session, reaction, event_id="$r"))
    assert opened is not None
    assert (opened.event_type, opened.content["m.relates_to"]) == ("m.reaction", relates)
    poll = "org.matrix.msc3381.poll.response"
    reference = {"rel_type": "m.reference", "event_id": "$poll"}
    response = {
        "type": poll,
        "room_id": ROOM,
        "content": {poll: {"answers": ["1"]}, "m.relates_to": reference},
    }
    opened = matrix.decrypt(encrypted(session, response, event_id="$p"))
    assert opened is not None
    assert opened.event_type == poll
    assert opened.content[poll] == {"answers": ["1"]}
    await matrix.close()


async def test_what_no_key_opens_is_unreadable(tmp_path: Path) -> None:
    matrix = transport(tmp_path)
    await matrix.open_crypto(known_device=False)
    session = room_key()
    receive_key(matrix, session.id, session.session_key)
    text = {"msgtype": "m.text", "body": "!aide"}
    elsewhere = {"type": "m.room.message", "room_id": "!other", "content": text}
    with pytest.raises(Unreadable, match="another room"):
        matrix.decrypt(encrypted(session, elsewhere))
    olm_v1 = encrypted(session, {"type": "m.room.message", "content": {}}, event_id="$x")
    olm_v1.content["algorithm"] = "m.olm.v1.curve25519-aes-sha2"
    with pytest.raises(Unreadable, match="algorithm"):
        matrix.decrypt(olm_v1)
    await matrix.close()


async def test_an_encrypted_file_is_found_and_opened_through_its_url(tmp_path: Path) -> None:
    matrix = transport(tmp_path)
    await matrix.open_crypto(known_device=False)
    session = room_key()
    receive_key(matrix, session.id, session.session_key)
    data, keys = encrypt_attachment(b"name\nKidiTap\n")
    posted = {
        "msgtype": "m.file",
        "body": "partners.csv",
        "file": {"url": "mxc://example.org/abc", "mimetype": "text/csv", **keys},
    }
    opened = matrix.decrypt(
        encrypted(session, {"type": "m.room.message", "room_id": ROOM, "content": posted})
    )
    assert opened is not None
    url = opened.content["url"]  # what the kit reads (latest_file, posted_file)
    mxc, key = split_file_url(url)
    assert mxc == "mxc://example.org/abc"
    assert key is not None
    assert (key.key, key.iv, key.sha256) == (keys["key"]["k"], keys["iv"], keys["hashes"]["sha256"])
    assert split_file_url("mxc://example.org/plain") == ("mxc://example.org/plain", None)
    assert file_url({"url": "mxc://x/y"}) is None  # no key: not an encrypted file
    await matrix.close()
    del data


async def test_a_requested_key_is_taken_back_only_from_the_device_that_made_it(
    tmp_path: Path,
) -> None:
    matrix = transport(tmp_path)
    await matrix.open_crypto(known_device=False)
    olm = matrix.client.olm
    olm.outgoing_key_requests["s1"] = OutgoingKeyRequest("s1", "s1", ROOM, MEGOLM)

    def forwarded(
        made_by: str, chain: list[str], session: str = "s1", room: str = ROOM
    ) -> SimpleNamespace:
        content = {
            "sender_key": made_by,
            "forwarding_curve25519_key_chain": chain,
            "room_id": room,
            "session_id": session,
        }
        return SimpleNamespace(
            source={"content": content},
            sender=ALICE,
            session_id=session,
            room_id=room,
            algorithm=MEGOLM,
        )

    accept = olm._should_accept_forward
    # Alice's device sends back the key it made (Element answers requests so).
    assert accept(ALICE, ALICE_CURVE, forwarded(ALICE_CURVE, []))
    # Someone else's device, a key forwarded along a chain, an unrequested session or
    # another room: refused, as nio refuses them.
    assert not accept(ALICE, "mallory-curve", forwarded(ALICE_CURVE, []))
    assert not accept(ALICE, ALICE_CURVE, forwarded(ALICE_CURVE, ["carol-curve"]))
    assert not accept(ALICE, ALICE_CURVE, forwarded(ALICE_CURVE, [], session="s2"))
    assert not accept(ALICE, ALICE_CURVE, forwarded(ALICE_CURVE, [], room="!other"))
    await matrix.close()


async def test_a_sync_is_written_to_the_crypto_store_all_or_nothing(tmp_path: Path) -> None:
    bot = transport(tmp_path)
    await bot.open_crypto(known_device=False)
    olm = bot.client.olm
    olm.account.generate_one_time_keys(1)
    olm.save_account()
    [one_time_key] = olm.account.one_time_keys["curve25519"].values()
    keys = olm.account.identity_keys
    # Alice's device opens an Olm session with the bot's, and sends it a room key.
    alice = Olm(ALICE, "ALICEDEV", SqliteMemoryStore(ALICE, "ALICEDEV", ""))
    olm_session = alice.create_session(one_time_key, keys["curve25519"])
    device = OlmDevice(
        BOT, "DEVICE1", {"ed25519": keys["ed25519"], "curve25519": keys["curve25519"]}
    )
    key = room_key()
    shared = {
        "algorithm": MEGOLM,
        "room_id": ROOM,
        "session_id": key.id,
        "session_key": key.session_key,
    }
    to_device = {
        "type": ENCRYPTED,
        "sender": ALICE,
        "content": alice._olm_encrypt(olm_session, device, "m.room_key", shared),
    }
    sync = {"next_batch": "s2", "to_device": {"events": [to_device]}}
    clear = {
        "type": "m.room.message",
        "room_id": ROOM,
        "content": {"msgtype": "m.text", "body": "!aide"},
    }
    message = encrypted(key, clear, sender_key=alice.account.identity_keys["curve25519"])

    # The bot dies after nio decrypted the to-device message (its Olm session moved
    # on) and before it stored the room key (here: an error at that very point).
    def dies(*args: Any) -> None:
        raise RuntimeError("killed")

    olm.create_group_session = dies
    with pytest.raises(RuntimeError, match="killed"):
        await bot.client.receive_response(SyncResponse.from_dict(sync))
    await bot.close()

    # Restarted, it is handed the same sync again (its token was not committed): the
    # Olm session was not saved without the key, so the message is read again.
    again = transport(tmp_path)
    await again.open_crypto(known_device=True)
    await again.client.receive_response(SyncResponse.from_dict(sync))
    opened = again.decrypt(message)
    assert opened is not None
    assert opened.content["body"] == "!aide"
    await again.close()
