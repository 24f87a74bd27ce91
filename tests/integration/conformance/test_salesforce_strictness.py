"""The Salesforce sandbox refuses what Salesforce refuses, with Salesforce's status, code and words.

REST errors are a JSON array of ``{message, errorCode, fields?}`` ("Status Codes and Error
Responses", REST API Developer Guide); each test pins the whole error body, so a changed code,
message or ``fields`` list fails here. Raw httpx shows the wire; the simple-salesforce tests show
that the SDK raises its documented exception types with the same bodies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from revbridge_sandboxes.salesforce.ids import to18
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from tests.integration.conformance.test_salesforce_sdk import rewriting_session
from tests.support.procs import sandbox

pytestmark = pytest.mark.integration

CLIENT_ID = "strict-consumer-key"
CLIENT_SECRET = "strict-consumer-secret"
V = "/services/data/v59.0"
UNKNOWN_RESOURCE = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    env = {"SALESFORCE_SANDBOX_CLIENT_ID": CLIENT_ID, "SALESFORCE_SANDBOX_CLIENT_SECRET": CLIENT_SECRET}
    with sandbox("salesforce", env=env) as url:
        yield url


@pytest.fixture
def api(base: str) -> Iterator[httpx.Client]:
    httpx.post(f"{base}/__sandbox/reset").raise_for_status()
    grant = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    token = httpx.post(f"{base}/services/oauth2/token", data=grant).raise_for_status().json()["access_token"]
    with httpx.Client(base_url=f"{base}{V}", headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


@pytest.fixture
def sf(base: str, api: httpx.Client) -> Salesforce:
    return Salesforce(
        consumer_key=CLIENT_ID,
        consumer_secret=CLIENT_SECRET,
        domain="strict.my",
        session=rewriting_session(base),
    )


def create(api: httpx.Client, sobject: str, **fields: Any) -> str:
    answer = api.post(f"/sobjects/{sobject}/", json=fields)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def refused(answer: httpx.Response, status: int = 400) -> list[dict[str, Any]]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert isinstance(body, list)
    return body


def soql_error(api: httpx.Client, q: str) -> dict[str, Any]:
    [error] = refused(api.get("/query", params={"q": q}))
    return error


# -- fields --------------------------------------------------------------------------------------
def test_unknown_field_on_create_and_update_is_invalid_field(api: httpx.Client) -> None:
    expected = [{"message": "No such column 'Nmae' on sobject of type Account", "errorCode": "INVALID_FIELD"}]
    assert refused(api.post("/sobjects/Account/", json={"Name": "Acme", "Nmae": "typo"})) == expected
    account = create(api, "Account", Name="Acme")
    assert refused(api.patch(f"/sobjects/Account/{account}", json={"Nmae": "typo"})) == expected
    assert refused(api.get(f"/sobjects/Account/{account}", params={"fields": "Name,Nmae"})) == expected


def test_undeclared_custom_field_is_refused_not_invented(api: httpx.Client) -> None:
    """Custom ``__c`` fields are no longer made up on first write: a misspelt write-back field
    fails here as it fails against an org, and is never echoed back or described."""
    body = [
        {
            "message": "No such column 'Billing_Statsu__c' on sobject of type Contract",
            "errorCode": "INVALID_FIELD",
        }
    ]
    account = create(api, "Account", Name="Acme")
    contract = create(api, "Contract", AccountId=account)
    assert refused(api.patch(f"/sobjects/Contract/{contract}", json={"Billing_Statsu__c": "active"})) == body
    assert (
        refused(api.post("/sobjects/Contract/", json={"AccountId": account, "Billing_Statsu__c": "x"}))
        == body
    )
    fields = {f["name"] for f in api.get("/sobjects/Contract/describe").json()["fields"]}
    assert "Billing_Statsu__c" not in fields and "Billing_Status__c" in fields
    assert soql_error(api, "SELECT Billing_Statsu__c FROM Contract")["errorCode"] == "INVALID_FIELD"


def test_declared_write_back_fields_keep_their_types(api: httpx.Client) -> None:
    """The adapter's collection fields are declared with Salesforce types (number, datetime,
    currency), so a string where the adapter sends a number is refused rather than stored."""
    account = create(api, "Account", Name="Acme")
    contract = create(api, "Contract", AccountId=account)
    patch = {
        "Payment_Attempts__c": 2,
        "Next_Payment_Attempt__c": "2026-03-04T00:00:00.000+0000",
        "Amount_Past_Due__c": 1250.5,
        "Dunning_Invoice_Id__c": "in_1",
    }
    assert api.patch(f"/sobjects/Contract/{contract}", json=patch).status_code == 204
    row = api.get(f"/sobjects/Contract/{contract}", params={"fields": ",".join(patch)}).json()
    assert (row["Payment_Attempts__c"], row["Next_Payment_Attempt__c"], row["Amount_Past_Due__c"]) == (
        2.0,
        "2026-03-04T00:00:00.000+0000",
        1250.5,
    )
    [error] = refused(api.patch(f"/sobjects/Contract/{contract}", json={"Payment_Attempts__c": "two"}))
    assert error["errorCode"] == "JSON_PARSER_ERROR"


def test_restricted_picklist_refuses_an_unknown_value(api: httpx.Client) -> None:
    account = create(api, "Account", Name="Acme")
    answer = api.post("/sobjects/Contract/", json={"AccountId": account, "Status": "Signed"})
    assert refused(answer) == [
        {
            "message": "Status: bad value for restricted picklist field: Signed",
            "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "fields": ["Status"],
        }
    ]


@pytest.mark.parametrize(
    ("sobject", "fields", "detail"),
    [
        ("Opportunity", {"Name": "Deal", "Amount": "lots"}, "double from VALUE_STRING value lots"),
        ("Opportunity", {"Name": "Deal", "CloseDate": "soon"}, "date from VALUE_STRING value soon"),
        ("Opportunity", {"Name": "Deal", "CloseDate": 5}, "date from VALUE_NUMBER_INT value 5"),
        ("Product2", {"Name": "Seat", "IsActive": "yes"}, "boolean from VALUE_STRING value yes"),
        ("Product2", {"Name": {"first": "Seat"}}, "String from START_OBJECT value {"),
        ("Contract", {"ContractTerm": 1.5}, "int from VALUE_NUMBER_FLOAT value 1.5"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_json_parser_error(
    api: httpx.Client, sobject: str, fields: dict[str, Any], detail: str
) -> None:
    assert refused(api.post(f"/sobjects/{sobject}/", json=fields)) == [
        {
            "message": f"Cannot deserialize instance of {detail} or request may be missing a required field",
            "errorCode": "JSON_PARSER_ERROR",
        }
    ]


def test_required_fields_are_all_listed(api: httpx.Client) -> None:
    answer = api.post("/sobjects/PricebookEntry/", json={"IsActive": True})
    assert refused(answer) == [
        {
            "message": "Required fields are missing: [Pricebook2Id, Product2Id, UnitPrice]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["Pricebook2Id", "Product2Id", "UnitPrice"],
        }
    ]
    assert refused(api.post("/sobjects/Opportunity/", json={"Name": "Deal"})) == [
        {
            "message": "Required fields are missing: [StageName, CloseDate]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["StageName", "CloseDate"],
        }
    ]
    contact = create(api, "Contact", LastName="Smith")
    assert refused(api.patch(f"/sobjects/Contact/{contact}", json={"LastName": None})) == [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        }
    ]


@pytest.mark.parametrize(
    ("sobject", "fields", "field"),
    [
        ("Account", {"Name": "Acme", "CreatedDate": "2024-01-01T00:00:00Z"}, "CreatedDate"),
        ("Account", {"Name": "Acme", "SystemModstamp": "2024-01-01T00:00:00Z"}, "SystemModstamp"),
        ("Contact", {"LastName": "Smith", "Name": "John Smith"}, "Name"),  # compound
        ("Pricebook2", {"Name": "Partner", "IsStandard": True}, "IsStandard"),
    ],
)
def test_read_only_fields_are_invalid_for_insert_update(
    api: httpx.Client, sobject: str, fields: dict[str, Any], field: str
) -> None:
    assert refused(api.post(f"/sobjects/{sobject}/", json=fields)) == [
        {
            "message": f"Unable to create/update fields: {field}. Please check the security settings of this "
            "field and verify that it is read/write for your profile or permission set.",
            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "fields": [field],
        }
    ]


def test_id_in_an_insert_and_a_system_field_in_an_update_are_refused(api: httpx.Client) -> None:
    account = create(api, "Account", Name="Acme")
    assert refused(api.post("/sobjects/Account/", json={"Id": account, "Name": "Copy"})) == [
        {
            "message": "cannot specify Id in an insert call",
            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "fields": ["Id"],
        }
    ]
    contract = create(api, "Contract", AccountId=account)
    [error] = refused(api.patch(f"/sobjects/Contract/{contract}", json={"ContractNumber": "42"}))
    assert (error["errorCode"], error["fields"]) == ("INVALID_FIELD_FOR_INSERT_UPDATE", ["ContractNumber"])


def test_text_longer_than_the_field_is_string_too_long(api: httpx.Client) -> None:
    assert api.post("/sobjects/Contact/", json={"LastName": "x" * 80}).status_code == 201
    assert refused(api.post("/sobjects/Contact/", json={"LastName": "x" * 81})) == [
        {
            "message": f"Last Name: data value too large: {'x' * 81} (max length=80)",
            "errorCode": "STRING_TOO_LONG",
            "fields": ["LastName"],
        }
    ]
    account = create(api, "Account", Name="Acme")
    [error] = refused(api.patch(f"/sobjects/Account/{account}", json={"Tax_Id__c": "9" * 256}))
    assert (error["errorCode"], error["fields"]) == ("STRING_TOO_LONG", ["Tax_Id__c"])


def test_an_email_field_takes_only_addresses(api: httpx.Client) -> None:
    assert refused(
        api.post("/sobjects/Contact/", json={"LastName": "Smith", "Email": "smith at example"})
    ) == [
        {
            "message": "Email: invalid email address: smith at example",
            "errorCode": "INVALID_EMAIL_ADDRESS",
            "fields": ["Email"],
        }
    ]


# -- ids and references --------------------------------------------------------------------------
def test_a_record_url_with_no_id_or_an_id_that_names_nothing_is_404(api: httpx.Client) -> None:
    assert refused(api.get("/sobjects/Account/not-an-id"), 404) == [
        {
            "message": "Provided external ID field does not exist or is not accessible: not-an-id",
            "errorCode": "NOT_FOUND",
        }
    ]
    assert refused(api.get(f"/sobjects/Account/{to18('001RB0000000ZZZ')}"), 404) == UNKNOWN_RESOURCE
    assert (
        refused(api.patch("/sobjects/Account/001RB0000000ZZZ", json={"Name": "x"}), 404) == UNKNOWN_RESOURCE
    )
    contact = create(api, "Contact", LastName="Smith")
    assert refused(api.get(f"/sobjects/Account/{contact}"), 404) == UNKNOWN_RESOURCE  # a Contact's id


def test_reference_fields_check_format_type_and_existence(api: httpx.Client) -> None:
    assert refused(api.post("/sobjects/Contact/", json={"LastName": "S", "AccountId": "short"})) == [
        {
            "message": "Account ID: id value of incorrect type: short",
            "errorCode": "MALFORMED_ID",
            "fields": ["AccountId"],
        }
    ]
    product = create(api, "Product2", Name="Seat")
    assert refused(api.post("/sobjects/Contact/", json={"LastName": "S", "AccountId": product})) == [
        {
            "message": f"Account ID: id value of incorrect type: {product}",
            "errorCode": "FIELD_INTEGRITY_EXCEPTION",
            "fields": ["AccountId"],
        }
    ]
    assert refused(
        api.post("/sobjects/Contact/", json={"LastName": "S", "AccountId": "001RB0000000ZZZ"})
    ) == [
        {
            "message": "invalid cross reference id",
            "errorCode": "INVALID_CROSS_REFERENCE_KEY",
            "fields": ["AccountId"],
        }
    ]
    account = create(api, "Account", Name="Gone Inc")
    assert api.delete(f"/sobjects/Account/{account}").status_code == 204
    assert refused(api.post("/sobjects/Contact/", json={"LastName": "S", "AccountId": account})) == [
        {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": ["AccountId"]}
    ]


def test_a_deleted_record_reads_as_not_found_and_refuses_writes_as_deleted(api: httpx.Client) -> None:
    account = create(api, "Account", Name="Acme")
    assert api.delete(f"/sobjects/Account/{account}").status_code == 204
    assert refused(api.get(f"/sobjects/Account/{account}"), 404) == UNKNOWN_RESOURCE
    deleted = [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}]
    assert refused(api.patch(f"/sobjects/Account/{account}", json={"Name": "Back"}), 404) == deleted
    assert refused(api.delete(f"/sobjects/Account/{account}"), 404) == deleted


# -- objects -------------------------------------------------------------------------------------
def test_unknown_sobject_in_a_url_is_an_unknown_resource(api: httpx.Client) -> None:
    assert refused(api.post("/sobjects/Invoice__c/", json={"Name": "x"}), 404) == UNKNOWN_RESOURCE
    assert refused(api.get("/sobjects/Invoice__c/describe"), 404) == UNKNOWN_RESOURCE
    assert refused(api.get("/sobjects/Invoice__c/001RB0000000ZZZ"), 404) == UNKNOWN_RESOURCE


def test_unknown_sobject_in_a_collection_record_is_invalid_type(api: httpx.Client) -> None:
    records = [{"attributes": {"type": "Invoice__c"}, "Name": "x"}]
    [result] = api.post("/composite/sobjects", json={"records": records}).json()
    assert result == {
        "id": None,
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_TYPE",
                "message": "sObject type 'Invoice__c' is not supported.",
                "fields": [],
            }
        ],
    }


# -- SOQL ----------------------------------------------------------------------------------------
def test_malformed_soql_points_at_row_and_column(api: httpx.Client) -> None:
    assert soql_error(api, "SELECT FROM Account") == {
        "message": "\nSELECT FROM Account\n       ^\nERROR at Row:1:Column:8\nunexpected token: FROM",
        "errorCode": "MALFORMED_QUERY",
    }
    assert soql_error(api, "SELECT Id FROM Account WHERE") == {
        "message": "\nSELECT Id FROM Account WHERE\n"
        + " " * 28
        + "^\nERROR at Row:1:Column:29\nunexpected token: <EOF>",
        "errorCode": "MALFORMED_QUERY",
    }
    mixed = "SELECT Id\nFROM Account\nWHERE Name = 'a' AND Name = 'b' OR Name = 'c'"
    assert soql_error(api, mixed)["message"] == (
        "\nWHERE Name = 'a' AND Name = 'b' OR Name = 'c'\n" + " " * 32 + "^\nERROR at Row:3:Column:33\n"
        "unexpected token: OR"
    )


def test_unknown_field_in_soql_is_invalid_field_in_salesforces_form(api: httpx.Client) -> None:
    assert soql_error(api, "SELECT Id, Nmae FROM Account") == {
        "message": "\nSELECT Id, Nmae FROM Account\n           ^\nERROR at Row:1:Column:12\n"
        "No such column 'Nmae' on entity 'Account'. If you are attempting to use a custom field, "
        "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
        "describe call for the appropriate names.",
        "errorCode": "INVALID_FIELD",
    }
    where = soql_error(api, "SELECT Id FROM Contract WHERE SystemModstamp > '2024-05-01'")
    assert where["errorCode"] == "INVALID_FIELD"
    assert where["message"].endswith(
        "ERROR at Row:1:Column:31\nvalue of filter criterion for field 'SystemModstamp' must be of type "
        "dateTime and should not be enclosed in quotes"
    )


def test_unknown_object_in_soql_is_invalid_type(api: httpx.Client) -> None:
    assert soql_error(api, "SELECT Id FROM Invoice") == {
        "message": "\nSELECT Id FROM Invoice\n               ^\nERROR at Row:1:Column:16\n"
        "sObject type 'Invoice' is not supported. If you are attempting to use a custom object, "
        "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
        "describe call for the appropriate names.",
        "errorCode": "INVALID_TYPE",
    }


# -- through simple-salesforce -------------------------------------------------------------------
def test_the_sdk_raises_its_documented_types_with_salesforces_bodies(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.Contact.create({"LastName": "Smith", "Favourite_Colour__c": "blue"})
    assert unknown.value.content == [
        {
            "message": "No such column 'Favourite_Colour__c' on sobject of type Contact",
            "errorCode": "INVALID_FIELD",
        }
    ]
    with pytest.raises(SalesforceMalformedRequest) as too_long:
        sf.Contact.create({"LastName": "Smith", "FirstName": "J" * 41})
    assert too_long.value.content[0]["errorCode"] == "STRING_TOO_LONG"
    with pytest.raises(SalesforceMalformedRequest) as bad_soql:
        sf.query("SELECT Id FROM Contact WHERE")
    assert bad_soql.value.content[0]["message"].endswith("unexpected token: <EOF>")
    with pytest.raises(SalesforceResourceNotFound) as unknown_object:
        sf.Invoice__c.create({"Name": "x"})
    assert unknown_object.value.content == UNKNOWN_RESOURCE


def test_only_external_id_fields_address_records_in_a_url(api: httpx.Client) -> None:
    """``/sobjects/{type}/{field}/{value}`` takes Id or a field marked External ID, nothing else."""
    create(api, "Account", Name="Acme", Tax_Id__c="DE1", External_Id__c="A-1")
    assert api.get("/sobjects/Account/External_Id__c/A-1").json()["Name"] == "Acme"
    for field in ("Tax_Id__c", "Name", "Nope__c"):
        assert refused(api.get(f"/sobjects/Account/{field}/DE1"), 404) == [
            {
                "message": f"Provided external ID field does not exist or is not accessible: {field}",
                "errorCode": "NOT_FOUND",
            }
        ]
        assert (
            refused(api.patch(f"/sobjects/Account/{field}/DE1", json={"Name": "x"}), 404)[0]["errorCode"]
            == "NOT_FOUND"
        )
    described = {f["name"]: f["externalId"] for f in api.get("/sobjects/Account/describe").json()["fields"]}
    assert (described["External_Id__c"], described["Tax_Id__c"]) == (True, False)
