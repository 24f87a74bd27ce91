"""The NetSuite sandbox refuses what NetSuite refuses, with NetSuite's documented error bodies.

Checked against "Error Handling in REST Web Services" (``type``, ``title``, ``status``,
``o:errorDetails[{detail, o:errorCode, o:errorPath | o:errorQueryParam}]``, its invalid-reference
example) and the answers NetSuite gives for missing mandatory fields, unknown record types and
ids, malformed bodies and SuiteQL. Raw httpx signed with TBA, with the header the ``netsuite``
package always sends (``X-NetSuite-PropertyNameValidation: error``); one check goes through the
package itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.sandboxes.test_netsuite_sandbox import (
    REC,
    SUITEQL,
    customer,
    invoice,
    shared_sandbox,
    tba,
)

pytestmark = pytest.mark.integration

ERROR_MEDIA_TYPE = "application/vnd.oracle.resource+json; type=error"
QUERY_PREFIX = "Invalid search query. Detailed unprocessed description follows. "
RESOURCE_PREFIX = "Error while accessing a resource. "
LINE = {"item": {"id": "101"}, "quantity": 1, "amount": 10.0}


@pytest.fixture
def ns() -> Iterator[httpx.Client]:
    base = shared_sandbox()
    httpx.post(f"{base}/__sandbox/reset").raise_for_status()
    headers = {"X-NetSuite-PropertyNameValidation": "error"}
    with httpx.Client(base_url=base, auth=tba(), headers=headers, timeout=10) as client:
        yield client


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The one ``o:errorDetails`` entry of a NetSuite error answer, after checking its envelope."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == ERROR_MEDIA_TYPE
    body = response.json()
    assert set(body) == {"type", "title", "status", "o:errorDetails"}
    assert body["status"] == status and body["type"].startswith("https://www.rfc-editor.org/rfc/rfc9110.html")
    [detail] = body["o:errorDetails"]
    assert detail["o:errorCode"] == code, detail
    return detail


def invoice_body(customer_id: str, **extra: Any) -> dict[str, Any]:
    return {"entity": {"id": customer_id}, "item": {"items": [dict(LINE)]}, **extra}


# -- unknown fields ---------------------------------------------------------------------------


def test_unknown_field_is_named_with_its_path_on_the_record_and_on_a_line(ns: httpx.Client) -> None:
    body = {"companyName": "X", "subsidiary": {"id": "1"}, "colour": "red"}
    detail = problem(ns.post(f"{REC}/customer", json=body), 400, "INVALID_CONTENT")
    assert (detail["o:errorPath"], "'colour'" in detail["detail"]) == ("colour", True)
    cid = customer(ns)
    lines = {"items": [dict(LINE), {**LINE, "discount": 5}]}
    detail = problem(
        ns.post(f"{REC}/invoice", json={"entity": {"id": cid}, "item": lines}), 400, "INVALID_CONTENT"
    )
    assert detail["o:errorPath"] == "item.items[1].discount"
    # field names are case-sensitive, as NetSuite's are
    detail = problem(
        ns.post(f"{REC}/customer", json={"CompanyName": "X", "subsidiary": {"id": "1"}}),
        400,
        "INVALID_CONTENT",
    )
    assert detail["o:errorPath"] == "CompanyName"


# -- select (list) fields naming nothing ------------------------------------------------------


def test_a_reference_to_a_nonexistent_record_is_an_invalid_field_value(ns: httpx.Client) -> None:
    """The documented example: an item line of id 9999 -> "Error while accessing resource: You
    have entered an Invalid Field Value 9999 for the following field: item", path
    ``item.items[0].item``, ``INVALID_CONTENT``."""
    cid = customer(ns)
    lines = {"items": [{"item": {"id": 9999}, "amount": 1}]}
    detail = problem(
        ns.post(f"{REC}/invoice", json={"entity": {"id": cid}, "item": lines}), 400, "INVALID_CONTENT"
    )
    assert detail == {
        "detail": "Error while accessing resource: You have entered an Invalid Field Value 9999 for the "
        "following field: item",
        "o:errorPath": "item.items[0].item",
        "o:errorCode": "INVALID_CONTENT",
    }
    detail = problem(
        ns.post(f"{REC}/customer", json={"companyName": "X", "subsidiary": {"id": "77"}}),
        400,
        "INVALID_CONTENT",
    )
    assert (
        detail["o:errorPath"],
        detail["detail"].endswith("Invalid Field Value 77 for the following field: subsidiary"),
    ) == (
        "subsidiary",
        True,
    )
    detail = problem(
        ns.post(
            f"{REC}/customer", json={"companyName": "X", "subsidiary": {"id": "1"}, "currency": {"id": "99"}}
        ),
        400,
        "INVALID_CONTENT",
    )
    assert detail["o:errorPath"] == "currency"
    detail = problem(ns.post(f"{REC}/invoice", json=invoice_body("424242")), 400, "INVALID_CONTENT")
    assert detail["o:errorPath"] == "entity"
    apply = {"items": [{"doc": {"id": "8888"}, "amount": 5.0}]}
    detail = problem(
        ns.post(f"{REC}/customerpayment", json={"customer": {"id": cid}, "payment": 5.0, "apply": apply}),
        400,
        "INVALID_CONTENT",
    )
    assert detail["o:errorPath"] == "apply.items[0].doc"
    assert httpx.get(f"{ns.base_url}/__sandbox/records/invoice").json() == []


# -- value types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record_type", "body", "path"),
    [
        ("customerpayment", {"payment": "12.50"}, "payment"),
        ("customerpayment", {"payment": True}, "payment"),
        ("invoice", {"tranDate": 20240101}, "tranDate"),
        ("invoice", {"tranDate": "01/02/2024"}, "tranDate"),
        ("invoice", {"dueDate": "2024-02-30"}, "dueDate"),
        ("invoice", {"item": {"items": [{**LINE, "quantity": "3"}]}}, "item.items[0].quantity"),
        ("invoice", {"item": {"items": [dict(LINE), {**LINE, "amount": "10"}]}}, "item.items[1].amount"),
        ("customer", {"isInactive": "yes"}, "isInactive"),
        ("customer", {"isPerson": "T"}, "isPerson"),
        ("customer", {"email": {"address": "a@b.test"}}, "email"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_with_its_path(
    ns: httpx.Client, record_type: str, body: dict[str, Any], path: str
) -> None:
    cid = customer(ns, "Typed Co")
    iid = invoice(ns, cid, 12.5)
    base = {
        "customer": {"companyName": "X", "subsidiary": {"id": "1"}},
        "invoice": invoice_body(cid),
        "customerpayment": {
            "customer": {"id": cid},
            "payment": 12.5,
            "apply": {"items": [{"doc": {"id": iid}}]},
        },
    }[record_type]
    detail = problem(ns.post(f"{REC}/{record_type}", json={**base, **body}), 400, "INVALID_CONTENT")
    assert detail["o:errorPath"] == path
    assert f"'{path}'" in detail["detail"]


# -- mandatory fields -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record_type", "body", "message", "path"),
    [
        ("customer", {"subsidiary": {"id": "1"}}, "Please enter value(s) for: Company Name.", "companyName"),
        ("customer", {"companyName": "X"}, "Please enter value(s) for: Subsidiary.", "subsidiary"),
        (
            "customer",
            {"companyName": "", "subsidiary": {"id": "1"}},
            "Please enter value(s) for: Company Name.",
            "companyName",
        ),
        ("invoice", {"item": {"items": [LINE]}}, "Please enter value(s) for: Customer.", "entity"),
        (
            "invoice",
            {"entity": {"id": "CID"}},
            "You must enter at least one line item for this transaction.",
            "item",
        ),
        (
            "invoice",
            {"entity": {"id": "CID"}, "item": {"items": []}},
            "You must enter at least one line item for this transaction.",
            "item",
        ),
        (
            "invoice",
            {"entity": {"id": "CID"}, "item": {"items": [{"quantity": 1}]}},
            "Please enter value(s) for: Item.",
            "item.items[0].item",
        ),
        ("customerpayment", {"payment": 5.0}, "Please enter value(s) for: Customer.", "customer"),
        ("journalEntry", {"line": {"items": []}}, "Please enter value(s) for: Subsidiary.", "subsidiary"),
    ],
)
def test_a_missing_mandatory_field_is_a_user_error_naming_its_label(
    ns: httpx.Client, record_type: str, body: dict[str, Any], message: str, path: str
) -> None:
    cid = customer(ns)
    sent = {k: ({"id": cid} if v == {"id": "CID"} else v) for k, v in body.items()}
    detail = problem(ns.post(f"{REC}/{record_type}", json=sent), 400, "USER_ERROR")
    assert (detail["detail"], detail["o:errorPath"]) == (RESOURCE_PREFIX + message, path)


# -- record types, ids, bodies ----------------------------------------------------------------


def test_unknown_record_type_and_nonexistent_ids_are_404(ns: httpx.Client) -> None:
    detail = problem(ns.get(f"{REC}/salesOrder/1"), 404, "INVALID_RCRD_TYPE")
    assert detail["detail"] == "Record type 'salesOrder' does not exist."
    problem(ns.post(f"{REC}/bad-path", json={}), 404, "INVALID_RCRD_TYPE")
    for path in (f"{REC}/customer/424242", f"{REC}/customer/eid:nobody", f"{REC}/invoice/1"):
        detail = problem(ns.get(path), 404, "NONEXISTENT_ID")
        assert detail == {
            "detail": "The record instance does not exist. Provide a valid record instance ID.",
            "o:errorCode": "NONEXISTENT_ID",
        }
    problem(ns.patch(f"{REC}/customer/424242", json={"email": "a@b.test"}), 404, "NONEXISTENT_ID")
    problem(ns.delete(f"{REC}/customer/424242"), 404, "NONEXISTENT_ID")
    problem(ns.get("/services/rest/record/v2/customer"), 404, "NONEXISTENT_ID")


def test_malformed_json_and_non_object_bodies_are_invalid_content(ns: httpx.Client) -> None:
    headers = {"Content-Type": "application/json"}
    for raw in (b"{not json", b'{"companyName": "X",}', b"[]", b'"customer"'):
        detail = problem(ns.post(f"{REC}/customer", content=raw, headers=headers), 400, "INVALID_CONTENT")
        assert detail["detail"].startswith("Invalid content in the request body"), raw


def test_read_only_fields_are_ignored_and_tran_id_may_be_set(ns: httpx.Client) -> None:
    """Read-only fields (``id``, ``total``, ``lastModifiedDate``, ``status``, ``amountPaid``) are
    accepted as names and ignored, NetSuite computing them; ``tranId`` is auto-numbered unless given
    (NetSuite's "Allow Override" on transaction numbering, guessed on)."""
    cid = customer(ns)
    stamp = "2001-01-01T00:00:00Z"
    sent = invoice_body(
        cid, id="999", total=1.0, lastModifiedDate=stamp, status="Paid In Full", amountPaid=10.0
    )
    response = ns.post(f"{REC}/invoice", json=sent)
    assert response.status_code == 204, response.text
    iid = response.headers["location"].rsplit("/", 1)[1]
    record = ns.get(f"{REC}/invoice/{iid}").json()
    assert iid != "999" and ns.get(f"{REC}/invoice/999").status_code == 404
    assert (record["total"], record["amountPaid"], record["status"]) == (10.0, 0.0, "Open")
    assert record["lastModifiedDate"] != stamp and record["tranId"].startswith("INV")
    assert ns.patch(f"{REC}/invoice/{iid}", json={"lastModifiedDate": stamp, "total": 5.0}).status_code == 204
    assert ns.get(f"{REC}/invoice/{iid}").json()["total"] == 10.0
    numbered = ns.post(f"{REC}/invoice", json=invoice_body(cid, tranId="INV-CUSTOM-1"))
    assert numbered.status_code == 204
    assert ns.get(numbered.headers["location"]).json()["tranId"] == "INV-CUSTOM-1"


# -- SuiteQL ----------------------------------------------------------------------------------


def suiteql(ns: httpx.Client, q: str) -> httpx.Response:
    return ns.post(SUITEQL, json={"q": q}, headers={"Prefer": "transient"})


@pytest.mark.parametrize(
    ("q", "problem_text"),
    [
        ("SELECT id FROM nosuchtable", "Search error occurred: Record 'nosuchtable' was not found."),
        (
            "SELECT c.nosuch FROM customer c",
            "Search error occurred: Field 'nosuch' for record 'customer' was not found.",
        ),
        (
            "SELECT nosuch FROM customer",
            "Search error occurred: Unknown identifier 'nosuch'. "
            "Available identifiers are: {customer=customer}.",
        ),
        (
            "SELECT t.id FROM transaction t JOIN customer c ON x.id = t.entity",
            "Search error occurred: Unknown identifier 'x'. "
            "Available identifiers are: {t=transaction, c=customer}.",
        ),
    ],
)
def test_suiteql_unknown_tables_and_columns_use_netsuites_wording(
    ns: httpx.Client, q: str, problem_text: str
) -> None:
    detail = problem(suiteql(ns, q), 400, "INVALID_PARAMETER")
    assert detail == {
        "detail": QUERY_PREFIX + problem_text,
        "o:errorQueryParam": "q",
        "o:errorCode": "INVALID_PARAMETER",
    }


@pytest.mark.parametrize(
    "q",
    [
        "SELECT",
        "SELECT id FROM",
        "SELECT id FROM customer WHERE",
        "SELECT id customer FROM",
        "SELECT id FROM customer WHERE companyname = 'x",
    ],
)
def test_malformed_suiteql_is_an_invalid_search_query(ns: httpx.Client, q: str) -> None:
    detail = problem(suiteql(ns, q), 400, "INVALID_PARAMETER")
    assert detail["detail"].startswith(QUERY_PREFIX) and len(detail["detail"]) > len(QUERY_PREFIX)
    assert detail["o:errorQueryParam"] == "q" and "o:errorPath" not in detail


def test_suiteql_paging_parameters_are_checked_and_named(ns: httpx.Client) -> None:
    response = ns.post(
        SUITEQL, params={"limit": 0}, json={"q": "SELECT id FROM customer"}, headers={"Prefer": "transient"}
    )
    assert problem(response, 400, "INVALID_PARAMETER")["o:errorQueryParam"] == "limit"
    listed = ns.get(f"{REC}/customer", params={"offset": "-1"})
    assert problem(listed, 400, "INVALID_PARAMETER")["o:errorQueryParam"] == "offset"
