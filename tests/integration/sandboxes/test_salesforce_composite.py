"""Price books, composite and sObject collections, and hostile input, against the sandbox process.

Covers the write paths beyond single-record CRUD: price book entries feeding opportunity lines,
``/composite`` with reference chaining and all-or-none rollback, ``/composite/sobjects`` in bulk,
and a sweep of malformed bodies, queries and ids that must never produce a 5xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.procs import sandbox

pytestmark = pytest.mark.integration

CLIENT_ID = "composite-client"
CLIENT_SECRET = "composite-secret"
V = "/services/data/v59.0"


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    env = {"SALESFORCE_SANDBOX_CLIENT_ID": CLIENT_ID, "SALESFORCE_SANDBOX_CLIENT_SECRET": CLIENT_SECRET}
    with sandbox("salesforce", env=env) as url:
        yield url


@pytest.fixture
def sf(base: str) -> Iterator[httpx.Client]:
    httpx.post(f"{base}/__sandbox/reset").raise_for_status()
    data = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    token = httpx.post(f"{base}/services/oauth2/token", data=data).json()["access_token"]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def create(sf: httpx.Client, sobject: str, **fields: Any) -> str:
    response = sf.post(f"{V}/sobjects/{sobject}/", json=fields)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def soql(sf: httpx.Client, q: str) -> list[dict[str, Any]]:
    response = sf.get(f"{V}/query", params={"q": q})
    assert response.status_code == 200, response.text
    return list(response.json()["records"])


def codes(response: httpx.Response) -> list[str]:
    return [e["errorCode"] for e in response.json()]


# -- price books -----------------------------------------------------------------------------------
def test_standard_pricebook_prices_a_line_item_through_its_entry(sf: httpx.Client) -> None:
    [standard] = soql(sf, "SELECT Id, Name FROM Pricebook2 WHERE IsStandard = true")
    assert standard["Name"] == "Standard Price Book"
    product = create(sf, "Product2", Name="Seat", IsActive=True)
    entry = create(
        sf, "PricebookEntry", Pricebook2Id=standard["Id"], Product2Id=product, UnitPrice=40, IsActive=True
    )
    account = create(sf, "Account", Name="Acme")
    contact = create(
        sf, "Contact", AccountId=account, FirstName="Ada", LastName="Lovelace", Email="ada@x.test"
    )
    opp = create(
        sf, "Opportunity", Name="Deal", AccountId=account, StageName="Prospecting", CloseDate="2025-01-31"
    )
    create(sf, "OpportunityLineItem", OpportunityId=opp, PricebookEntryId=entry, Quantity=3)
    [line] = soql(
        sf, "SELECT Product2.Name, UnitPrice, TotalPrice, PricebookEntry.UnitPrice FROM OpportunityLineItem"
    )
    assert (line["Product2"]["Name"], line["UnitPrice"], line["TotalPrice"]) == ("Seat", 40.0, 120.0)
    assert soql(sf, "SELECT Email, Account.Name FROM Contact")[0]["Account"]["Name"] == "Acme"
    assert sf.get(f"{V}/sobjects/Contact/{contact}").json()["FirstName"] == "Ada"


def test_custom_pricebook_needs_a_standard_price_and_refuses_duplicates(sf: httpx.Client) -> None:
    [standard] = soql(sf, "SELECT Id FROM Pricebook2 WHERE IsStandard = true")
    custom = create(sf, "Pricebook2", Name="Partners", IsActive=True)
    product = create(sf, "Product2", Name="Seat")
    entry = {"Pricebook2Id": custom, "Product2Id": product, "UnitPrice": 30}
    assert codes(sf.post(f"{V}/sobjects/PricebookEntry/", json=entry)) == ["STANDARD_PRICE_NOT_DEFINED"]
    create(sf, "PricebookEntry", Pricebook2Id=standard["Id"], Product2Id=product, UnitPrice=40)
    create(sf, "PricebookEntry", **entry)
    assert codes(sf.post(f"{V}/sobjects/PricebookEntry/", json=entry)) == ["DUPLICATE_VALUE"]
    standard_flag = sf.patch(f"{V}/sobjects/Pricebook2/{custom}", json={"IsStandard": True})
    assert codes(standard_flag) == ["INVALID_FIELD_FOR_INSERT_UPDATE"]


@pytest.mark.parametrize(
    ("sobject", "prefix"),
    [("Account", "001"), ("Contact", "003"), ("Pricebook2", "01s"), ("PricebookEntry", "01u"),
     ("OpportunityLineItem", "00k"), ("Contract", "800"), ("Opportunity", "006"), ("Product2", "01t")],
)  # fmt: skip
def test_every_object_describes_its_fields_prefix_and_urls(
    sf: httpx.Client, sobject: str, prefix: str
) -> None:
    described = sf.get(f"{V}/sobjects/{sobject}/describe").json()
    assert (described["name"], described["keyPrefix"]) == (sobject, prefix)
    assert described["urls"]["describe"] == f"{V}/sobjects/{sobject}/describe"
    keys = {"name", "type", "label", "nillable", "updateable", "createable", "custom"}
    assert all(keys <= set(f) for f in described["fields"])
    assert next(f for f in described["fields"] if f["name"] == "Id")["type"] == "id"


# -- composite -------------------------------------------------------------------------------------
def sub(ref: str, method: str, url: str, body: Any = None) -> dict[str, Any]:
    return {"referenceId": ref, "method": method, "url": f"{V}{url}", **({"body": body} if body else {})}


def test_composite_chains_references_and_counts_as_one_call(sf: httpx.Client) -> None:
    before = sf.get(f"{V}/sobjects/").headers["Sforce-Limit-Info"]
    requests = [
        sub("acct", "POST", "/sobjects/Account", {"Name": "Chained"}),
        sub("ct", "POST", "/sobjects/Contact", {"LastName": "Doe", "AccountId": "@{acct.id}"}),
        sub("read", "GET", "/sobjects/Account/@{acct.id}?fields=Name"),
        sub("q", "GET", "/query?q=SELECT+Id+FROM+Contact"),
        sub("again", "GET", "/sobjects/Contact/@{q.records[0].Id}"),
    ]
    answer = sf.post(f"{V}/composite", json={"allOrNone": False, "compositeRequest": requests})
    assert answer.status_code == 200
    results = {r["referenceId"]: r for r in answer.json()["compositeResponse"]}
    assert results["acct"]["httpStatusCode"] == 201
    assert results["acct"]["httpHeaders"]["Location"].endswith(results["acct"]["body"]["id"])
    assert results["read"]["body"]["Name"] == "Chained"
    assert results["again"]["body"]["AccountId"] == results["acct"]["body"]["id"]
    used = [int(h.split("=")[1].split("/")[0]) for h in (before, answer.headers["Sforce-Limit-Info"])]
    assert used[1] == used[0] + 1


def test_composite_all_or_none_rolls_back_and_halts_the_rest(sf: httpx.Client) -> None:
    requests = [
        sub("a", "POST", "/sobjects/Account", {"Name": "Rolled back"}),
        sub("bad", "POST", "/sobjects/Contact", {"AccountId": "@{a.id}"}),  # LastName missing
        sub("never", "POST", "/sobjects/Account", {"Name": "Never"}),
    ]
    answer = sf.post(f"{V}/composite", json={"allOrNone": True, "compositeRequest": requests}).json()
    statuses = [(r["httpStatusCode"], r["body"][0]["errorCode"]) for r in answer["compositeResponse"]]
    assert statuses == [
        (400, "PROCESSING_HALTED"),
        (400, "REQUIRED_FIELD_MISSING"),
        (400, "PROCESSING_HALTED"),
    ]
    assert soql(sf, "SELECT Id FROM Account") == []
    partial = sf.post(f"{V}/composite", json={"allOrNone": False, "compositeRequest": requests}).json()
    assert [r["httpStatusCode"] for r in partial["compositeResponse"]] == [201, 400, 201]


def test_composite_limits_and_bad_references(sf: httpx.Client) -> None:
    too_many = [sub(f"r{i}", "GET", "/sobjects/") for i in range(26)]
    assert sf.post(f"{V}/composite", json={"compositeRequest": too_many}).status_code == 400
    dangling = [sub("x", "GET", "/sobjects/Account/@{nope.id}")]
    [entry] = sf.post(f"{V}/composite", json={"compositeRequest": dangling}).json()["compositeResponse"]
    assert (entry["httpStatusCode"], entry["body"][0]["errorCode"]) == (400, "PROCESSING_HALTED")


# -- collections -----------------------------------------------------------------------------------
def rec(sobject: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": sobject}, **fields}


def test_collections_create_update_upsert_retrieve_delete(sf: httpx.Client) -> None:
    url = f"{V}/composite/sobjects"
    created = sf.post(url, json={"records": [rec("Account", Name=f"A{i}") for i in range(200)]}).json()
    assert len(created) == 200 and all(r["success"] for r in created)
    ids = [r["id"] for r in created[:2]]
    updated = sf.patch(url, json={"records": [rec("Account", Id=i, BillingCountry="DE") for i in ids]})
    assert [r["success"] for r in updated.json()] == [True, True]
    got = sf.get(f"{url}/Account", params={"ids": ",".join(ids), "fields": "BillingCountry"}).json()
    assert [r["BillingCountry"] for r in got] == ["DE", "DE"]
    upsert = [rec("Account", Name="U", External_Id__c="E1"), rec("Account", Name="V", External_Id__c="E2")]
    assert [
        r["created"] for r in sf.patch(f"{url}/Account/External_Id__c", json={"records": upsert}).json()
    ] == [
        True,
        True,
    ]
    assert [
        r["created"] for r in sf.patch(f"{url}/Account/External_Id__c", json={"records": upsert}).json()
    ] == [False] * 2
    deleted = sf.delete(url, params={"ids": ",".join(ids)}).json()
    assert [r["success"] for r in deleted] == [True, True]
    assert len(soql(sf, "SELECT Id FROM Account")) == 200
    too_many = sf.post(url, json={"records": [rec("Account", Name="x")] * 201})
    assert (too_many.status_code, codes(too_many)) == (400, ["EXCEEDED_ID_LIMIT"])


def test_collections_all_or_none_rolls_back_every_record(sf: httpx.Client) -> None:
    url = f"{V}/composite/sobjects"
    records = [rec("Account", Name="ok"), rec("Account", BillingCountry="no name")]
    results = sf.post(url, json={"allOrNone": True, "records": records}).json()
    assert [r["errors"][0]["statusCode"] for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "REQUIRED_FIELD_MISSING",
    ]
    assert soql(sf, "SELECT Id FROM Account") == []
    partial = sf.post(url, json={"allOrNone": False, "records": records}).json()
    assert [r["success"] for r in partial] == [True, False]


# -- hostile input ---------------------------------------------------------------------------------
def test_malformed_json_and_unknown_sobject_use_salesforce_codes(sf: httpx.Client) -> None:
    broken = sf.post(
        f"{V}/sobjects/Account/", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (broken.status_code, codes(broken)) == (400, ["JSON_PARSER_ERROR"])
    assert codes(sf.post(f"{V}/sobjects/Nope__x/", json={"Name": "x"})) == ["NOT_FOUND"]
    assert codes(sf.get(f"{V}/query", params={"q": "SELECT Id FROM Nope"})) == ["INVALID_TYPE"]


BAD_BODIES: list[bytes] = [
    b"", b"{", b"[]", b"null", b"42", b'"s"', b"\xff\xfe", b'{"Name": NaN}', b'{"Name": {"a": 1}}',
    b'{"Amount": 1e400}', b'{"ContractTerm": 1e400}', b'{"CloseDate": 5}', b'{"AccountId": "short"}',
    b'{"IsActive": "yes"}', b'{"records": "x"}', b'{"records": [1, 2]}', b'{"records": [{"attributes": 1}]}',
    b'{"compositeRequest": [{"referenceId": "a", "method": "GET", "url": "/services/data/v59.0/composite"}]}',
    b'{"compositeRequest": [{"method": "TRACE"}]}', b'{"compositeRequest": {}}', b"[" * 100_000,
    b'{"Name": "' + b"x" * 100_000 + b'"}', b'{"Quantity": "1,5", "OpportunityId": 7}',
]  # fmt: skip
TARGETS = [
    ("POST", "/sobjects/Account/"), ("POST", "/sobjects/Opportunity/"), ("POST", "/sobjects/Contract/"),
    ("POST", "/sobjects/OpportunityLineItem/"), ("PATCH", "/sobjects/Account/001RB0000000001AAA"),
    ("PATCH", "/sobjects/Account/External_Id__c/k%2F1"), ("POST", "/composite"),
    ("POST", "/composite/sobjects"), ("PATCH", "/composite/sobjects"),
    ("PATCH", "/composite/sobjects/Account/External_Id__c"), ("POST", "/sobjects/Zzz/"),
]  # fmt: skip
BAD_QUERIES = [
    "", "SELECT", "SELECT Id FROM", "SELECT Id FROM Account WHERE", "SELECT Id FROM Account WHERE Name = 'x",
    "SELECT Id FROM Account LIMIT -1", "SELECT Id FROM Account LIMIT 99999999999999999999999",
    "SELECT Id FROM Account WHERE CreatedDate > 2024-13-45T99:00:00Z", "SELECT Id, FROM Account",
    "SELECT Id FROM Account ORDER BY", "SELECT (SELECT Id FROM Contacts) FROM Account", "\x00",
    "SELECT Id FROM Account WHERE Id IN ()", "SELECT Account.Owner.Name FROM Contact",
    "SELECT COUNT(Id), Name FROM Account GROUP BY Name", "(" * 5000,
    "SELECT Id FROM Account WHERE Name LIKE 5", "SELECT Id FROM Account WHERE Amount > 'x'", "SÉLECT ☃",
]  # fmt: skip
BAD_PATHS = [
    "/sobjects/Account/123", "/sobjects/Account/%00", "/sobjects/Account/" + "A" * 18,
    "/sobjects/Account/Name/x", "/sobjects/Account/External_Id__c/", "/query/nope-1",
    "/query/01gRB0000000001AAA--5",
    "/sobjects/Account/describe/x", "/sobjects/Account/001RB0000000001AAA?fields=Nope",
    "/composite/sobjects/Account?ids=" + "x," * 300, "/composite/sobjects?ids=",
    "/sobjects/%F0%9F%92%A9/describe",
]  # fmt: skip


def test_hostile_bodies_queries_and_ids_never_get_a_5xx(sf: httpx.Client) -> None:
    create(sf, "Account", Name="Target", External_Id__c="k/1")
    answers = [
        sf.request(method, f"{V}{path}", content=body, headers={"Content-Type": "application/json"})
        for method, path in TARGETS
        for body in BAD_BODIES
    ]
    answers += [sf.get(f"{V}/query", params={"q": q}) for q in BAD_QUERIES]
    answers += [sf.request(m, f"{V}{p}") for p in BAD_PATHS for m in ("GET", "PATCH", "DELETE")]
    answers.append(sf.delete(f"{V}/composite/sobjects", params={"ids": "x", "allOrNone": "maybe"}))
    answers.append(sf.post(f"{sf.base_url}/services/oauth2/token", content=b"\xff=\xfe&grant_type=x"))
    server_errors = [
        (a.request.method, str(a.request.url)[:120], a.status_code) for a in answers if a.status_code >= 500
    ]
    assert server_errors == []
    client_errors = [a for a in answers if a.status_code >= 400 and "oauth2" not in str(a.request.url)]
    assert all(isinstance(a.json(), list) and "errorCode" in a.json()[0] for a in client_errors)
