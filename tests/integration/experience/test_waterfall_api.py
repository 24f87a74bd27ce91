"""The revenue waterfall through the real processes: facts appended to the ledger, folded by a
projector process, read from the experience API process over HTTP (real PostgreSQL, own database).

Past months must equal what the ERP facts say NetSuite holds, to the cent; the projected balance
rolls forward from NetSuite's; an amended contract's republished schedule replaces its forecast;
bad parameters are problem+json naming the field; the summary and lineage don't see forecasts."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from revbridge_contracts.facts import Fact, FactKind
from revbridge_db import ledger
from revbridge_db.engine import sqlalchemy_url
from sqlalchemy import Engine, create_engine, text

from tests.integration.experience.conftest import make
from tests.support.postgres import fresh_database
from tests.support.procs import LOG_DIR, free_port, running, wait_until

US, GB = "800000000000001AAA", "800000000000002AAA"
BOOKED = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)
AMENDED = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
AS_OF = "2026-12"
MONTHS = [f"{y}-{m:02d}" for y, m in [(2026, 10), (2026, 11), (2026, 12)] + [(2027, m) for m in range(1, 10)]]


@dataclass(frozen=True)
class Stack:
    api: str
    db: Engine

    def publish(self, *facts: Fact) -> None:
        with self.db.begin() as conn:
            conn.execute(ledger.INSERT, [ledger.fact_row(f) for f in facts])

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.api}{path}", params=params, timeout=10)

    def waterfall(self, **params: Any) -> dict[str, Any]:
        response = self.get("/v2/revenue/waterfall", **{"as_of": AS_OF, **params})
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture(scope="module")
def stack(pg_template: str) -> Iterator[Stack]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with fresh_database(pg_template) as database_url:
        env = {
            "EXPERIENCE_PORT": str(port),
            "EXPERIENCE_PROCESS_API_URL": f"http://127.0.0.1:{free_port()}",  # a closed port: not needed
            "EXPERIENCE_IDLE_POLL_MS": "20",
            "DATABASE_URL": database_url,
        }
        db = create_engine(sqlalchemy_url(database_url))

        def roles_written() -> bool:
            with db.connect() as conn:
                return bool(conn.execute(text("SELECT count(*) FROM revbridge.rm_role")).scalar())

        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with (
            open(LOG_DIR / f"projector-waterfall-{os.getpid()}.log", "wb") as log,
            subprocess.Popen(
                [sys.executable, "-m", "revbridge_experience.projector"],
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            ) as projector,
        ):
            try:
                wait_until(
                    lambda: projector.poll() is None and roles_written(), timeout=20, message="the projector"
                )
                with running(
                    "experience-api", ["-m", "revbridge_experience.app"], f"{base}/healthz", env=env
                ):
                    yield Stack(base, db)
            finally:
                projector.terminate()
                projector.wait(timeout=10)
                db.dispose()


def scheduled(
    contract: str, at: dt.datetime, months: dict[str, tuple[int, int]], **values: Any
) -> list[Fact]:
    return [
        make(
            kind,
            f"{contract}:{month}",
            amounts[i],
            record_id=contract,
            contract_id=contract,
            invoice_id=None,
            period=month,
            occurred_at=at,
            recorded_at=at,
            **values,
        )
        for i, kind in enumerate((FactKind.billing_scheduled, FactKind.revenue_scheduled))
        for month, amounts in months.items()
    ]


# The US contract: 12,000.00 a year billed up front from 2026-10, 1,000.00 of revenue a month.
US_SCHEDULE = {m: (120_000 if m == "2026-10" else 0, 10_000) for m in MONTHS}
# What the ERP facts say NetSuite holds (kind, key, amount, period, status), and a billing-side
# invoice that never reached NetSuite (it must not count: the waterfall reads NetSuite's side).
ERP = [
    (FactKind.invoice_posted, "in_1", 120_000, "2026-10", "posted"),
    (FactKind.revenue_recognized, "il_1:2026-10", 10_000, "2026-10", "recognized"),
    (FactKind.revenue_recognized, "il_1:2026-11", 10_000, "2026-11", "recognized"),
    (FactKind.credit_posted, "cn_1", 2_501, "2026-11", "issued"),
    (FactKind.invoice_posted, "in_2", 3_003, "2026-11", "posted"),
    (FactKind.invoice_void_posted, "in_2", 3_003, "2026-11", "void"),
    (FactKind.revenue_recognized, "il_9:2026-11", 499, "2026-11", "reversed"),
    (FactKind.revenue_recognized, "il_1:2026-12", 10_000, "2026-12", "recognized"),  # the current month
]
SIGN = {
    FactKind.invoice_posted: ("billed", 1),
    FactKind.credit_posted: ("billed", -1),
    FactKind.invoice_void_posted: ("billed", -1),
}


def netsuite_by_month() -> dict[str, dict[str, int]]:
    """The oracle: NetSuite's billed and recognized per month, from the ERP records themselves."""
    out: dict[str, dict[str, int]] = {}
    for kind, _, amount, period, status in ERP:
        month = out.setdefault(period, {"billed": 0, "recognized": 0})
        if kind is FactKind.revenue_recognized:
            month["recognized"] += -amount if status == "reversed" else amount
        else:
            name, sign = SIGN[kind]
            month[name] += sign * amount
    return out


def erp_facts() -> list[Fact]:
    return [
        make(kind, key, amount, period=period, status=status, contract_id=US, occurred_at=BOOKED)
        for kind, key, amount, period, status in ERP
    ]


def series(body: dict[str, Any], entity: str) -> dict[str, Any]:
    [found] = [s for s in body["series"] if s["entity"] == entity]
    return found


@pytest.fixture(scope="module")
def published(stack: Stack) -> Stack:
    stack.publish(
        *scheduled(US, BOOKED, US_SCHEDULE),
        *scheduled(GB, BOOKED, {"2026-11": (5_000, 5_000)}, entity="GB", currency="GBP"),
        *erp_facts(),
        make(FactKind.invoice_billed, "in_3", 777_777, period="2026-11", contract_id=US),
    )

    def folded() -> bool:
        return stack.waterfall()["facts_folded_at"] is not None and len(stack.waterfall()["series"]) == 2

    wait_until(folded, timeout=20, message="the projector to fold the facts")
    wait_until(
        lambda: series(stack.waterfall(), "US")["forecast"][0]["recognized_to_date"] == 10_000,
        timeout=20,
        message="every fact folded",
    )
    return stack


def test_past_months_are_netsuites_figures_to_the_cent_and_the_balance_rolls_forward(
    published: Stack,
) -> None:
    body = published.waterfall(months=3)
    assert (body["as_of"], body["months"], body["history_months"]) == (AS_OF, 3, 12)
    us = series(body, "US")
    assert us["currency"] == "USD"
    oracle = netsuite_by_month()
    assert [a["period"] for a in us["actuals"]] == ["2026-10", "2026-11"]
    balance = 0
    for row in us["actuals"]:
        expected = oracle[row["period"]]
        balance += expected["billed"] - expected["recognized"]
        assert (row["billed"], row["recognized"], row["deferred_revenue"]) == (
            expected["billed"],
            expected["recognized"],
            balance,
        )
        scheduled_billings, scheduled_revenue = US_SCHEDULE[row["period"]]
        assert row["billings_variance"] == expected["billed"] - scheduled_billings
        assert row["revenue_variance"] == expected["recognized"] - scheduled_revenue
    november = us["actuals"][1]
    assert (november["posted_invoices"], november["posted_credits"], november["posted_voids"]) == (
        3_003,
        2_501,
        3_003,
    )
    assert (november["journal_entries"], november["reversals"]) == (10_000, 499)
    assert us["opening_deferred_revenue"] == balance == 120_000 - 2_501 - 20_000 + 499
    rows = [(f["period"], f["billings"], f["revenue"], f["deferred_revenue"]) for f in us["forecast"]]
    assert rows == [
        ("2026-12", 0, 10_000, balance - 10_000),
        ("2027-01", 0, 10_000, balance - 20_000),
        ("2027-02", 0, 10_000, balance - 30_000),
    ]
    gb = series(body, "GB")
    assert gb["currency"] == "GBP" and gb["actuals"][0]["scheduled_billings"] == 5_000
    assert gb["actuals"][0]["billings_variance"] == -5_000  # scheduled, never posted in NetSuite


def test_filters_and_the_default_horizon(published: Stack) -> None:
    only_gb = published.waterfall(entity="GB")
    assert [s["entity"] for s in only_gb["series"]] == ["GB"] and only_gb["entity"] == "GB"
    assert [s["currency"] for s in published.waterfall(currency="USD")["series"]] == ["USD"]
    assert len(series(published.waterfall(), "US")["forecast"]) == 24
    default = published.get("/v2/revenue/waterfall").json()
    assert default["as_of"] == dt.datetime.now(dt.UTC).strftime("%Y-%m")


def test_an_amended_contract_republished_replaces_its_forecast(published: Stack) -> None:
    # upgraded from 2027-01 (a 6,000.00 proration invoice, 1,500.00 a month) and ended at 2027-06:
    # the flow republishes the term it has now; 2027-07..09 of the old schedule are not republished
    amended = {m: (60_000 if m == "2027-01" else US_SCHEDULE[m][0], 10_000) for m in MONTHS[:3]}
    amended |= {m: (60_000 if m == "2027-01" else 0, 15_000) for m in MONTHS[3:9]}
    published.publish(*scheduled(US, AMENDED, amended))

    def forecast() -> list[tuple[str, int, int]]:
        us = series(published.waterfall(months=12), "US")
        return [(f["period"], f["scheduled_billings"], f["scheduled_revenue"]) for f in us["forecast"]]

    expected = [(m, *amended.get(m, (0, 0))) for m in MONTHS[2:]] + [("2027-10", 0, 0), ("2027-11", 0, 0)]
    wait_until(lambda: forecast() == expected, timeout=20, message="the amended schedule to replace the old")
    us = series(published.waterfall(months=12), "US")
    opening = us["opening_deferred_revenue"]
    assert [f["deferred_revenue"] for f in us["forecast"][:3]] == [
        opening - 10_000,
        opening - 10_000 + 60_000 - 15_000,
        opening - 10_000 + 60_000 - 30_000,
    ]
    assert us["forecast"][-1]["deferred_revenue"] == opening - 10_000 + 60_000 - 6 * 15_000


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"months": "0"}, "query.months"),
        ({"months": "37"}, "query.months"),
        ({"months": "two"}, "query.months"),
        ({"as_of": "2026-13"}, "query.as_of"),
        ({"as_of": "2026-1"}, "query.as_of"),
        ({"entity": "U S"}, "query.entity"),
        ({"currency": "usd"}, "query.currency"),
        ({"asof": "2026-12"}, "query.asof"),
    ],
)
def test_a_bad_parameter_is_a_problem_naming_it(stack: Stack, params: dict[str, str], field: str) -> None:
    response = stack.get("/v2/revenue/waterfall", **params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [p["name"] for p in response.json()["invalid_params"]] == [field]


def test_the_summary_and_lineage_do_not_see_the_forecast(published: Stack) -> None:
    summary = published.get("/v2/revenue/summary").json()
    assert summary["reporting"]["periods"] == ["2026-10", "2026-11", "2026-12"]  # no forecast months
    assert summary["amounts"]["USD"]["figures"]["reversed_revenue"] == 499
    assert summary["amounts"]["USD"]["recognized"] == 30_000  # the reversal is not added to it
    assert "GBP" not in summary["amounts"]  # GB has a schedule but nothing billed or posted
    view = published.get(f"/v2/lineage/contracts/{US}").json()
    kinds = {r["record_type"] for system in ("crm", "billing", "erp") for r in view[system]}
    assert not kinds & {"billing.scheduled", "revenue.scheduled"}
    assert published.get(f"/v2/lineage/contracts/{GB}").status_code == 404
