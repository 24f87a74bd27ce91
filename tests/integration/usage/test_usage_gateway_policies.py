"""The gateway's policies on ``POST /process/v1/usage/events``: the ``usage:write`` scope, an
``Idempotency-Key`` per batch (a replay answers the first answer and queues nothing), and a malformed
envelope refused as problem+json naming the field, by the gateway and by the process API alike."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import httpx
import pytest

from tests.integration.usage.conftest import SenderFactory, UsageStack, entry_for

pytestmark = pytest.mark.integration


def _event(contract_id: str, quantity: str = "1") -> dict[str, str]:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    return {
        "event_id": f"evt-{uuid.uuid4().hex[:12]}",
        "contract_id": contract_id,
        "meter": "api_calls",
        "quantity": quantity,
        "timestamp": at.isoformat(),
    }


def test_a_batch_replayed_under_its_idempotency_key_answers_the_same_and_counts_once(
    usage_stack: UsageStack, sender: SenderFactory
) -> None:
    customer = usage_stack.customer()
    entry = entry_for(customer, dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
    usage_stack.register(entry)
    batch = {"events": [_event(entry.contract_id, "5"), _event(entry.contract_id, "6")]}
    key = uuid.uuid4().hex
    first = usage_stack.post_usage(batch, key=key)
    replay = usage_stack.post_usage(batch, key=key)
    assert first.status_code == replay.status_code == 200
    assert (
        first.json()["accepted"] == 2 and replay.json() == first.json()
    )  # the first answer, not "duplicate"
    assert replay.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers

    other = usage_stack.post_usage({"events": [_event(entry.contract_id)]}, key=key)
    assert other.status_code == 422 and other.headers["content-type"].startswith("application/problem+json")

    token = usage_stack.token()
    no_key = httpx.post(
        f"{usage_stack.gateway}/process/v1/usage/events",
        json=batch,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert no_key.status_code == 400, no_key.text
    with sender():
        usage_stack.wait_total(customer, 11.0)
        usage_stack.wait_drained()
    assert usage_stack.usage_total(customer) == 11.0


@pytest.mark.parametrize("client_id", ["partner-trial", "revops-dashboard"])
def test_only_clients_with_usage_write_may_report_usage(usage_stack: UsageStack, client_id: str) -> None:
    reply = usage_stack.post_usage({"events": [{"event_id": "x"}]}, client_id=client_id)
    assert reply.status_code == 403, reply.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"events": "x"}', "body.events"),
        (b'{"events": []}', "body.events"),
        (b"{}", "body.events"),
        (b'{"events": [{}], "extra": 1}', "body.extra"),
        (b"not json", "body"),
        (json.dumps({"events": [{}] * 1001}).encode(), "body.events"),
    ],
)
def test_a_malformed_envelope_is_422_naming_the_field(
    usage_stack: UsageStack, body: bytes, field: str
) -> None:
    through_gateway = usage_stack.post_usage(None, raw=body)
    assert through_gateway.status_code == 422, through_gateway.text
    assert through_gateway.headers["content-type"].startswith("application/problem+json")
    assert field in [p["name"] for p in through_gateway.json()["invalid_params"]]

    direct = httpx.post(
        f"{usage_stack.process}/v1/usage/events",
        content=body,
        headers={"Content-Type": "application/json", "X-Revbridge-Client-Id": "partner-demo"},
        timeout=30,
    )
    assert direct.status_code == 422 and direct.headers["content-type"].startswith("application/problem+json")
    names = [p["name"] for p in direct.json()["invalid_params"]]  # the service names fields without "body."
    bare = field.removeprefix("body").removeprefix(".")
    assert any(n == bare or n.startswith(bare) for n in names), names
