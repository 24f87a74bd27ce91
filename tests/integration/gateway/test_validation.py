"""Requests are checked against the operation's schemas at the gateway; errors name each field."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from .conftest import InProcess, Upstream, in_process_gateway

pytestmark = pytest.mark.integration

ONBOARDINGS = "/process/v1/onboardings"
CONTRACT = "800000000000001AAA"


@pytest.fixture(scope="module")
def gw(tmp_path_factory) -> Iterator[tuple[InProcess, Upstream]]:
    with (
        Upstream().serving() as upstream,
        in_process_gateway(tmp_path_factory.mktemp("keys"), process_url=upstream.url) as gateway,
    ):
        yield gateway, upstream


def post(gw: InProcess, body: bytes, key: str = "k", content_type: str = "application/json"):
    return gw.call(
        "POST",
        ONBOARDINGS,
        gw.token("partner-demo"),
        content=body,
        headers={"Content-Type": content_type, "Idempotency-Key": key},
    )


def names(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {p["name"]: p["reason"] for p in response.json()["invalid_params"]}


def test_unknown_field_in_a_closed_body_is_named_and_nothing_reaches_upstream(gw):
    gateway, upstream = gw
    before = len(upstream.seen)
    found = names(post(gateway, b'{"contract_id": "%s", "amount": 5}' % CONTRACT.encode()))
    assert found == {"body.amount": "unknown field"}
    assert len(upstream.seen) == before


def test_each_wrong_field_is_named(gw):
    found = names(post(gw[0], b'{"contract_id": "short"}'))
    assert list(found) == ["body.contract_id"] and "shorter" in found["body.contract_id"]
    assert names(post(gw[0], b"{}")) == {"body.contract_id": "required field missing"}


def test_unreadable_or_missing_body_is_422_and_wrong_media_type_415(gw):
    assert names(post(gw[0], b"{not json")) == {"body": "not valid JSON"}
    assert names(post(gw[0], b"")) == {"body": "request body required"}
    response = post(gw[0], b"contract_id=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_header_parameter_is_checked(gw):
    found = names(post(gw[0], b'{"contract_id": "%s"}' % CONTRACT.encode(), key="k" * 300))
    assert list(found) == ["header.Idempotency-Key"]


def test_path_parameter_is_checked(gw):
    gateway, _ = gw
    token = gateway.token("revops-dashboard")
    found = names(gateway.call("GET", f"/experience/v2/lineage/contracts/{'x' * 65}", token))
    assert list(found) == ["path.contract_id"]


def test_valid_body_reaches_upstream(gw):
    gateway, upstream = gw
    response = post(gateway, b'{"contract_id": "%s"}' % CONTRACT.encode(), key="valid-1")
    assert response.status_code == 202
    assert json.loads(str(upstream.seen[-1]["body"])) == {"contract_id": CONTRACT}
