"""A second legal entity end to end, and amendments/renewals converging the subscription once.

Revbridge Ltd (GB) bills in GBP from the Stripe account ``uk`` and posts to NetSuite subsidiary 2;
its webhooks arrive on ``/v1/webhooks/stripe/uk``. Assertions read the platforms themselves.
"""

from __future__ import annotations

import datetime as dt

import httpx

from scripts import seed
from scripts.stack import Stack
from tests.e2e import money
from tests.support.procs import wait_until

SUBSIDIARY_LTD, GBP = "2", "2"  # NetSuite internal ids (sandbox reference data)


def test_gb_contract_is_billed_by_revbridge_ltd_in_gbp_and_posted_to_subsidiary_2(stack: Stack) -> None:
    deal = money.onboard(stack, "uk")
    contract = money.sf_record(stack, "Contract", deal.contract_id)
    assert contract["Billing_Status__c"] == "active" and contract["ERP_Customer_Id__c"]
    with money.stripe_http(stack, "uk") as uk, money.stripe_http(stack, "default") as us:
        customer = uk.get(f"/v1/customers/{contract['Billing_Customer_Id__c']}").raise_for_status().json()
        assert us.get(f"/v1/customers/{customer['id']}").status_code == 404  # not in the US account
        invoice = uk.get(f"/v1/invoices/{deal.invoice_id}").raise_for_status().json()
    assert invoice["currency"] == "gbp"
    erp_customer = money.one(stack, "customer", deal.crm_account_id)
    assert (erp_customer["subsidiary"], erp_customer["currency"]) == (SUBSIDIARY_LTD, GBP)
    assert erp_customer["custentity_revbridge_tax_code"] == "GB-VAT-20"
    erp_invoice = money.one(stack, "invoice", deal.invoice_id)
    assert (erp_invoice["subsidiary"], erp_invoice["currency"]) == (SUBSIDIARY_LTD, GBP)
    assert round(erp_invoice["total"] * 100) == invoice["total"]
    journals = [
        j
        for j in money.netsuite(stack, "journalEntry")
        if j["externalId"].split(":")[0] in {line["id"] for line in invoice["lines"]["data"]}
    ]
    assert journals and {(j["subsidiary"], j["currency"]) for j in journals} == {(SUBSIDIARY_LTD, GBP)}


def test_gb_account_without_tax_id_waits_with_tax_ops(stack: Stack) -> None:
    seed.seed_catalogues(stack)
    with seed.salesforce_client(stack.url("salesforce")) as sf:
        account = seed.sf_create(
            sf, "Account", {"Name": "No VAT Ltd", "BillingCountry": "GB", "CurrencyIsoCode": "GBP"}
        )
        products = {
            r["ProductCode"]: r["Id"]
            for r in sf.get("/query", params={"q": "SELECT Id, ProductCode FROM Product2"}).json()["records"]
        }
        contract = seed.seed_contract(sf, account, products, [("SEAT", 5)], "No VAT deal", "GBP")
        seed.activate(sf, contract)
    found = wait_until(
        lambda: money.exceptions(stack, flow="onboarding", business_key=contract),
        timeout=30,
        message="the onboarding exception",
    )
    assert (found[0]["error_class"], found[0]["owner"]) == ("tax_code_missing", "tax-ops")
    assert money.netsuite(stack, "customer", account) == []  # nothing was created anywhere
    assert money.sf_record(stack, "Contract", contract).get("Billing_Customer_Id__c") is None


def _seat_line(sf: httpx.Client, contract_id: str) -> str:
    q = (
        "SELECT Id, Product2.ProductCode FROM OpportunityLineItem "
        f"WHERE Opportunity.ContractId = '{contract_id}'"
    )
    rows = sf.get("/query", params={"q": q}).raise_for_status().json()["records"]
    return str(next(r["Id"] for r in rows if r["Product2"]["ProductCode"] == "SEAT"))


def test_amendment_and_renewal_update_the_subscription_once_with_proration(stack: Stack) -> None:
    deal = money.onboard(stack, "default", [("PLAT-ENT", 1), ("SEAT", 10)])
    with seed.salesforce_client(stack.url("salesforce")) as sf:
        sf.patch(f"/sobjects/OpportunityLineItem/{_seat_line(sf, deal.contract_id)}", json={"Quantity": 25})
        sf.patch(f"/sobjects/Contract/{deal.contract_id}", json={"ContractTerm": 24}).raise_for_status()
    for _ in range(3):  # the change is announced more than once (push, poll, re-drive): applied once
        started = httpx.post(f"{stack.url('process')}/v1/onboardings", json={"contract_id": deal.contract_id})
        assert started.status_code == 202, started.text
        money.drain(stack)
    with money.stripe_http(stack) as billing:
        sub = billing.get(f"/v1/subscriptions/{deal.subscription_id}").raise_for_status().json()
        pending = billing.get("/v1/invoiceitems", params={"customer": sub["customer"]}).json()["data"]
    assert sorted((i["price"]["lookup_key"], i["quantity"]) for i in sub["items"]["data"]) == [
        ("plat_ent_monthly_usd", 1),
        ("seat_monthly_usd", 25),
    ]
    start = dt.date.fromisoformat(money.sf_record(stack, "Contract", deal.contract_id)["StartDate"])
    assert (
        sub["metadata"]["revbridge_term_end"]
        == (start.replace(year=start.year + 2) - dt.timedelta(days=1)).isoformat()
    )
    prorations = [i for i in pending if i.get("proration")]
    assert len(prorations) == 2  # unused time on 10 seats credited, remaining time on 25 charged, once
    assert sum(i["amount"] for i in prorations) > 0
    erp_customer = money.one(stack, "customer", deal.crm_account_id)
    assert erp_customer["subsidiary"] == "1"
