"""The reports agree with the platforms: the revenue summary's four figures, read through the gateway
from the read model, equal to the cent what the sandboxes hold for the seeded month — two legal
entities (US in USD, GB in GBP) — and an ERP posting that could not happen shows as a variance, down
to the record behind it.

The stack is this module's own (not the e2e session's), so the month holds only what the seed made
and every expected figure is read back from Salesforce, Stripe and NetSuite themselves.

Last, on the same stack (it needs a whole stack of its own to empty, and starting one costs ~20 s):
losing Redis loses nothing durable. A book of invoices is posted, an exception is acted on, then
Redis is emptied (every key of the stack) and every revbridge process restarted. The dashboard's
figures, a contract's lineage (its records, amounts and statuses) and the exception's history read
the same from PostgreSQL — the re-read of the CRM that follows (the poller's watermark was in Redis)
re-runs flows without duplicating anything — and new events are processed as before: the next
contract's invoice reaches the ERP once and the figures grow by it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from scripts import seed
from scripts.stack import DEFAULT_PORTS, Stack, free_ports, running_stack
from tests.e2e import money
from tests.e2e.money import ledger_folded
from tests.e2e.test_dashboard import hold_a_contract_on_an_unmapped_product
from tests.support.postgres import fresh_database
from tests.support.procs import wait_until
from tests.support.redis import REDIS_URL, isolated_prefix

ENTITY_OF_SUBSIDIARY = {"1": ("US", "USD"), "2": ("GB", "GBP")}
ACCOUNT_KEYS = {"US": seed.STRIPE_KEY, "GB": seed.STRIPE_UK_KEY}
UNMAPPED = "WIDGET-LEGACY"
LINES_OF = "SELECT Quantity, UnitPrice FROM OpportunityLineItem WHERE OpportunityId ="
SEGMENTS_OF = (
    "SELECT SBQQ__Quantity__c, SBQQ__NetPrice__c, SBQQ__ChargeType__c FROM SBQQ__Subscription__c "
    "WHERE SBQQ__Contract__c ="
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, pg_template: str) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("reports-stack")
    with isolated_prefix() as prefix, fresh_database(pg_template) as database_url:
        s = Stack(
            database_url=database_url,
            ports=free_ports(DEFAULT_PORTS),
            redis_url=REDIS_URL,
            key_prefix=prefix,
            log_dir=tmp / "logs",
            keys_dir=tmp / "keys",
            extra_env={"SALESFORCE_POLL_INTERVAL_SECONDS": "300"},
        )
        with running_stack(s):
            yield s


@pytest.fixture(scope="module")
def demo(stack: Stack) -> seed.Demo:
    return seed.seed_demo(stack)


@pytest.fixture(scope="module")
def token(stack: Stack, demo: seed.Demo) -> str:
    return seed.gateway_token(stack.url("gateway"))


def cents(value: float) -> int:
    return int((Decimal(str(value)) * 100).to_integral_value())


def month() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m")


def get(stack: Stack, token: str, path: str, **params: Any) -> dict[str, Any]:
    response = httpx.get(
        f"{stack.url('gateway')}/experience{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def settled(stack: Stack) -> bool:
    """Every event handled by the workers and every fact folded by the projector."""
    r = redis.Redis.from_url(stack.redis_url)
    try:
        for stream in ("events:crm", "events:billing"):
            key = stack.key_prefix + stream
            if r.exists(key):
                for group in r.xinfo_groups(key):
                    if group["pending"] or (group.get("lag") or 0):
                        return False
    finally:
        r.close()
    return ledger_folded(stack)


def netsuite(stack: Stack, record_type: str) -> list[dict[str, Any]]:
    body = httpx.get(f"{stack.url('netsuite')}/__sandbox/records/{record_type}", timeout=10).json()
    return list(body if isinstance(body, list) else body.get("data") or body.get("items") or [])


def stripe_invoices(stack: Stack, entity: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=stack.url("stripe"), auth=(ACCOUNT_KEYS[entity], ""), timeout=10) as client:
        return list(client.get("/v1/invoices", params={"limit": 100}).json()["data"])


def soql(crm: httpx.Client, query: str) -> list[dict[str, Any]]:
    return list(crm.get("/query", params={"q": query}).raise_for_status().json()["records"])


def platform_figures(stack: Stack) -> dict[tuple[str, str], dict[str, int]]:
    """The month's figures per (entity, currency), each from its system of record."""
    figures: dict[tuple[str, str], dict[str, int]] = {
        cell: dict.fromkeys(("bookings", "billings", "collections", "recognized", "posted", "paid"), 0)
        for cell in ENTITY_OF_SUBSIDIARY.values()
    }
    by_currency = {currency: cell for cell in figures for currency in [cell[1]]}
    with seed.salesforce_client(stack.url("salesforce")) as crm:
        for contract in soql(
            crm, "SELECT Id, ContractTerm, CurrencyIsoCode, Status, StartDate FROM Contract"
        ):
            if contract["Status"] != "Activated" or not str(contract["StartDate"]).startswith(month()):
                continue  # booked in its start month (the summary's period)
            segments = soql(crm, f"{SEGMENTS_OF} '{contract['Id']}'")
            if segments:  # a CPQ contract: each recurring segment's net price per unit times its quantity
                figures[by_currency[contract["CurrencyIsoCode"]]]["bookings"] += sum(
                    cents(s["SBQQ__NetPrice__c"]) * int(s["SBQQ__Quantity__c"])
                    for s in segments
                    if s["SBQQ__ChargeType__c"] == "Recurring"
                )
                continue
            opportunities = soql(crm, f"SELECT Id FROM Opportunity WHERE ContractId = '{contract['Id']}'")
            monthly = sum(
                cents(line["UnitPrice"]) * int(line["Quantity"])
                for opp in opportunities
                for line in soql(crm, f"{LINES_OF} '{opp['Id']}'")
            )
            figures[by_currency[contract["CurrencyIsoCode"]]]["bookings"] += monthly * int(
                contract["ContractTerm"]
            )
    for entity, currency in figures:
        for invoice in stripe_invoices(stack, entity):
            if invoice["status"] in ("open", "paid", "uncollectible"):
                figures[(entity, currency)]["billings"] += invoice["total"]
                figures[(entity, currency)]["collections"] += invoice["amount_paid"]
    for invoice in netsuite(stack, "invoice"):
        figures[ENTITY_OF_SUBSIDIARY[invoice["subsidiary"]]]["posted"] += cents(invoice["total"])
    for payment in netsuite(stack, "customerpayment"):
        figures[ENTITY_OF_SUBSIDIARY[payment["subsidiary"]]]["paid"] += cents(payment["payment"])
    for entry in netsuite(stack, "journalentry"):
        revenue = sum(cents(line.get("credit") or 0) for line in entry["line"] if line["account"] == "4")
        figures[ENTITY_OF_SUBSIDIARY[entry["subsidiary"]]]["recognized"] += revenue
    return figures


def summary_figures(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, int]]:
    out = {}
    for cell in body["breakdown"]:
        f = cell["figures"]
        out[(cell["entity"], cell["currency"])] = {
            "bookings": f["bookings"],
            "billings": f["billings"],
            "collections": f["collections"],
            "recognized": f["recognized"],
            "posted": f["posted_invoices"],
            "paid": f["posted_payments"],
        }
    return out


def test_the_four_figures_agree_with_the_platforms_to_the_cent_per_entity_and_currency(
    stack: Stack, demo: seed.Demo, token: str
) -> None:
    wait_until(lambda: settled(stack), timeout=60, message="the workers and the projector to settle")
    expected = platform_figures(stack)
    assert all(expected[c]["billings"] > 0 and expected[c]["bookings"] > 0 for c in expected), expected
    assert expected[("US", "USD")]["collections"] > 0 and expected[("US", "USD")]["recognized"] > 0

    def agrees() -> bool:
        return summary_figures(get(stack, token, "/v2/revenue/summary", period=month())) == expected

    wait_until(agrees, timeout=30, message="the summary to agree with the platforms")
    body = get(stack, token, "/v2/revenue/summary", period=month())
    assert body["reporting"]["source"] == "read-model" and body["reporting"]["entities"] == ["GB", "US"]
    assert body["reporting"]["reconciled"] is True
    usd, gbp = body["amounts"]["USD"], body["amounts"]["GBP"]
    assert usd["billings"] == expected[("US", "USD")]["billings"]
    assert gbp["recognized"] == expected[("GB", "GBP")]["recognized"]
    # one entity, and the reporting currency at the configured rate (GBP 1.27 USD), rounded per cell
    only_gb = get(stack, token, "/v2/revenue/summary", period=month(), entity="GB", reporting_currency="USD")
    assert list(only_gb["amounts"]) == ["GBP"]
    gb_billings = expected[("GB", "GBP")]["billings"]
    assert only_gb["reporting_totals"]["billings"] == int(
        (Decimal(gb_billings) * Decimal("1.27")).quantize(Decimal(1), rounding="ROUND_HALF_EVEN")
    )
    # the deprecated v1 keeps its shape and reads the same figures
    v1 = get(stack, token, "/v1/revenue/summary")
    assert {c["currency"]: c["billings"] for c in v1["currencies"]} == {
        "GBP": gbp["billings"],
        "USD": usd["billings"],
    }
    # drill down: the records behind US billings add up to the figure
    page = get(stack, token, "/v2/revenue/records", figure="billings", period=month(), entity="US")
    assert page["amount"] == sum(r["amount"] for r in page["items"]) == usd["billings"]
    assert {r["id"] for r in page["items"]} >= {demo.invoice_id}


def test_lineage_runs_from_the_contract_to_the_journal_entries(
    stack: Stack, demo: seed.Demo, token: str
) -> None:
    wait_until(lambda: settled(stack), timeout=60, message="the workers and the projector to settle")
    lineage = get(stack, token, "/v2/lineage", contract_id=demo.contract_id)
    [contract] = lineage["contracts"]
    assert contract["contract"]["id"] == demo.contract_id
    assert contract["billing_customer"]["id"].startswith("cus_")
    assert contract["subscription"]["id"].startswith("sub_") and contract["erp_customer"]["system"] == "erp"
    [invoice] = [i for i in contract["invoices"] if i["invoice_id"] == demo.invoice_id]
    erp = with_external_id(netsuite(stack, "invoice"), demo.invoice_id)
    assert invoice["posted"]["id"] == erp["id"] and invoice["reconciled"] is True
    assert [p["status"] for p in invoice["payments"]] in (["succeeded"], ["paid"])
    assert len(invoice["posted_payments"]) == len(invoice["payments"]) == 1
    journal_ids = {
        e["id"]
        for e in netsuite(stack, "journalentry")
        if e["externalId"].split(":")[0] in line_ids(stack, demo)
    }
    assert {j["id"] for j in invoice["journal_entries"]} == journal_ids and journal_ids
    assert all(r["trace_id"] for r in (invoice["billed"], invoice["posted"]))
    by_invoice = get(stack, token, "/v2/lineage", invoice_id=demo.invoice_id)
    assert [i["invoice_id"] for c in by_invoice["contracts"] for i in c["invoices"]] == [demo.invoice_id]
    by_customer = get(stack, token, "/v2/lineage", customer_id=demo.account_id)
    assert demo.contract_id in [c["contract_id"] for c in by_customer["contracts"]]


def with_external_id(records: list[dict[str, Any]], external_id: str) -> dict[str, Any]:
    [record] = [r for r in records if r.get("externalId") == external_id]
    return record


def line_ids(stack: Stack, demo: seed.Demo) -> set[str]:
    [invoice] = [i for i in stripe_invoices(stack, "US") if i["id"] == demo.invoice_id]
    return {line["id"] for line in invoice["lines"]["data"]}


def test_an_erp_posting_that_could_not_happen_shows_as_a_variance_down_to_its_invoice(
    stack: Stack, demo: seed.Demo, token: str
) -> None:
    """A GB invoice with a line whose product has no ERP mapping: billed in Stripe, never posted."""
    with seed.salesforce_client(stack.url("salesforce")) as crm:
        subscription = crm.get(f"/sobjects/Contract/{demo.uk_contract_id}").json()[
            "Billing_Subscription_Id__c"
        ]
    with httpx.Client(base_url=stack.url("stripe"), auth=(seed.STRIPE_UK_KEY, ""), timeout=10) as billing:
        product = billing.post(
            "/v1/products", data={"name": "Legacy widget", "metadata[revbridge_product_code]": UNMAPPED}
        ).json()
        price = billing.post(
            "/v1/prices",
            data={
                "product": product["id"],
                "currency": "gbp",
                "unit_amount": 4321,
                "recurring[interval]": "month",
            },
        ).json()
        updated = billing.post(
            f"/v1/subscriptions/{subscription}",
            data={
                "items[0][price]": price["id"],
                "items[0][quantity]": 1,
                "proration_behavior": "always_invoice",
            },
        )
        assert updated.status_code == 200, updated.text
        invoice = billing.get(f"/v1/invoices/{updated.json()['latest_invoice']}").json()
    assert invoice["status"] in ("open", "paid") and invoice["total"] > 0

    def variance() -> dict[str, Any] | None:
        body = get(stack, token, "/v2/revenue/summary", period=month(), entity="GB")
        [v] = [v for v in body["amounts"]["GBP"]["variances"] if v["name"] == "billings_vs_erp_invoices"]
        return v if v["difference"] == invoice["total"] else None

    found = wait_until(variance, timeout=60, message="the unposted invoice to show as a variance")
    assert found["status"] == "variance" and found["reconciled"] is False and found["unmatched"] == 1
    assert found["left"] - found["right"] == invoice["total"]
    assert not with_external_ids(netsuite(stack, "invoice"), invoice["id"])
    page = get(
        stack, token, "/v2/revenue/records", figure="billings_vs_erp_invoices", period=month(), entity="GB"
    )
    assert [r["id"] for r in page["items"]] == [invoice["id"]] and page["amount"] == invoice["total"]
    lineage = get(stack, token, "/v2/lineage", invoice_id=invoice["id"])
    [shown] = [i for c in lineage["contracts"] for i in c["invoices"]]
    assert (
        shown["billed"]["amount"] == invoice["total"]
        and shown["posted"] is None
        and shown["reconciled"] is False
    )
    # the US entity is untouched, and the process API's exception is visible in the exception view
    us = get(stack, token, "/v2/revenue/summary", period=month(), entity="US")
    assert us["reporting"]["reconciled"] is True
    exceptions = get(stack, token, "/v2/exceptions", business_key=invoice["id"])
    assert [e["error_class"] for e in exceptions["items"]] == ["mapping_missing"]
    assert exceptions["items"][0]["age_seconds"] >= 0
    # acted on through the experience API: reassigned, then resolved with a note, by the caller
    record_id = exceptions["items"][0]["id"]
    owner = "finance-ops" if exceptions["items"][0]["owner"] != "finance-ops" else "revops"
    reassigned = post(
        stack, token, f"/v2/exceptions/{record_id}/reassign", {"owner": owner, "note": "ERP item"}
    )
    assert reassigned["owner"] == owner
    resolved = post(
        stack, token, f"/v2/exceptions/{record_id}/resolve", {"note": "posted by hand in NetSuite"}
    )
    assert resolved["status"] == "resolved" and resolved["overdue"] is False
    assert [(h["action"], h["by"]) for h in resolved["history"][-2:]] == [
        ("reassign", "revops-dashboard"),
        ("resolve", "revops-dashboard"),
    ]
    refused = httpx.post(
        f"{stack.url('gateway')}/experience/v2/exceptions/{record_id}/resolve",
        json={"note": "again"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"


def post(stack: Stack, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{stack.url('gateway')}/experience{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )
    assert response.status_code in (200, 202), response.text
    return dict(response.json())


def with_external_ids(records: list[dict[str, Any]], external_id: str) -> list[dict[str, Any]]:
    return [r for r in records if r.get("externalId") == external_id]


def test_operations_metrics_and_prometheus_endpoints(stack: Stack, demo: seed.Demo, token: str) -> None:
    metrics = get(stack, token, "/v2/operations/metrics")
    assert metrics["invoice_latency"]["count"] >= 2 and metrics["invoice_latency"]["p95_seconds"] is not None
    assert {r["entity"] for r in metrics["sync_by_entity"]} == {"GB", "US"}
    assert metrics["exception_aging"] is not None and metrics["dead_letter_depth"] == 0
    assert metrics["read_model"]["applied"] > 0 and metrics["read_model"]["bad"] == 0
    for name in ("gateway", "system", "process", "experience"):
        response = httpx.get(f"{stack.url(name)}/metrics", timeout=10)
        assert response.status_code == 200 and "revbridge_service_info" in response.text, name
    assert "revbridge_readmodel_facts" in httpx.get(f"{stack.url('experience')}/metrics", timeout=10).text


# --- last: Redis is emptied and every process restarted -------------------------------------


class Gateway:
    def __init__(self, stack: Stack) -> None:
        self.base = stack.url("gateway")
        self.token = seed.gateway_token(self.base)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method,
            f"{self.base}/experience{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=15,
            **kwargs,
        )
        assert response.status_code == 200, response.text
        return response.json()


VERSION_FIELDS = {"recorded_at", "trace_id", "trace_ids", "correlation_id"}
"""What a re-run flow changes about a record it only reads or converges again: when and by which trace."""


def records(value: Any) -> Any:
    """A lineage without the fields of the version that recorded each record."""
    if isinstance(value, dict):
        link = str(value.get("kind", "")).endswith(".linked")  # a link is observed at each re-run
        return {
            k: records(v)
            for k, v in value.items()
            if k not in VERSION_FIELDS and not (link and k == "occurred_at")
        }
    if isinstance(value, list):
        return [records(v) for v in value]
    return value


def flush(stack: Stack) -> int:
    client = redis.Redis.from_url(stack.redis_url)
    try:
        keys = list(client.scan_iter(match=f"{stack.key_prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


def test_flushing_redis_and_restarting_every_process_keeps_figures_lineage_and_history(stack: Stack) -> None:
    deals = [money.onboard(stack), money.onboard(stack, "uk")]
    held = hold_a_contract_on_an_unmapped_product(stack)
    api = Gateway(stack)
    [record] = wait_until(
        lambda: api.call("GET", "/v2/exceptions", params={"business_key": held})["items"],
        timeout=30,
        message="the held contract's exception",
    )
    api.call("POST", f"/v2/exceptions/{record['id']}/reassign", json={"owner": "finance-ops", "note": "ours"})
    money.drain(stack)
    wait_until(lambda: settled(stack), timeout=60, message="the workers and the projector to settle")

    def snapshot(gw: Gateway) -> dict[str, Any]:
        summary = gw.call("GET", "/v2/revenue/summary")
        summary["reporting"].pop("as_of", None)
        summary.pop("as_of", None)
        return {
            "summary": summary,
            "lineage": gw.call("GET", "/v2/lineage", params={"contract_id": deals[0].contract_id}),
            "exception": gw.call("GET", f"/v2/exceptions/{record['id']}"),
        }

    before = snapshot(api)
    assert before["summary"]["amounts"]["USD"]["billings"] > 0
    assert [h["action"] for h in before["exception"]["history"]][-1] == "reassign"

    assert flush(stack) > 0
    stack.restart_services()
    # the poller's watermark was in Redis: it reads the CRM again and the flows re-run, converging
    # every write by its key (re-processing, never a duplicate); let that settle, then compare
    money.drain(stack)
    wait_until(lambda: settled(stack), timeout=60, message="the re-read to settle")
    after = snapshot(Gateway(stack))
    for part in ("amounts", "breakdown"):  # the figures (the reporting block also says when it folded)
        assert after["summary"][part] == before["summary"][part]
    assert records(after["lineage"]) == records(before["lineage"])
    kept = ("id", "flow", "business_key", "error_class", "owner")
    assert {k: after["exception"][k] for k in kept} == {k: before["exception"][k] for k in kept}
    history = after["exception"]["history"]
    assert history[: len(before["exception"]["history"])] == before["exception"]["history"]

    # new events after the loss: onboarded, billed, posted once, and counted
    usd_billings = before["summary"]["amounts"]["USD"]["billings"]
    deal = money.onboard(stack)
    money.drain(stack)
    assert len(money.netsuite(stack, "invoice", deal.invoice_id)) == 1
    with money.stripe_http(stack) as billing:
        total = billing.get(f"/v1/invoices/{deal.invoice_id}").raise_for_status().json()["total"]
    gw = Gateway(stack)
    wait_until(
        lambda: gw.call("GET", "/v2/revenue/summary")["amounts"]["USD"]["billings"] == usd_billings + total,
        timeout=30,
        message="the new invoice in the figures",
    )
