"""Migration 0003's tables are what ``revbridge_db.schema`` says they are (the store writes through
the Core tables, the database was made by the migration's SQL), and its append-only tables refuse
an update."""

from __future__ import annotations

import psycopg
import pytest
from revbridge_db.schema import PROCESS_STATE


def test_the_core_tables_match_the_migrated_database(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        for table in PROCESS_STATE:
            rows = conn.execute(
                "SELECT column_name, is_nullable = 'YES' FROM information_schema.columns"
                " WHERE table_schema = 'revbridge' AND table_name = %s ORDER BY ordinal_position",
                (table.name,),
            ).fetchall()
            assert rows == [(c.name, bool(c.nullable)) for c in table.columns], table.name


@pytest.mark.parametrize("table", ["exception_action", "reconciliation_difference", "usage_acceptance"])
def test_the_history_tables_are_append_only(database_url: str, table: str) -> None:
    with (
        psycopg.connect(database_url) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"),
    ):
        conn.execute(f"TRUNCATE revbridge.{table}")
