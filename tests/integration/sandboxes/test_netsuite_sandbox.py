"""The NetSuite sandbox as a real process, driven the way the revbridge adapter drives NetSuite.

Every call is signed with the adapter's own ``TokenAuth`` (authlib's OAuth 1 core, HMAC-SHA256), so
these tests also prove the adapter's signing is accepted by a verifier written independently.
"""

from __future__ import annotations

import atexit
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from authlib.oauth1.rfc5849 import client_auth
from joserfc.jwk import RSAKey
from revbridge_system.adapters.netsuite.tba import TokenAuth

from tests.support.procs import sandbox, wait_until

pytestmark = pytest.mark.integration

ACCOUNT = "1234567_SB1"
CREDENTIALS = {
    "client_id": "it-consumer-key",
    "client_secret": "it-consumer-secret",
    "token": "it-token-id",
    "token_secret": "it-token-secret",
}
M2M_KEY = RSAKey.generate_key(2048)  # the integration's certificate key pair, made per run
SANDBOX_ENV = {
    "NETSUITE_SANDBOX_M2M_CLIENT_ID": "it-client",
    "NETSUITE_SANDBOX_M2M_CERTIFICATE_ID": "it-cert",
    "NETSUITE_SANDBOX_M2M_PUBLIC_KEY": M2M_KEY.as_pem(private=False).decode(),
    "NETSUITE_SANDBOX_ACCOUNT": ACCOUNT,
    "NETSUITE_SANDBOX_CONSUMER_KEY": CREDENTIALS["client_id"],
    "NETSUITE_SANDBOX_CONSUMER_SECRET": CREDENTIALS["client_secret"],
    "NETSUITE_SANDBOX_TOKEN_ID": CREDENTIALS["token"],
    "NETSUITE_SANDBOX_TOKEN_SECRET": CREDENTIALS["token_secret"],
}
REC = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"


def tba(**overrides: str) -> TokenAuth:
    return TokenAuth(**{**CREDENTIALS, **overrides}, realm=ACCOUNT)


_SHARED: dict[str, str] = {}


def shared_sandbox() -> str:
    """One sandbox process (``SANDBOX_ENV``) for every NetSuite module of this run, stopped at exit.

    Starting a process costs seconds on a loaded machine; tests isolate themselves with
    ``/__sandbox/reset`` and by clearing the faults they add.
    """
    if "base" not in _SHARED:
        stack = ExitStack()
        _SHARED["base"] = stack.enter_context(sandbox("netsuite", env=SANDBOX_ENV))
        atexit.register(stack.close)
    return _SHARED["base"]


@pytest.fixture(scope="module")
def base() -> str:
    return shared_sandbox()


@pytest.fixture
def ns(base: str) -> Iterator[httpx.Client]:
    httpx.post(f"{base}/__sandbox/reset").raise_for_status()
    headers = {"X-NetSuite-PropertyNameValidation": "error"}
    with httpx.Client(base_url=base, auth=tba(), headers=headers, timeout=10) as client:
        yield client


def error_code(response: httpx.Response) -> str:
    return response.json()["o:errorDetails"][0]["o:errorCode"]


def create(ns: httpx.Client, record_type: str, body: dict[str, Any]) -> str:
    response = ns.post(f"{REC}/{record_type}", json=body)
    assert response.status_code == 204, response.text
    return response.headers["location"].rsplit("/", 1)[1]


def customer(ns: httpx.Client, name: str = "Acme Inc", subsidiary: str = "1", **extra: Any) -> str:
    return create(ns, "customer", {"companyName": name, "subsidiary": {"id": subsidiary}, **extra})


def invoice(ns: httpx.Client, customer_id: str, *amounts: float, **extra: Any) -> str:
    lines = [{"item": {"id": "101"}, "quantity": 1, "rate": a, "amount": a} for a in amounts]
    return create(ns, "invoice", {"entity": {"id": customer_id}, "item": {"items": lines}, **extra})


def pay(ns: httpx.Client, customer_id: str, invoice_id: str, amount: float, **extra: Any) -> httpx.Response:
    apply = {"items": [{"doc": {"id": invoice_id}, "apply": True, "amount": amount}]}
    return ns.post(
        f"{REC}/customerpayment",
        json={"customer": {"id": customer_id}, "payment": amount, "apply": apply, **extra},
    )


def suiteql(ns: httpx.Client, q: str, **params: int) -> httpx.Response:
    return ns.post(SUITEQL, params=params, json={"q": q}, headers={"Prefer": "transient"})


# -- auth --------------------------------------------------------------------------------------


def test_valid_signature_is_accepted_and_bad_ones_get_401_invalid_login(base: str, ns: httpx.Client) -> None:
    assert ns.get(f"{REC}/currency/1").json()["symbol"] == "USD"
    for auth in (tba(client_secret="wrong"), tba(token="unknown-token"), tba(client_id="other-key")):
        response = httpx.get(f"{base}{REC}/currency/1", auth=auth)
        assert response.status_code == 401
        assert error_code(response) == "INVALID_LOGIN"
    assert httpx.get(f"{base}{REC}/currency/1").status_code == 401


def test_replayed_nonce_is_rejected(base: str, ns: httpx.Client) -> None:
    signed = next(tba().auth_flow(httpx.Request("GET", f"{base}{REC}/customer?limit=5")))
    with httpx.Client() as raw:
        assert raw.send(signed).status_code == 200
        replay = raw.send(signed)
    assert replay.status_code == 401 and error_code(replay) == "INVALID_LOGIN"


def test_body_changed_after_signing_is_rejected(base: str, ns: httpx.Client) -> None:
    body = b'{"companyName": "Signed", "subsidiary": {"id": "1"}}'
    request = httpx.Request(
        "POST", f"{base}{REC}/customer", content=body, headers={"Content-Type": "application/json"}
    )
    signed = next(tba().auth_flow(request))
    tampered = httpx.Request(
        "POST", signed.url, headers=signed.headers, content=body.replace(b"Signed", b"Forged")
    )
    with httpx.Client() as raw:
        response = raw.send(tampered)
    assert response.status_code == 401 and error_code(response) == "INVALID_LOGIN"


def test_timestamp_older_than_five_minutes_is_rejected(
    base: str, ns: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = str(int(client_auth.generate_timestamp()) - 301)
    monkeypatch.setattr(client_auth, "generate_timestamp", lambda: stale)
    response = httpx.get(f"{base}{REC}/currency/1", auth=tba())
    assert response.status_code == 401 and error_code(response) == "INVALID_LOGIN"


# -- records -----------------------------------------------------------------------------------


def test_create_customer_answers_204_with_location_and_no_body(base: str, ns: httpx.Client) -> None:
    response = ns.post(f"{REC}/customer", json={"companyName": "Acme", "subsidiary": {"id": "2"}})
    assert response.status_code == 204 and response.content == b""
    location = response.headers["location"]
    assert location.startswith(f"{base}{REC}/customer/") and location.rsplit("/", 1)[1].isdigit()
    record = ns.get(location).json()
    assert record["currency"]["id"] == "2" and record["currency"]["refName"] == "British pound"
    assert record["subsidiary"]["refName"] == "Revbridge Ltd."
    assert record["subsidiary"]["links"][0]["href"] == f"{base}{REC}/subsidiary/2"


def test_get_by_internal_id_and_by_external_id(ns: httpx.Client) -> None:
    cid = customer(ns, externalId="cus_Q1", email="ap@acme.test")
    by_id, by_eid = ns.get(f"{REC}/customer/{cid}").json(), ns.get(f"{REC}/customer/eid:cus_Q1").json()
    assert by_id == by_eid and by_id["id"] == cid and by_id["email"] == "ap@acme.test"
    missing = ns.get(f"{REC}/customer/999999")
    assert missing.status_code == 404 and error_code(missing) == "NONEXISTENT_ID"


def test_upsert_twice_by_external_id_keeps_one_record(base: str, ns: httpx.Client) -> None:
    first = ns.put(f"{REC}/customer/eid:cus_UP", json={"companyName": "Up Co", "subsidiary": {"id": "1"}})
    second = ns.put(f"{REC}/customer/eid:cus_UP", json={"companyName": "Up Co 2", "subsidiary": {"id": "1"}})
    assert first.status_code == second.status_code == 204
    assert first.headers["location"] == second.headers["location"]
    records = httpx.get(f"{base}/__sandbox/records/customer").json()
    assert [(r["externalId"], r["companyName"]) for r in records] == [("cus_UP", "Up Co 2")]


def test_customer_requires_company_name_and_a_real_subsidiary(ns: httpx.Client) -> None:
    missing = ns.post(f"{REC}/customer", json={"subsidiary": {"id": "1"}})
    assert missing.status_code == 400 and error_code(missing) == "USER_ERROR"
    bad_ref = ns.post(f"{REC}/customer", json={"companyName": "X", "subsidiary": {"id": "77"}})
    assert bad_ref.status_code == 400 and error_code(bad_ref) == "INVALID_CONTENT"


def test_unknown_property_is_named_when_validation_is_error_and_bad_json_is_invalid_content(
    ns: httpx.Client,
) -> None:
    unknown = ns.post(
        f"{REC}/customer", json={"companyName": "X", "subsidiary": {"id": "1"}, "colour": "red"}
    )
    assert unknown.status_code == 400 and error_code(unknown) == "INVALID_CONTENT"
    assert "colour" in unknown.json()["o:errorDetails"][0]["detail"]
    bad = ns.post(f"{REC}/customer", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and error_code(bad) == "INVALID_CONTENT"


def test_invoice_total_is_the_sum_of_lines_and_sublist_expands_on_request(ns: httpx.Client) -> None:
    cid = customer(ns)
    iid = invoice(ns, cid, 1000.0, 250.5, externalId="in_1", memo="May")
    record = ns.get(f"{REC}/invoice/{iid}").json()
    assert (record["total"], record["amountPaid"], record["amountRemaining"]) == (1250.5, 0.0, 1250.5)
    assert record["status"] == "Open" and record["tranId"].startswith("INV")
    assert record["subsidiary"]["id"] == "1" and record["currency"]["id"] == "1"
    assert set(record["item"]) == {"links"}
    expanded = ns.get(f"{REC}/invoice/{iid}", params={"expandSubResources": "true"}).json()
    lines = expanded["item"]["items"]
    assert [line["amount"] for line in lines] == [1000.0, 250.5]
    assert lines[0]["item"]["refName"] == "PLAT-ENT"


def test_invoice_in_another_currency_or_subsidiary_than_the_customer_is_rejected(ns: httpx.Client) -> None:
    cid = customer(ns)
    lines = {"items": [{"item": {"id": "101"}, "quantity": 1, "rate": 10.0, "amount": 10.0}]}
    wrong_currency = ns.post(
        f"{REC}/invoice", json={"entity": {"id": cid}, "currency": {"id": "2"}, "item": lines}
    )
    assert wrong_currency.status_code == 400 and error_code(wrong_currency) == "USER_ERROR"
    wrong_sub = ns.post(
        f"{REC}/invoice", json={"entity": {"id": cid}, "subsidiary": {"id": "3"}, "item": lines}
    )
    assert wrong_sub.status_code == 400 and error_code(wrong_sub) == "USER_ERROR"


def test_payment_applied_in_full_marks_the_invoice_paid_in_full(ns: httpx.Client) -> None:
    cid = customer(ns)
    iid = invoice(ns, cid, 300.0, 200.0)
    assert pay(ns, cid, iid, 200.0).status_code == 204
    partly = ns.get(f"{REC}/invoice/{iid}").json()
    assert (partly["amountPaid"], partly["amountRemaining"], partly["status"]) == (200.0, 300.0, "Open")
    assert pay(ns, cid, iid, 300.0).status_code == 204
    paid = ns.get(f"{REC}/invoice/{iid}").json()
    assert (paid["amountPaid"], paid["amountRemaining"], paid["status"]) == (500.0, 0.0, "Paid In Full")


def test_over_application_is_rejected_and_leaves_the_invoice_unchanged(base: str, ns: httpx.Client) -> None:
    cid = customer(ns)
    iid = invoice(ns, cid, 100.0)
    response = pay(ns, cid, iid, 150.0)
    assert response.status_code == 400 and error_code(response) == "USER_ERROR"
    assert httpx.get(f"{base}/__sandbox/records/customerpayment").json() == []
    assert ns.get(f"{REC}/invoice/{iid}").json()["amountRemaining"] == 100.0


def test_payment_in_another_currency_than_the_invoice_is_rejected(ns: httpx.Client) -> None:
    cid = customer(ns)
    iid = invoice(ns, cid, 100.0)
    response = pay(ns, cid, iid, 100.0, currency={"id": "4"})
    assert response.status_code == 400 and error_code(response) == "USER_ERROR"
    assert "currency" in response.json()["o:errorDetails"][0]["detail"]


def test_patch_recomputes_the_invoice_and_deletes_respect_dependent_records(ns: httpx.Client) -> None:
    cid = customer(ns)
    iid = invoice(ns, cid, 100.0)
    lines = {"items": [{"item": {"id": "102"}, "quantity": 3, "rate": 40.0}]}
    assert ns.patch(f"{REC}/invoice/{iid}", json={"memo": "seats", "item": lines}).status_code == 204
    patched = ns.get(f"{REC}/invoice/{iid}").json()
    assert (patched["memo"], patched["total"], patched["amountRemaining"]) == ("seats", 120.0, 120.0)
    assert pay(ns, cid, iid, 120.0).status_code == 204
    blocked = ns.delete(f"{REC}/customer/{cid}")
    assert blocked.status_code == 400 and error_code(blocked) == "USER_ERROR"
    payment_id = ns.get(f"{REC}/customerpayment").json()["items"][0]["id"]
    assert ns.delete(f"{REC}/customerpayment/{payment_id}").status_code == 204
    reopened = ns.get(f"{REC}/invoice/{iid}").json()
    assert (reopened["status"], reopened["amountRemaining"]) == ("Open", 120.0)


def test_list_pages_with_limit_offset_and_links(base: str, ns: httpx.Client) -> None:
    ids = [customer(ns, f"Customer {n}") for n in range(5)]
    page = ns.get(f"{REC}/customer", params={"limit": 2, "offset": 2}).json()
    assert (page["count"], page["hasMore"], page["offset"], page["totalResults"]) == (2, True, 2, 5)
    assert [item["id"] for item in page["items"]] == ids[2:4]
    assert page["items"][0]["links"][0]["href"] == f"{base}{REC}/customer/{ids[2]}"
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert rels["next"].endswith("limit=2&offset=4")
    last = ns.get(f"{REC}/customer", params={"limit": 2, "offset": 4}).json()
    assert (last["count"], last["hasMore"]) == (1, False)


def test_reference_data_is_seeded_read_only_and_type_names_are_case_insensitive(ns: httpx.Client) -> None:
    lower, camel = ns.get(f"{REC}/servicesaleitem/102").json(), ns.get(f"{REC}/serviceSaleItem/102").json()
    assert lower == camel and lower["itemId"] == "SEAT" and lower["displayName"] == "Additional seats"
    assert ns.get(f"{REC}/subsidiary/3").json()["currency"]["id"] == "4"
    assert ns.get(f"{REC}/account", params={"limit": 10}).json()["totalResults"] == 6
    assert ns.post(f"{REC}/currency", json={"name": "Yen"}).status_code == 403


# -- SuiteQL -----------------------------------------------------------------------------------


def test_suiteql_filters_orders_and_pages(ns: httpx.Client) -> None:
    for name, sub in [("Alpha", "1"), ("Beta", "1"), ("Acme", "1"), ("Apex", "2"), ("Atlas", "1")]:
        customer(ns, name, sub)
    q = (
        "SELECT id, companyname AS name FROM customer "
        "WHERE subsidiary = 1 AND companyname LIKE 'A%' ORDER BY name DESC"
    )
    first = suiteql(ns, q, limit=2, offset=0).json()
    assert [item["name"] for item in first["items"]] == ["Atlas", "Alpha"]
    assert (first["count"], first["hasMore"], first["totalResults"]) == (2, True, 3)
    assert any(link["rel"] == "next" for link in first["links"])
    second = suiteql(ns, q, limit=2, offset=2).json()
    assert [item["name"] for item in second["items"]] == ["Acme"] and second["hasMore"] is False
    assert all(isinstance(item["id"], str) for item in first["items"])


def test_suiteql_join_and_aggregates_over_transactions(ns: httpx.Client) -> None:
    acme, beta = customer(ns, "Acme"), customer(ns, "Beta")
    paid = invoice(ns, acme, 100.0)
    invoice(ns, acme, 50.0)
    invoice(ns, beta, 70.0)
    assert pay(ns, acme, paid, 100.0).status_code == 204
    rows = suiteql(
        ns,
        "SELECT c.companyname, COUNT(*) AS n, SUM(t.foreignamountunpaid) AS due FROM transaction t "
        "JOIN customer c ON t.entity = c.id WHERE t.type = 'CustInvc' "
        "GROUP BY c.companyname ORDER BY due DESC",
    ).json()["items"]
    assert [(r["companyname"], r["n"], r["due"]) for r in rows] == [("Beta", "1", "70"), ("Acme", "2", "50")]
    statuses = suiteql(ns, f"SELECT status FROM transaction WHERE id = {paid}").json()["items"]
    assert statuses[0]["status"] == "B"


def test_suiteql_needs_prefer_transient_and_a_valid_query(ns: httpx.Client) -> None:
    no_prefer = ns.post(SUITEQL, json={"q": "SELECT id FROM customer"})
    assert no_prefer.status_code == 400
    malformed = suiteql(ns, "SELECT id FROM customer WHERE")
    assert malformed.status_code == 400 and error_code(malformed) == "INVALID_PARAMETER"
    unknown = suiteql(ns, "SELECT nosuchcolumn FROM customer")
    assert unknown.status_code == 400 and "nosuchcolumn" in unknown.json()["o:errorDetails"][0]["detail"]


# -- async, governance, faults, admin ----------------------------------------------------------


def test_respond_async_runs_a_job_and_a_duplicate_idempotency_key_returns_the_first_job(
    base: str, ns: httpx.Client
) -> None:
    key = str(uuid.uuid4())
    headers = {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": key}
    body = {"companyName": "Async Co", "subsidiary": {"id": "1"}}
    accepted = ns.post(f"{REC}/customer", json=body, headers=headers)
    assert accepted.status_code == 202 and accepted.headers["preference-applied"] == "respond-async"
    job_path = accepted.headers["location"]
    assert job_path.startswith("/services/rest/async/v1/job/")
    job = wait_until(lambda: (j := ns.get(job_path).json())["completed"] and j, timeout=5, message="job")
    assert job["progress"] == "succeeded"
    task = ns.get(f"{job_path}/task/1").json()
    assert task["completed"] is True and task["progress"] == "succeeded"
    result = ns.get(f"{job_path}/task/1/result")
    assert result.status_code == 204 and "/record/v1/customer/" in result.headers["location"]
    duplicate = ns.post(f"{REC}/customer", json=body, headers=headers)
    assert duplicate.status_code == 400 and error_code(duplicate) == "IDEMPOTENCY_ERROR"
    assert duplicate.headers["location"] == job_path
    assert len(httpx.get(f"{base}/__sandbox/records/customer").json()) == 1


def test_commit_then_drop_answers_500_but_the_record_is_created(base: str, ns: httpx.Client) -> None:
    fault = {"path_prefix": f"{REC}/customer", "method": "POST", "mode": "commit_then_drop", "count": 1}
    httpx.post(f"{base}/__sandbox/faults", json=fault).raise_for_status()
    lost = ns.post(f"{REC}/customer", json={"companyName": "Ghost", "subsidiary": {"id": "1"}})
    assert lost.status_code == 500
    assert [r["companyName"] for r in httpx.get(f"{base}/__sandbox/records/customer").json()] == ["Ghost"]


def test_error_fault_answers_the_status_with_retry_after_then_clears(base: str, ns: httpx.Client) -> None:
    fault = {"path_prefix": f"{REC}/invoice", "status": 503, "retry_after": 2, "count": 1}
    httpx.post(f"{base}/__sandbox/faults", json=fault).raise_for_status()
    failed = ns.get(f"{REC}/invoice")
    assert failed.status_code == 503 and failed.headers["retry-after"] == "2"
    assert ns.get(f"{REC}/invoice").status_code == 200


def test_request_log_keeps_only_allowed_headers(base: str, ns: httpx.Client) -> None:
    suiteql(ns, "SELECT id FROM currency")
    entry = httpx.get(f"{base}/__sandbox/requests", params={"limit": 1}).json()[-1]
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", SUITEQL, 200)
    assert entry["headers"] == {"prefer": "transient"}
