"""The sObjects the sandbox knows: their fields, types, key prefixes and relationships.

Everything that validates a write, resolves a SOQL path or answers ``describe`` reads these
definitions, so the object model lives in one table. Lookups are case-insensitive, as in Salesforce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

FieldType = Literal[
    "id",
    "reference",
    "string",
    "textarea",
    "email",
    "phone",
    "picklist",
    "boolean",
    "date",
    "datetime",
    "double",
    "currency",
    "int",
]
SYSTEM_FIELDS = ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp")
TEXT_TYPES = ("string", "textarea", "email", "phone", "picklist")
# guess: a custom text field's length is chosen by its admin; 255 is the most a Text field allows.
DEFAULT_TEXT_LENGTH = 255


def label(name: str) -> str:
    """A readable label from an API name: ``BillingCountry`` -> ``Billing Country``, ``Id`` -> ``ID``."""
    if name.endswith("__c"):
        return name[:-3].replace("_", " ")
    words = re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+|[A-Z]+(?![a-z])", name)
    return " ".join("ID" if w == "Id" else w for w in words) or name


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: FieldType = "string"
    custom: bool = False
    required: bool = False
    writable: bool = True
    reference_to: str | None = None
    picklist: tuple[str, ...] = ()
    # Most characters a text value may have (STRING_TOO_LONG beyond); None for non-text types.
    max_length: int | None = None
    # Marked "External ID" in the org: usable in ``/sobjects/{type}/{field}/{value}`` URLs.
    external_id: bool = False

    @property
    def length(self) -> int:
        """``length`` as describe reports it: the text limit, 0 for non-text fields."""
        if self.max_length is not None:
            return self.max_length
        return DEFAULT_TEXT_LENGTH if self.type in TEXT_TYPES else 0

    @property
    def relationship_name(self) -> str | None:
        if self.reference_to is None:
            return None
        if self.custom:
            return self.name[:-3] + "__r"
        return self.name[:-2] if self.name.endswith("Id") else self.name

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "label": label(self.name),
            "type": self.type,
            "custom": self.custom,
            "length": self.length,
            "nillable": not self.required and self.name not in SYSTEM_FIELDS,
            "createable": self.writable,
            "updateable": self.writable,
            "referenceTo": [self.reference_to] if self.reference_to else [],
            "relationshipName": self.relationship_name,
            "picklistValues": [
                {"value": v, "label": v, "active": True, "defaultValue": False} for v in self.picklist
            ],
            "externalId": self.external_id,
        }


@dataclass(frozen=True)
class ObjectDef:
    name: str
    key_prefix: str
    fields: tuple[FieldDef, ...]
    defaults: tuple[tuple[str, object], ...] = ()
    _by_lower: dict[str, FieldDef] = field(default_factory=dict, compare=False, repr=False)
    _by_relationship: dict[str, FieldDef] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for f in self.fields:
            self._by_lower[f.name.lower()] = f
            if f.relationship_name:
                self._by_relationship[f.relationship_name.lower()] = f

    def field(self, name: str) -> FieldDef | None:
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        return self._by_relationship.get(name.lower())

    def required_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.required]


def _system() -> tuple[FieldDef, ...]:
    return (
        FieldDef("Id", "id", writable=False),
        FieldDef("IsDeleted", "boolean", writable=False),
        FieldDef("CreatedDate", "datetime", writable=False),
        FieldDef("LastModifiedDate", "datetime", writable=False),
        FieldDef("SystemModstamp", "datetime", writable=False),
    )


def _writeback(*, subscription: bool) -> tuple[FieldDef, ...]:
    """The custom fields revbridge's CRM adapter writes back: billing links and collection status.

    They are declared, not invented on first write, so a misspelt field is refused as Salesforce
    refuses it (an org would have them deployed before the integration runs).
    """
    fields = [FieldDef("Billing_Customer_Id__c", custom=True)]
    if subscription:
        fields.append(FieldDef("Billing_Subscription_Id__c", custom=True))
    fields += [
        FieldDef("ERP_Customer_Id__c", custom=True),
        FieldDef("Billing_Status__c", custom=True),
        FieldDef("Last_Sync__c", "datetime", custom=True),
        FieldDef("Dunning_Invoice_Id__c", custom=True),
        FieldDef("Payment_Attempts__c", "double", custom=True),
        FieldDef("Next_Payment_Attempt__c", "datetime", custom=True),
        FieldDef("Amount_Past_Due__c", "currency", custom=True),
    ]
    return tuple(fields)


def _external_id() -> FieldDef:
    """A custom External ID text field, for ``get_by_custom_id`` and upserts by external id."""
    return FieldDef("External_Id__c", custom=True, external_id=True)


def _obj(
    name: str, prefix: str, *fields: FieldDef, defaults: tuple[tuple[str, object], ...] = ()
) -> ObjectDef:
    return ObjectDef(name, prefix, (*_system(), *fields), defaults)


def build_objects() -> dict[str, ObjectDef]:
    """The object model, keyed by lower-cased API name."""
    currency = FieldDef("CurrencyIsoCode", "picklist")
    usd: tuple[tuple[str, object], ...] = (("CurrencyIsoCode", "USD"),)
    objects = [
        _obj(
            "Account",
            "001",
            FieldDef("Name", required=True),
            FieldDef("ParentId", "reference", reference_to="Account"),
            FieldDef("BillingCountry", max_length=80),
            currency,
            FieldDef("Tax_Id__c", custom=True),
            FieldDef("Tax_Exempt__c", "boolean", custom=True),
            _external_id(),
            *_writeback(subscription=False),
            defaults=usd,
        ),
        _obj(
            "Contact",
            "003",
            FieldDef("FirstName", max_length=40),
            FieldDef("LastName", required=True, max_length=80),
            FieldDef("Name", writable=False, max_length=121),  # compound: FirstName LastName
            FieldDef("Email", "email", max_length=80),
            FieldDef("AccountId", "reference", reference_to="Account"),
            FieldDef("Phone", "phone", max_length=40),
            FieldDef("Title", max_length=128),
            _external_id(),
        ),
        _obj(
            "Product2",
            "01t",
            FieldDef("Name", required=True),
            FieldDef("ProductCode"),
            FieldDef("Description", "textarea", max_length=4000),
            FieldDef("IsActive", "boolean"),
            _external_id(),
            defaults=(("IsActive", False),),
        ),
        _obj(
            "Opportunity",
            "006",
            FieldDef("Name", required=True, max_length=120),
            FieldDef("AccountId", "reference", reference_to="Account"),
            FieldDef("StageName", "picklist", required=True),
            FieldDef("CloseDate", "date", required=True),
            FieldDef("Amount", "currency"),
            FieldDef("ContractId", "reference", reference_to="Contract"),
            currency,
            defaults=usd,
        ),
        _obj(
            "Pricebook2",
            "01s",
            FieldDef("Name", required=True),
            FieldDef("IsActive", "boolean"),
            FieldDef("IsStandard", "boolean", writable=False),
            FieldDef("Description"),
            defaults=(("IsActive", False), ("IsStandard", False)),
        ),
        _obj(
            "PricebookEntry",
            "01u",
            FieldDef("Pricebook2Id", "reference", required=True, reference_to="Pricebook2"),
            FieldDef("Product2Id", "reference", required=True, reference_to="Product2"),
            FieldDef("UnitPrice", "currency", required=True),
            FieldDef("IsActive", "boolean"),
            FieldDef("UseStandardPrice", "boolean"),
            currency,
            defaults=(*usd, ("IsActive", False), ("UseStandardPrice", False)),
        ),
        _obj(
            "OpportunityLineItem",
            "00k",
            FieldDef("OpportunityId", "reference", required=True, reference_to="Opportunity"),
            FieldDef("PricebookEntryId", "reference", reference_to="PricebookEntry"),
            FieldDef("Product2Id", "reference", reference_to="Product2"),
            FieldDef("Quantity", "double"),
            FieldDef("UnitPrice", "currency"),
            FieldDef("TotalPrice", "currency", writable=False),
        ),
        _obj(
            "Contract",
            "800",
            FieldDef("AccountId", "reference", required=True, reference_to="Account"),
            FieldDef("StartDate", "date"),
            FieldDef("ContractTerm", "int"),
            FieldDef("Status", "picklist", picklist=("Draft", "Activated")),
            FieldDef("ActivatedDate", "datetime", writable=False),
            currency,
            FieldDef("ContractNumber", writable=False, max_length=30),
            _external_id(),
            *_writeback(subscription=True),
            defaults=(*usd, ("Status", "Draft")),
        ),
    ]
    return {o.name.lower(): o for o in (*objects, *_cpq_objects(currency, usd))}


def _cpq(name: str, type_: FieldType = "string", **kw: object) -> FieldDef:
    return FieldDef(f"SBQQ__{name}__c", type_, custom=True, **kw)  # type: ignore[arg-type]


def _cpq_objects(currency: FieldDef, usd: tuple[tuple[str, object], ...]) -> list[ObjectDef]:
    """Salesforce CPQ's managed objects (namespace ``SBQQ``) that hold what a contract bills.

    CPQ writes one ``SBQQ__Subscription__c`` per contracted line and, for a multi-dimensional
    (segmented) line, one per segment: each with its own segment dates, quantity and net price. A
    usage line's price tiers live in its subscription consumption schedule's rates.
    guess: custom-object key prefixes are assigned per org; these three are stable stand-ins.
    """
    name = FieldDef("Name", writable=False, max_length=80)  # an auto-number in CPQ
    return [
        _obj(
            "SBQQ__Subscription__c",
            "a0T",
            name,
            _cpq("Contract", "reference", reference_to="Contract"),
            _cpq("Account", "reference", reference_to="Account"),
            _cpq("Product", "reference", reference_to="Product2"),
            _cpq("Quantity", "double"),
            _cpq("NetPrice", "currency"),
            _cpq("RegularPrice", "currency"),
            _cpq("StartDate", "date"),
            _cpq("EndDate", "date"),
            _cpq("SegmentIndex", "double"),
            _cpq("SegmentLabel"),
            _cpq("SegmentKey"),
            _cpq("SegmentStartDate", "date"),
            _cpq("SegmentEndDate", "date"),
            _cpq("SegmentQuantity", "double"),
            _cpq("ChargeType", "picklist", picklist=("One-Time", "Recurring", "Usage")),
            _cpq("BillingType", "picklist", picklist=("Advance", "Arrears")),
            _cpq(
                "BillingFrequency",
                "picklist",
                picklist=("Monthly", "Quarterly", "Semiannual", "Annual", "Invoice Plan"),
            ),
            _cpq("TerminatedDate", "date"),
            _cpq("RevisedSubscription", "reference", reference_to="SBQQ__Subscription__c"),
            currency,
            defaults=usd,
        ),
        _obj(
            "SBQQ__SubscriptionConsumptionSchedule__c",
            "a0U",
            name,
            _cpq("Subscription", "reference", reference_to="SBQQ__Subscription__c"),
            _cpq("Type", "picklist", picklist=("Range", "Slab")),
            _cpq("RatingMethod", "picklist", picklist=("Tier",)),
            _cpq("BillingTerm", "double"),
            _cpq("BillingTermUnit", "picklist", picklist=("Month", "Year")),
            _cpq("UnitOfMeasure"),
            currency,
            defaults=usd,
        ),
        _obj(
            "SBQQ__SubscriptionConsumptionRate__c",
            "a0V",
            name,
            _cpq(
                "ConsumptionSchedule",
                "reference",
                reference_to="SBQQ__SubscriptionConsumptionSchedule__c",
            ),
            _cpq("LowerBound", "double"),
            _cpq("UpperBound", "double"),
            _cpq("Price", "currency"),
            _cpq("PricingMethod", "picklist", picklist=("PerUnit", "FlatFee")),
            _cpq("ProcessingOrder", "double"),
            currency,
            defaults=usd,
        ),
    ]
