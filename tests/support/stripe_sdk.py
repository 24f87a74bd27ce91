"""The official stripe SDK pointed at a Stripe sandbox: the client the sandbox tests share."""

from __future__ import annotations

import stripe

DEMO_KEY = "sk_test_revbridge_demo"  # the sandbox's demo secret key (DEMO VALUE, sandbox only)


def sdk_client(base: str, key: str = DEMO_KEY) -> stripe.StripeClient:
    """A synchronous client on ``base`` with the SDK's own retries off (the tests see every answer).

    The SDK's default HTTP client (requests), as an integrator gets it: its httpx client posts
    with httpx's deprecated ``data=<str>``, a warning on every call."""
    return stripe.StripeClient(
        key,
        base_addresses={"api": base, "files": base, "connect": base, "meter_events": base},
        max_network_retries=0,
    )


def all_event_ids(client: stripe.StripeClient) -> list[str]:
    """Every event ``GET /v1/events`` lists, following its pages."""
    return [e.id for e in client.v1.events.list(params={"limit": 100}).auto_paging_iter()]
