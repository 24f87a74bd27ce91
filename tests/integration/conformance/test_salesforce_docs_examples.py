"""simple-salesforce's own README examples, run unchanged against the Salesforce sandbox.

Each test follows one README example (quoted in its docstring) as an integrator would paste it,
with only the record ids and the org-specific custom field names changed: the README's
``My_Custom_ID__c`` / ``customExtIdField__c`` are the sandbox's External ID field ``External_Id__c``.
Examples of what the sandbox does not serve (SOSL, Apex REST, Bulk, SOAP login, layouts) are run
too and must fail the way Salesforce fails an unknown resource. Some calls the README does not
show but an integrator uses (``include_deleted``, ``restful``, ``limits``) follow the SDK's API.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from simple_salesforce import Salesforce, SFType, format_external_id, format_soql
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from tests.integration.conformance.test_salesforce_sdk import rewriting_session
from tests.support.procs import sandbox

pytestmark = pytest.mark.integration

CLIENT_ID = "docs-consumer-key"
CLIENT_SECRET = "docs-consumer-secret"
INSTANCE = "revbridge-docs.my.salesforce.com"
UNKNOWN_RESOURCE = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    env = {
        "SALESFORCE_SANDBOX_CLIENT_ID": CLIENT_ID,
        "SALESFORCE_SANDBOX_CLIENT_SECRET": CLIENT_SECRET,
        "SALESFORCE_SANDBOX_INSTANCE_URL": f"https://{INSTANCE}",
    }
    with sandbox("salesforce", env=env) as url:
        yield url


@pytest.fixture
def sf(base: str) -> Salesforce:
    """README: ``sf = Salesforce(consumer_key='sfdc_client_id', consumer_secret='sfdc_client_secret',
    domain='organization.my')`` - the client credentials login, on a fresh org."""
    httpx.post(f"{base}/__sandbox/reset").raise_for_status()
    return Salesforce(
        consumer_key=CLIENT_ID,
        consumer_secret=CLIENT_SECRET,
        domain="revbridge-docs.my",
        session=rewriting_session(base),
    )


def contacts(sf: Salesforce, n: int, last_name: str) -> list[str]:
    """``n`` Contacts created through sObject Collections, 200 a call (setup, not an example)."""
    ids: list[str] = []
    for start in range(0, n, 200):
        batch = [
            {"attributes": {"type": "Contact"}, "LastName": last_name, "Email": f"c{i}@example.com"}
            for i in range(start, min(n, start + 200))
        ]
        results = sf.restful("composite/sobjects", method="POST", json={"records": batch})
        assert all(r["success"] for r in results)
        ids += [r["id"] for r in results]
    return ids


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# -- authentication ------------------------------------------------------------------------------
def test_session_id_with_instance_or_instance_url_needs_no_login(sf: Salesforce, base: str) -> None:
    """README: ``sf = Salesforce(instance='na1.salesforce.com', session_id='')`` and
    ``sf = Salesforce(instance_url='https://na1.salesforce.com', session_id='')``."""
    by_instance = Salesforce(instance=INSTANCE, session_id=sf.session_id, session=rewriting_session(base))
    by_url = Salesforce(
        instance_url=f"https://{INSTANCE}", session_id=sf.session_id, session=rewriting_session(base)
    )
    created = by_instance.Contact.create({"LastName": "Smith"})
    assert by_url.Contact.get(created["id"])["LastName"] == "Smith"


def test_sftype_with_a_session_id_creates_a_contact(sf: Salesforce, base: str) -> None:
    """README: ``contact = SFType('Contact','sessionid','na1.salesforce.com')`` then
    ``contact.create({'LastName':'Smith','Email':'example@example.com'})``."""
    contact = SFType("Contact", sf.session_id, INSTANCE, session=rewriting_session(base))
    created = contact.create({"LastName": "Smith", "Email": "example@example.com"})
    assert sf.Contact.get(created["id"])["Email"] == "example@example.com"


def test_soap_username_password_login_is_not_served(base: str) -> None:
    """README: ``sf = Salesforce(username='myemail@example.com', password='password',
    security_token='token')`` - SOAP login is not served; it fails as an authentication failure,
    never as a session that half works."""
    with pytest.raises(SalesforceAuthenticationFailed):
        Salesforce(
            username="myemail@example.com",
            password="password",
            security_token="token",
            session=rewriting_session(base),
        )
    soap = requests.post(f"{base}/services/Soap/u/59.0", data="<x/>", headers={"SOAPAction": "login"})
    assert (soap.status_code, soap.json()) == (404, UNKNOWN_RESOURCE)


# -- record management ---------------------------------------------------------------------------
def test_create_contact_returns_id_success_and_no_errors(sf: Salesforce) -> None:
    """README: ``sf.Contact.create({'LastName':'Smith','Email':'example@example.com'})`` "will
    return a dictionary such as {u'errors': [], u'id': u'003e0000003GuNXAA0', u'success': True}"."""
    created = sf.Contact.create({"LastName": "Smith", "Email": "example@example.com"})
    assert set(created) == {"errors", "id", "success"}
    assert (created["errors"], created["success"]) == ([], True)
    assert created["id"].startswith("003") and len(created["id"]) == 18


def test_get_contact_returns_every_field(sf: Salesforce) -> None:
    """README: ``contact = sf.Contact.get('003e0000003GuNXAA0')`` - "a dictionary with all the
    information regarding that record"."""
    record_id = sf.Contact.create({"LastName": "Smith", "Email": "example@example.com"})["id"]
    contact = sf.Contact.get(record_id)
    assert contact["attributes"] == {
        "type": "Contact",
        "url": f"/services/data/v{sf.sf_version}/sobjects/Contact/{record_id}",
    }
    described = {f["name"] for f in sf.Contact.describe()["fields"]}
    assert set(contact) - {"attributes"} == described
    assert (contact["Id"], contact["LastName"], contact["Name"], contact["IsDeleted"]) == (
        record_id,
        "Smith",
        "Smith",
        False,
    )


def test_get_by_custom_id_reads_by_an_external_id_field(sf: Salesforce) -> None:
    """README: ``contact = sf.Contact.get_by_custom_id('My_Custom_ID__c', '22')``."""
    record_id = sf.Contact.create({"LastName": "Smith", "External_Id__c": "22"})["id"]
    assert sf.Contact.get_by_custom_id("External_Id__c", "22")["Id"] == record_id
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get_by_custom_id("External_Id__c", "23")
    with pytest.raises(SalesforceResourceNotFound) as unknown:  # a field the org does not have
        sf.Contact.get_by_custom_id("My_Custom_ID__c", "22")
    assert unknown.value.content == [
        {
            "errorCode": "NOT_FOUND",
            "message": "Provided external ID field does not exist or is not accessible: My_Custom_ID__c",
        }
    ]


def test_update_sets_last_and_first_name_and_returns_204(sf: Salesforce) -> None:
    """README: ``sf.Contact.update('003e0000003GuNXAA0',{'LastName': 'Jones', 'FirstName': 'John'})``;
    "Update, Delete and Upsert actions return the associated Salesforce HTTP Status Code"."""
    record_id = sf.Contact.create({"LastName": "Smith"})["id"]
    assert sf.Contact.update(record_id, {"LastName": "Jones", "FirstName": "John"}) == 204
    contact = sf.Contact.get(record_id)
    assert (contact["FirstName"], contact["LastName"], contact["Name"]) == ("John", "Jones", "John Jones")


def test_delete_returns_204_and_the_contact_is_gone(sf: Salesforce) -> None:
    """README: ``sf.Contact.delete('003e0000003GuNXAA0')``."""
    record_id = sf.Contact.create({"LastName": "Smith"})["id"]
    assert sf.Contact.delete(record_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(record_id)
    with pytest.raises(SalesforceResourceNotFound) as again:
        sf.Contact.delete(record_id)
    assert again.value.content == [
        {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}
    ]


def test_deleted_lists_contacts_deleted_over_the_past_ten_days(sf: Salesforce) -> None:
    """README: ``end = datetime.datetime.now(pytz.UTC)`` then
    ``sf.Contact.deleted(end - datetime.timedelta(days=10), end)``.

    Salesforce ignores the seconds of ``start`` and ``end``, so a delete in the current minute is
    covered only once the minute is over: asked up to the next minute, it is listed.
    """
    kept = sf.Contact.create({"LastName": "Kept"})["id"]
    gone = sf.Contact.create({"LastName": "Gone"})["id"]
    sf.Contact.delete(gone)
    end = now_utc()
    answer = sf.Contact.deleted(end - datetime.timedelta(days=10), end)
    assert set(answer) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    assert {r["id"] for r in answer["deletedRecords"]} <= {gone}
    assert answer["latestDateCovered"] == end.strftime("%Y-%m-%dT%H:%M:00.000+0000")
    later = sf.Contact.deleted(end - datetime.timedelta(days=10), end + datetime.timedelta(minutes=1))
    [record] = later["deletedRecords"]
    assert record["id"] == gone and record["id"] != kept
    assert record["deletedDate"].startswith(end.strftime("%Y-%m-%dT"))


def test_updated_lists_contacts_added_or_changed_over_the_past_ten_days(sf: Salesforce) -> None:
    """README: ``sf.Contact.updated(end - datetime.timedelta(days=10), end)``."""
    changed = sf.Contact.create({"LastName": "Smith"})["id"]
    sf.Contact.update(changed, {"LastName": "Jones"})
    added = sf.Contact.create({"LastName": "New"})["id"]
    sf.Account.create({"Name": "Not a contact"})
    end = now_utc()
    answer = sf.Contact.updated(end - datetime.timedelta(days=10), end)
    assert set(answer) == {"ids", "latestDateCovered"}
    assert set(answer["ids"]) <= {changed, added}
    later = sf.Contact.updated(end - datetime.timedelta(days=10), end + datetime.timedelta(minutes=1))
    assert later["ids"] == [changed, added]  # in order of their last change
    older = sf.Contact.updated(end - datetime.timedelta(days=10), end - datetime.timedelta(days=9))
    assert older["ids"] == []


def test_replication_refuses_a_start_after_the_end(sf: Salesforce) -> None:
    """The same call with the dates swapped is refused rather than answered empty."""
    end = now_utc()
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Contact.updated(end, end - datetime.timedelta(days=10))
    assert refused.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"


# -- queries -------------------------------------------------------------------------------------
def test_readme_query_on_parent_account_fails_as_on_salesforce_and_account_name_works(
    sf: Salesforce,
) -> None:
    """README: ``sf.query("SELECT Id, Email, ParentAccount.Name FROM Contact WHERE LastName =
    'Jones'")``. Contact has no ``ParentAccount`` relationship (its parent is ``Account``), so
    Salesforce refuses the README's query as written; with ``Account.Name`` it answers."""
    soql = "SELECT Id, Email, ParentAccount.Name FROM Contact WHERE LastName = 'Jones'"
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query(soql)
    [error] = refused.value.content
    assert error["errorCode"] == "INVALID_FIELD"
    assert error["message"].startswith(f"\n{soql}\n" + " " * 18 + "^\nERROR at Row:1:Column:19\n")
    assert "Didn't understand relationship 'ParentAccount' in field path." in error["message"]
    account = sf.Account.create({"Name": "Acme"})["id"]
    jones = sf.Contact.create({"LastName": "Jones", "Email": "j@example.com", "AccountId": account})["id"]
    sf.Contact.create({"LastName": "Smith"})
    result = sf.query(soql.replace("ParentAccount", "Account"))
    assert (result["totalSize"], result["done"]) == (1, True)
    [row] = result["records"]
    assert (row["Id"], row["Email"], row["Account"]["Name"]) == (jones, "j@example.com", "Acme")


def test_query_more_with_the_locator_or_the_full_url(sf: Salesforce) -> None:
    """README: ``sf.query_more("01gD0000002HU6KIAW-2000")`` and
    ``sf.query_more("/services/data/v26.0/query/01gD0000002HU6KIAW-2000", True)``."""
    ids = contacts(sf, 450, "Jones")
    first = sf.query("SELECT Id FROM Contact ORDER BY Id", headers={"Sforce-Query-Options": "batchSize=200"})
    assert (first["totalSize"], first["done"], len(first["records"])) == (450, False, 200)
    url = first["nextRecordsUrl"]
    assert url.startswith(f"/services/data/v{sf.sf_version}/query/01g") and url.endswith("-200")
    locator = url.rsplit("/", 1)[1]
    by_locator, by_url = sf.query_more(locator), sf.query_more(url, True)
    assert by_locator == by_url
    assert [r["Id"] for r in by_url["records"]] == ids[200:400]
    last = sf.query_more(by_url["nextRecordsUrl"], True)
    assert (last["done"], "nextRecordsUrl" in last, len(last["records"])) == (True, False, 50)


def test_query_all_gathers_every_page(sf: Salesforce) -> None:
    """README: ``sf.query_all("SELECT Id, Email FROM Contact WHERE LastName = 'Jones'")``."""
    jones = contacts(sf, 2100, "Jones")  # more than one default batch of 2000
    contacts(sf, 5, "Smith")
    everything = sf.query_all("SELECT Id, Email FROM Contact WHERE LastName = 'Jones'")
    assert (everything["totalSize"], everything["done"]) == (2100, True)
    assert sorted(r["Id"] for r in everything["records"]) == sorted(jones)


def test_query_all_iter_yields_rows_lazily(sf: Salesforce) -> None:
    """README: ``data = sf.query_all_iter("SELECT Id, Email FROM Contact WHERE LastName =
    'Jones'")`` then ``for row in data: process(row)``."""
    jones = contacts(sf, 250, "Jones")
    data = sf.query_all_iter(
        "SELECT Id, Email FROM Contact WHERE LastName = 'Jones'",
        headers={"Sforce-Query-Options": "batchSize=200"},
    )
    seen = [row["Id"] for row in data]
    assert sorted(seen) == sorted(jones)


def test_format_soql_quotes_positional_keyword_and_list_values(sf: Salesforce) -> None:
    """README: ``sf.query(format_soql("SELECT Id, Email FROM Contact WHERE LastName = {}",
    "Jones"))``, the same with ``{last_name}`` and with ``LastName IN {names}``."""
    jones = sf.Contact.create({"LastName": "Jones", "Email": "jones@example.com"})["id"]
    smith = sf.Contact.create({"LastName": "Smith", "Email": "smith@example.com"})["id"]
    sf.Contact.create({"LastName": "O'Brien"})

    def ids(result: dict[str, Any]) -> set[str]:
        return {r["Id"] for r in result["records"]}

    assert ids(sf.query(format_soql("SELECT Id, Email FROM Contact WHERE LastName = {}", "Jones"))) == {jones}
    assert ids(
        sf.query(format_soql("SELECT Id, Email FROM Contact WHERE LastName = {last_name}", last_name="Jones"))
    ) == {jones}
    assert ids(
        sf.query(
            format_soql("SELECT Id, Email FROM Contact WHERE LastName IN {names}", names=["Smith", "Jones"])
        )
    ) == {jones, smith}
    quoted = sf.query(format_soql("SELECT Id FROM Contact WHERE LastName = {}", "O'Brien"))
    assert quoted["totalSize"] == 1  # the quote is escaped, not a syntax error


def test_format_soql_like_escapes_wildcards_in_the_value(sf: Salesforce) -> None:
    """README: ``sf.query(format_soql("SELECT Id, Email FROM Contact WHERE Name LIKE '{:like}%'",
    "Jones"))``."""
    jones = sf.Contact.create({"FirstName": "Jones", "LastName": "Junior"})["id"]
    sf.Contact.create({"FirstName": "Mary", "LastName": "Smith"})
    odd = sf.Contact.create({"FirstName": "J_nes", "LastName": "Odd"})["id"]
    found = sf.query(format_soql("SELECT Id, Email FROM Contact WHERE Name LIKE '{:like}%'", "Jones"))
    assert [r["Id"] for r in found["records"]] == [jones]
    literal_underscore = sf.query(format_soql("SELECT Id FROM Contact WHERE Name LIKE '{:like}%'", "J_nes"))
    assert [r["Id"] for r in literal_underscore["records"]] == [odd]  # "_" matched only itself


def test_include_deleted_reads_the_recycle_bin_through_query_all(sf: Salesforce) -> None:
    """simple-salesforce: ``sf.query_all(query, include_deleted=True)`` (``queryAll``)."""
    ids = contacts(sf, 250, "Jones")
    for record_id in ids[:3]:
        sf.Contact.delete(record_id)
    soql = "SELECT Id, IsDeleted FROM Contact"
    assert sf.query(soql)["totalSize"] == 247
    first = sf.query(soql, include_deleted=True, headers={"Sforce-Query-Options": "batchSize=200"})
    assert first["totalSize"] == 250
    assert "/queryAll/" in first["nextRecordsUrl"]
    everything = sf.query_all(soql, include_deleted=True, headers={"Sforce-Query-Options": "batchSize=200"})
    deleted = {r["Id"] for r in everything["records"] if r["IsDeleted"]}
    assert (everything["totalSize"], deleted) == (250, set(ids[:3]))


# -- other options -------------------------------------------------------------------------------
def test_upsert_by_external_id_creates_then_updates(sf: Salesforce) -> None:
    """README: ``sf.Contact.upsert('customExtIdField__c/11999',{'LastName': 'Smith','Email':
    'smith@example.com'})``."""
    assert (
        sf.Contact.upsert("External_Id__c/11999", {"LastName": "Smith", "Email": "smith@example.com"}) == 201
    )
    assert sf.Contact.upsert("External_Id__c/11999", {"LastName": "Smyth"}) == 200
    [row] = sf.query("SELECT LastName, Email, External_Id__c FROM Contact")["records"]
    assert (row["LastName"], row["Email"], row["External_Id__c"]) == ("Smyth", "smith@example.com", "11999")


def test_format_external_id_carries_unsafe_characters(sf: Salesforce) -> None:
    """README: ``external_id = format_external_id('customExtIdField__c', 'this/that & the other')``."""
    external_id = format_external_id("External_Id__c", "this/that & the other")
    assert sf.Contact.upsert(external_id, {"LastName": "Smith"}) == 201
    assert sf.Contact.upsert(external_id, {"LastName": "Smyth"}) == 200  # found by the same value
    [row] = sf.query("SELECT LastName, External_Id__c FROM Contact")["records"]
    assert (row["LastName"], row["External_Id__c"]) == ("Smyth", "this/that & the other")


def test_metadata_and_describe_of_contact(sf: Salesforce) -> None:
    """README: ``sf.Contact.metadata()`` and ``sf.Contact.describe()``."""
    record_id = sf.Contact.create({"LastName": "Smith"})["id"]
    metadata = sf.Contact.metadata()
    assert metadata["objectDescribe"]["name"] == "Contact"
    assert metadata["objectDescribe"]["keyPrefix"] == record_id[:3]
    described = sf.Contact.describe()
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["LastName"]["nillable"] is False and fields["LastName"]["length"] == 80
    assert fields["Email"]["type"] == "email"
    assert fields["Name"]["createable"] is False  # compound of FirstName and LastName
    assert fields["AccountId"]["referenceTo"] == ["Account"]


def test_describe_lists_every_sobject_with_a_label(sf: Salesforce) -> None:
    """README: ``sf.describe()`` and ``for x in sf.describe()["sobjects"]: print x["label"]``."""
    labels = [x["label"] for x in sf.describe()["sobjects"]]
    assert {"Account", "Contact", "Contract", "Opportunity"} <= set(labels)


def test_restful_and_limits(sf: Salesforce) -> None:
    """simple-salesforce: ``sf.restful(path, params)`` and ``sf.limits()``."""
    record_id = sf.Contact.create({"LastName": "Smith", "Email": "s@example.com"})["id"]
    row = sf.restful(f"sobjects/Contact/{record_id}", params={"fields": "LastName,Email"})
    assert set(row) == {"attributes", "LastName", "Email"}
    assert sf.restful(f"sobjects/Contact/{record_id}", method="PATCH", json={"Title": "CFO"}) is None
    assert sf.Contact.get(record_id)["Title"] == "CFO"
    limits = sf.limits()
    daily = limits["DailyApiRequests"]
    used = sf.api_usage["api-usage"]
    assert (daily["Max"], daily["Remaining"]) == (used.total, used.total - used.used)


# -- what the sandbox does not serve -------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda sf: sf.search("FIND {Jones}"), id="README sf.search('FIND {Jones}')"),
        pytest.param(lambda sf: sf.quick_search("Jones"), id="README sf.quick_search('Jones')"),
        pytest.param(
            lambda sf: sf.apexecute("User/Activity", method="POST", data={"activity": []}),
            id="README sf.apexecute('User/Activity', method='POST', data=payload)",
        ),
        pytest.param(
            lambda sf: sf.Contact.describe_layout("39wmxcw9r23r492"),
            id="README sf.Contact.describe_layout('39wmxcw9r23r492')",
        ),
        pytest.param(
            lambda sf: sf.toolingexecute("query/?q=SELECT+Id+FROM+ApexClass"), id="sf.toolingexecute(...)"
        ),
        pytest.param(
            lambda sf: sf.bulk.Contact.insert([{"LastName": "Smith"}], batch_size=10000, use_serial=True),
            id="README sf.bulk.Contact.insert(data, batch_size=10000, use_serial=True)",
        ),
        pytest.param(lambda sf: sf.Lead.create({"LastName": "Smith", "Company": "Acme"}), id="README Lead"),
    ],
)
def test_unserved_readme_examples_answer_as_an_unknown_resource(sf: Salesforce, call: Any) -> None:
    """SOSL, Apex REST, layouts, Tooling, Bulk and objects the sandbox does not model answer 404
    ``NOT_FOUND`` "The requested resource does not exist", as Salesforce answers an unknown URL."""
    with pytest.raises(SalesforceResourceNotFound) as refused:
        call(sf)
    assert refused.value.content == UNKNOWN_RESOURCE
