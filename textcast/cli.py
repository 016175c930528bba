"""The `textcast` command: the command-line edge of every process.

It sits above the domain, the web process, the worker and the sandbox, and imports each only
inside its own subcommand, so `textcast db upgrade` never loads Slack, Twilio or aiohttp code. A setting or input problem ends the command with one line
on standard error naming what to fix, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from campaigns.errors import LimitError, RecipientFileError, TextcastError
from campaigns.logs import configure_logging
from campaigns.missing_database import how_to_create, is_missing_database
from campaigns.service import (
    Context,
    audit_page,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from campaigns.service.cursors import MAX_PAGE
from campaigns.settings import load_only, load_settings

EXIT_USAGE = 2


def _db_upgrade(_args: argparse.Namespace) -> int:
    from campaigns import migrate
    from campaigns.db import Database

    async def run() -> tuple[str | None, str]:
        db = Database.configured(load_settings())
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


def _bot(args: argparse.Namespace) -> int:
    from bot.app import serve

    configure_logging()
    asyncio.run(serve(load_settings(), socket=args.socket))
    return 0


async def _with_context(run: Callable[[Context], Awaitable[int]]) -> int:
    from campaigns import migrate
    from campaigns.db import Database

    settings = load_settings()
    db = Database.configured(settings)
    try:
        await migrate.ensure_schema_current(db)
        return await run(Context(db=db, settings=settings))
    finally:
        await db.dispose()


def _worker(_args: argparse.Namespace) -> int:
    from worker.main import run

    configure_logging()
    run(load_settings())
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from sandbox.run import serve

    asyncio.run(serve(load_settings(), args.host, args.twilio_port, args.slack_port))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from textcast.demo import run_demo

    return run_demo(keep_running=args.keep_running)


def _apikey_create(args: argparse.Namespace) -> int:
    async def run(ctx: Context) -> int:
        new = await create_api_key(ctx, args.name, "cli")
        print(f"Created API key {new.key.id} ({new.key.name}). Its secret is shown only this once:")
        print()
        print(f"    Authorization: Bearer {new.token}")
        print()
        return 0

    return asyncio.run(_with_context(run))


def _apikey_revoke(args: argparse.Namespace) -> int:
    async def run(ctx: Context) -> int:
        key = await revoke_api_key(ctx, args.key_id, "cli")
        print(f"Revoked API key {key.id} ({key.name}): requests with it now get 401.")
        return 0

    return asyncio.run(_with_context(run))


def _apikey_list(_args: argparse.Namespace) -> int:
    async def run(ctx: Context) -> int:
        keys = await list_api_keys(ctx)
        if not keys:
            print("No API keys yet: textcast apikey create NAME")
        for key in keys:
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            used = (
                f"last used {key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
            )
            print(f"{key.id}  {key.name}  created {key.created_at:%Y-%m-%d %H:%M}  {used}  {state}")
        return 0

    return asyncio.run(_with_context(run))


def _audit(args: argparse.Namespace) -> int:
    async def run(ctx: Context) -> int:
        entries, more = await audit_page(
            ctx, actor=args.actor, campaign_id=args.campaign, limit=args.limit
        )
        if not entries:
            print("Nothing in the audit log matches.")
        for entry in entries:
            details = json.dumps(entry.details, ensure_ascii=False, sort_keys=True)
            print(f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.actor}  {entry.action}  "
                  f"{entry.campaign_id or '-'}  {details}")  # fmt: skip
        if more:
            # On standard error, so the lines above stay the whole of standard output.
            print(_more_audit(args.limit), file=sys.stderr)
        return 0

    return asyncio.run(_with_context(run))


def _more_audit(limit: int) -> str:
    if limit < MAX_PAGE:
        return (
            f"Showing the newest {limit}; older ones match too: --limit N shows up to {MAX_PAGE}."
        )
    return f"Showing the newest {limit}, the most it shows; narrow it with --actor or --campaign."


def _recipients_check(args: argparse.Namespace) -> int:
    """Print the import report as JSON: 0 if usable, 1 if nothing usable, 2 if unreadable."""
    from campaigns.recipients import parse_recipients

    # Only what reading a list uses: a malformed setting of the bot or worker is not its business.
    settings = load_only("DEFAULT_REGION", "ALLOWED_COUNTRIES", "SENDER_NUMBERS")
    region = args.region or settings.DEFAULT_REGION
    try:
        data = Path(args.file).read_bytes()
    except OSError as error:
        return _json_error(f"cannot read {args.file}: {error.strerror}", EXIT_USAGE)
    try:
        report = parse_recipients(data, region.upper() if region else None, settings.destinations)
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

    bot = commands.add_parser("bot", help="run the web process (HTTP API, health checks)")
    bot.add_argument(
        "--socket",
        action="store_true",
        help="also take Slack's requests over Socket Mode (needs SLACK_APP_TOKEN), "
        "for a server Slack cannot reach",
    )
    bot.set_defaults(run=_bot)

    commands.add_parser("worker", help="run the sending worker (arq)").set_defaults(run=_worker)

    from sandbox import usage  # plain text: loads no vendor code

    sandbox = commands.add_parser(
        "sandbox",
        help="run local stand-ins for Twilio and Slack",
        description=usage.DESCRIPTION,
        epilog=usage.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sandbox.add_argument(
        "--host",
        default="127.0.0.1",
        help="address both listen on (default 127.0.0.1: this machine only; 0.0.0.0: every "
        "interface, e.g. in a container)",
    )
    sandbox.add_argument(
        "--twilio-port",
        type=int,
        default=8701,
        help="port of the Twilio stand-in (default 8701): TWILIO_API_URL points here",
    )
    sandbox.add_argument(
        "--slack-port",
        type=int,
        default=8702,
        help="port of the Slack stand-in (default 8702): SLACK_API_URL points at its /api/",
    )
    sandbox.set_defaults(run=_sandbox)

    demo = commands.add_parser(
        "demo", help="see Textcast send a campaign on this machine, with no Slack or Twilio account"
    )
    demo.add_argument(
        "--keep-running",
        action="store_true",
        help="leave everything running afterwards, to try the API and /sms commands yourself",
    )
    demo.set_defaults(run=_demo)

    apikey = commands.add_parser("apikey", help="HTTP API keys")
    ak = apikey.add_subparsers(dest="apikey_command", required=True, metavar="ACTION")
    create = ak.add_parser("create", help="create a key and print it once")
    create.add_argument("name", metavar="NAME", help="who or what uses it, e.g. 'booking system'")
    create.set_defaults(run=_apikey_create)
    revoke = ak.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key_id", metavar="KEY_ID")
    revoke.set_defaults(run=_apikey_revoke)
    ak.add_parser("list", help="list keys (never their secrets)").set_defaults(run=_apikey_list)

    audit = commands.add_parser("audit", help="who did what: the audit log, newest first")
    audit.add_argument("--actor", help="only this actor, e.g. api:key_... or slack:U...")
    audit.add_argument("--campaign", metavar="CAMPAIGN_ID", help="only this campaign")
    audit.add_argument("--limit", type=int, default=50, help="at most this many (1 to 1000)")
    audit.set_defaults(run=_audit)

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
    except DBAPIError as error:
        if not is_missing_database(error):
            return _cannot_connect(error)
        # The settings loaded a moment ago, so they load again: the URL says where and as whom.
        print(f"textcast: {how_to_create(load_settings().DATABASE_URL)}", file=sys.stderr)
        return 1
    except OSError as error:
        return _cannot_connect(error)
    except KeyboardInterrupt:
        return 130


def _cannot_connect(error: Exception) -> int:
    """The database or Redis did not answer: say so in one line, not a traceback."""
    reason = getattr(error, "orig", None) or error
    print(f"textcast: cannot connect: {reason}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
