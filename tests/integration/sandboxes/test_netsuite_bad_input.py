"""Bad input gets NetSuite's 4xx answers, never a 5xx: malformed bodies, ids, paging and queries
thrown at every record endpoint, SuiteQL and the token endpoint of the sandbox process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.sandboxes.test_netsuite_sandbox import (
    REC,
    SUITEQL,
    customer,
    error_code,
    shared_sandbox,
    tba,
)

pytestmark = pytest.mark.integration

WRITABLE = [
    "customer",
    "invoice",
    "customerpayment",
    "creditMemo",
    "customerRefund",
    "journalEntry",
    "serviceSaleItem",
    "nonInventorySaleItem",
]
RAW_BODIES = [b"{not json", b"", b"null", b"[]", b'"text"', b"1e999", b'{"a":', b"\xff\xfe\x00", b"{" * 5000]
JSON_BODIES: list[Any] = [
    {"companyName": [], "subsidiary": "x"},
    {"companyName": "X", "subsidiary": {"id": {"nested": 1}}},
    {"companyName": "X", "subsidiary": {"id": "\u00b2"}},
    {"companyName": "X", "subsidiary": {"id": 10**30}},
    {"companyName": "X", "subsidiary": {"id": -1}, "currency": True},
    {"entity": {"id": "1"}, "item": "x"},
    {"entity": {"id": "1"}, "item": {"items": [1, None]}},
    {"entity": {"id": "1"}, "item": {"items": [{"item": {"id": "101"}, "quantity": "abc"}]}},
    {"entity": {"id": "1"}, "item": {"items": [{"item": {"id": "101"}, "quantity": 0}]}},
    {
        "entity": {"id": "1"},
        "item": {"items": [{"item": {"id": "101"}, "amount": 1e308, "quantity": 1e-308}]},
    },
    {"customer": {"id": "1"}, "payment": "NaN", "apply": {"items": [{"doc": "1", "amount": "Infinity"}]}},
    {"customer": {"id": "1"}, "apply": {"items": [{"doc": {"id": "x"}}]}},
    {"customer": {"id": "1"}, "apply": {"items": "nope"}},
    {"subsidiary": {"id": "1"}, "line": {"items": [{"account": {"id": "1"}, "debit": True}]}},
    {"subsidiary": {"id": "1"}, "line": {"items": [{"account": {"id": "1"}, "debit": 5, "credit": 5}]}},
    {
        "subsidiary": {"id": "1"},
        "line": {"items": [{"account": None, "credit": -5}]},
        "tranDate": "2024-13-45",
    },
    {"itemId": {"x": 1}, "incomeAccount": "abc", "price": "cheap"},
    {"itemId": "I", "externalId": ["a"], "memo": {"m": 1}, "tranDate": 20240101},
]
BAD_IDS = ["abc", "eid:", "eid:%00", "-1", "1.5", "%F0%9F%92%A9", "9" * 400, "eid:" + "x" * 3000, "1/nosuch"]
BAD_PAGING = [
    {"limit": "abc"},
    {"limit": "0"},
    {"limit": "-1"},
    {"limit": "1001"},
    {"offset": "-5"},
    {"offset": "1e3"},
    {"limit": "9" * 40},
    {"expandSubResources": "maybe", "fields": ",,,"},
]
BAD_QUERIES = [
    "",
    "SELECT",
    "SELECT * FROM",
    "SELECT id FROM nosuch",
    "SELECT id FROM customer WHERE id = 'x",
    "SELECT id FROM customer WHERE " + "(" * 3000 + "id = 1" + ")" * 3000,
    "SELECT id FROM customer WHERE " + " AND ".join(["id = 1"] * 3000),
    "SELECT id FROM customer WHERE companyname > 5 ORDER BY companyname",
    "SELECT SUM(companyname), MAX(id) FROM customer",
    "SELECT id FROM customer c JOIN customer c ON c.id = c.id",
    "SELECT COUNT(*) FROM customer GROUP BY nosuch",
    "SELECT id FROM customer ORDER BY 5",
    "SELECT id FROM customer WHERE id IN ()",
    "SELECT id FROM customer WHERE companyname LIKE 5",
    "SELÉCT ☃ FROM \x00",
]


@pytest.fixture(scope="module")
def ns() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_sandbox(), auth=tba(), timeout=20) as client:
        client.post("/__sandbox/reset").raise_for_status()
        customer(client)
        yield client


def assert_4xx_in_netsuite_shape(response: httpx.Response, what: str) -> None:
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    assert response.json()["o:errorDetails"][0]["o:errorCode"], what


def test_malformed_bodies_on_every_write_endpoint_are_4xx(ns: httpx.Client) -> None:
    headers = {"Content-Type": "application/json"}
    for record_type in WRITABLE:
        for method, path in (
            ("POST", record_type),
            ("PUT", f"{record_type}/eid:x"),
            ("PATCH", f"{record_type}/1"),
        ):
            for raw in RAW_BODIES:
                response = ns.request(method, f"{REC}/{path}", content=raw, headers=headers)
                if not (raw == b"" and response.status_code == 204):  # an empty PATCH changes nothing
                    assert_4xx_in_netsuite_shape(response, f"{method} {path} {raw[:20]!r}")
            for body in JSON_BODIES:
                response = ns.request(method, f"{REC}/{path}", content=json.dumps(body), headers=headers)
                if response.status_code != 204:
                    assert_4xx_in_netsuite_shape(response, f"{method} {path} {body}")
    bad_json = ns.post(f"{REC}/invoice", content=b"{not json", headers=headers)
    assert error_code(bad_json) == "INVALID_CONTENT"


def test_bad_ids_paging_and_record_types_are_4xx(ns: httpx.Client) -> None:
    for record_id in BAD_IDS:
        for method in ("GET", "PATCH", "DELETE", "PUT"):
            response = ns.request(method, f"{REC}/customer/{record_id}", json={})
            assert_4xx_in_netsuite_shape(response, f"{method} customer/{record_id}")
    for params in BAD_PAGING:
        for path in (f"{REC}/customer", f"{REC}/invoice/1"):
            response = ns.get(path, params=params)
            if response.status_code != 200:
                assert_4xx_in_netsuite_shape(response, f"GET {path} {params}")
    missing = ns.get(f"{REC}/customer/424242")
    assert missing.status_code == 404 and error_code(missing) == "NONEXISTENT_ID"
    unknown_type = ns.get(f"{REC}/nosuchrecord/1")
    assert unknown_type.status_code == 404 and error_code(unknown_type) == "INVALID_RCRD_TYPE"
    for path in (
        "/services/rest/nowhere",
        f"{REC}/customer/1/item/2/x",
        "/services/rest/async/v1/job/x/task/y",
    ):
        assert_4xx_in_netsuite_shape(ns.get(path), path)
    assert_4xx_in_netsuite_shape(ns.request("TRACE", f"{REC}/customer"), "TRACE")


def test_malformed_suiteql_is_4xx(ns: httpx.Client) -> None:
    headers = {"Prefer": "transient", "Content-Type": "application/json"}
    for q in BAD_QUERIES:
        response = ns.post(SUITEQL, content=json.dumps({"q": q}), headers=headers)
        if response.status_code != 200:
            assert_4xx_in_netsuite_shape(response, q[:60])
    for raw in [*RAW_BODIES, b'{"q": 5}', b'{"q": null}', b'{"q": ["SELECT"]}']:
        assert_4xx_in_netsuite_shape(ns.post(SUITEQL, content=raw, headers=headers), repr(raw[:20]))
    for params in BAD_PAGING:
        response = ns.post(SUITEQL, params=params, json={"q": "SELECT id FROM customer"}, headers=headers)
        if response.status_code != 200:
            assert_4xx_in_netsuite_shape(response, str(params))


def test_token_endpoint_garbage_is_an_oauth_400(ns: httpx.Client) -> None:
    for raw in [*RAW_BODIES, b"grant_type=client_credentials&client_assertion=%%%", b"a=b&&&=="]:
        response = httpx.post(
            str(ns.base_url.join("/services/rest/auth/oauth2/v1/token")),
            content=raw,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 400 and response.json()["error"], raw[:20]
