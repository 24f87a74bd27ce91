"""``docker-compose.yml`` wires the Stripe sandbox as ``make run`` does (``scripts/stack.py``): every
account's webhooks reach the system API's endpoint for that account, so the ``uk`` account's
events (Revbridge Ltd, GBP) are not lost or posted as the ``default`` account's."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from revbridge_sandboxes.stripe.settings import StripeSandboxSettings

from scripts.stack import STRIPE_DEMO_ACCOUNTS

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def test_every_stripe_account_posts_its_webhooks_to_its_own_system_api_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compose = _compose()
    for name in [n for n in os.environ if n.startswith("STRIPE_SANDBOX_")]:
        monkeypatch.delenv(name)
    for name, value in compose["services"]["stripe-sandbox"]["environment"].items():
        monkeypatch.setenv(name, str(value))
    sandbox = StripeSandboxSettings()
    system = f"http://system-api:{compose['x-system-env']['SYSTEM_PORT']}"

    for account, credentials in STRIPE_DEMO_ACCOUNTS.items():
        key = credentials["secret_key"]
        assert key in sandbox.secret_key_list(), f"the sandbox has no {account} account"
        assert sandbox.webhook_url_for(key) == f"{system}/v1/webhooks/stripe/{account}"
