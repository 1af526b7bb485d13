"""End-to-end encryption, around matrix-nio's Olm/Megolm (its `e2e` extra, vodozemac):
where the crypto store lives, whether it still holds the bot's device, what the
pipeline asks of the transport to read an encrypted event, and encrypted files.

No cryptography is written here. nio encrypts, decrypts and keeps the keys; this
module only says where, and carries the few facts the rest of the bot needs.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode

from sqlalchemy.engine import make_url

ENCRYPTED = "m.room.encrypted"
MEGOLM = "m.megolm.v1.aes-sha2"
# The state event that turns encryption on in a room (for good).
ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}
DEFAULT_STORE = "passerelle-crypto.db"
# What a decrypted file's URL carries after "#" (see `file_url`).
_FRAGMENT = "passerelle-e2e"


def crypto_store_path(configured: str | None, database_url: str) -> Path:
    """Where the bot's encryption keys live: the configured file, else beside the SQLite
    database (`passerelle.db` -> `passerelle-crypto.db`), else `passerelle-crypto.db` in
    the working directory (PostgreSQL; the Docker image works in its /data volume)."""
    if configured:
        return Path(configured).expanduser()
    url = make_url(database_url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        path = Path(database)
        return path.with_name(f"{path.stem}-crypto.db")
    return Path(DEFAULT_STORE)


def store_holds_device(path: Path, user_id: str, device_id: str) -> bool:
    """Whether the crypto store at `path` holds the keys of this device.

    Opened for writing (never created): after a crash in the middle of one of nio's
    transactions, SQLite must roll it back before anything can be read. Raises
    sqlite3.Error for a store that exists but cannot be read (locked by another
    process, damaged): not the same as a lost one.
    """
    if not path.is_file():
        return False
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)
    try:
        row = connection.execute(
            "SELECT 1 FROM accounts WHERE user_id = ? AND device_id = ?", (user_id, device_id)
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return False  # an empty file: no keys in it
        raise
    finally:
        connection.close()
    return row is not None


def lost_store_message(path: Path, device_id: str) -> str:
    """The one line that stops a bot whose crypto store is gone: what happened, what to
    do, and what starting afresh costs."""
    return (
        f"the encryption keys of the bot's device {device_id} are missing (no crypto store "
        f"for it at {path}). Restore that file from a backup (with the database) and start "
        "again. Or, to start afresh on a new device: log the device out (Element, signed in "
        "as the bot: Settings, Sessions; or the homeserver's admin API) and start the bot "
        "again: it logs in on a new device. A new device cannot read what was encrypted for "
        "the old one: the encrypted messages still waiting in the inbox are lost, and the "
        "members' clients show a new, unverified device. Passerelle never creates a new "
        "device by itself (matrix.crypto_store sets the file's place)"
    )


class EncryptedEvent(Protocol):
    """An encrypted event as the inbox keeps it (an inbox row fits)."""

    @property
    def event_id(self) -> str: ...
    @property
    def room_id(self) -> str: ...
    @property
    def sender(self) -> str: ...
    @property
    def content(self) -> dict[str, Any]: ...
    @property
    def origin_ts(self) -> datetime: ...


@dataclass(frozen=True)
class Decrypted:
    """What an encrypted event holds: its real type and content."""

    event_type: str
    content: dict[str, Any]


class Unreadable(Exception):
    """An encrypted event that no key will ever open (malformed, another algorithm, or
    replayed from another room)."""


class Decryptor(Protocol):
    """What the pipeline needs from the transport to read encrypted events."""

    def decrypt(self, event: EncryptedEvent) -> Decrypted | None:
        """The clear event; None while its room key has not arrived. Raises Unreadable."""
        ...

    def request_key(self, event: EncryptedEvent) -> None:
        """Ask the sender's devices (and the bot's own) for the event's room key, in the
        background; asking twice is harmless."""
        ...


# --- Encrypted files. A file in an encrypted room is uploaded encrypted; the event
# carries its URL and key in `file` instead of `url`.


def file_url(info: dict[str, Any]) -> str | None:
    """The `url` the kit reads for an encrypted file: its mxc:// URL, with what decrypts
    it after "#". The fragment never reaches the homeserver (`split_file_url` takes it
    off before downloading); it stays in the bot's database, like the message itself."""
    url, key, iv = info.get("url"), (info.get("key") or {}).get("k"), info.get("iv")
    sha256 = (info.get("hashes") or {}).get("sha256")
    if not all(isinstance(v, str) and v for v in (url, key, iv, sha256)):
        return None
    return f"{url}#{_FRAGMENT}&" + urlencode({"k": key, "iv": iv, "sha256": sha256})


@dataclass(frozen=True)
class FileKey:
    key: str
    iv: str
    sha256: str


def split_file_url(url: str) -> tuple[str, FileKey | None]:
    """The mxc:// URL to download, and the key when the file is encrypted."""
    base, _, fragment = url.partition("#")
    if not fragment.startswith(_FRAGMENT + "&"):
        return url, None
    values = parse_qs(fragment[len(_FRAGMENT) + 1 :])
    try:
        return base, FileKey(values["k"][0], values["iv"][0], values["sha256"][0])
    except (KeyError, IndexError):
        return base, None


def encrypted_file(mxc: str, keys: dict[str, Any], mimetype: str) -> dict[str, Any]:
    """The `file` object of an event carrying an encrypted upload (Matrix EncryptedFile)."""
    return {"url": mxc, "mimetype": mimetype, **keys}
