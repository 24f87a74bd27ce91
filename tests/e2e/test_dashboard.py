"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright (no browser download).

Through the gateway of the e2e stack: sign in with the real form (authorization code + PKCE), see
the revenue charts and tables, and the waterfall's, carry exactly the API's figures, open a
contract's lineage, and act on an exception (an unmapped product holds a contract): retry it and
watch its status change, then reassign and resolve it; its history names the signed-in user as who
acted. Screenshots go to ``.tmp/artifacts/dashboard/`` (``REVBRIDGE_ARTIFACTS``).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Browser, Page, expect, sync_playwright

from scripts import seed
from scripts.stack import ROOT, Stack
from tests.support.procs import wait_until

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("REVBRIDGE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("REVBRIDGE_ARTIFACTS", ROOT / ".tmp" / "artifacts")) / "dashboard"
USER, PASSWORD = "revops-demo", "revops-demo-password"  # DEMO VALUES (config/gateway-users.yaml)
FIGURES = ("bookings", "billings", "collections", "recognized")
BREAKDOWN = (*FIGURES, "posted_invoices", "posted_payments")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make browser` installs Debian's chromium package")
    for old in ARTIFACTS.glob("*.png"):  # this run's screenshots only
        old.unlink()
    with sync_playwright() as playwright:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's sandbox refuses to run as root
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        try:
            yield browser
        finally:
            browser.close()


class Reader:
    """The experience API through the gateway, as any internal client reads it (client credentials)."""

    def __init__(self, stack: Stack) -> None:
        self.base = stack.url("gateway")
        self.token = seed.gateway_token(self.base)

    def get(self, path: str, **query: Any) -> Any:
        response = httpx.get(
            f"{self.base}/experience/v2{path}",
            params={k: v for k, v in query.items() if v is not None},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=15,
        )
        response.raise_for_status()
        return response.json()


def hold_a_contract_on_an_unmapped_product(stack: Stack) -> str:
    code = f"DASH-{secrets.token_hex(3).upper()}"  # no Stripe price, no NetSuite item: the gate stops it
    with seed.salesforce_client(stack.url("salesforce")) as crm:
        product = seed.sf_create(crm, "Product2", {"Name": "Unmapped widget", "ProductCode": code})
        account = seed.sf_create(
            crm, "Account", {"Name": "Dashboard Test Co", "BillingCountry": "US", "CurrencyIsoCode": "USD"}
        )
        contract = seed.seed_contract(crm, account, {code: product}, [(code, 2)], "Dashboard widgets")
        seed.activate(crm, contract)
    return contract


def shot(page: Page, name: str, **kwargs: Any) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), **kwargs)


def sign_in(page: Page, gateway: str) -> None:
    page.goto(f"{gateway}/dashboard/")
    expect(page.locator("body")).to_have_attribute("data-state", "signed-out")
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/oauth/authorize\?.*code_challenge_method=S256"))
    shot(page, "1-sign-in")
    page.fill("#username", USER)
    page.fill("#password", PASSWORD)
    page.click("#signin")
    expect(page.locator("body")).to_have_attribute("data-state", "signed-in", timeout=15_000)
    expect(page.locator("#user")).to_have_text(USER)
    assert "code=" not in page.url  # the code left the address bar at once
    assert page.evaluate("localStorage.length") == 0  # the token is in this tab's sessionStorage only


def shown_minor(page: Page, selector: str) -> dict[str, int]:
    cells = page.locator(f"{selector} td[data-figure]")
    values = cells.evaluate_all("cells => cells.map(c => [c.dataset.figure, Number(c.dataset.minor)])")
    return dict(values)


def page_matches_api(page: Page, api: Reader) -> bool:
    """The period table, both charts and the breakdown carry the API's figures, to the minor unit."""
    expect(page.locator("#revenue")).to_have_attribute("data-ready", "true", timeout=20_000)
    summary = api.get("/revenue/summary")
    currency = summary["reporting_totals"]["currency"]
    periods, entities = summary["reporting"]["periods"][-12:], summary["reporting"]["entities"]
    by_period = [api.get("/revenue/summary", period=p, reporting_currency=currency) for p in periods]
    by_entity = [api.get("/revenue/summary", entity=e, reporting_currency=currency) for e in entities]
    if page.locator("#revenue").get_attribute("data-reporting-currency") != currency:
        return False
    for period, body in zip(periods, by_period, strict=True):
        expected = {f: body["reporting_totals"][f] for f in FIGURES}
        if shown_minor(page, f'#table-periods tr[data-period="{period}"]') != expected:
            return False
    if shown_minor(page, "#table-periods tr.total") != {f: summary["reporting_totals"][f] for f in FIGURES}:
        return False
    charts = page.evaluate(
        """() => Object.fromEntries(['chart-periods', 'chart-entities'].map(id => {
               const chart = Chart.getChart(id);
               return [id, {labels: chart.data.labels, width: chart.chartArea.right - chart.chartArea.left,
                            data: Object.fromEntries(chart.data.datasets.map(d => [d.figure, d.data]))}];
           }))"""
    )
    digits = 10 ** (0 if currency == "JPY" else 2)
    for chart_id, labels, bodies in (
        ("chart-periods", periods, by_period),
        ("chart-entities", entities, by_entity),
    ):
        chart = charts[chart_id]
        assert chart["width"] > 100, f"{chart_id} was not drawn"
        expected = {f: [b["reporting_totals"][f] / digits for b in bodies] for f in FIGURES}
        if chart["labels"] != labels or chart["data"] != expected:
            return False
    for cell in summary["breakdown"]:
        row = f'#table-breakdown tr[data-period="{cell["period"]}"][data-entity="{cell["entity"]}"]'
        row += f'[data-currency="{cell["currency"]}"]'
        if shown_minor(page, row) != {k: cell["figures"][k] for k in BREAKDOWN}:
            return False
    return True


WATERFALL_ACTUAL = {
    "billings": "billed",
    "scheduled_billings": "scheduled_billings",
    "billings_variance": "billings_variance",
    "revenue": "recognized",
    "scheduled_revenue": "scheduled_revenue",
    "revenue_variance": "revenue_variance",
    "deferred_revenue": "deferred_revenue",
}
WATERFALL_FORECAST = {
    "billings": "billings",
    "scheduled_billings": "scheduled_billings",
    "revenue": "revenue",
    "scheduled_revenue": "scheduled_revenue",
    "deferred_revenue": "deferred_revenue",
}


def waterfall_matches_api(page: Page, api: Reader) -> bool:
    """Each entity/currency panel's rows carry the API's waterfall figures, to the minor unit."""
    expect(page.locator("#waterfall")).to_have_attribute("data-ready", "true", timeout=20_000)
    body = api.get("/revenue/waterfall", months=12)
    if not body["series"] or page.locator(".waterfall-series").count() != len(body["series"]):
        return False
    for series in body["series"]:
        panel = f'.waterfall-series[data-entity="{series["entity"] or ""}"]'
        panel += f'[data-currency="{series["currency"]}"]'
        for basis, names, rows in (
            ("actual", WATERFALL_ACTUAL, series["actuals"]),
            ("forecast", WATERFALL_FORECAST, series["forecast"]),
        ):
            for row in rows:
                selector = f'{panel} tr[data-basis="{basis}"][data-period="{row["period"]}"]'
                if shown_minor(page, selector) != {shown: row[name] for shown, name in names.items()}:
                    return False
    width = page.evaluate(
        "() => { const c = Chart.getChart('chart-waterfall-0');"
        " return c.chartArea.right - c.chartArea.left; }"
    )
    assert width > 100, "the waterfall chart was not drawn"
    return True


def test_dashboard_sign_in_figures_lineage_and_exception_actions(
    stack: Stack, demo: seed.Demo, browser: Browser
) -> None:
    api = Reader(stack)
    held = hold_a_contract_on_an_unmapped_product(stack)
    [record] = wait_until(
        lambda: api.get("/exceptions", business_key=held)["items"], timeout=30, message="the exception"
    )
    assert record["status"] == "open" and record["error_class"] == "mapping_missing"

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    try:
        sign_in(page, stack.url("gateway"))

        # the charts and tables show the API's own figures (re-read while the read model settles)
        def settled() -> bool:
            if page_matches_api(page, api):
                return True
            page.click("#revenue-filters button[type=submit]")  # reload the view, compare again
            return False

        wait_until(settled, timeout=30, interval=0.5, message="the page's figures to equal the API's")

        # the waterfall panels: past months as NetSuite holds them, the forecast rolling forward
        def waterfall_settled() -> bool:
            if waterfall_matches_api(page, api):
                return True
            page.click("#revenue-filters button[type=submit]")  # reloads the waterfall too
            return False

        wait_until(waterfall_settled, timeout=30, interval=0.5, message="the waterfall to equal the API's")
        expect(page.locator("#ops-tiles [data-metric=invoice-latency]")).to_contain_text("p50")
        shot(page, "2-dashboard", full_page=True)

        # lineage of the demo contract: its invoice, posted to the ERP and paid, as the API has it
        lineage = api.get("/lineage", contract_id=demo.contract_id)
        page.select_option("#lineage-scope", "contract_id")
        page.fill("#lineage-key", demo.contract_id)
        page.click("#lineage-search")
        shown = page.locator(f'.lineage-contract[data-contract-id="{demo.contract_id}"]')
        expect(shown).to_be_visible()
        invoices = [i["invoice_id"] for c in lineage["contracts"] for i in c["invoices"]]
        assert demo.invoice_id in invoices
        expect(shown.locator(".lineage-invoice")).to_have_count(len(invoices))
        invoice = shown.locator(f'.lineage-invoice[data-invoice-id="{demo.invoice_id}"]')
        [erp_invoice] = [
            i["posted"]["id"]
            for c in lineage["contracts"]
            for i in c["invoices"]
            if i["invoice_id"] == demo.invoice_id
        ]
        expect(invoice.locator(f'.rec[data-system=erp][data-record-id="{erp_invoice}"]')).to_be_visible()
        expect(invoice).to_have_attribute("data-reconciled", "true")
        shot(page, "3-lineage", full_page=True)

        # the held contract's exception: retry it and see its status change
        page.select_option("#filter-status", "open")
        page.click("#refresh-exceptions")
        row = page.locator(f'#table-exceptions tr[data-exception-id="{record["id"]}"]')
        expect(row).to_have_attribute("data-status", "open")
        with page.expect_response(
            lambda r: r.url.endswith("/retry") and r.request.method == "POST"
        ) as answer:
            row.locator("button[data-action=retry]").click()
        retried = answer.value.json()
        assert answer.value.status == 202 and retried["status"] in ("retrying", "open")
        assert (retried["status"], retried["attempts"]) != ("open", record["attempts"])  # it moved
        expect(row).to_have_attribute("data-status", retried["status"])
        expect(page.locator("#toast")).to_contain_text(f"status {retried['status']}")
        shot(page, "4-exception-retried", full_page=True)
        # the retry runs the flow again; the product is still unmapped, so the record reopens
        after = wait_until(
            lambda: (
                (r := api.get(f"/exceptions/{record['id']}"))["attempts"] > record["attempts"]
                and r["status"] == "open"
                and r
            ),
            timeout=30,
            message="the retried flow to fail again and reopen the record",
        )
        page.click("#refresh-exceptions")
        expect(row).to_have_attribute("data-attempts", str(after["attempts"]))
        expect(row).to_have_attribute("data-status", "open")

        # reassign to another owner team, then resolve with a note
        owners = sorted(
            {
                c["owner"]
                for c in yaml.safe_load((ROOT / "config/exceptions.yaml").read_text())["classes"].values()
            }
            - {record["owner"]}
        )
        row.locator("button[data-action=reassign]").click()
        page.fill("form[data-action=reassign] input[name=owner]", owners[0])
        page.click("form[data-action=reassign] button[type=submit]")
        expect(row.locator("td[data-field=owner]")).to_have_text(owners[0])
        row.locator("button[data-action=resolve]").click()
        page.fill("form[data-action=resolve] input[name=note]", "mapped by hand in the browser test")
        page.click("form[data-action=resolve] button[type=submit]")
        expect(row).to_have_attribute("data-status", "resolved")
        final = api.get(f"/exceptions/{record['id']}")
        assert final["status"] == "resolved" and final["owner"] == owners[0]
        # the signed-in user acted, not the page's OAuth client (revops-web)
        acted = [(h["action"], h["by"]) for h in final["history"] if h["action"] != "opened"]
        assert ("retry", USER) in acted and acted[-2:] == [("reassign", USER), ("resolve", USER)]
        assert {by for action, by in acted if action in ("retry", "reassign", "resolve")} == {USER}
        shot(page, "5-exception-resolved", full_page=True)
        assert problems == []
    except BaseException:
        shot(page, "failure", full_page=True)
        raise
    finally:
        context.close()


def test_the_page_is_never_blank_without_javascript_or_while_it_loads(stack: Stack, browser: Browser) -> None:
    url = f"{stack.url('gateway')}/dashboard/"
    off = browser.new_context(java_script_enabled=False)
    try:
        page = off.new_page()
        page.goto(url)
        expect(page.get_by_test_id("noscript")).to_be_visible()
        expect(page.get_by_test_id("noscript")).to_contain_text("needs JavaScript")
    finally:
        off.close()
    on = browser.new_context()
    try:
        page = on.new_page()
        page.route("**/js/app.js", lambda route: route.abort())  # the script never arrives: still not blank
        page.goto(url)
        expect(page.get_by_test_id("loading")).to_be_visible()
        page.unroute("**/js/app.js")
        page.goto(url)  # once it runs, the loading state gives way to the sign-in
        expect(page.locator("#signin-panel")).to_be_visible()
        expect(page.get_by_test_id("loading")).to_be_hidden()
    finally:
        on.close()
