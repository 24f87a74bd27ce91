"""Versions from the contracts: v1's summary is deprecated with headers, gone after its sunset; v2 routes."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
from revbridge_contracts.facts import Fact, FactKind, fact
from revbridge_db.engine import create_engine
from revbridge_experience.readmodel.fold import Folder

from tests.support.postgres import fresh_database
from tests.support.procs import free_port, running

from .conftest import in_process_gateway

pytestmark = pytest.mark.integration

SUMMARY_V1 = "/experience/v1/revenue/summary"
SUMMARY_V2 = "/experience/v2/revenue/summary"
SUNSET = dt.datetime(2027, 6, 30, tzinfo=dt.UTC).timestamp()


def test_deprecated_v1_summary_carries_deprecation_sunset_and_successor_headers(experience_api, tmp_path):
    with in_process_gateway(tmp_path, experience_url=experience_api) as gw:
        response = gw.call("GET", SUMMARY_V1, gw.token("revops-dashboard"))
        current = gw.call("GET", SUMMARY_V2, gw.token("revops-dashboard"))
    upstream = httpx.get(f"{experience_api}/v1/revenue/summary", timeout=15)
    assert response.status_code == upstream.status_code  # the experience API's own answer
    assert response.headers["deprecation"] == "@1795651200"  # 2026-11-26, RFC 9745
    assert response.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"  # RFC 8594 HTTP-date
    assert response.headers["link"] == '</experience/v2/revenue/summary>; rel="successor-version"'
    assert current.status_code == upstream.status_code and "deprecation" not in current.headers


def test_after_the_sunset_the_deprecated_operation_is_410_problem(experience_api, tmp_path):
    with in_process_gateway(tmp_path, experience_url=experience_api, clock=lambda: SUNSET + 1) as gw:
        gone = gw.call("GET", SUMMARY_V1, gw.token("revops-dashboard"))
        v2 = gw.call("GET", SUMMARY_V2, gw.token("revops-dashboard"))
    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"
    assert gone.json()["type"].endswith("sunset")
    assert gone.headers["link"].startswith("</experience/v2/revenue/summary>")
    upstream = httpx.get(f"{experience_api}/v2/revenue/summary", timeout=15)
    assert v2.status_code == upstream.status_code  # the successor still reaches its upstream


def facts() -> list[Fact]:
    """USD billed 90 (posted), collected 50 (not posted), booked 100; EUR billed 10 (posted)."""
    at = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)
    usd = {"currency": "USD", "entity": "US", "period": "2026-11", "occurred_at": at}
    eur = {"currency": "EUR", "entity": "IE", "period": "2026-11", "occurred_at": at}
    return [
        fact(FactKind.contract_booked, "800000000000001", "800000000000001", amount=100, **usd),
        fact(FactKind.invoice_billed, "in_1", "in_1", amount=90, **usd),
        fact(FactKind.invoice_posted, "in_1", "7", amount=90, **usd),
        fact(FactKind.payment_collected, "py_1", "py_1", amount=50, **usd),
        fact(FactKind.invoice_billed, "in_2", "in_2", amount=10, **eur),
        fact(FactKind.invoice_posted, "in_2", "8", amount=10, **eur),
    ]


async def _fold(database_url: str) -> None:
    engine = create_engine(url=database_url)
    try:
        await Folder(engine).fold_facts(facts())
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def experience_with_positions(pg_template: str) -> Iterator[str]:
    """An experience API whose read model holds the facts above (folded by the real folder)."""
    with fresh_database(pg_template) as database_url:
        asyncio.run(_fold(database_url))
        port = free_port()
        env = {
            "EXPERIENCE_PORT": str(port),
            "EXPERIENCE_PROCESS_API_URL": f"http://127.0.0.1:{free_port()}",
            "DATABASE_URL": database_url,
        }
        with running(
            "experience-api-v2",
            ["-m", "revbridge_experience.app"],
            f"http://127.0.0.1:{port}/healthz",
            env=env,
        ):
            yield f"http://127.0.0.1:{port}"


def test_v2_summary_groups_amounts_per_currency_with_a_reporting_block(experience_with_positions, tmp_path):
    with in_process_gateway(tmp_path, experience_url=experience_with_positions) as gw:
        response = gw.call("GET", SUMMARY_V2, gw.token("revops-dashboard"))
        v1 = gw.call("GET", SUMMARY_V1, gw.token("revops-dashboard"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reporting"]["currencies"] == ["EUR", "USD"]
    assert body["reporting"]["reconciled"] is False  # USD collections were not posted to the ERP
    assert body["amounts"]["EUR"]["reconciled"] is True
    assert body["amounts"]["USD"]["billings"] == 90 and body["amounts"]["USD"]["posted_payments"] == 0
    assert v1.status_code == 200 and [c["currency"] for c in v1.json()["currencies"]] == ["EUR", "USD"]
