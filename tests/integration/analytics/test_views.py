"""The ``analytics`` star (migration 0004) on a real ledger folded into the read model: the SQL
examples of docs/analytics.md return the figures a finance team expects, each record once at its
newest version, reversing journal entries netted, amounts in exact major units; and the BI role the
doc creates reads the views and nothing else."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg.rows import dict_row
from revbridge_contracts.facts import Fact, FactKind
from revbridge_db.engine import create_engine
from revbridge_process import dimensions
from revbridge_process.config import load_config

from tests.integration.analytics.conftest import ROOT, T0, doc_sql, load, make

C2, C3 = "800000000000002AAA", "800000000000003AAA"
NOV = {"period": "2026-11", "occurred_at": T0 + dt.timedelta(days=31)}
GB = {"entity": "GB", "currency": "GBP", "contract_id": C3, "customer_id": "001000000000003AAA"}


def facts() -> list[Fact]:
    later = T0 + dt.timedelta(minutes=1)
    return [
        make(FactKind.contract_booked, "800000000000001AAA", 120_000, invoice_id=None, status="activated"),
        make(FactKind.invoice_billed, "in_1", 12_000, status="open"),
        make(FactKind.invoice_billed, "in_1", 10_000, status="paid", recorded_at=later),  # replaces it
        make(FactKind.invoice_billed, "in_2", 500, invoice_id="in_2"),
        make(FactKind.payment_collected, "py_1", 10_000, status="succeeded"),
        make(FactKind.revenue_recognized, "il_1:2026-10", 4_000, record_id="je1", status="recognized"),
        make(FactKind.revenue_recognized, "il_2:2026-10", 1_000, record_id="je2", status="reversed"),
        make(FactKind.revenue_recognized, "il_1:2026-11", 2_000, record_id="je3", status="recognized", **NOV),
        make(FactKind.invoice_posted, "in_1", 10_000, record_id="77", status="posted"),
        make(FactKind.credit_issued, "cn_1", 1_000, **NOV),
        make(FactKind.credit_posted, "cn_1", 1_000, record_id="78", **NOV),
        make(FactKind.invoice_billed, "in_jp", 5_000, invoice_id="in_jp", currency="JPY", contract_id=C2),
        make(FactKind.invoice_billed, "in_3", 7_000, invoice_id="in_3", **GB, **NOV),
        make(FactKind.payment_collected, "py_3", 7_000, invoice_id="in_3", **GB, **NOV),
        make(
            FactKind.revenue_recognized,
            "il_3:2026-11",
            2_500,
            invoice_id="in_3",
            status="recognized",
            **GB,
            **NOV,
        ),
        make(FactKind.billing_scheduled, "800000000000001AAA:2027-03", 10_000, period="2027-03"),
    ]


def query(url: str, statement: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(statement, params).fetchall()  # type: ignore[arg-type]


@pytest.fixture
def folded(database_url: str) -> str:
    load(database_url, facts())

    async def seed() -> None:
        engine = create_engine(url=database_url)
        try:
            await dimensions.seed(engine, load_config(ROOT / "config").mappings)
        finally:
            await engine.dispose()

    asyncio.run(seed())
    return database_url


def test_the_four_way_report_counts_each_record_once_and_nets_reversed_revenue(folded: str) -> None:
    rows = query(folded, doc_sql("four-way"))
    figures = {
        (r["period"], r["entity"], r["currency"]): (
            r["bookings"],
            r["billings"],
            r["collections"],
            r["recognized_revenue"],
        )
        for r in rows
    }
    assert figures == {
        # in_1 billed 120.00 then replaced by 100.00: counted once, at 100.00; a reversed 10.00 is netted
        ("2026-10", "US", "USD"): (
            Decimal("1200.00"),
            Decimal("105.00"),
            Decimal("100.00"),
            Decimal("30.00"),
        ),
        ("2026-10", "US", "JPY"): (0, Decimal("5000"), 0, 0),  # a zero-decimal currency: 5000 minor = ¥5000
        ("2026-11", "US", "USD"): (0, 0, 0, Decimal("20.00")),
        ("2026-11", "GB", "GBP"): (0, Decimal("70.00"), Decimal("70.00"), Decimal("25.00")),
    }
    first = rows[0]
    assert first["year_quarter"] == "2026-Q4" and first["entity_name"] == "Revbridge Inc."


def test_deferred_revenue_is_the_cumulative_erp_billed_less_net_recognized(folded: str) -> None:
    rows = [r for r in query(folded, doc_sql("deferred-revenue")) if r["currency"] == "USD"]
    by_month = {r["period"]: (r["billed"], r["recognized"], r["deferred_revenue"]) for r in rows}
    assert by_month["2026-10"] == (Decimal("100.00"), Decimal("30.00"), Decimal("70.00"))
    assert by_month["2026-11"] == (Decimal("-10.00"), Decimal("20.00"), Decimal("40.00"))  # a credit memo
    later = [v for p, v in by_month.items() if p > "2026-11"]
    assert later and all(v == (0, 0, Decimal("40.00")) for v in later)  # through the forecast month


def test_dimensions_and_signed_facts(folded: str) -> None:
    [contract] = query(
        folded, "SELECT * FROM analytics.dim_contract WHERE contract_id = '800000000000001AAA'"
    )
    assert contract["booked"] and contract["contract_value"] == Decimal("1200.00")
    assert contract["start_period"] == "2026-10" and contract["currency"] == "USD"
    assert {r["contract_id"]: r["booked"] for r in query(folded, "SELECT * FROM analytics.dim_contract")} == {
        "800000000000001AAA": True,
        C2: False,
        C3: False,
    }
    [major] = query(
        folded, "SELECT analytics.to_major(1234, 'KWD') AS kwd, analytics.to_major(-5, 'usd') AS usd"
    )
    assert (major["kwd"], major["usd"]) == (Decimal("1.234"), Decimal("-0.05"))
    currencies = {r["currency"]: r["exponent"] for r in query(folded, "SELECT * FROM analytics.dim_currency")}
    assert currencies == {"USD": 2, "GBP": 2, "JPY": 0}
    periods = [r["period"] for r in query(folded, "SELECT period FROM analytics.dim_period ORDER BY 1")]
    assert periods[0] == "2026-10" and "2027-03" in periods and len(periods) == len(set(periods))
    [credit] = query(folded, "SELECT * FROM analytics.fact_billing_adjustments")
    assert (credit["adjustment_type"], credit["signed_amount"]) == ("credit", Decimal("-10.00"))
    [schedule] = query(folded, "SELECT * FROM analytics.fact_scheduled")
    assert (schedule["schedule"], schedule["period"], schedule["amount"]) == ("billings", "2027-03", 100)
    entities = {r["entity"]: r["name"] for r in query(folded, "SELECT * FROM analytics.dim_entity")}
    assert entities == {"US": "Revbridge Inc.", "GB": "Revbridge Ltd"}
    assert len(query(folded, "SELECT * FROM analytics.dim_product WHERE product_type = 'usage'")) == 1
    [customer] = query(folded, "SELECT * FROM analytics.dim_customer WHERE contracts > 0")
    assert customer["customer_id"] == "001000000000001AAA" and customer["first_booked_period"] == "2026-10"


def test_the_doc_bi_role_reads_analytics_and_nothing_else(database_url: str) -> None:
    load(database_url, [make(FactKind.invoice_billed, "in_1", 12_000)])
    role = f"rbtest_bi_{os.getpid()}"
    dbname = database_url.rsplit("/", 1)[1]
    script = doc_sql("bi-role").replace("revbridge_bi", role)
    script = re.sub(r"ON DATABASE revbridge\b", f'ON DATABASE "{dbname}"', script)
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(script)  # type: ignore[arg-type]
        try:
            parts = urlsplit(database_url)
            as_bi = urlunsplit(parts._replace(netloc=f"{role}:change-me@{parts.netloc.rsplit('@', 1)[-1]}"))
            with psycopg.connect(as_bi, autocommit=True) as bi:
                assert bi.execute("SELECT sum(amount) FROM fact_billings").fetchone() == (Decimal("120.00"),)
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    bi.execute("SELECT count(*) FROM revbridge.ledger_fact")
                with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                    bi.execute("INSERT INTO analytics.ref_product VALUES ('X', 'x', 'usage', 'p', '1', NULL)")
        finally:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


def test_usage_counts_each_event_sent_to_stripe_once(folded: str) -> None:
    def event(event_id: str, outcome: str, quantity: str, at: dt.datetime, billed: bool) -> tuple[Any, ...]:
        return ("partner", event_id, outcome, "api_calls", Decimal(quantity), at, at if billed else None)

    oct_9, nov_2 = T0 + dt.timedelta(days=4), T0 + dt.timedelta(days=28)
    rows = [
        event("e1", "accepted", "1.5", oct_9, billed=True),
        event("e1", "duplicate", "99", oct_9, billed=False),  # a resend: Stripe has e1 once
        event("e2", "rejected", "7", oct_9, billed=False),
        event("e3", "duplicate", "2", oct_9, billed=False),  # accepted, its record lost: the resend's
        event("e4", "accepted", "0.25", nov_2, billed=True),
    ]
    with psycopg.connect(folded) as conn:
        conn.cursor().executemany(
            "INSERT INTO revbridge.usage_acceptance (sender, event_id, batch_index, outcome, meter, "
            "quantity, occurred_at, billed_at, contract_id, billing_account) "
            "VALUES (%s, %s, 0, %s, %s, %s, %s, %s, '800000000000001AAA', 'default')",
            rows,
        )
    totals = query(
        folded,
        "SELECT period, entity, customer_id, product_code, sum(quantity) AS quantity, count(*) AS events "
        "FROM analytics.fact_usage GROUP BY 1, 2, 3, 4 ORDER BY 1",
    )
    common = {"entity": "US", "customer_id": "001000000000001AAA", "product_code": "API-CALLS"}
    assert totals == [
        {"period": "2026-10", **common, "quantity": Decimal("3.5"), "events": 2},
        {"period": "2026-11", **common, "quantity": Decimal("0.25"), "events": 1},
    ]
