"""Alembic, configured in code (no alembic.ini): the script directory is ``migrations`` beside this
module; the version table is ``revbridge.alembic_version``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from revbridge_db.engine import SchemaTooNew
from revbridge_db.schema import SCHEMA

HERE = Path(__file__).resolve().parent


def config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head() -> str:
    found = ScriptDirectory.from_config(config()).get_current_head()
    assert found is not None
    return found


def known(revision: str) -> bool:
    return any(s.revision == revision for s in ScriptDirectory.from_config(config()).walk_revisions())


def current_revision(conn: Connection) -> str | None:
    conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    context = MigrationContext.configure(conn, opts={"version_table_schema": SCHEMA})
    return context.get_current_revision()


def refuse_newer(current: str | None) -> None:
    if current is not None and not known(current):
        raise SchemaTooNew(
            f"database schema is at revision {current}, newer than this revbridge knows "
            f"(its newest is {head()}): the database was migrated by a newer release. Run that "
            f"release, or point DATABASE_URL at another database; this one is left untouched"
        )


def upgrade_connection(conn: Connection, target: str = "head") -> None:
    cfg = config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, target)
