"""The schema checkers accept the platforms' own examples and catch a body missing what the schema
requires. (The conformance suite itself runs over every test session: tests/support/conformance.)
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.conformance import check
from tests.support.conformance.netsuite import NetSuiteSchemas
from tests.support.conformance.salesforce import SalesforceSchemas
from tests.support.conformance.stripe import StripeSchemas

pytestmark = pytest.mark.unit

FIXTURES = json.loads((Path(__file__).parents[2] / "data" / "stripe-fixtures3-subset.json").read_text())[
    "resources"
]


@pytest.fixture(scope="module")
def stripe_schemas() -> StripeSchemas:
    return StripeSchemas()


def without(body: Any, *path: str | int) -> Any:
    out = copy.deepcopy(body)
    node = out
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]
    return out


@pytest.mark.parametrize(
    "resource", ["customer", "invoice", "subscription", "charge", "credit_note", "refund"]
)
def test_stripes_own_fixtures_are_valid_and_a_missing_required_field_is_caught(
    stripe_schemas: StripeSchemas, resource: str
) -> None:
    body = FIXTURES[resource]
    path = f"/v1/{resource}s/{body['id']}"
    assert list(stripe_schemas.errors("response", "GET", path, 200, body)) == []

    problems = list(stripe_schemas.errors("response", "GET", path, 200, without(body, "created")))
    assert any('"created" is a required property' in p for p in problems), problems
    problems = list(stripe_schemas.errors("response", "GET", path, 200, {**body, "id": 42}))
    assert any("/id" in p for p in problems), problems


def test_a_field_removed_since_the_spec_is_waived_but_one_still_in_the_sdk_is_not(
    stripe_schemas: StripeSchemas,
) -> None:
    invoice = FIXTURES["invoice"]
    # the 2023 spec requires invoice.subscription; stripe-python 16.1's Invoice no longer has it
    assert "subscription" in stripe_schemas.removed["invoice"]
    assert list(stripe_schemas.errors("response", "GET", "/v1/invoices/in_1", 200, invoice)) == []
    problems = list(
        stripe_schemas.errors("response", "GET", "/v1/invoices/in_1", 200, without(invoice, "amount_due"))
    )
    assert any("amount_due" in p for p in problems)


def test_stripe_errors_webhooks_and_newer_objects(stripe_schemas: StripeSchemas) -> None:
    error = {"error": {"type": "invalid_request_error", "message": "No such customer: 'cus_x'"}}
    assert list(stripe_schemas.errors("response", "GET", "/v1/customers/cus_x", 404, error)) == []
    bad = {"error": {"message": "No such customer"}}
    assert any(
        '"type" is a required property' in p
        for p in stripe_schemas.errors("response", "GET", "/v1/nowhere", 404, bad)
    )

    event = FIXTURES["event"]
    assert list(stripe_schemas.errors("webhook", "POST", "http://hook", 0, event)) == []
    carried = {**event, "data": {"object": without(FIXTURES["customer"], "created")}}
    assert any(
        p.startswith("/data/object") for p in stripe_schemas.errors("webhook", "POST", "http://h", 0, carried)
    )

    meter = FIXTURES["billing.meter"]  # newer than the 2023 spec: checked against stripe-python's model
    assert list(stripe_schemas.errors("response", "POST", "/v1/billing/meters", 200, meter)) == []
    problems = list(
        stripe_schemas.errors("response", "POST", "/v1/billing/meters", 200, without(meter, "event_name"))
    )
    assert any("event_name" in p and "stripe-python" in p for p in problems)


SF_QUERY = {  # the REST API Developer Guide's query example
    "totalSize": 3222,
    "done": False,
    "nextRecordsUrl": "/services/data/v60.0/query/01gRO0000016PIAYA2-500",
    "records": [
        {
            "attributes": {
                "type": "Contact",
                "url": "/services/data/v60.0/sobjects/Contact/003RO0000035WQgYAM",
            },
            "Id": "003RO0000035WQgYAM",
            "Name": "John Smith",
        }
    ],
}


def test_salesforce_shapes() -> None:
    sf = SalesforceSchemas()
    q = "/services/data/v60.0/query?q=SELECT+Id+FROM+Contact"
    assert list(sf.errors("response", "GET", q, 200, SF_QUERY)) == []
    assert any(
        "nextRecordsUrl" in p
        for p in sf.errors("response", "GET", q, 200, without(SF_QUERY, "nextRecordsUrl"))
    )
    assert any("done" in p for p in sf.errors("response", "GET", q, 200, without(SF_QUERY, "done")))

    created = {"id": "001RB0000000002YAA", "success": True, "errors": []}
    assert list(sf.errors("response", "POST", "/services/data/v59.0/sobjects/Account/", 201, created)) == []
    assert list(
        sf.errors("response", "POST", "/services/data/v59.0/sobjects/Account/", 201, without(created, "id"))
    )

    error = [
        {
            "message": "Required fields are missing: [Name]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["Name"],
        }
    ]
    assert list(sf.errors("response", "POST", "/services/data/v59.0/sobjects/Account/", 400, error)) == []
    # an error must be the array form (simple-salesforce reads [0]["errorCode"])
    assert list(sf.errors("response", "POST", "/services/data/v59.0/sobjects/Account/", 400, error[0]))


def test_netsuite_shapes() -> None:
    ns = NetSuiteSchemas()
    link = [
        {
            "rel": "self",
            "href": "https://1234567.suitetalk.api.netsuite.com/services/rest/record/v1/customer/107",
        }
    ]
    listed = {
        "links": link,
        "count": 1,
        "hasMore": False,
        "offset": 0,
        "totalResults": 1,
        "items": [{"links": link, "id": "107"}],
    }
    assert list(ns.errors("response", "GET", "/services/rest/record/v1/customer", 200, listed)) == []
    assert list(
        ns.errors("response", "GET", "/services/rest/record/v1/customer", 200, without(listed, "hasMore"))
    )

    customer = {"links": link, "id": "107", "companyName": "Acme", "subsidiary": {"id": "1", "links": link}}
    assert list(ns.errors("response", "GET", "/services/rest/record/v1/customer/107", 200, customer)) == []
    assert list(
        ns.errors("response", "GET", "/services/rest/record/v1/customer/107", 200, without(customer, "links"))
    )
    wrong = {**customer, "subsidiary": "1"}  # a reference is an object, never a bare id
    assert list(ns.errors("response", "GET", "/services/rest/record/v1/customer/107", 200, wrong))

    error = {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2",
        "title": "Unauthorized",
        "status": 401,
        "o:errorDetails": [{"detail": "Invalid login attempt.", "o:errorCode": "INVALID_LOGIN"}],
    }
    assert list(ns.errors("response", "GET", "/services/rest/record/v1/customer/1", 401, error)) == []
    assert list(
        ns.errors(
            "response",
            "GET",
            "/services/rest/record/v1/customer/1",
            401,
            without(error, "o:errorDetails", 0, "o:errorCode"),
        )
    )


def test_the_suite_counts_valid_bodies_and_lists_the_rest(tmp_path: Path) -> None:
    good = {
        "kind": "response",
        "method": "GET",
        "path": "/services/data/v60.0/query",
        "status": 200,
        "body": SF_QUERY,
    }
    bad = {**good, "body": without(SF_QUERY, "records")}
    (tmp_path / "salesforce-1.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")

    report = check(tmp_path)

    assert report.validated["salesforce"] == 1
    assert len(report.violations) == 1 and "records" in report.violations[0]
