"""The retention purge deletes only what is older than the retention in years, through the
append-only guards, from every durable table: the ledger, the audit trail, usage acceptances,
resolved exceptions with their history (never a live one), reconciliation runs with their
differences and onboarding statuses; anything else is refused a delete."""

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
        assert (await purge(engine, years=7))["ledger_fact"] == 1
        assert set((await purge(engine, years=7)).values()) == {0}
    finally:
        await engine.dispose()
    with psycopg.connect(database_url) as conn:
        keys = [r[0] for r in conn.execute("SELECT key FROM revbridge.ledger_fact ORDER BY key")]
        assert keys == ["in_1", f"in_{6 * 365}"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("DELETE FROM revbridge.audit_event")


async def test_process_state_past_retention_goes_with_its_history_and_live_work_stays(
    database_url: str,
) -> None:
    now = dt.datetime.now(dt.UTC)
    old, recent = now - dt.timedelta(days=8 * 366), now - dt.timedelta(days=30)
    with psycopg.connect(database_url, autocommit=True) as conn:
        for record_id, status, at in (
            ("onboarding:old-resolved", "resolved", old),
            ("onboarding:old-open", "open", old),
            ("onboarding:recent-resolved", "resolved", recent),
        ):
            conn.execute(
                "INSERT INTO revbridge.exception_record (id, flow, business_key, error_class, reason, owner,"
                " status, first_seen, last_seen, sla_due, resolved_at) VALUES (%s, 'onboarding', %s,"
                " 'mapping_missing', 'why', 'integration-ops', %s, %s, %s, %s, %s)",
                (record_id, record_id, status, at, at, at, at if status == "resolved" else None),
            )
            for action in ("opened", "retry"):
                conn.execute(
                    "INSERT INTO revbridge.exception_action (exception_id, at, action) VALUES (%s, %s, %s)",
                    (record_id, at, action),
                )
        for run_id, at in (("run-old", old), ("run-recent", recent)):
            conn.execute(
                "INSERT INTO revbridge.reconciliation_run (id, status, trigger, started_at)"
                " VALUES (%s, 'done', 'schedule', %s)",
                (run_id, at),
            )
            conn.execute(
                "INSERT INTO revbridge.reconciliation_difference (run_id, n, pair, category, business_key,"
                " detail) VALUES (%s, 0, 'billing_erp', 'missing', 'in_1', 'x')",
                (run_id,),
            )
        for contract, at in (("800000000000001", old), ("800000000000002", recent)):
            conn.execute(
                "INSERT INTO revbridge.onboarding_status (contract_id, state, updated_at)"
                " VALUES (%s, 'done', %s)",
                (contract, at),
            )
        for event, at in (("u-old", old), ("u-recent", recent)):
            conn.execute(
                "INSERT INTO revbridge.usage_acceptance (received_at, sender, event_id, batch_index, outcome)"
                " VALUES (%s, 'meter', %s, 0, 'accepted')",
                (at, event),
            )
    engine = create_engine(url=database_url)
    try:
        deleted = await purge(engine, years=7, batch=1)  # batches of one: the loop goes round
    finally:
        await engine.dispose()
    assert {table: n for table, n in deleted.items() if n} == {
        "exception_record": 1,
        "exception_action": 2,
        "reconciliation_run": 1,
        "reconciliation_difference": 1,
        "onboarding_status": 1,
        "usage_acceptance": 1,
    }
    with psycopg.connect(database_url) as conn:
        records = [r[0] for r in conn.execute("SELECT id FROM revbridge.exception_record ORDER BY id")]
        assert records == ["onboarding:old-open", "onboarding:recent-resolved"]
        histories = conn.execute("SELECT DISTINCT exception_id FROM revbridge.exception_action ORDER BY 1")
        assert [r[0] for r in histories] == records
        assert [r[0] for r in conn.execute("SELECT run_id FROM revbridge.reconciliation_difference")] == [
            "run-recent"
        ]
        assert [r[0] for r in conn.execute("SELECT event_id FROM revbridge.usage_acceptance")] == ["u-recent"]
        assert [r[0] for r in conn.execute("SELECT contract_id FROM revbridge.onboarding_status")] == [
            "800000000000002"
        ]
