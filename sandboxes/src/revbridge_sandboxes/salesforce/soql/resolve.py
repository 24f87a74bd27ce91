"""Binding SOQL field paths to the object model: relationship hops, the leaf field, canonical names.

Resolution happens once per query before any record is read, so an unknown field is an
INVALID_FIELD error even on an empty org, as in Salesforce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidField
from ..schema import FieldDef, ObjectDef
from ..store import Record, Store
from .ast import FieldPath


@dataclass(frozen=True)
class Hop:
    """One relationship step: the reference field to follow and the relationship name shown."""

    via: FieldDef
    name: str
    target: ObjectDef


@dataclass(frozen=True)
class Resolved:
    hops: tuple[Hop, ...]
    leaf: FieldDef

    @property
    def label(self) -> str:
        return ".".join([*(h.name for h in self.hops), self.leaf.name])

    def value(self, store: Store, record: Record) -> Any:
        current: Record | None = record
        for hop in self.hops:
            current = store.lookup(current.values.get(hop.via.name)) if current else None
        return current.values.get(self.leaf.name) if current else None


def resolve(store: Store, obj: ObjectDef, path: FieldPath) -> Resolved:
    parts = list(path.parts)
    if len(parts) > 1 and parts[0].lower() == obj.name.lower() and obj.relationship(parts[0]) is None:
        parts = parts[1:]  # object-qualified: SELECT Account.Name FROM Account
    hops: list[Hop] = []
    current = obj
    for name in parts[:-1]:
        ref = current.relationship(name)
        if ref is None or ref.reference_to is None:
            raise InvalidField(
                f"Didn't understand relationship '{name}' in field path. If you are attempting to use a "
                "custom relationship, be sure to append the '__r' after the custom relationship name. "
                "Please reference your WSDL or the describe call for the appropriate names."
            ).at(path.pos)
        target = store.object(ref.reference_to)
        hops.append(Hop(ref, ref.relationship_name or name, target))
        current = target
    try:
        leaf = store.field(current, parts[-1])
    except InvalidField as exc:
        raise InvalidField(
            f"No such column '{parts[-1]}' on entity '{current.name}'. If you are attempting to use a "
            "custom field, be sure to append the '__c' after the custom field name. Please reference "
            "your WSDL or the describe call for the appropriate names."
        ).at(path.pos) from exc
    return Resolved(tuple(hops), leaf)
