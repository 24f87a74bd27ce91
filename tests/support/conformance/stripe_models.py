"""JSON Schemas derived from stripe-python 16.1's generated models, for what the 2023 spec predates.

stripe-python's resource classes are generated from Stripe's current OpenAPI spec, one annotated
attribute per field: ``status: Union[Literal["active", "inactive"], str]``,
``deactivated_at: Optional[int]``, nested ``StripeObject`` classes for sub-objects. Read back as
JSON Schema they check the objects newer than the 2023 spec (Billing Meters, meter event
summaries, ...) and the fields added since: every non-``Optional`` field is required (Stripe
always sends it), an ``Optional`` one may be null or, for the few only sent on request, absent.
Open enums (``Union[Literal[...], str]``) accept any string, as the SDK does. Expandable fields and
references to other resources (string annotations) accept an id or the object.
"""

from __future__ import annotations

import importlib
import inspect
import types
import typing
from functools import cache
from typing import Any

from stripe._stripe_object import StripeObject

_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    bool: {"type": "boolean"},
    float: {"type": "number"},
    type(None): {"type": "null"},
}


def _schema(annotation: Any, depth: int = 0) -> dict[str, Any]:
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        if str in args and all(a is str or typing.get_origin(a) is typing.Literal for a in args):
            return {"type": "string"}  # an open enum: new values may arrive
        return {"anyOf": [_schema(a, depth) for a in args]}
    if origin is list:
        return {"type": "array", "items": _schema(args[0], depth) if args else {}}
    if origin is dict:
        return {"type": "object"}
    if isinstance(annotation, type) and issubclass(annotation, StripeObject):
        if not inspect.get_annotations(annotation) or depth > 6:
            return {"type": "object"}  # UntypedStripeObject, ListObject[...], or too deep to matter
        return object_schema(annotation, depth + 1)
    return {}  # "Customer", ExpandableField[...]: an id or the object; checked where it is the root


def object_schema(cls: type, depth: int = 0) -> dict[str, Any]:
    hints = {
        name: hint
        for name, hint in inspect.get_annotations(cls).items()
        if name.islower() and not name.startswith("_") and typing.get_origin(hint) is not typing.ClassVar
    }
    properties = {name: _schema(hint, depth) for name, hint in hints.items()}
    required = [name for name, hint in hints.items() if type(None) not in typing.get_args(hint)]
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:  # Draft 4 wants a non-empty list
        schema["required"] = sorted(required)
    return schema


def model_class(object_name: str) -> type | None:
    """stripe-python 16.1's class for an object type (``"billing.meter"``), None if it has none."""
    from stripe._object_classes import OBJECT_CLASSES

    entry = OBJECT_CLASSES.get(object_name)
    if entry is None or object_name in ("list", "search_result"):
        return None
    cls: type = getattr(importlib.import_module(entry[0]), entry[1])
    return cls


@cache
def model_schema(object_name: str) -> dict[str, Any] | None:
    """The schema of ``object_name`` from its stripe-python class, None if it has none."""
    cls = model_class(object_name)
    return None if cls is None else object_schema(cls)
