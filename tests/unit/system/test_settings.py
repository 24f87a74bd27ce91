"""Settings: sandbox mode runs on demo values; live mode refuses to start on a demo or missing secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from revbridge_system.settings import Settings


def test_sandbox_mode_accepts_demo_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REVBRIDGE_MODE", raising=False)
    settings = Settings()
    assert settings.mode == "sandbox" and "default" in settings.stripe.accounts


def test_live_mode_refuses_demo_secrets_and_names_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVBRIDGE_MODE", "live")
    with pytest.raises(ValidationError) as err:
        Settings()
    assert "SALESFORCE_CLIENT_SECRET" in str(err.value) and "NETSUITE_TOKEN_SECRET" in str(err.value)
    assert "revbridge-demo-secret" not in str(err.value)


def test_stripe_accounts_are_read_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_ACCOUNTS", '{"eu": {"secret_key": "sk_x", "webhook_secret": "whsec_x"}}')
    assert list(Settings().stripe.accounts) == ["eu"]
