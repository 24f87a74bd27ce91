"""Private Salesforce REST shapes (records as SOQL returns them); never leave the adapter."""

from __future__ import annotations

from typing import Any, TypedDict


class SfAttributes(TypedDict, total=False):
    type: str
    url: str


class SfProduct(TypedDict, total=False):
    ProductCode: str | None
    Name: str | None


class SfContract(TypedDict, total=False):
    attributes: SfAttributes
    Id: str
    ContractNumber: str | None
    AccountId: str
    Status: str | None
    StartDate: str | None
    ContractTerm: int | None
    CurrencyIsoCode: str | None
    ActivatedDate: str | None
    SystemModstamp: str | None
    Billing_Customer_Id__c: str | None
    Billing_Subscription_Id__c: str | None
    ERP_Customer_Id__c: str | None
    Billing_Status__c: str | None
    Dunning_Invoice_Id__c: str | None


class SfLineItem(TypedDict, total=False):
    attributes: SfAttributes
    Id: str
    Quantity: float | None
    UnitPrice: float | None
    TotalPrice: float | None
    Product2: SfProduct | None
    Opportunity: dict[str, Any] | None


class SfAccount(TypedDict, total=False):
    attributes: SfAttributes
    Id: str
    Name: str
    ParentId: str | None
    BillingCountry: str | None
    CurrencyIsoCode: str | None
    Tax_Id__c: str | None
    Tax_Exempt__c: bool | None
    Billing_Customer_Id__c: str | None
    ERP_Customer_Id__c: str | None


class SfQueryResult(TypedDict, total=False):
    totalSize: int
    done: bool
    nextRecordsUrl: str
    records: list[dict[str, Any]]


class SfCallout(TypedDict, total=False):
    """The signed push body the Salesforce Flow callout sends."""

    event: str
    contractId: str
    accountId: str
    activatedDate: str
    systemModstamp: str
