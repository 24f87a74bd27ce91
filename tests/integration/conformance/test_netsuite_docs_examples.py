"""The `netsuite` package's own documentation examples (0.12, https://jacobsvante.github.io/netsuite/,
``docs/index.md`` and the ``rest_api`` docstrings), run unchanged against the NetSuite sandbox.

Each test quotes the example it follows. The only change to an example is where it sends its
calls: the package builds ``https://<account>.suitetalk.api.netsuite.com`` (and ``restlets.api``)
URLs, so ``_make_url`` is pointed at the sandbox (the shim ``test_netsuite_sdk`` uses), and record
types the sandbox does not hold (``salesOrder``) are swapped for those a subscription business
uses (customer, invoice) -- with the original shown to answer as NetSuite answers a type it
does not have. Left out: OAuth 2.0 (the package has no OAuth 2.0 client, ``Config`` says "TODO:
Support OAuth2"), SuiteAnalytics/ODBC, ``rest_api.token_info()`` (it hard-codes the real
``restlets.api.netsuite.com`` host, past the shim), the CLI's ``openapi-serve`` (a local Swagger UI
over ``openapi()``, which is covered) and the SOAP searches beyond showing that the SOAP
endpoint is not served.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jsonschema_rs
import pytest
import zeep.exceptions
from netsuite import Config, NetSuite, TokenAuth
from netsuite.exceptions import NetsuiteAPIRequestError
from netsuite.rest_api import NetSuiteRestApi
from netsuite.restlet import NetSuiteRestlet

from tests.integration.conformance.test_netsuite_sdk import AUTH
from tests.integration.sandboxes.test_netsuite_sandbox import ACCOUNT, shared_sandbox

pytestmark = [
    pytest.mark.integration,
    # deprecated calls inside netsuite 0.12.0 itself (see test_netsuite_sdk): not ours to change
    pytest.mark.filterwarnings("ignore:use sign_hmac_sha256_with_client:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning"),
]

T = TypeVar("T")


def pointed_at(base: str, config: Config) -> NetSuite:
    """``NetSuite(config)`` whose REST API and Restlet clients build URLs on the sandbox's host."""

    class SandboxRestApi(NetSuiteRestApi):
        def _make_url(self, subpath: str) -> str:
            return f"{base}/services/rest{subpath}"

    class SandboxRestlet(NetSuiteRestlet):
        def _make_url(self, subpath: str) -> str:
            return f"{base}/app/site/hosting/restlet.nl{subpath}"

    ns = NetSuite(config)
    ns.rest_api = SandboxRestApi(config)  # type: ignore[misc]  # replaces the cached_property
    ns.restlet = SandboxRestlet(config)  # type: ignore[misc]
    return ns


def run(make: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await make()

    return asyncio.run(main())


def failure(make: Callable[[], Awaitable[Any]]) -> tuple[int, dict[str, Any]]:
    """The status and the single ``o:errorDetails`` entry of a call the package raised for."""
    with pytest.raises(NetsuiteAPIRequestError) as caught:
        run(make)
    body = json.loads(caught.value.response_text)
    assert (
        set(body) == {"type", "title", "status", "o:errorDetails"}
        and body["status"] == caught.value.status_code
    )
    return caught.value.status_code, body["o:errorDetails"][0]


@pytest.fixture(scope="module")
def base() -> str:
    return shared_sandbox()


@pytest.fixture
def ns(base: str) -> NetSuite:
    """The Basic Example's configuration, with the sandbox's account and credentials."""
    httpx.post(f"{base}/__sandbox/reset").raise_for_status()
    config = Config(account=ACCOUNT, auth=TokenAuth(**AUTH))
    return pointed_at(base, config)


async def new_customer(ns: NetSuite, name: str, **extra: Any) -> str:
    body = {"companyName": name, "subsidiary": {"id": "1"}, **extra}
    response = await ns.rest_api.request("POST", "/record/v1/customer", json=body)
    assert response.status_code == 204, response.text
    return str(response.headers["location"].rsplit("/", 1)[1])


async def new_invoice(ns: NetSuite, customer_id: str, *amounts: float, **extra: Any) -> str:
    lines = [{"item": {"id": "101"}, "quantity": 1, "amount": amount} for amount in amounts]
    body = {"entity": {"id": customer_id}, "item": {"items": lines}, **extra}
    response = await ns.rest_api.request("POST", "/record/v1/invoice", json=body)
    assert response.status_code == 204, response.text
    return str(response.headers["location"].rsplit("/", 1)[1])


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


# -- Programmatic use ---------------------------------------------------------------------------


def test_basic_example_lists_records_and_an_unheld_record_type_is_not_found(ns: NetSuite) -> None:
    """Basic Example: ``rest_api_results = await ns.rest_api.get("/record/v1/salesOrder")``."""

    async def scenario() -> dict[str, Any]:
        await new_invoice(ns, await new_customer(ns, "Basic Co"), 120.0)
        return await ns.rest_api.get("/record/v1/invoice")

    listed = run(scenario)
    assert (listed["count"], listed["totalResults"], listed["hasMore"]) == (1, 1, False)
    assert listed["items"][0]["links"][0]["href"].endswith(f"/record/v1/invoice/{listed['items'][0]['id']}")
    status, detail = failure(lambda: ns.rest_api.get("/record/v1/salesOrder"))
    assert (status, detail["o:errorCode"]) == (404, "INVALID_RCRD_TYPE")
    assert detail["detail"] == "Record type 'salesOrder' does not exist."


def test_basic_example_restlet_is_not_served(ns: NetSuite) -> None:
    """Basic Example: ``restlet_results = await ns.restlet.get(987, deploy=2)`` (and the CLI's
    ``echo '{"savedSearchId": 987}' | netsuite restlet 123 -``). The sandbox deploys no Restlets, so
    they answer 404 in NetSuite's error shape rather than anything a client could take for data.
    """
    status, detail = failure(lambda: ns.restlet.get(987, deploy=2))
    assert (status, detail["o:errorCode"]) == (404, "NONEXISTENT_ID")
    status, detail = failure(lambda: ns.restlet.post(987, deploy=2, json={"savedSearchId": 987}))
    assert (status, detail["o:errorCode"]) == (404, "NONEXISTENT_ID")


def test_soap_endpoint_is_not_served(base: str) -> None:
    """Basic Example: ``soap_api_results = await ns.soap_api.getList('customer', internalIds=[1337])``
    first loads the account's WSDL (``soap_api_options`` may name it, as the cache examples pass
    options): the sandbox serves none, so the package fails there, on a 404 in NetSuite's shape."""
    wsdl = f"{base}/wsdl/v2024_1_0/netsuite.wsdl"
    ns = NetSuite(Config(account=ACCOUNT, auth=TokenAuth(**AUTH)), soap_api_options={"wsdl_url": wsdl})
    with pytest.raises(zeep.exceptions.TransportError) as caught:
        run(lambda: ns.soap_api.getList("customer", internalIds=[1337]))
    assert caught.value.status_code == 404
    for path in ("/wsdl/v2024_1_0/netsuite.wsdl", "/services/NetSuitePort_2024_1"):
        response = httpx.post(f"{base}{path}") if "Port" in path else httpx.get(f"{base}{path}")
        assert response.status_code == 404
        assert response.json()["o:errorDetails"][0]["o:errorCode"] == "NONEXISTENT_ID"


def test_search_by_field_value_rest_api_filters_the_collection(ns: NetSuite) -> None:
    """Search Object by Custom Field Value - REST API:
    ``query_params = {'q': f'Name CONTAIN "{customer_keyword}"'}`` then
    ``await ns.rest_api.get("/record/v1/customer", params=query_params)``.

    The example's ``Name`` is no field of a customer (field ids are the record's, ``companyName``):
    that answers 400 naming it, and the same filter on ``companyName`` finds the customers.
    """
    customer_keyword = "Test Customer"

    async def scenario() -> tuple[list[str], dict[str, Any]]:
        wanted = [await new_customer(ns, "Test Customer"), await new_customer(ns, "Big test customer Ltd")]
        await new_customer(ns, "Someone Else")
        query_params = {"q": f'companyName CONTAIN "{customer_keyword}"'}
        return wanted, await ns.rest_api.get("/record/v1/customer", params=query_params)

    wanted, found = run(scenario)
    assert ids(found) == wanted and found["totalResults"] == 2
    assert all("q=companyName" in link["href"] for link in found["links"])
    status, detail = failure(
        lambda: ns.rest_api.get("/record/v1/customer", params={"q": f'Name CONTAIN "{customer_keyword}"'})
    )
    assert (status, detail["o:errorCode"], detail["o:errorQueryParam"]) == (400, "INVALID_PARAMETER", "q")
    assert "Field 'Name' for record 'customer' was not found" in detail["detail"]


def test_query_conditions_join_with_and_or_and_parentheses(ns: NetSuite) -> None:
    """CLI: ``netsuite rest-api get /record/v1/salesOrder --query 'email IS "john.doe@example.com"'``
    (sent as ``params["q"]``), with the operators NetSuite documents for each field type."""

    async def scenario() -> dict[str, list[str]]:
        john = await new_customer(ns, "John Doe Co", email="john.doe@example.com")
        gbp = await new_customer(ns, "UK Co", email="ap@uk.test", subsidiary={"id": "2"})
        bare = await new_customer(ns, "No Mail Co")
        inv_small = await new_invoice(ns, john, 50.0, tranDate="2024-01-15")
        inv_big = await new_invoice(ns, gbp, 500.0, tranDate="2024-03-01")
        queries = {
            "email": 'email IS "john.doe@example.com"',
            "empty": "email EMPTY",
            "any_of": f"id ANY_OF [{john}, {bare}]",
            "or_and": 'subsidiary EQUAL 2 OR (email START_WITH john AND companyName END_WITH "Co")',
            "between": "total BETWEEN [10, 100]",
            "dates": 'tranDate ON_OR_AFTER "2/1/2024" AND tranDate BEFORE "2024-12-31"',
            "not": "total GREATER_NOT 100",
        }
        out: dict[str, list[str]] = {"ids": [john, gbp, bare, inv_small, inv_big]}
        for name, q in queries.items():
            record_type = "invoice" if name in ("between", "dates", "not") else "customer"
            out[name] = ids(await ns.rest_api.get(f"/record/v1/{record_type}", params={"q": q}))
        return out

    got = run(scenario)
    john, gbp, bare, inv_small, inv_big = got["ids"]
    assert got["email"] == [john]
    assert got["empty"] == [bare]
    assert got["any_of"] == [john, bare]
    assert got["or_and"] == [john, gbp]
    assert got["between"] == [inv_small]
    assert got["dates"] == [inv_big]
    assert got["not"] == [inv_small]
    for q in ("email GREATER 5", "email IS", "(email EMPTY", "total BETWEEN [1]", "isInactive IS maybe"):
        status, detail = failure(lambda q=q: ns.rest_api.get("/record/v1/customer", params={"q": q}))
        assert (status, detail["o:errorCode"], detail["o:errorQueryParam"]) == (
            400,
            "INVALID_PARAMETER",
            "q",
        ), q


def test_list_with_limit_and_offset(ns: NetSuite) -> None:
    """CLI: ``netsuite rest-api get /record/v1/invoice --limit 10 --offset 30`` (``params["limit"]``,
    ``params["offset"]``): a page of the collection with NetSuite's paging links."""

    async def scenario() -> tuple[list[str], dict[str, Any], dict[str, Any]]:
        cid = await new_customer(ns, "Paged Co")
        created = [await new_invoice(ns, cid, float(n + 1)) for n in range(35)]
        page = await ns.rest_api.get("/record/v1/invoice", params={"limit": 10, "offset": 30})
        first = await ns.rest_api.get("/record/v1/invoice", params={"limit": 10, "offset": 0})
        return created, page, first

    created, page, first = run(scenario)
    assert ids(page) == created[30:35]
    assert (page["count"], page["offset"], page["totalResults"], page["hasMore"]) == (5, 30, 35, False)
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert rels["previous"].endswith("limit=10&offset=20") and "next" not in rels
    assert first["hasMore"] is True and {link["rel"] for link in first["links"]} >= {"next", "last", "self"}


def test_detail_with_expand_sub_resources_and_fields(ns: NetSuite) -> None:
    """CLI: ``netsuite rest-api get /record/v1/invoice/123 --expandSubResources`` (sent as
    ``params["expandSubResources"] = "true"``) and ``--fields`` (``params["fields"]``)."""

    async def scenario() -> tuple[dict[str, Any], ...]:
        iid = await new_invoice(ns, await new_customer(ns, "Detail Co"), 100.0, 25.5)
        plain = await ns.rest_api.get(f"/record/v1/invoice/{iid}")
        expanded = await ns.rest_api.get(f"/record/v1/invoice/{iid}", params={"expandSubResources": "true"})
        some = await ns.rest_api.get(f"/record/v1/invoice/{iid}", params={"fields": "total,tranId"})
        return plain, expanded, some

    plain, expanded, some = run(scenario)
    assert set(plain["item"]) == {"links"} and plain["total"] == 125.5
    lines = expanded["item"]["items"]
    assert [(line["item"]["refName"], line["amount"]) for line in lines] == [
        ("PLAT-ENT", 100.0),
        ("PLAT-ENT", 25.5),
    ]
    assert set(some) == {"links", "id", "total", "tranId", "refName"}


def test_post_patch_put_and_delete_a_record(ns: NetSuite) -> None:
    """CLI: ``rest-api post /record/v1/customer -``, ``rest-api patch /record/v1/customer/123 -``,
    ``rest-api put /record/v1/salesOrder/eid:abc123 -`` (the put help's example) and
    ``rest-api delete /record/v1/customer/123``; each write answers 204, which the package
    returns as ``None``."""
    api = ns.rest_api
    body = {"companyName": "Docs Co", "subsidiary": {"id": "1"}}

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        assert await api.post("/record/v1/customer", json=body) is None
        cid = ids(await api.get("/record/v1/customer"))[0]
        assert await api.patch(f"/record/v1/customer/{cid}", json={"email": "docs@co.test"}) is None
        patched = await api.get(f"/record/v1/customer/{cid}")
        assert (
            await api.put("/record/v1/customer/eid:abc123", json={**body, "companyName": "Upserted"}) is None
        )
        upserted = await api.get("/record/v1/customer/eid:abc123")
        assert await api.put("/record/v1/customer/eid:abc123", json={**body, "companyName": "Again"}) is None
        again = await api.get("/record/v1/customer/eid:abc123")
        assert await api.delete(f"/record/v1/customer/{cid}") is None
        return patched, upserted, again

    patched, upserted, again = run(scenario)
    assert (patched["companyName"], patched["email"]) == ("Docs Co", "docs@co.test")
    assert (upserted["externalId"], again["id"], again["companyName"]) == ("abc123", upserted["id"], "Again")
    status, detail = failure(lambda: api.get(f"/record/v1/customer/{patched['id']}"))
    assert (status, detail["o:errorCode"]) == (404, "NONEXISTENT_ID")
    # the put command's other example, an internal id: NetSuite upserts by external id only
    status, detail = failure(lambda: api.put(f"/record/v1/customer/{upserted['id']}", json=body))
    assert (status, detail["o:errorCode"]) == (400, "INVALID_ID")


def test_suiteql_docstring_example_pages_with_limit_and_offset(ns: NetSuite) -> None:
    """``suiteql(q="SELECT * FROM Transaction", limit=10, offset=0)`` (the method's docstring);
    the package adds ``Prefer: transient`` itself, as NetSuite requires."""

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        cid = await new_customer(ns, "Query Co")
        for n in range(12):
            await new_invoice(ns, cid, 10.0 + n)
        first = await ns.rest_api.suiteql(q="SELECT * FROM Transaction", limit=10, offset=0)
        rest = await ns.rest_api.suiteql(q="SELECT * FROM Transaction", limit=10, offset=10)
        return first, rest

    first, rest = run(scenario)
    assert (first["count"], first["hasMore"], first["totalResults"]) == (10, True, 12)
    assert (rest["count"], rest["hasMore"]) == (2, False)
    row = first["items"][0]
    assert (row["type"], row["foreigntotal"], row["status"]) == ("CustInvc", "10", "A")
    assert all(isinstance(value, str) for key, value in row.items() if key != "links")


def test_jsonschema_describes_every_record_the_sandbox_serves(ns: NetSuite) -> None:
    """CLI: ``netsuite rest-api jsonschema salesOrder`` -> ``{"type":"object","properties":...``
    (``ns.rest_api.jsonschema(record_type)``: ``GET /record/v1/metadata-catalog/{type}`` with
    ``Accept: application/schema+json``). Every record the sandbox returns, plain and expanded,
    validates against its schema and has no field the schema does not declare."""

    async def scenario() -> dict[str, Any]:
        cid = await new_customer(ns, "Schema Co", email="s@co.test", custentity_tier="gold")
        iid = await new_invoice(ns, cid, 99.5, memo="m", dueDate="2024-02-01")
        payment = {
            "customer": {"id": cid},
            "payment": 99.5,
            "apply": {"items": [{"doc": {"id": iid}, "amount": 99.5}]},
        }
        await ns.rest_api.post("/record/v1/customerpayment", json=payment)
        pid = ids(await ns.rest_api.get("/record/v1/customerpayment"))[0]
        out: dict[str, Any] = {}
        for record_type, rid in (
            ("customer", cid),
            ("invoice", iid),
            ("customerpayment", pid),
            ("currency", "2"),
        ):
            schema = await ns.rest_api.jsonschema(record_type)
            records = [
                await ns.rest_api.get(f"/record/v1/{record_type}/{rid}"),
                await ns.rest_api.get(
                    f"/record/v1/{record_type}/{rid}", params={"expandSubResources": "true"}
                ),
            ]
            out[record_type] = (schema, records)
        return out

    described = run(scenario)
    for record_type, (schema, records) in described.items():
        assert schema["type"] == "object"
        validator = jsonschema_rs.Draft7Validator(schema)
        for record in records:
            assert [e.message for e in validator.iter_errors(record)] == [], record_type
            undeclared = {k for k in record if k not in schema["properties"] and not k.startswith("cust")}
            assert undeclared == set(), (record_type, undeclared)
    customer_schema = described["customer"][0]["properties"]
    assert customer_schema["companyName"]["type"] == "string"
    assert customer_schema["subsidiary"]["properties"]["id"] == {"type": "string"}
    invoice_schema = described["invoice"][0]["properties"]
    assert (invoice_schema["tranDate"]["format"], invoice_schema["total"]["type"]) == ("date", "number")
    line = invoice_schema["item"]["properties"]["items"]["items"]["properties"]
    assert (line["amount"]["type"], line["item"]["type"]) == ("number", "object")
    # a wrong value for a field the schema types is refused (here a string for a number)
    status, detail = failure(
        lambda: ns.rest_api.post(
            "/record/v1/customerpayment", json={"customer": {"id": "1"}, "payment": "99.5"}
        )
    )
    assert (status, detail["o:errorCode"], detail["o:errorPath"]) == (400, "INVALID_CONTENT", "payment")


def test_openapi_for_the_given_record_types(ns: NetSuite) -> None:
    """CLI: ``netsuite rest-api openapi salesOrder customer invoice`` ->
    ``{"openapi":"3.0.1","info":{"title":"NetSuite REST Record API"...``
    (``ns.rest_api.openapi(record_types)``: ``Accept: application/swagger+json``, ``select=``)."""

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        spec = await ns.rest_api.openapi(["customer", "invoice"])
        everything = await ns.rest_api.openapi()
        schema = await ns.rest_api.jsonschema("invoice")
        return spec, everything, schema

    spec, everything, schema = run(scenario)
    assert (spec["openapi"], spec["info"]["title"]) == ("3.0.1", "NetSuite REST Record API")
    assert set(spec["components"]["schemas"]) == {"customer", "invoice"}
    assert spec["components"]["schemas"]["invoice"] == schema
    assert set(spec["paths"]) == {"/customer", "/customer/{id}", "/invoice", "/invoice/{id}"}
    assert set(spec["paths"]["/invoice/{id}"]) == {"get", "patch", "put", "delete"}
    assert "q" in [p["name"] for p in spec["paths"]["/invoice"]["get"]["parameters"]]
    assert {"customer", "invoice", "customerpayment", "journalEntry"} <= set(
        everything["components"]["schemas"]
    )
    status, detail = failure(lambda: ns.rest_api.openapi(["salesOrder", "customer", "invoice"]))
    assert (status, detail["o:errorCode"]) == (404, "INVALID_RCRD_TYPE")


def test_metadata_catalog_lists_each_record_type_with_its_media_types(base: str, ns: NetSuite) -> None:
    """CLI ``openapi-serve`` reads the catalog; NetSuite's ``GET /record/v1/metadata-catalog``
    (plain JSON) lists each record type with links to its metadata in every media type."""
    catalog = run(lambda: ns.rest_api.get("/record/v1/metadata-catalog"))
    entry = next(item for item in catalog["items"] if item["name"] == "customer")
    media = {link.get("mediaType") for link in entry["links"] if link["rel"] != "describes"}
    assert media == {"application/json", "application/swagger+json", "application/schema+json"}
    describes = next(link["href"] for link in entry["links"] if link["rel"] == "describes")
    assert describes == f"{base}/services/rest/record/v1/customer"


def test_config_from_environment_variables(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI Configuration: ``export NETSUITE_ACCOUNT=DIGITS_SB1`` ... ``NETSUITE_TOKEN_SECRET`` and
    ``--config-environment`` (``Config.from_env()``)."""
    httpx.post(f"{base}/__sandbox/reset").raise_for_status()
    monkeypatch.setenv("NETSUITE_ACCOUNT", ACCOUNT)
    for key, value in AUTH.items():
        monkeypatch.setenv(f"NETSUITE_{key.upper()}", value)
    ns = pointed_at(base, Config.from_env())
    assert run(lambda: ns.rest_api.get("/record/v1/currency/1"))["symbol"] == "USD"


def test_config_from_an_ini_file_section(base: str, tmp_path: Path) -> None:
    """CLI Configuration: a ``[netsuite]`` section with ``auth_type = token``, ``account``,
    ``consumer_key`` ... ``token_secret`` (``Config.from_ini(path, section)``); a wrong secret
    is NetSuite's 401 ``INVALID_LOGIN``."""
    httpx.post(f"{base}/__sandbox/reset").raise_for_status()
    lines = [
        "[netsuite]",
        "auth_type = token",
        f"account = {ACCOUNT}",
        *(f"{k} = {v}" for k, v in AUTH.items()),
    ]
    lines += ["[wrong]", "auth_type = token", f"account = {ACCOUNT}"]
    lines += [f"{k} = {'nope' if k == 'token_secret' else v}" for k, v in AUTH.items()]
    ini = tmp_path / "netsuite.ini"
    ini.write_text("\n".join(lines) + "\n")
    ns = pointed_at(base, Config.from_ini(path=str(ini), section="netsuite"))
    assert (
        run(lambda: ns.rest_api.suiteql("SELECT symbol FROM currency WHERE id = 2"))["items"][0]["symbol"]
        == "GBP"
    )
    wrong = pointed_at(base, Config.from_ini(path=str(ini), section="wrong"))
    status, detail = failure(lambda: wrong.rest_api.get("/record/v1/currency/1"))
    assert (status, detail["o:errorCode"]) == (401, "INVALID_LOGIN")
