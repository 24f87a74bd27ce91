"""Alembic environment: runs on the connection ``revbridge_db.migrate`` hands it, or on the URL."""

from __future__ import annotations

from alembic import context
from revbridge_db.engine import sqlalchemy_url
from revbridge_db.schema import SCHEMA, metadata
from sqlalchemy import create_engine, text

cfg = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=SCHEMA,
        include_schemas=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = cfg.attributes.get("connection")
if given is not None:
    _run(given)
else:
    engine = create_engine(sqlalchemy_url(cfg.get_main_option("sqlalchemy.url") or ""))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
