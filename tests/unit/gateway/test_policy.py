"""The route table is built from the real contracts: every operation, its scopes and its audience."""

from __future__ import annotations

from typing import Any

import pytest
from revbridge_contracts import loader
from revbridge_gateway.errors import MethodNotAllowed, RouteNotFound
from revbridge_gateway.paths import normalise
from revbridge_gateway.policy import ContractPolicyError, build_route_table

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def table():
    return build_route_table(["experience", "process"])


def match(table, method: str, path: str):
    return table.match(method, normalise(path))


@pytest.mark.parametrize(
    ("method", "path", "operation_id", "scopes", "audience"),
    [
        ("GET", "/experience/v1/revenue/summary", "getRevenueSummary", {"reports:read"}, "internal"),
        (
            "GET",
            "/experience/v1/lineage/contracts/C-1",
            "getContractLineageView",
            {"reports:read"},
            "internal",
        ),
        ("POST", "/process/v1/onboardings", "startOnboarding", {"onboarding:write"}, "partner"),
        ("GET", "/process/v1/onboardings/800xx", "getOnboarding", {"onboarding:read"}, "partner"),
        ("GET", "/process/v1/exceptions", "listExceptions", {"exceptions:read"}, "internal"),
        ("GET", "/process/v1/revenue/positions", "getRevenuePositions", {"reports:read"}, "internal"),
    ],
)
def test_operation_policy_comes_from_the_contract(table, method, path, operation_id, scopes, audience):
    op = match(table, method, path)
    assert (op.operation_id, set(op.scopes), op.audience) == (operation_id, scopes, audience)


def test_every_contract_operation_has_a_route(table):
    expected = {
        op["operationId"]
        for api, major in (("experience", 1), ("experience", 2), ("process", 1))
        for _, _, op in loader.operations(loader.openapi(api, major))
    }
    assert {op.operation_id for op in table.operations()} == expected


def test_system_api_is_not_routed(table):
    with pytest.raises(RouteNotFound):
        match(table, "GET", "/system/v1/anything")


def test_unknown_method_on_known_path_is_405_with_allow(table):
    with pytest.raises(MethodNotAllowed) as err:
        match(table, "DELETE", "/process/v1/onboardings")
    assert err.value.headers["Allow"] == "POST"


def test_head_is_served_by_the_get_operation(table):
    assert match(table, "HEAD", "/experience/v1/revenue/summary").operation_id == "getRevenueSummary"


def test_parameter_does_not_match_across_segments(table):
    with pytest.raises(RouteNotFound):
        match(table, "GET", "/process/v1/onboardings/a/b")


def test_partner_client_reaches_only_partner_operations(table):
    partner_op = match(table, "POST", "/process/v1/onboardings")
    internal_op = match(table, "GET", "/process/v1/exceptions")
    assert partner_op.allows_audience("partner") and partner_op.allows_audience("internal")
    assert not internal_op.allows_audience("partner") and internal_op.allows_audience("internal")


def test_scope_check_needs_every_scope_of_a_requirement(table):
    op = match(table, "POST", "/process/v1/onboardings")
    assert op.allows_scopes(frozenset({"onboarding:write", "onboarding:read"}))
    assert not op.allows_scopes(frozenset({"onboarding:read"}))


def test_scopes_supported_covers_every_scope_the_contracts_use(table):
    assert {
        "reports:read",
        "exceptions:read",
        "onboarding:read",
        "onboarding:write",
    } <= table.scopes_supported


def _fake(op: dict[str, Any]):
    doc = {"paths": {"/v1/things/{id}": {"get": {"operationId": "getThing", **op}}}}

    def load(api: str, major: int) -> dict[str, Any]:
        if major > 1:
            raise FileNotFoundError(api)
        return doc

    return load


def test_operation_without_audience_refuses_start_up():
    with pytest.raises(ContractPolicyError, match="x-audience"):
        build_route_table(["fake"], load=_fake({"security": [{"oauth2": ["a:read"]}]}))


def test_operation_without_security_refuses_start_up():
    with pytest.raises(ContractPolicyError, match="security"):
        build_route_table(["fake"], load=_fake({"x-audience": "partner"}))


def test_x_rate_limit_overrides_per_operation():
    table = build_route_table(
        ["fake"],
        load=_fake(
            {
                "security": [{"oauth2": ["a:read"]}],
                "x-audience": "partner",
                "x-rate-limit": {"requests_per_minute": 7},
            }
        ),
    )
    assert table.match("GET", ("fake", "v1", "things", "1")).rate_limit == 7
