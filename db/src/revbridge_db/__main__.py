"""``python -m revbridge_db upgrade|check|create``: the database's migrations, by hand.

``revbridge db upgrade`` calls the same. Exit codes: 0 ok, 1 the database is at another revision
(check), 2 refused (a newer schema), 3 unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from revbridge_db import migrate
from revbridge_db.admin import create_database
from revbridge_db.engine import SchemaTooNew, create_engine, ensure_schema, is_unavailable
from revbridge_db.settings import DbSettings


async def _upgrade(url: str, migrate_: bool) -> str:
    engine = create_engine(url=url)
    try:
        return await ensure_schema(engine, migrate=migrate_)
    finally:
        await engine.dispose()


def run(command: str, url: str | None = None) -> int:
    settings = DbSettings()
    target = url or settings.url
    try:
        if command == "create":
            made = create_database(target)
            print(f"database {'created' if made else 'already there'}")
            return 0
        revision = asyncio.run(_upgrade(target, command == "upgrade"))
    except SchemaTooNew as exc:
        print(f"revbridge db: {exc}", file=sys.stderr)
        return 2 if command == "upgrade" or "newer" in str(exc) else 1
    except Exception as exc:
        if is_unavailable(exc) or isinstance(exc, OSError):
            print(f"revbridge db: PostgreSQL does not answer: {type(exc).__name__}", file=sys.stderr)
            return 3
        raise
    print(f"database schema at {revision} (head {migrate.head()})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="revbridge db", description=__doc__)
    parser.add_argument("command", choices=("upgrade", "check", "create"))
    parser.add_argument("--url", default=None, help="default: DATABASE_URL")
    args = parser.parse_args(argv)
    return run(args.command, args.url)


if __name__ == "__main__":
    raise SystemExit(main())
