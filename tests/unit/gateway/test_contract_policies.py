"""Deprecation, idempotency and request schemas read from a contract (no I/O, fake documents)."""

from __future__ import annotations

from typing import Any

import pytest
from revbridge_gateway.errors import ContractPolicyError, InvalidRequest
from revbridge_gateway.policy import build_route_table

pytestmark = pytest.mark.unit

SECURED = {"security": [{"oauth2": ["a:read"]}], "x-audience": "partner"}


def fake(op: dict[str, Any], path: str = "/v1/things") -> Any:
    doc = {
        "paths": {path: {"get": {"operationId": "getThings", **SECURED, **op}}},
        "components": {"schemas": {"Limit": {"type": "integer", "minimum": 1, "maximum": 100}}},
    }

    def load(api: str, major: int) -> dict[str, Any]:
        if major > 1:
            raise FileNotFoundError
        return doc

    return load


def test_deprecation_headers_come_from_the_contract_dates():
    load = fake(
        {
            "deprecated": True,
            "x-deprecated-since": "2026-01-01",
            "x-sunset": "2027-01-01",
            "x-successor": "/v2/things",
        }
    )
    op = build_route_table(["fake"], load=load).match("GET", ("fake", "v1", "things"))
    assert op.deprecation is not None
    assert op.deprecation.headers() == {
        "Deprecation": "@1767225600",
        "Sunset": "Fri, 01 Jan 2027 00:00:00 GMT",
        "Link": '</fake/v2/things>; rel="successor-version"',
    }
    assert not op.deprecation.gone(1798761599) and op.deprecation.gone(1798761600)


@pytest.mark.parametrize(
    "op",
    [
        {"deprecated": True, "x-sunset": "2027-01-01"},
        {"x-sunset": "2027-01-01"},
        {"deprecated": True, "x-deprecated-since": "2027-02-01", "x-sunset": "2027-01-01"},
        {"deprecated": True, "x-deprecated-since": "soon"},
        {"x-idempotency": "sometimes"},
    ],
)
def test_half_written_policy_stops_start_up(op):
    with pytest.raises(ContractPolicyError):
        build_route_table(["fake"], load=fake(op))


def test_query_parameters_are_coerced_to_their_schema_type_and_refs_resolve():
    params = [{"name": "limit", "in": "query", "schema": {"$ref": "#/components/schemas/Limit"}}]
    table = build_route_table(["fake"], load=fake({"parameters": params}))
    schema = table.match("GET", ("fake", "v1", "things")).request
    assert schema is not None
    assert schema.check({}, {"limit": "10"}, {}, None, b"") is None
    with pytest.raises(InvalidRequest) as refused:
        schema.check({}, {"limit": "500"}, {}, None, b"")
    (param,) = refused.value.extra["invalid_params"]  # type: ignore[union-attr]
    assert param["name"] == "query.limit" and "500" in param["reason"]


def test_money_moving_partner_posts_demand_an_idempotency_key_from_the_contract():
    table = build_route_table(["process"])
    ops = {op.operation_id: op for route in table._routes for op in route.operations.values()}
    assert ops["startOnboarding"].idempotency_required
