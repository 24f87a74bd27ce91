"""simple-salesforce, unchanged, against the Salesforce sandbox: the sandbox's conformance bar.

The SDK hard-codes ``https://<instance>`` (and ``https://<domain>.salesforce.com`` for login), so a
``requests`` session carries a transport adapter that sends every https URL to the sandbox over
plain http; paths, headers and bodies reach the sandbox exactly as the SDK built them.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.adapters import HTTPAdapter
from revbridge_system.adapters.salesforce import mappers
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from tests.support.procs import sandbox

pytestmark = pytest.mark.integration

CLIENT_ID = "sdk-consumer-key"
CLIENT_SECRET = "sdk-consumer-secret"
USERNAME = "integration@revbridge.test"
INSTANCE = "https://revbridge-sandbox.my.salesforce.com"
PRIVATE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class RewritingAdapter(HTTPAdapter):
    """Sends ``https://<any host>/path?query`` to ``http://127.0.0.1:<port>/path?query``."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.netloc = urlsplit(target).netloc

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(str(request.url))
        request.url = urlunsplit(("http", self.netloc, parts.path, parts.query, parts.fragment))
        return super().send(request, **kwargs)  # type: ignore[arg-type]


def rewriting_session(base: str) -> requests.Session:
    session = requests.Session()
    session.mount("https://", RewritingAdapter(base))
    return session


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    public = PRIVATE_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    env = {
        "SALESFORCE_SANDBOX_CLIENT_ID": CLIENT_ID,
        "SALESFORCE_SANDBOX_CLIENT_SECRET": CLIENT_SECRET,
        "SALESFORCE_SANDBOX_INSTANCE_URL": INSTANCE,
        "SALESFORCE_SANDBOX_USERNAME": USERNAME,
        "SALESFORCE_SANDBOX_JWT_PUBLIC_KEY": public.decode(),
    }
    with sandbox("salesforce", env=env) as url:
        yield url


@pytest.fixture
def sf(base: str) -> Salesforce:
    """Logged in by client credentials through the SDK itself (it owns the credentials)."""
    httpx.post(f"{base}/__sandbox/reset").raise_for_status()
    return Salesforce(
        consumer_key=CLIENT_ID,
        consumer_secret=CLIENT_SECRET,
        domain="revbridge-sandbox.my",
        session=rewriting_session(base),
    )


# -- login ---------------------------------------------------------------------------------------
def test_client_credentials_login_yields_instance_and_working_session(sf: Salesforce) -> None:
    assert sf.sf_instance == "revbridge-sandbox.my.salesforce.com"
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0


def test_session_id_and_instance_url_need_no_login(sf: Salesforce, base: str) -> None:
    again = Salesforce(instance_url=INSTANCE, session_id=sf.session_id, session=rewriting_session(base))
    account = again.Account.create({"Name": "By session id"})
    assert sf.Account.get(account["id"])["Name"] == "By session id"


def test_wrong_consumer_secret_fails_authentication(base: str) -> None:
    with pytest.raises(SalesforceAuthenticationFailed):
        Salesforce(
            consumer_key=CLIENT_ID, consumer_secret="nope", domain="x.my", session=rewriting_session(base)
        )


def test_jwt_bearer_login_with_the_sdk_signing_the_assertion(base: str) -> None:
    sf = Salesforce(
        username=USERNAME,
        consumer_key=CLIENT_ID,
        privatekey=pem(PRIVATE_KEY),
        session=rewriting_session(base),
    )
    assert sf.sf_instance == "revbridge-sandbox.my.salesforce.com"
    assert sf.query("SELECT COUNT() FROM Account")["done"] is True


@pytest.mark.filterwarnings("ignore:\\s+If your connected app policy:UserWarning")  # the SDK's hint
@pytest.mark.parametrize(
    ("key", "username", "consumer_key", "error"),
    [
        (OTHER_KEY, USERNAME, CLIENT_ID, "invalid_grant"),  # not the configured certificate
        (PRIVATE_KEY, "someone@else.test", CLIENT_ID, "invalid_grant"),
        (PRIVATE_KEY, USERNAME, "unknown-app", "invalid_client_id"),
    ],
)
def test_jwt_bearer_refuses_bad_assertions(
    base: str, key: rsa.RSAPrivateKey, username: str, consumer_key: str, error: str
) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as failed:
        Salesforce(
            username=username, consumer_key=consumer_key, privatekey=pem(key), session=rewriting_session(base)
        )
    assert failed.value.code == error


def test_jwt_bearer_refuses_expired_far_future_and_wrong_audience(base: str) -> None:
    import jwt as pyjwt

    now = time.time()

    def post(**claims: object) -> httpx.Response:
        payload = {"iss": CLIENT_ID, "sub": USERNAME, "aud": "https://login.salesforce.com", "exp": now + 60}
        assertion = pyjwt.encode({**payload, **claims}, pem(PRIVATE_KEY), algorithm="RS256")
        grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
        return httpx.post(f"{base}/services/oauth2/token", data={"grant_type": grant, "assertion": assertion})

    assert post().status_code == 200
    for claims in ({"exp": now - 60}, {"exp": now + 3600}, {"aud": "https://evil.example"}, {"exp": "soon"}):
        answer = post(**claims)
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant"), claims
    garbage = httpx.post(
        f"{base}/services/oauth2/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "not.a.jwt"},
    )
    assert garbage.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


# -- sObjects ------------------------------------------------------------------------------------
def test_account_create_get_update_upsert_delete(sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "Acme", "External_Id__c": "A-1"})
    assert created["success"] is True and len(created["id"]) == 18
    assert sf.Account.update(created["id"], {"BillingCountry": "FR"}) == 204
    record = sf.Account.get(created["id"])
    assert (record["Name"], record["BillingCountry"], record["attributes"]["type"]) == (
        "Acme",
        "FR",
        "Account",
    )
    assert sf.Account.get_by_custom_id("External_Id__c", "A-1")["Id"] == created["id"]
    assert sf.Account.upsert("External_Id__c/A-1", {"Name": "Acme 2"}) == 200
    assert sf.Account.upsert("External_Id__c/A-2", {"Name": "Beta"}) == 201
    names = {r["Name"] for r in sf.query("SELECT Name FROM Account")["records"]}
    assert names == {"Acme 2", "Beta"}
    assert sf.Account.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(created["id"])


def test_describe_answers_for_the_object_and_globally(sf: Salesforce) -> None:
    described = sf.Account.describe()
    assert described["keyPrefix"] == "001"
    name = next(f for f in described["fields"] if f["name"] == "Name")
    assert {k: name[k] for k in ("type", "nillable", "createable", "custom")} == {
        "type": "string",
        "nillable": False,
        "createable": True,
        "custom": False,
    }
    assert {"Account", "Contact", "Contract"} <= {o["name"] for o in sf.describe()["sobjects"]}


def test_relationship_fields_come_back_nested(sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Parent Co"})["id"]
    sf.Contact.create({"LastName": "Lovelace", "AccountId": account})
    [row] = sf.query("SELECT LastName, Account.Name FROM Contact")["records"]
    assert (row["LastName"], row["Account"]["Name"]) == ("Lovelace", "Parent Co")


# -- queries -------------------------------------------------------------------------------------
def test_query_all_and_query_more_follow_next_records_url(sf: Salesforce, base: str) -> None:
    token = {"Authorization": f"Bearer {sf.session_id}"}
    with httpx.Client(base_url=f"{base}/services/data/v59.0", headers=token) as http:
        for start in range(0, 450, 150):
            records = [
                {"attributes": {"type": "Product2"}, "Name": f"P{i:03d}"} for i in range(start, start + 150)
            ]
            assert all(
                r["success"] for r in http.post("/composite/sobjects", json={"records": records}).json()
            )
    batch = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query("SELECT Name FROM Product2 ORDER BY Name", headers=batch)
    assert (first["totalSize"], first["done"], len(first["records"])) == (450, False, 200)
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert second["records"][0]["Name"] == "P200"
    locator = first["nextRecordsUrl"].rsplit("/", 1)[1]
    assert sf.query_more(locator)["records"][0]["Name"] == "P200"
    everything = sf.query_all("SELECT Name FROM Product2 ORDER BY Name", headers=batch)
    assert [r["Name"] for r in everything["records"]] == [f"P{i:03d}" for i in range(450)]


def test_every_query_the_revbridge_adapter_runs(sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Acme", "BillingCountry": "US", "Tax_Id__c": "T1"})["id"]
    contract = sf.Contract.create({"AccountId": account, "StartDate": "2024-06-01", "ContractTerm": 12})["id"]
    product = sf.Product2.create({"Name": "Seat", "ProductCode": "SEAT", "IsActive": True})["id"]
    opp = sf.Opportunity.create(
        {"Name": "Deal", "AccountId": account, "StageName": "Closed Won", "CloseDate": "2024-05-30"}
    )["id"]
    sf.Opportunity.update(opp, {"ContractId": contract})
    sf.OpportunityLineItem.create(
        {"OpportunityId": opp, "Product2Id": product, "Quantity": 2, "UnitPrice": 5}
    )
    sf.Contract.update(contract, {"Status": "Activated"})
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

    [row] = sf.query_all(mappers.contract_query(contract))["records"]
    assert (row["Status"], row["ContractNumber"]) == ("Activated", "00000100")
    [line] = sf.query_all(mappers.lines_query([contract]))["records"]
    assert (line["TotalPrice"], line["Product2"]["ProductCode"], line["Opportunity"]["ContractId"]) == (
        10.0,
        "SEAT",
        contract,
    )
    assert len(sf.query_all(mappers.lines_query([contract, account]))["records"]) == 1
    assert sf.query_all(mappers.account_query(account))["records"][0]["Tax_Id__c"] == "T1"
    for status in (None, *mappers.STATUS_TO_SF):
        listed = sf.query_all(mappers.list_contracts_query(status, since, None, 10))["records"]
        assert [r["Id"] for r in listed] == (
            [] if status is not None and status.value == "draft" else [contract]
        )
    stamp = mappers.parse_datetime(row["SystemModstamp"])
    assert stamp is not None
    after = sf.query_all(mappers.list_contracts_query(None, since, (stamp, contract), 10))
    assert after["records"] == []
    assert [r["Id"] for r in sf.query_all(mappers.poll_query(since))["records"]] == [contract]


# -- errors and usage ----------------------------------------------------------------------------
def test_errors_are_raised_as_the_sdk_types(sf: Salesforce, base: str) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get("001RB0000000000ZZZ")
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Account.create({"BillingCountry": "US"})
    assert missing.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    with pytest.raises(SalesforceMalformedRequest) as bad_soql:
        sf.query("SELECT FROM Account")
    assert bad_soql.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    stranger = Salesforce(instance_url=INSTANCE, session_id="00D!unknown", session=rewriting_session(base))
    with pytest.raises(SalesforceExpiredSession):
        stranger.query("SELECT Id FROM Account")


def test_sdk_logs_in_again_when_its_session_expires(sf: Salesforce, base: str) -> None:
    old = sf.session_id
    assert httpx.post(f"{base}/__sandbox/tokens/expire").json()["expired"] >= 1
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0
    assert sf.Account.create({"Name": "after re-login"})["success"] is True
    assert sf.session_id != old


def test_api_usage_is_parsed_from_sforce_limit_info(sf: Salesforce) -> None:
    sf.query("SELECT Id FROM Account")
    first = sf.api_usage["api-usage"]
    sf.query("SELECT Id FROM Account")
    second = sf.api_usage["api-usage"]
    assert (second.used, second.total) == (first.used + 1, first.total)
    assert json.dumps(sf.api_usage)  # plain tuples, as the SDK documents
