"""The `passerelle` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import textwrap
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import AppSettings, ConfigError, load_settings, require_matrix
from commands.kit.clock import SteppableClock
from commands.kit.services import package_version
from storage.db import Database, DatabaseUnavailable


def _iso_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date and time: {text!r}") from exc
    return value


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0 to 65535): {text!r}")
    return int(text)


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=78)


CONFIG_HELP = _wrap(
    "configuration: the YAML file given with --config (config.example.yaml documents "
    "every key); any key can be overridden from the environment as "
    "PASSERELLE__SECTION__KEY (e.g. PASSERELLE__MATRIX__PASSWORD, "
    "PASSERELLE__DATABASE__URL), which wins over the file. A bad configuration stops "
    "with one line per problem. PASSERELLE_DATA_DIR names the folder of the default "
    "SQLite database (passerelle.db) when neither names a database; the Docker image "
    "sets it to /data."
)

# The project's own loggers; libraries log warnings only, unless --verbose.
OWN_LOGGERS = ("bot", "commands", "storage")


def setup_logging(verbose: bool, command: str) -> None:
    """Warnings by default; one line per handled event for the bot that serves rooms
    (`run`, `demo`); everything of ours with --verbose, libraries at INFO, and never
    SQL statements or their parameters (they hold people's names and the token)."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if verbose:
        ours = logging.DEBUG
    elif command in ("run", "demo"):
        ours = logging.INFO
    else:
        ours = logging.WARNING
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(ours)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="passerelle", description="A Matrix bot that keeps a working group's memory."
    )
    top.add_argument("--version", action="version", version=f"passerelle {package_version()}")
    top.add_argument("-v", "--verbose", action="store_true", help="log the bot's debug messages")
    sub = top.add_subparsers(dest="command", required=True)

    console = sub.add_parser("console", help="talk to the bot on stdin/stdout")
    console.add_argument("--config", type=Path, help="YAML config file (optional)")
    console.add_argument("--db", help="database URL (default: the config's, or passerelle.db)")
    console.add_argument("--as", dest="user", default=None, help="speak as this user id")
    console.add_argument("--locale", choices=("fr", "en"), help="language of the room")
    console.add_argument(
        "--now", type=_iso_datetime, help="freeze the clock at this ISO 8601 instant"
    )

    run = sub.add_parser(
        "run",
        help="run the bot on a Matrix homeserver",
        description=_wrap(
            "Log in to the homeserver named in the config file, upgrade the "
            "database schema, join the configured rooms and answer commands until stopped "
            "(Ctrl-C or SIGTERM: the bot finishes what it is doing, then exits). The bot "
            "logs one line per command it handles (room, sender, command, outcome, time), "
            "never what was typed."
        ),
        epilog=CONFIG_HELP + "\n\nexample:\n"
        "  PASSERELLE__MATRIX__PASSWORD=... passerelle run --config config.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--config", type=Path, required=True, help="YAML config file (see config.example.yaml)"
    )

    demo = sub.add_parser(
        "demo", help="try the bot on a throwaway local Synapse, with any Matrix client"
    )
    demo.add_argument(
        "--data",
        type=Path,
        default=Path("passerelle-demo"),
        help="folder for the homeserver, the bot and the demo accounts (default: %(default)s)",
    )
    demo.add_argument(
        "--port",
        type=_port,
        help="homeserver port on 127.0.0.1 (default: the folder's previous one, else 8008 "
        "if free; 0: any free port)",
    )
    demo.add_argument(
        "--locale", choices=("fr", "en"), help="language of the output (default: both)"
    )

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser(
        "upgrade",
        help="bring the schema to the latest version",
        description=_wrap(
            "Apply the database migrations that are not applied yet, then print "
            "the revision the schema is at. The bot does this by itself when it starts; run "
            "it by hand before a deployment, or to check a backup. Rows stored before groups "
            "existed join the group of the first configured room."
        ),
        epilog=CONFIG_HELP + "\n\nexamples:\n"
        "  passerelle db upgrade --config config.yaml\n"
        "  passerelle db upgrade --db postgresql+asyncpg://passerelle@db/passerelle",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    upgrade.add_argument("--config", type=Path, help="YAML config file (optional)")
    upgrade.add_argument(
        "--db", help="database URL (default: the config's, or sqlite+aiosqlite:///passerelle.db)"
    )
    return top


def _settings(config: Path | None, db: str | None) -> AppSettings:
    settings = load_settings(config)
    if db:
        settings = settings.model_copy(
            update={"database": settings.database.model_copy(update={"url": db})}
        )
    return settings


async def _console(args: argparse.Namespace, settings: AppSettings) -> None:
    from bot.console import DEFAULT_USER, Console

    user = args.user or DEFAULT_USER
    if not settings.admins:
        # With no administrators configured, whoever runs the console is one.
        settings = settings.model_copy(update={"admins": [user]})
    now = args.now
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=ZoneInfo(settings.timezone))
    console = Console(settings, clock=SteppableClock(now), user=user, locale=args.locale)
    await console.run()


async def _run(settings: AppSettings) -> None:
    from bot.runtime import Runtime

    runtime = Runtime(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, runtime.stop)
    await runtime.run()


async def _upgrade(settings: AppSettings) -> None:
    db = Database(settings.database.url)
    try:
        await db.upgrade(default_group=settings.default_group)
        print(f"database at revision {await db.current_revision()}")
    finally:
        await db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(args.verbose, args.command)
    if args.command == "demo":
        # The demo writes its own settings; it reads no config file.
        try:
            from bot import demo

            return demo.main(args.data, port=args.port, locale=args.locale)
        except KeyboardInterrupt:  # before the demo handles signals itself
            return 130
    try:
        settings = _settings(getattr(args, "config", None), getattr(args, "db", None))
        if args.command == "run":
            require_matrix(settings)
    except ConfigError as exc:
        print("passerelle: the configuration has problems:", file=sys.stderr)
        for line in exc.problems:
            print(f"  {line}", file=sys.stderr)
        return 2
    try:
        if args.command == "run":
            asyncio.run(_run(settings))
        elif args.command == "console":
            asyncio.run(_console(args, settings))
        elif args.command == "db":
            asyncio.run(_upgrade(settings))
    except KeyboardInterrupt:
        return 130
    except DatabaseUnavailable as exc:
        print(f"passerelle: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from bot.matrix import LoginRefused

        if not isinstance(exc, LoginRefused):
            raise
        # A login the homeserver refuses (wrong password, revoked token): one line.
        print(f"passerelle: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
