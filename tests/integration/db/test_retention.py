"""The retention purge deletes only what is older than the retention in years, through the
append-only guard; anything else is refused a delete."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from revbridge_db.engine import create_engine
from revbridge_db.retention import horizon, purge

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_the_horizon_is_calendar_years_back() -> None:
    assert horizon(7, dt.datetime(2026, 12, 7, tzinfo=dt.UTC)) == dt.datetime(2019, 12, 7, tzinfo=dt.UTC)
    assert horizon(1, dt.datetime(2028, 2, 29, tzinfo=dt.UTC)) == dt.datetime(2027, 2, 28, tzinfo=dt.UTC)


async def test_only_rows_past_retention_are_purged(database_url: str) -> None:
    now = dt.datetime.now(dt.UTC)
    with psycopg.connect(database_url, autocommit=True) as conn:
        for age_days in (8 * 366, 6 * 365, 1):
            inserted = now - dt.timedelta(days=age_days)
            conn.execute(
                "INSERT INTO revbridge.ledger_fact (kind, key, system, record_id, occurred_at, recorded_at,"
                " inserted_at) VALUES ('invoice.billed', %s, 'billing', %s, %s, %s, %s)",
                (f"in_{age_days}", f"in_{age_days}", inserted, inserted, inserted),
            )
            conn.execute(
                "INSERT INTO revbridge.audit_event (source, operation, outcome, at)"
                " VALUES ('gateway', 'x', 'ok', %s)",
                (inserted,),
            )
    engine = create_engine(url=database_url)
    try:
        assert await purge(engine, years=7) == {"ledger_fact": 1, "audit_event": 1}
        assert await purge(engine, years=7) == {"ledger_fact": 0, "audit_event": 0}
    finally:
        await engine.dispose()
    with psycopg.connect(database_url) as conn:
        keys = [r[0] for r in conn.execute("SELECT key FROM revbridge.ledger_fact ORDER BY key")]
        assert keys == ["in_1", f"in_{6 * 365}"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("DELETE FROM revbridge.audit_event")
