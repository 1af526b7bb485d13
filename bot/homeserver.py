"""A throwaway local Synapse homeserver, for the integration tests and `passerelle demo`.

`LocalSynapse` writes a minimal configuration into a data directory, runs
``python -m synapse.app.homeserver`` as a subprocess listening on loopback only, and
offers the two account operations a test or a demo needs: shared-secret registration
and password login.

The server never contacts anything outside the machine: it has no federation
listener, an empty federation whitelist, no trusted key servers, no URL previews,
no stats reporting and no presence.

Everything lives in ``data_dir``:

- ``homeserver.yaml`` and ``log_config.yaml``: rewritten on every start from the
  current settings (port, rate limits);
- ``signing.key``, ``registration_shared_secret``, ``macaroon_secret_key``,
  ``form_secret``: generated once and reused, so that a stop and a start (or a
  kill and a start) keep the accounts, their access tokens and the rooms;
- ``homeserver.db``: the SQLite database; ``media_store/``: uploaded media;
- ``homeserver.log`` (Synapse's own log, WARNING and above) and ``console.log``
  (the subprocess's stdout and stderr).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import importlib.util
import io
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp
import yaml

__all__ = ["LocalSynapse", "SynapseError", "synapse_available"]

CONFIG_FILE = "homeserver.yaml"
LOG_CONFIG_FILE = "log_config.yaml"
SIGNING_KEY_FILE = "signing.key"
DATABASE_FILE = "homeserver.db"
SYNAPSE_LOG_FILE = "homeserver.log"
CONSOLE_LOG_FILE = "console.log"
SECRET_FILES = ("registration_shared_secret", "macaroon_secret_key", "form_secret")

# Large enough that no test or demo ever meets them.
_UNLIMITED = {"per_second": 100_000, "burst_count": 1_000_000}

# Every client-side rate limiter Synapse reads from its configuration
# (synapse/config/ratelimiting.py); nested keys use a dot.
RATE_LIMIT_KEYS = (
    "rc_message",
    "rc_registration",
    "rc_registration_token_validity",
    "rc_login.address",
    "rc_login.account",
    "rc_login.failed_attempts",
    "rc_admin_redaction",
    "rc_joins.local",
    "rc_joins.remote",
    "rc_joins_per_room",
    "rc_key_requests",
    "rc_3pid_validation",
    "rc_invites.per_room",
    "rc_invites.per_user",
    "rc_invites.per_issuer",
    "rc_third_party_invite",
    "rc_media_create",
    "rc_presence.per_user",
    "rc_delayed_event_mgmt",
    "rc_room_creation",
    "rc_reports",
    "rc_user_directory",
    "rc_profile",
)

_STOP_GRACE_SECONDS = 10.0
_POLL_INTERVAL_SECONDS = 0.05
_LOG_TAIL_CHARS = 4000


def synapse_available() -> bool:
    """Whether matrix-synapse is installed in this interpreter."""
    return importlib.util.find_spec("synapse") is not None


class SynapseError(RuntimeError):
    """The local homeserver failed to start, or refused a request."""


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Synapse (Twisted) binds with SO_REUSEADDR too, so a port whose old
        # connections linger in TIME_WAIT after a kill is still usable.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _write_private(path: Path, text: str) -> None:
    """Create `path` readable by its owner only, and write `text` into it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _rate_limit_config() -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key in RATE_LIMIT_KEYS:
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = dict(_UNLIMITED)
    return config


def _tail(path: Path, chars: int = _LOG_TAIL_CHARS) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - chars))
            return handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


@dataclass
class LocalSynapse:
    """A Synapse homeserver run as a subprocess on a loopback port.

    ``port=0`` picks a free port at the first start; the chosen port is then kept
    in ``port`` (and in ``homeserver.yaml``) so that a restart, even by a new
    ``LocalSynapse`` on the same ``data_dir``, serves the same ``base_url``.

    The subprocess belongs to the event loop that started it: call start(),
    stop() and kill() from that loop. register() and login() open their own
    short-lived HTTP sessions and work from any loop.
    """

    data_dir: Path
    port: int = 0
    server_name: str = "localhost"
    raise_rate_limits: bool = True
    startup_timeout: float = 30.0
    _process: asyncio.subprocess.Process | None = field(default=None, init=False, repr=False)

    # -- paths -----------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.data_dir / CONFIG_FILE

    @property
    def synapse_log_path(self) -> Path:
        return self.data_dir / SYNAPSE_LOG_FILE

    @property
    def console_log_path(self) -> Path:
        return self.data_dir / CONSOLE_LOG_FILE

    @property
    def base_url(self) -> str:
        if self.port == 0:
            raise SynapseError("the homeserver has no port yet: call start() first")
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Write the configuration, start Synapse and wait until it answers."""
        if self.running:
            return
        self._prepare()
        started = time.monotonic()
        console = self._open_console_log()
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "--config-path",
                str(self.config_path),
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                umask=0o077,  # its database, keys and media: readable by their owner only
            )
        finally:
            console.close()  # the child has its own descriptor
        try:
            await self._wait_until_ready(started)
        except BaseException:
            await self.kill()
            raise

    async def stop(self) -> None:
        """Stop Synapse with SIGTERM; SIGKILL it if it is still there after 10 s."""
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), _STOP_GRACE_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        self._process = None

    async def kill(self) -> None:
        """SIGKILL Synapse at once, as a crash would; start() works again afterwards."""
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await process.wait()
        self._process = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- accounts --------------------------------------------------------------

    async def register(self, localpart: str, password: str, *, admin: bool = False) -> str:
        """Create an account through the shared-secret admin API; return its user id.

        If the account already exists, its id is returned and nothing is changed
        (in particular not its password). Synapse lowercases the localpart.
        """
        shared_secret = self._read_secret("registration_shared_secret")
        url = f"{self.base_url}/_synapse/admin/v1/register"
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as response:
                nonce_body = await self._json_or_raise(response, "get a registration nonce")
            nonce = str(nonce_body["nonce"])
            mac = hmac.new(shared_secret.encode("utf-8"), digestmod=hashlib.sha1)
            mac.update(nonce.encode("utf-8"))
            mac.update(b"\x00")
            mac.update(localpart.encode("utf-8"))
            mac.update(b"\x00")
            mac.update(password.encode("utf-8"))
            mac.update(b"\x00")
            mac.update(b"admin" if admin else b"notadmin")
            payload = {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
                "inhibit_login": True,
            }
            async with session.post(url, json=payload) as response:
                if response.status == 400:
                    body = await response.json(content_type=None)
                    if body.get("errcode") == "M_USER_IN_USE":
                        return f"@{localpart.lower()}:{self.server_name}"
                    raise SynapseError(f"cannot register {localpart!r}: 400 {body}")
                registered = await self._json_or_raise(response, f"register {localpart!r}")
        return str(registered["user_id"])

    async def login(self, user_id: str, password: str) -> str:
        """Log in with a password; return the new device's access token."""
        payload = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user_id},
            "password": password,
            "initial_device_display_name": "passerelle-local-synapse",
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.base_url}/_matrix/client/v3/login", json=payload) as response,
        ):
            body = await self._json_or_raise(response, f"log in as {user_id}")
        return str(body["access_token"])

    # -- internals -------------------------------------------------------------

    def _prepare(self) -> None:
        """Create data_dir, the key and the secrets if missing; (re)write the configs."""
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        previous = self._previous_config()
        previous_name = previous.get("server_name")
        if (
            previous_name not in (None, self.server_name)
            and (self.data_dir / DATABASE_FILE).exists()
        ):
            raise SynapseError(
                f"{self.data_dir} holds a homeserver named {previous_name!r}, "
                f"not {self.server_name!r}; use another data_dir"
            )
        if self.port == 0:
            previous_port = self._previous_port(previous)
            if previous_port and _port_is_free(previous_port):
                self.port = previous_port
            else:
                self.port = _free_loopback_port()
        elif not _port_is_free(self.port):
            raise SynapseError(f"port {self.port} on 127.0.0.1 is already in use")
        self._ensure_signing_key()
        for suffix in ("", "-wal", "-shm", "-journal"):
            database = self.data_dir / f"{DATABASE_FILE}{suffix}"
            if database.exists():
                database.chmod(0o600)  # left by older runs, before Synapse ran with umask 077
        for name in SECRET_FILES:
            path = self.data_dir / name
            if not path.exists():
                _write_private(path, secrets.token_urlsafe(32))
        (self.data_dir / LOG_CONFIG_FILE).write_text(
            yaml.safe_dump(self._log_config(), sort_keys=False), encoding="utf-8"
        )
        self.config_path.write_text(
            yaml.safe_dump(self._homeserver_config(), sort_keys=False), encoding="utf-8"
        )

    def _previous_config(self) -> dict[str, Any]:
        if not self.config_path.exists():
            return {}
        loaded = yaml.safe_load(self.config_path.read_text(encoding="utf-8"))
        return loaded if isinstance(loaded, dict) else {}

    @staticmethod
    def _previous_port(previous: dict[str, Any]) -> int | None:
        for listener in previous.get("listeners") or []:
            port = listener.get("port") if isinstance(listener, dict) else None
            if isinstance(port, int) and port > 0:
                return port
        return None

    def _ensure_signing_key(self) -> None:
        path = self.data_dir / SIGNING_KEY_FILE
        if path.exists():
            return
        # signedjson is a dependency of Synapse, so it is there whenever Synapse is.
        from signedjson.key import generate_signing_key, write_signing_keys

        key = generate_signing_key("a_" + secrets.token_hex(2))
        text = io.StringIO()
        write_signing_keys(text, [key])
        _write_private(path, text.getvalue())

    def _read_secret(self, name: str) -> str:
        return (self.data_dir / name).read_text(encoding="utf-8").strip()

    def _log_config(self) -> dict[str, Any]:
        return {
            "version": 1,
            "formatters": {
                "precise": {"format": "%(asctime)s - %(name)s - %(levelname)s - %(message)s"}
            },
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "precise",
                    "filename": str(self.synapse_log_path),
                    "encoding": "utf-8",
                }
            },
            "root": {"level": "WARNING", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }

    def _homeserver_config(self) -> dict[str, Any]:
        d = self.data_dir
        config: dict[str, Any] = {
            "server_name": self.server_name,
            "public_baseurl": f"{self.base_url}/",
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(d / DATABASE_FILE)}},
            "log_config": str(d / LOG_CONFIG_FILE),
            "media_store_path": str(d / "media_store"),
            "signing_key_path": str(d / SIGNING_KEY_FILE),
            "registration_shared_secret_path": str(d / "registration_shared_secret"),
            "macaroon_secret_key_path": str(d / "macaroon_secret_key"),
            "form_secret_path": str(d / "form_secret"),
            "enable_registration": False,
            # bcrypt's default 12 rounds cost ~0.25 s per registration and per
            # login; this server is a loopback-only throwaway.
            "bcrypt_rounds": 4,
            "report_stats": False,
            "enable_metrics": False,
            "url_preview_enabled": False,
            # Nothing leaves the machine: no key servers, no federation.
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "allow_profile_lookup_over_federation": False,
            "presence": {"enabled": False},
            # Each /sync sees the latest events at once.
            "caches": {"sync_response_cache_duration": 0},
        }
        if self.raise_rate_limits:
            config.update(_rate_limit_config())
        return config

    def _open_console_log(self) -> io.BufferedWriter:
        return self.console_log_path.open("ab")

    async def _wait_until_ready(self, started: float) -> None:
        process = self._process
        assert process is not None
        url = f"{self.base_url}/_matrix/client/versions"
        deadline = started + self.startup_timeout
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                if process.returncode is not None:
                    raise SynapseError(
                        f"Synapse exited with code {process.returncode} while starting"
                        f"{self._log_tails()}"
                    )
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(url) as response:
                        if response.status == 200:
                            await response.read()
                            return
                if time.monotonic() > deadline:
                    raise SynapseError(
                        f"Synapse did not answer on {url} within {self.startup_timeout:g} s"
                        f"{self._log_tails()}"
                    )
                await asyncio.sleep(_POLL_INTERVAL_SECONDS)

    def _log_tails(self) -> str:
        parts = []
        for path in (self.console_log_path, self.synapse_log_path):
            tail = _tail(path).strip()
            if tail:
                parts.append(f"\n--- end of {path} ---\n{tail}")
        return "".join(parts) or f"\n(no log in {self.data_dir})"

    @staticmethod
    async def _json_or_raise(response: aiohttp.ClientResponse, action: str) -> dict[str, Any]:
        if response.status != 200:
            text = await response.text()
            raise SynapseError(f"cannot {action}: HTTP {response.status} {text}")
        body = await response.json(content_type=None)
        if not isinstance(body, dict):
            raise SynapseError(f"cannot {action}: unexpected answer {body!r}")
        return body
