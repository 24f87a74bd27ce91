"""The in-memory org: records per sObject, validated writes, system fields and activation events.

All writes go through ``create``/``update``/``delete`` so required fields, references, picklists,
computed fields and timestamps behave the same whichever route (create, PATCH, upsert) made them.
A write returns the Contracts it activated; the caller schedules the callouts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import ids
from .errors import (
    EntityIsDeleted,
    InvalidCrossReference,
    InvalidType,
    MultipleRecords,
    NotFound,
    RequiredFieldMissing,
    SalesforceError,
    UnknownSObjectUrl,
    no_such_column,
)
from .schema import FieldDef, ObjectDef, build_objects, label
from .values import coerce

AUTO_NUMBER_PREFIX = {
    "SBQQ__Subscription__c": "SUB",
    "SBQQ__SubscriptionConsumptionSchedule__c": "SCS",
    "SBQQ__SubscriptionConsumptionRate__c": "SCR",
}


@dataclass
class Record:
    sobject: str
    values: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.values["Id"])

    @property
    def deleted(self) -> bool:
        return bool(self.values["IsDeleted"])


@dataclass
class Store:
    objects: dict[str, ObjectDef] = field(default_factory=build_objects)
    records: dict[str, Record] = field(default_factory=dict)
    # The same records by sObject name (records are never removed: a delete only marks them), so a
    # query reads its own table rather than the whole org.
    by_sobject: dict[str, dict[str, Record]] = field(default_factory=dict)
    # When the org came to be: nothing was deleted before it (``earliestDateAvailable``).
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    id_factory: ids.IdFactory = field(default_factory=ids.IdFactory)
    _last_stamp: datetime = field(default_factory=lambda: datetime(2000, 1, 1, tzinfo=UTC))
    _contract_number: int = 100
    _auto_numbers: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Every org has a standard price book; price entries for it define a product's list price."""
        standard, _ = self.create(
            self.object("Pricebook2"), {"Name": "Standard Price Book", "IsActive": True}
        )
        standard.values["IsStandard"] = True

    # -- schema -------------------------------------------------------------------------------------
    def object(self, name: str) -> ObjectDef:
        """The object a SOQL ``FROM`` or a record's ``attributes.type`` names (INVALID_TYPE if none)."""
        obj = self.objects.get(name.lower())
        if obj is None:
            raise InvalidType(f"sObject type '{name}' is not supported.")
        return obj

    def object_at_url(self, name: str) -> ObjectDef:
        """The object a REST URL names; an unknown one is an unknown resource (404 NOT_FOUND)."""
        obj = self.objects.get(name.lower())
        if obj is None:
            raise UnknownSObjectUrl()
        return obj

    def field(self, obj: ObjectDef, name: str) -> FieldDef:
        """A declared field; custom ``__c`` fields too must be declared (see ``schema``)."""
        found = obj.field(name)
        if found is None:
            raise no_such_column(name, obj.name)
        return found

    def all_fields(self, obj: ObjectDef) -> list[FieldDef]:
        return list(obj.fields)

    # -- reads --------------------------------------------------------------------------------------
    def get(self, obj: ObjectDef, record_id: str, *, include_deleted: bool = False) -> Record:
        """The record a URL names. A path segment that is no id at all is read by Salesforce as an
        external id field name, hence its wording; a deleted record reads as not found."""
        normalized = ids.normalize(record_id)
        if normalized is None:
            raise NotFound(f"Provided external ID field does not exist or is not accessible: {record_id}")
        record = self.records.get(normalized)
        if record is None or record.sobject != obj.name or (record.deleted and not include_deleted):
            raise NotFound()
        return record

    def get_for_write(self, obj: ObjectDef, record_id: str) -> Record:
        """The record a PATCH or DELETE names: one in the recycle bin is ENTITY_IS_DELETED (404)."""
        record = self.get(obj, record_id, include_deleted=True)
        if record.deleted:
            raise EntityIsDeleted()
        return record

    def lookup(self, record_id: Any) -> Record | None:
        """Live record by id, whatever its type (relationship traversal)."""
        record = self.records.get(record_id) if isinstance(record_id, str) else None
        return None if record is None or record.deleted else record

    def lookup_any(self, record_id: str) -> Record | None:
        """Live record by a 15- or 18-char id of any type (collection deletes name no type)."""
        normalized = ids.normalize(record_id)
        return self.lookup(normalized) if normalized else None

    def scan(self, obj: ObjectDef, *, include_deleted: bool = False) -> list[Record]:
        table = self.by_sobject.get(obj.name, {})
        return [r for r in table.values() if include_deleted or not r.deleted]

    def external_id_field(self, obj: ObjectDef, name: str) -> FieldDef:
        """The field a ``/sobjects/{type}/{field}/{value}`` URL names: Id or an External ID field.

        guess: a field that exists but is not an External ID gets the same 404 as an unknown one.
        """
        f = obj.field(name)
        if f is None or not (f.type == "id" or f.external_id):
            raise NotFound(f"Provided external ID field does not exist or is not accessible: {name}")
        return f

    def find_by(self, obj: ObjectDef, field_name: str, value: str) -> list[Record]:
        f = self.external_id_field(obj, field_name)
        if f.type == "id":
            try:
                return [self.get(obj, value)]
            except NotFound:
                return []
        return [
            r for r in self.scan(obj) if r.values.get(f.name) is not None and str(r.values[f.name]) == value
        ]

    def find_one_by(self, obj: ObjectDef, field_name: str, value: str, url_of: Any) -> Record | None:
        matches = self.find_by(obj, field_name, value)
        if len(matches) > 1:
            raise MultipleRecords([url_of(r) for r in matches])
        return matches[0] if matches else None

    # -- writes -------------------------------------------------------------------------------------
    def create(self, obj: ObjectDef, body: dict[str, Any]) -> tuple[Record, list[Record]]:
        values = self._typed(obj, body)
        for name, default in obj.defaults:
            values.setdefault(name, default)
        self._prepare(obj, values)
        missing = [name for name in obj.required_fields() if values.get(name) in (None, "")]
        if missing:
            raise RequiredFieldMissing(missing)
        now = self._stamp()
        record_id = self.id_factory.new(obj.key_prefix)
        values.update(
            Id=record_id, IsDeleted=False, CreatedDate=now, LastModifiedDate=now, SystemModstamp=now
        )
        record = Record(obj.name, {f.name: None for f in obj.fields} | values)
        activated = self._derive(obj, record, previous_status=None, now=now)
        if obj.name == "Contract":
            record.values["ContractNumber"] = f"{self._contract_number:08d}"
            self._contract_number += 1
        elif obj.name.startswith("SBQQ__") and obj.field("Name") is not None:
            # CPQ's auto-number names: SUB-0000001, SCS-..., SCR-... per object
            self._auto_numbers[obj.name] = number = self._auto_numbers.get(obj.name, 0) + 1
            record.values["Name"] = f"{AUTO_NUMBER_PREFIX.get(obj.name, 'REC')}-{number:07d}"
        self.records[record_id] = record
        self.by_sobject.setdefault(obj.name, {})[record_id] = record
        return record, activated

    def update(self, obj: ObjectDef, record: Record, body: dict[str, Any]) -> list[Record]:
        values = self._typed(obj, body, insert=False)
        missing = [n for n in obj.required_fields() if n in values and values[n] in (None, "")]
        if missing:
            raise RequiredFieldMissing(missing)
        previous_status = record.values.get("Status")
        now = self._stamp()
        record.values.update(values, LastModifiedDate=now, SystemModstamp=now)
        return self._derive(obj, record, previous_status=previous_status, now=now)

    def delete(self, record: Record) -> None:
        now = self._stamp()
        record.values.update(IsDeleted=True, LastModifiedDate=now, SystemModstamp=now)

    # -- internals ----------------------------------------------------------------------------------
    def _typed(self, obj: ObjectDef, body: dict[str, Any], *, insert: bool = True) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, raw in body.items():
            if name == "attributes":
                continue
            f = self.field(obj, name)
            if insert and f.type == "id":
                raise SalesforceError(
                    "cannot specify Id in an insert call",
                    [f.name],
                    error_code="INVALID_FIELD_FOR_INSERT_UPDATE",
                )
            if not f.writable:
                raise SalesforceError(
                    f"Unable to create/update fields: {f.name}. Please check the security settings of "
                    "this field and verify that it is read/write for your profile or permission set.",
                    [f.name],
                    error_code="INVALID_FIELD_FOR_INSERT_UPDATE",
                )
            value = coerce(f, raw)
            if f.picklist and value is not None and value not in f.picklist:
                raise SalesforceError(
                    f"{f.name}: bad value for restricted picklist field: {value}",
                    [f.name],
                    error_code="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                )
            if f.reference_to and value is not None:
                self._check_reference(f, value, raw)
            values[f.name] = value
        return values

    def _check_reference(self, f: FieldDef, value: str, raw: Any) -> None:
        """A lookup must name a live record of the object it points to.

        An id of another object is FIELD_INTEGRITY_EXCEPTION, one that names nothing is
        INVALID_CROSS_REFERENCE_KEY, one in the recycle bin ENTITY_IS_DELETED.
        """
        target = self.records.get(value)
        if target is not None and target.sobject != f.reference_to:
            raise SalesforceError(
                f"{label(f.name)}: id value of incorrect type: {raw}",
                [f.name],
                error_code="FIELD_INTEGRITY_EXCEPTION",
            )
        if target is None:
            raise InvalidCrossReference("invalid cross reference id", [f.name])
        if target.deleted:
            # guess: the code is documented for deleted records; a lookup to one reports the field
            raise SalesforceError("entity is deleted", [f.name], error_code="ENTITY_IS_DELETED")

    def _prepare(self, obj: ObjectDef, values: dict[str, Any]) -> None:
        """Object rules checked on insert: price book entries and line items priced from them."""
        if obj.name == "OpportunityLineItem" and values.get("PricebookEntryId"):
            entry = self.records[values["PricebookEntryId"]].values  # _typed checked the reference
            values.setdefault("Product2Id", entry["Product2Id"])
            if values.get("UnitPrice") is None:
                values["UnitPrice"] = entry["UnitPrice"]
        if obj.name != "PricebookEntry" or not values.get("Pricebook2Id") or not values.get("Product2Id"):
            return
        key = (values["Product2Id"], values.get("CurrencyIsoCode"))
        entries = [
            r.values for r in self.scan(obj) if (r.values["Product2Id"], r.values["CurrencyIsoCode"]) == key
        ]
        if any(e["Pricebook2Id"] == values["Pricebook2Id"] for e in entries):
            raise SalesforceError(
                "This price definition already exists in this price book", error_code="DUPLICATE_VALUE"
            )
        if not self.records[values["Pricebook2Id"]].values["IsStandard"] and not any(
            self.records[e["Pricebook2Id"]].values["IsStandard"] for e in entries
        ):
            raise SalesforceError(
                "This price definition cannot be inserted because there is no standard price defined "
                "for this product.",
                error_code="STANDARD_PRICE_NOT_DEFINED",
            )

    def _derive(self, obj: ObjectDef, record: Record, previous_status: Any, now: datetime) -> list[Record]:
        v = record.values
        if obj.name == "Contact":
            v["Name"] = " ".join(p for p in (v.get("FirstName"), v.get("LastName")) if p)
        if obj.name == "OpportunityLineItem":
            qty, price = v.get("Quantity"), v.get("UnitPrice")
            v["TotalPrice"] = None if qty is None or price is None else round(qty * price, 2)
        if obj.name == "Contract" and v.get("Status") == "Activated" and previous_status != "Activated":
            v["ActivatedDate"] = now
            return [record]
        return []

    def _stamp(self) -> datetime:
        """Now, at millisecond precision and strictly after the previous write (watermarks rely on it)."""
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= self._last_stamp:
            now = self._last_stamp + timedelta(milliseconds=1)
        self._last_stamp = now
        return now
