"""The Salesforce sandbox as a real process over HTTP: OAuth, sObject CRUD, SOQL, callouts, admin.

Each test proves one wire behaviour revbridge's CRM adapter relies on. The sandbox runs once per
module and is reset before each test; callouts land on a tiny ``http.server`` receiver thread.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from revbridge_sandboxes.salesforce.ids import to18

from tests.support.procs import sandbox, wait_until

pytestmark = pytest.mark.integration

CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"
CALLOUT_SECRET = "test-callout-secret"
V = "/services/data/v60.0"


@dataclass
class Receiver:
    """Collects callouts; answers ``fail_next`` requests with 500 before answering 200."""

    url: str = ""
    fail_next: int = 0
    received: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            status = 500 if self.fail_next > 0 else 200
            self.fail_next = max(0, self.fail_next - 1)
            self.received.append((headers, body, status))
            return status

    def reset(self) -> None:
        with self.lock:
            self.fail_next = 0
            self.received.clear()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = rec.handle({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/salesforce"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def base(receiver: Receiver) -> Iterator[str]:
    env = {
        "SALESFORCE_SANDBOX_CLIENT_ID": CLIENT_ID,
        "SALESFORCE_SANDBOX_CLIENT_SECRET": CLIENT_SECRET,
        "SALESFORCE_SANDBOX_CALLOUT_URL": receiver.url,
        "SALESFORCE_SANDBOX_CALLOUT_SECRET": CALLOUT_SECRET,
    }
    with sandbox("salesforce", env=env) as url:
        yield url


def get_token(base: str) -> str:
    data = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    return str(httpx.post(f"{base}/services/oauth2/token", data=data).json()["access_token"])


@pytest.fixture
def sf(base: str, receiver: Receiver) -> Iterator[httpx.Client]:
    httpx.post(f"{base}/__sandbox/reset").raise_for_status()
    receiver.reset()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {get_token(base)}"}) as client:
        yield client


def create(sf: httpx.Client, sobject: str, **fields: Any) -> str:
    response = sf.post(f"{V}/sobjects/{sobject}/", json=fields)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def soql(sf: httpx.Client, q: str, **headers: str) -> dict[str, Any]:
    response = sf.get(f"{V}/query/", params={"q": q}, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def error_code(response: httpx.Response) -> str:
    return str(response.json()[0]["errorCode"])


# -- OAuth -------------------------------------------------------------------------------------------
def test_client_credentials_token_has_salesforce_shape_and_valid_signature(base: str) -> None:
    response = httpx.post(
        f"{base}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["instance_url"] == base
    assert body["token_type"] == "Bearer" and body["scope"] == "api"
    assert body["issued_at"].isdigit() and len(body["issued_at"]) == 13
    mac = hmac.new(CLIENT_SECRET.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256).digest()
    assert body["signature"] == base64.b64encode(mac).decode()
    api = httpx.get(f"{base}{V}/sobjects/", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert api.status_code == 200


def test_bad_client_credentials_and_unknown_grant_are_oauth_errors(base: str) -> None:
    url = f"{base}/services/oauth2/token"
    bad = httpx.post(
        url, data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "x"}
    )
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_client")
    assert "error_description" in bad.json()
    grant = httpx.post(
        url, data={"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    )
    assert (grant.status_code, grant.json()["error"]) == (400, "unsupported_grant_type")


@pytest.mark.parametrize("auth", [None, "Bearer not-a-token"])
def test_data_call_without_valid_token_is_401_invalid_session_array(base: str, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    response = httpx.get(f"{base}{V}/query/", params={"q": "SELECT Id FROM Account"}, headers=headers)
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_token_stops_working_after_its_ttl() -> None:
    env = {"SALESFORCE_SANDBOX_TOKEN_TTL": "1"}
    with sandbox("salesforce", env=env) as url:
        data = {"grant_type": "client_credentials"}
        token = httpx.post(
            f"{url}/services/oauth2/token", data=data, auth=("revbridge-demo-client", "revbridge-demo-secret")
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert httpx.get(f"{url}{V}/sobjects/", headers=headers).status_code == 200
        wait_until(
            lambda: httpx.get(f"{url}{V}/sobjects/", headers=headers).status_code == 401,
            timeout=5,
            interval=0.2,
            message="token expiry",
        )


# -- sObjects ----------------------------------------------------------------------------------------
def test_create_get_patch_delete_round_trip(sf: httpx.Client) -> None:
    account_id = create(sf, "Account", Name="Acme", BillingCountry="US")
    record = sf.get(f"{V}/sobjects/Account/{account_id}").json()
    assert record["attributes"] == {"type": "Account", "url": f"{V}/sobjects/Account/{account_id}"}
    assert (record["Id"], record["Name"], record["IsDeleted"]) == (account_id, "Acme", False)
    assert record["CreatedDate"].endswith("+0000") and len(record["CreatedDate"]) == 28

    patched = sf.patch(f"{V}/sobjects/Account/{account_id}", json={"Tax_Id__c": "DE123", "Name": "Acme AG"})
    assert patched.status_code == 204 and patched.content == b""
    only = sf.get(
        f"{V}/sobjects/Account/{account_id}", params={"fields": "Name,Tax_Id__c,SystemModstamp"}
    ).json()
    assert set(only) == {"attributes", "Name", "Tax_Id__c", "SystemModstamp"}
    assert (only["Name"], only["Tax_Id__c"]) == ("Acme AG", "DE123")
    assert only["SystemModstamp"] > record["SystemModstamp"]

    assert sf.delete(f"{V}/sobjects/Account/{account_id}").status_code == 204
    gone = sf.get(f"{V}/sobjects/Account/{account_id}")
    assert (gone.status_code, error_code(gone)) == (404, "NOT_FOUND")
    assert soql(sf, "SELECT Id FROM Account")["totalSize"] == 0
    deleted = sf.get(f"{V}/queryAll/", params={"q": "SELECT Id, IsDeleted FROM Account"}).json()
    assert [r["IsDeleted"] for r in deleted["records"]] == [True]


def test_upsert_by_external_id_creates_201_then_updates_200(sf: httpx.Client) -> None:
    url = f"{V}/sobjects/Account/External_Id__c/ACME-1"
    first = sf.patch(url, json={"Name": "Acme"})
    assert first.status_code == 201
    assert first.json() == {"id": first.json()["id"], "success": True, "errors": [], "created": True}
    second = sf.patch(url, json={"BillingCountry": "FR"})
    assert second.status_code == 200
    assert second.json() == {"id": first.json()["id"], "success": True, "errors": [], "created": False}
    record = sf.get(url).json()
    assert (record["Id"], record["Name"], record["BillingCountry"]) == (first.json()["id"], "Acme", "FR")
    assert record["External_Id__c"] == "ACME-1"


def test_ids_are_18_chars_with_checksum_and_15_char_form_is_accepted(sf: httpx.Client) -> None:
    account_id = create(sf, "Account", Name="Acme")
    product_id = create(sf, "Product2", Name="Widget")
    contract_id = create(sf, "Contract", AccountId=account_id[:15])
    for record_id, prefix in ((account_id, "001"), (product_id, "01t"), (contract_id, "800")):
        assert len(record_id) == 18 and record_id.startswith(prefix)
        assert to18(record_id[:15]) == record_id
    record = sf.get(f"{V}/sobjects/Contract/{contract_id[:15]}").json()
    assert (record["Id"], record["AccountId"], record["Status"]) == (contract_id, account_id, "Draft")


def test_write_validation_errors_use_salesforce_codes(sf: httpx.Client) -> None:
    unknown = sf.post(f"{V}/sobjects/Account/", json={"Name": "Acme", "Nmae": "typo"})
    assert (unknown.status_code, error_code(unknown)) == (400, "INVALID_FIELD")
    missing = sf.post(f"{V}/sobjects/Contract/", json={"StartDate": "2024-05-01"})
    assert (missing.status_code, error_code(missing)) == (400, "REQUIRED_FIELD_MISSING")
    assert missing.json()[0]["fields"] == ["AccountId"]
    product_id = create(sf, "Product2", Name="Widget")
    wrong_ref = sf.post(f"{V}/sobjects/Contract/", json={"AccountId": product_id})
    assert (wrong_ref.status_code, error_code(wrong_ref)) == (400, "FIELD_INTEGRITY_EXCEPTION")
    nothing = sf.post(f"{V}/sobjects/Contract/", json={"AccountId": "001RB0000000ZZZ"})
    assert (nothing.status_code, error_code(nothing)) == (400, "INVALID_CROSS_REFERENCE_KEY")
    assert sf.post(f"{V}/sobjects/Nope__x/", json={}).status_code == 404


def test_describe_lists_fields_and_key_prefix(sf: httpx.Client) -> None:
    described = sf.get(f"{V}/sobjects/Contract/describe").json()
    assert (described["name"], described["keyPrefix"]) == ("Contract", "800")
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["ContractTerm"]["type"] == "int" and fields["Billing_Subscription_Id__c"]["custom"] is True
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    names = {o["name"]: o["keyPrefix"] for o in sf.get(f"{V}/sobjects/").json()["sobjects"]}
    assert names["OpportunityLineItem"] == "00k" and names["Product2"] == "01t"


def test_versions_listed_and_every_response_counts_api_usage(sf: httpx.Client) -> None:
    versions = [v["version"] for v in httpx.get(f"{sf.base_url}/services/data/").json()]
    assert {"59.0", "60.0", "61.0", "62.0"} <= set(versions)
    first = sf.get("/services/data/v62.0/sobjects/").headers["Sforce-Limit-Info"]
    failed = sf.get("/services/data/v62.0/sobjects/Account/001000000000000")
    second = failed.headers["Sforce-Limit-Info"]
    used = [int(h.split("=")[1].split("/")[0]) for h in (first, second)]
    assert used[1] == used[0] + 1 and first.endswith("/15000")


# -- SOQL --------------------------------------------------------------------------------------------
@dataclass
class Org:
    accounts: dict[str, str]
    contract_id: str
    other_contract_id: str


def seed(sf: httpx.Client) -> Org:
    acme = create(sf, "Account", Name="Acme", BillingCountry="US", CurrencyIsoCode="USD")
    accounts = {
        "Acme": acme,
        "Acme Europe": create(sf, "Account", Name="Acme Europe", ParentId=acme, BillingCountry="DE"),
        "Globex": create(sf, "Account", Name="Globex", BillingCountry="FR"),
        "Initech": create(sf, "Account", Name="Initech"),
    }
    contract_id = create(sf, "Contract", AccountId=acme, StartDate="2024-06-01", ContractTerm=24)
    other = create(sf, "Contract", AccountId=accounts["Globex"], StartDate="2024-07-01", ContractTerm=12)
    won = {"StageName": "Closed Won", "CloseDate": "2024-05-30"}
    opp = create(
        sf, "Opportunity", Name="Acme renewal", AccountId=acme, ContractId=contract_id, Amount=3000, **won
    )
    other_opp = create(
        sf, "Opportunity", Name="Globex new", AccountId=accounts["Globex"], ContractId=other, **won
    )
    widget = create(sf, "Product2", Name="Widget", ProductCode="W-1", IsActive=True)
    gadget = create(sf, "Product2", Name="Gadget", ProductCode="G-1", IsActive=True)
    create(sf, "OpportunityLineItem", OpportunityId=opp, Product2Id=widget, Quantity=2, UnitPrice=1000)
    create(sf, "OpportunityLineItem", OpportunityId=opp, Product2Id=gadget, Quantity=1, UnitPrice=1000)
    create(sf, "OpportunityLineItem", OpportunityId=other_opp, Product2Id=gadget, Quantity=5, UnitPrice=10)
    return Org(accounts, contract_id, other)


def names(result: dict[str, Any]) -> list[str]:
    return [r["Name"] for r in result["records"]]


def test_line_items_by_contract_return_nested_product_fields(sf: httpx.Client) -> None:
    org = seed(sf)
    result = soql(
        sf,
        "SELECT Id, Quantity, UnitPrice, TotalPrice, Product2.ProductCode, Product2.Name, "
        "Opportunity.Account.Name FROM OpportunityLineItem "
        f"WHERE Opportunity.ContractId = '{org.contract_id}' ORDER BY Product2.ProductCode",
    )
    assert (result["totalSize"], result["done"]) == (2, True)
    first = result["records"][0]
    assert first["attributes"]["type"] == "OpportunityLineItem"
    assert (first["Quantity"], first["UnitPrice"], first["TotalPrice"]) == (1.0, 1000.0, 1000.0)
    assert first["Product2"]["attributes"]["type"] == "Product2"
    assert (first["Product2"]["ProductCode"], first["Product2"]["Name"]) == ("G-1", "Gadget")
    assert first["Opportunity"]["Account"]["Name"] == "Acme"
    assert result["records"][1]["Product2"]["ProductCode"] == "W-1"


def test_where_in_like_and_or_not(sf: httpx.Client) -> None:
    seed(sf)
    q = "SELECT Name FROM Account WHERE "
    assert names(soql(sf, q + "BillingCountry IN ('DE', 'FR') ORDER BY Name")) == ["Acme Europe", "Globex"]
    assert names(soql(sf, q + "BillingCountry NOT IN ('DE', 'FR') ORDER BY Name")) == ["Acme", "Initech"]
    assert names(soql(sf, q + "Name LIKE 'acme%' ORDER BY Name")) == ["Acme", "Acme Europe"]
    assert names(soql(sf, q + "Name LIKE '_lobe_'")) == ["Globex"]
    both = (
        q
        + "(Name LIKE 'Acme%' AND BillingCountry = 'US') OR (NOT Name LIKE 'Acme%' AND BillingCountry = null)"
    )
    assert names(soql(sf, both + " ORDER BY Name")) == ["Acme", "Initech"]
    assert names(soql(sf, q + "Parent.Name = 'Acme'")) == ["Acme Europe"]


def test_where_id_reads_one_record_of_that_type_live_or_deleted_as_asked(sf: httpx.Client) -> None:
    acme = create(sf, "Account", Name="Acme", BillingCountry="US")
    product = create(sf, "Product2", Name="Widget")
    q = "SELECT Name FROM Account WHERE Id = '{}'"
    assert names(soql(sf, q.format(acme))) == ["Acme"]
    assert names(soql(sf, q.format(acme[:15]))) == ["Acme"]
    assert names(soql(sf, q.format(acme) + " AND BillingCountry = 'US'")) == ["Acme"]
    assert soql(sf, q.format(acme) + " AND BillingCountry = 'FR'")["totalSize"] == 0
    assert soql(sf, q.format(product))["totalSize"] == 0  # an id of another type matches nothing
    assert names(soql(sf, q.format(acme) + f" OR Id = '{create(sf, 'Account', Name='Globex')}'")) == [
        "Acme",
        "Globex",
    ]
    assert sf.delete(f"{V}/sobjects/Account/{acme}").status_code == 204
    assert soql(sf, q.format(acme))["totalSize"] == 0
    deleted = sf.get(f"{V}/queryAll/", params={"q": q.format(acme)}).json()
    assert [r["Name"] for r in deleted["records"]] == ["Acme"]


def test_order_by_several_fields_with_nulls_and_limit_offset(sf: httpx.Client) -> None:
    seed(sf)
    q = "SELECT Name, BillingCountry FROM Account ORDER BY BillingCountry DESC NULLS FIRST, Name ASC"
    assert names(soql(sf, q)) == ["Initech", "Acme", "Globex", "Acme Europe"]
    page = soql(sf, q + " LIMIT 2 OFFSET 1")
    assert (page["totalSize"], names(page)) == (2, ["Acme", "Globex"])


def test_count_forms(sf: httpx.Client) -> None:
    seed(sf)
    counted = soql(sf, "SELECT COUNT() FROM Account WHERE BillingCountry != null")
    assert (counted["totalSize"], counted["records"]) == (3, [])
    aggregate = soql(sf, "SELECT COUNT(Id) FROM OpportunityLineItem")
    assert aggregate["records"][0]["expr0"] == 3
    assert aggregate["records"][0]["attributes"]["type"] == "AggregateResult"


def test_polling_query_on_system_modstamp_finds_only_newer_activated_contracts(sf: httpx.Client) -> None:
    org = seed(sf)
    assert (
        sf.patch(f"{V}/sobjects/Contract/{org.contract_id}", json={"Status": "Activated"}).status_code == 204
    )
    watermark = sf.get(f"{V}/sobjects/Contract/{org.contract_id}").json()["SystemModstamp"]
    assert (
        sf.patch(f"{V}/sobjects/Contract/{org.other_contract_id}", json={"Status": "Activated"}).status_code
        == 204
    )
    q = (
        "SELECT Id, AccountId, Status, StartDate, ContractTerm, CurrencyIsoCode, ActivatedDate, "
        "SystemModstamp, Billing_Customer_Id__c FROM Contract "
        "WHERE Status = 'Activated' AND SystemModstamp > {} "
        "ORDER BY SystemModstamp ASC, Id ASC LIMIT 200"
    )
    everything = soql(sf, q.format("2024-05-01T12:00:00.000+0000"))
    assert [r["Id"] for r in everything["records"]] == [org.contract_id, org.other_contract_id]
    row = everything["records"][0]
    assert (row["StartDate"], row["ContractTerm"], row["CurrencyIsoCode"]) == ("2024-06-01", 24, "USD")
    assert row["ActivatedDate"] is not None and row["Billing_Customer_Id__c"] is None
    newer = soql(sf, q.format(watermark))
    assert [r["Id"] for r in newer["records"]] == [org.other_contract_id]
    assert soql(sf, q.format("2099-01-01T00:00:00Z"))["totalSize"] == 0


def test_next_records_url_pages_through_a_large_result(sf: httpx.Client) -> None:
    for i in range(450):
        create(sf, "Product2", Name=f"P{i:03d}", ProductCode=f"C{i:03d}")
    first = soql(
        sf,
        "SELECT Id, ProductCode FROM Product2 ORDER BY ProductCode",
        **{"Sforce-Query-Options": "batchSize=200"},
    )
    assert (first["totalSize"], first["done"], len(first["records"])) == (450, False, 200)
    seen = [r["ProductCode"] for r in first["records"]]
    page = first
    while not page["done"]:
        assert page["nextRecordsUrl"].startswith("/services/data/v60.0/query/01g")
        page = sf.get(page["nextRecordsUrl"]).json()
        seen += [r["ProductCode"] for r in page["records"]]
    assert seen == [f"C{i:03d}" for i in range(450)]
    assert "nextRecordsUrl" not in page
    default = soql(sf, "SELECT Id FROM Product2")
    assert (default["done"], len(default["records"])) == (True, 450)


@pytest.mark.parametrize(
    ("q", "code"),
    [
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", "MALFORMED_QUERY"),
        ("SELEKT Id FROM Account", "MALFORMED_QUERY"),
        ("SELECT Nmae FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Contract WHERE Acount.Name = 'x'", "INVALID_FIELD"),
        ("SELECT Id FROM Contract WHERE SystemModstamp > '2024-05-01'", "INVALID_FIELD"),
    ],
)
def test_bad_soql_is_rejected_with_salesforce_error_codes(sf: httpx.Client, q: str, code: str) -> None:
    response = sf.get(f"{V}/query/", params={"q": q})
    assert (response.status_code, error_code(response)) == (400, code)


# -- Callouts ----------------------------------------------------------------------------------------
def verify_signature(headers: dict[str, str], body: bytes) -> None:
    parts = dict(item.split("=", 1) for item in headers["x-revbridge-signature"].split(","))
    expected = hmac.new(CALLOUT_SECRET.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)


def deliveries(sf: httpx.Client) -> list[dict[str, Any]]:
    return list(httpx.get(f"{sf.base_url}/__sandbox/callouts").json())


def test_activation_pushes_a_signed_callout(sf: httpx.Client, receiver: Receiver) -> None:
    account_id = create(sf, "Account", Name="Acme")
    contract_id = create(sf, "Contract", AccountId=account_id)
    assert sf.patch(f"{V}/sobjects/Contract/{contract_id}", json={"Status": "Activated"}).status_code == 204
    wait_until(lambda: receiver.received, timeout=10, message="callout")
    headers, body, _ = receiver.received[0]
    verify_signature(headers, body)
    event = json.loads(body)
    record = sf.get(f"{V}/sobjects/Contract/{contract_id}").json()
    assert event == {
        "event": "contract.activated",
        "contractId": contract_id,
        "accountId": account_id,
        "activatedDate": record["ActivatedDate"],
        "systemModstamp": record["SystemModstamp"],
        "organizationId": event["organizationId"],
    }
    assert event["organizationId"].startswith("00D")
    wait_until(
        lambda: deliveries(sf) and deliveries(sf)[0]["status"] == "delivered", timeout=10, message="log"
    )
    assert deliveries(sf)[0] | {"last_error": None} == {
        "contract_id": contract_id,
        "event": "contract.activated",
        "attempts": 1,
        "status": "delivered",
        "last_status_code": 200,
        "last_error": None,
    }
    # a later update of an already-activated contract is not a new activation
    sf.patch(f"{V}/sobjects/Contract/{contract_id}", json={"Billing_Customer_Id__c": "cus_123"})
    assert len(deliveries(sf)) == 1


def test_callout_is_retried_after_the_receiver_answers_500(sf: httpx.Client, receiver: Receiver) -> None:
    receiver.fail_next = 1
    account_id = create(sf, "Account", Name="Acme")
    upsert = sf.patch(
        f"{V}/sobjects/Contract/External_Id__c/D-1", json={"AccountId": account_id, "Status": "Activated"}
    )
    assert upsert.status_code == 201
    contract_id = upsert.json()["id"]
    wait_until(lambda: len(receiver.received) >= 2, timeout=10, message="retried callout")
    assert [status for _, _, status in receiver.received] == [500, 200]
    assert receiver.received[0][1] == receiver.received[1][1]
    for headers, body, _ in receiver.received:
        verify_signature(headers, body)
    wait_until(lambda: deliveries(sf)[0]["status"] == "delivered", timeout=10, message="delivered")
    log = deliveries(sf)[0]
    assert (log["contract_id"], log["attempts"], log["last_status_code"]) == (contract_id, 2, 200)


def test_suppressed_push_is_still_caught_by_soql_polling(sf: httpx.Client, receiver: Receiver) -> None:
    admin = f"{sf.base_url}/__sandbox/callouts/suppress"
    assert httpx.post(admin, json={"enabled": True}).status_code == 200
    account_id = create(sf, "Account", Name="Acme")
    contract_id = create(sf, "Contract", AccountId=account_id, Status="Activated")
    polled = soql(sf, "SELECT Id, ActivatedDate FROM Contract WHERE Status = 'Activated'")
    assert [r["Id"] for r in polled["records"]] == [contract_id]
    assert polled["records"][0]["ActivatedDate"] is not None
    assert [d["status"] for d in deliveries(sf)] == ["suppressed"]
    # un-suppressing sends the next activation, proving the receiver was reachable all along
    assert httpx.post(admin, json={"enabled": False}).status_code == 200
    second = create(sf, "Contract", AccountId=account_id, Status="Activated")
    wait_until(lambda: receiver.received, timeout=10, message="callout after unsuppress")
    assert [json.loads(body)["contractId"] for _, body, _ in receiver.received] == [second]


# -- Admin -------------------------------------------------------------------------------------------
def test_injected_fault_answers_the_next_matching_request_then_clears(sf: httpx.Client) -> None:
    fault = {"path_prefix": "/services/data", "method": "GET", "status": 503, "retry_after": 2, "count": 1}
    assert httpx.post(f"{sf.base_url}/__sandbox/faults", json=fault).status_code == 200
    assert sf.post(f"{V}/sobjects/Account/", json={"Name": "not a GET"}).status_code == 201
    failed = sf.get(f"{V}/sobjects/")
    assert (failed.status_code, failed.headers["Retry-After"], error_code(failed)) == (
        503,
        "2",
        "SERVER_UNAVAILABLE",
    )
    assert sf.get(f"{V}/sobjects/").status_code == 200
    many = {"status": 429, "count": 5}
    httpx.post(f"{sf.base_url}/__sandbox/faults", json=many)
    assert sf.get(f"{V}/sobjects/").status_code == 429
    assert httpx.delete(f"{sf.base_url}/__sandbox/faults").json()["data"] == []
    assert sf.get(f"{V}/sobjects/").status_code == 200


def test_request_log_keeps_trace_headers_but_never_authorization(sf: httpx.Client) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    sf.get(f"{V}/query/", params={"q": "SELECT Id FROM Account"}, headers={"traceparent": traceparent})
    [entry] = httpx.get(f"{sf.base_url}/__sandbox/requests", params={"limit": 1}).json()
    assert entry["method"] == "GET" and entry["path"] == f"{V}/query/" and entry["status"] == 200
    assert "SELECT" in httpx.QueryParams(entry["query"])["q"]
    assert entry["headers"] == {"traceparent": traceparent}
    assert httpx.get(f"{sf.base_url}/__sandbox/health").json() == {"status": "ok"}
