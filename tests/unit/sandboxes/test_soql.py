"""The sandbox's SOQL parser and evaluator: what parses, what is rejected, and how rows come back."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from revbridge_sandboxes.salesforce.errors import InvalidField, MalformedQuery
from revbridge_sandboxes.salesforce.soql import parse
from revbridge_sandboxes.salesforce.soql.ast import (
    And,
    Comparison,
    Count,
    DateLiteral,
    FieldPath,
    InList,
    Like,
    Not,
    Or,
    OrderItem,
)
from revbridge_sandboxes.salesforce.soql.evaluate import execute
from revbridge_sandboxes.salesforce.store import Store

pytestmark = pytest.mark.unit


def test_adapter_polling_query_parses_into_the_expected_tree() -> None:
    q = parse(
        "SELECT Id, AccountId, Status, SystemModstamp FROM Contract WHERE Status = 'Activated' "
        "AND SystemModstamp > 2024-05-01T12:00:00.000+0000 ORDER BY SystemModstamp ASC, Id DESC LIMIT 200"
    )
    assert q.sobject == "Contract"
    assert q.select == tuple(FieldPath((n,)) for n in ("Id", "AccountId", "Status", "SystemModstamp"))
    assert q.where == And(
        (
            Comparison(FieldPath(("Status",)), "=", "Activated"),
            Comparison(FieldPath(("SystemModstamp",)), ">", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        )
    )
    assert q.order_by == (OrderItem(FieldPath(("SystemModstamp",))), OrderItem(FieldPath(("Id",)), True))
    assert q.limit == 200


def test_keywords_are_case_insensitive_and_literals_are_typed() -> None:
    q = parse(
        "select Name from Account where (Name like 'Ac\\_%' or not BillingCountry in ('US', null)) "
        "and CreatedDate = LAST_N_DAYS:7 order by Name desc nulls first limit 5 offset 10"
    )
    assert q.where == And(
        (
            Or(
                (
                    Like(FieldPath(("Name",)), "Ac\\_%"),
                    Not(InList(FieldPath(("BillingCountry",)), ("US", None))),
                )
            ),
            Comparison(FieldPath(("CreatedDate",)), "=", DateLiteral("LAST_N_DAYS", 7)),
        )
    )
    assert q.order_by == (OrderItem(FieldPath(("Name",)), True, False),)
    assert (q.limit, q.offset) == (5, 10)


def test_count_forms_and_not_in_and_date_literal() -> None:
    assert parse("SELECT COUNT() FROM Account").select == Count(None)
    assert parse("SELECT COUNT(Id) FROM Account").select == Count(FieldPath(("Id",)))
    q = parse("SELECT Id FROM Opportunity WHERE CloseDate >= 2024-05-01 AND Amount NOT IN (1, 2.5)")
    assert q.where == And(
        (
            Comparison(FieldPath(("CloseDate",)), ">=", date(2024, 5, 1)),
            InList(FieldPath(("Amount",)), (1, 2.5), negated=True),
        )
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SELECT FROM Account",
        "SELECT Id Account",
        "SELECT Id FROM",
        "SELECT Id FROM Account WHERE",
        "SELECT Id FROM Account WHERE Name = ",
        "SELECT Id FROM Account WHERE Name = 'unterminated",
        "SELECT Id FROM Account WHERE Name == 'x'",
        "SELECT Id FROM Account WHERE (Name = 'x'",
        "SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
        "SELECT Id FROM Account LIMIT x",
        "SELECT Id FROM Account ORDER Name",
        "SELECT Id FROM Account trailing",
        "SELECT Id, FROM Account",
        "SELECT Id FROM Account WHERE Name IN 'x'",
        "SELECT Id FROM Account; DROP TABLE",
    ],
)
def test_malformed_queries_are_rejected(text: str) -> None:
    with pytest.raises(MalformedQuery):
        parse(text)


@pytest.fixture
def org() -> Store:
    store = Store()
    account, product = store.object("Account"), store.object("Product2")
    acme, _ = store.create(account, {"Name": "Acme", "BillingCountry": "US"})
    store.create(account, {"Name": "Acme Europe", "ParentId": acme.id, "BillingCountry": "DE"})
    store.create(account, {"Name": "Globex"})
    contract, _ = store.create(store.object("Contract"), {"AccountId": acme.id, "ContractTerm": 12})
    opp, _ = store.create(
        store.object("Opportunity"),
        {
            "Name": "Deal",
            "AccountId": acme.id,
            "ContractId": contract.id,
            "StageName": "Closed Won",
            "CloseDate": "2024-05-30",
        },
    )
    widget, _ = store.create(product, {"Name": "Widget", "ProductCode": "W-1"})
    store.create(
        store.object("OpportunityLineItem"),
        {"OpportunityId": opp.id, "Product2Id": widget.id, "Quantity": 3, "UnitPrice": 10.5},
    )
    return store


def run(store: Store, text: str) -> list[dict]:
    return execute(store, parse(text), version="v59.0").records


def test_two_level_relationship_fields_come_back_nested(org: Store) -> None:
    [row] = run(
        org, "SELECT TotalPrice, Opportunity.Account.Name, Product2.ProductCode FROM OpportunityLineItem"
    )
    assert row["TotalPrice"] == 31.5
    assert row["Opportunity"]["Account"]["Name"] == "Acme"
    assert row["Opportunity"]["attributes"]["type"] == "Opportunity"
    assert row["Product2"] == {
        "attributes": {"type": "Product2", "url": row["Product2"]["attributes"]["url"]},
        "ProductCode": "W-1",
    }


def test_empty_reference_renders_null_relationship(org: Store) -> None:
    rows = run(org, "SELECT Name, Parent.Name FROM Account ORDER BY Name")
    assert [(r["Name"], r["Parent"] and r["Parent"]["Name"]) for r in rows] == [
        ("Acme", None),
        ("Acme Europe", "Acme"),
        ("Globex", None),
    ]


def test_string_equality_and_like_ignore_case(org: Store) -> None:
    assert [r["Name"] for r in run(org, "SELECT Name FROM Account WHERE Name = 'ACME'")] == ["Acme"]
    assert len(run(org, "SELECT Name FROM Account WHERE Name LIKE 'acme%'")) == 2
    assert run(org, "SELECT Name FROM Account WHERE Name LIKE 'Acm_'")[0]["Name"] == "Acme"


def test_not_equal_matches_nulls_and_nulls_sort_first_ascending(org: Store) -> None:
    rows = run(
        org, "SELECT Name, BillingCountry FROM Account WHERE BillingCountry != 'US' ORDER BY BillingCountry"
    )
    assert [r["Name"] for r in rows] == ["Globex", "Acme Europe"]
    rows = run(org, "SELECT Name FROM Account ORDER BY BillingCountry ASC NULLS LAST")
    assert [r["Name"] for r in rows] == ["Acme Europe", "Acme", "Globex"]


def test_count_of_matching_rows(org: Store) -> None:
    result = execute(org, parse("SELECT COUNT() FROM Account WHERE NOT Name LIKE 'Acme%'"), version="v59.0")
    assert (result.total_size, result.records) == (1, [])


def test_unknown_field_or_relationship_is_invalid_field(org: Store) -> None:
    with pytest.raises(InvalidField):
        run(org, "SELECT Nmae FROM Account")
    with pytest.raises(InvalidField):
        run(org, "SELECT Id FROM Contract WHERE Acount.Name = 'x'")


def test_typed_fields_reject_quoted_literals(org: Store) -> None:
    with pytest.raises(InvalidField):
        run(org, "SELECT Id FROM Contract WHERE SystemModstamp > '2024-05-01T00:00:00Z'")


def test_date_literal_today_matches_records_created_now(org: Store) -> None:
    assert len(run(org, "SELECT Id FROM Account WHERE CreatedDate = TODAY")) == 3
    assert run(org, "SELECT Id FROM Account WHERE CreatedDate = YESTERDAY") == []
    assert len(run(org, "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:2")) == 3
