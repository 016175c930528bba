"""The `textcast` command.

Each subcommand names the module that runs it and is imported only when used, so `textcast db
upgrade` never loads Slack or Twilio code. A setting or input problem ends the command with one line
on standard error naming what to fix, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from campaigns.errors import LimitError, RecipientFileError, TextcastError
from campaigns.settings import load_settings

EXIT_USAGE = 2


def _db_upgrade(_args: argparse.Namespace) -> int:
    from campaigns import migrate
    from campaigns.db import Database

    async def run() -> tuple[str | None, str]:
        db = Database(load_settings().DATABASE_URL)
        try:
            return await migrate.upgrade(db)
        finally:
            await db.dispose()

    before, after = asyncio.run(run())
    if before == after:
        print(f"The database is up to date (schema {after}).")
    else:
        print(f"Upgraded the database schema from {before or 'empty'} to {after}.")
    return 0


def _recipients_check(args: argparse.Namespace) -> int:
    """Print the import report as JSON: 0 if usable, 1 if nothing usable, 2 if unreadable."""
    from campaigns.recipients import parse_recipients

    region = args.region or load_settings().DEFAULT_REGION
    try:
        data = Path(args.file).read_bytes()
    except OSError as error:
        return _json_error(f"cannot read {args.file}: {error.strerror}", EXIT_USAGE)
    try:
        report = parse_recipients(data, region.upper() if region else None)
    except RecipientFileError as error:
        return _json_error(error.message, EXIT_USAGE)
    except LimitError as error:
        return _json_error(error.message, 1)
    print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    return 0 if report.recipients else 1


def _json_error(message: str, status: int) -> int:
    print(json.dumps({"error": message}, indent=2, ensure_ascii=False))
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="textcast", description="Bulk SMS campaigns from Slack, sent through Twilio."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="create or upgrade the database schema").set_defaults(
        run=_db_upgrade
    )

    recipients = commands.add_parser("recipients", help="recipient lists")
    rc = recipients.add_subparsers(dest="recipients_command", required=True, metavar="ACTION")
    check = rc.add_parser("check", help="check a CSV file or list and print a JSON report")
    check.add_argument("file", metavar="FILE")
    check.add_argument(
        "--region", help="two-letter region for numbers without +country code (e.g. GB)"
    )
    check.set_defaults(run=_recipients_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except TextcastError as error:
        print(f"textcast: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
