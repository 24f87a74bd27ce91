"""Settings of the Salesforce sandbox, read from the environment when the app is created.

The defaults are demo values, clearly named as such; the sandbox never talks to a real org, so a
default secret here protects nothing and only keeps local demos zero-config.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, Field, SecretStr

DEMO_CLIENT_ID = "revbridge-demo-client"
DEMO_CLIENT_SECRET = "revbridge-demo-secret"  # demo value, not a credential
DEMO_CALLOUT_SECRET = "revbridge-demo-callout-secret"  # demo value, not a credential

_ENV = {
    "client_id": "SALESFORCE_SANDBOX_CLIENT_ID",
    "client_secret": "SALESFORCE_SANDBOX_CLIENT_SECRET",
    "instance_url": "SALESFORCE_SANDBOX_INSTANCE_URL",
    "callout_url": "SALESFORCE_SANDBOX_CALLOUT_URL",
    "callout_secret": "SALESFORCE_SANDBOX_CALLOUT_SECRET",
    "token_ttl": "SALESFORCE_SANDBOX_TOKEN_TTL",
    "callout_max_attempts": "SALESFORCE_SANDBOX_CALLOUT_MAX_ATTEMPTS",
    "jwt_public_key": "SALESFORCE_SANDBOX_JWT_PUBLIC_KEY",
    "username": "SALESFORCE_SANDBOX_USERNAME",
}
DEMO_USERNAME = "integration@revbridge.sandbox"


class SalesforceSandboxSettings(BaseModel):
    client_id: str = DEMO_CLIENT_ID
    client_secret: SecretStr = SecretStr(DEMO_CLIENT_SECRET)
    # None: derive from the base URL of the token request (http://127.0.0.1:<port>).
    instance_url: str | None = None
    callout_url: str | None = None
    callout_secret: SecretStr = SecretStr(DEMO_CALLOUT_SECRET)
    token_ttl: int = Field(default=7200, ge=1)
    callout_max_attempts: int = Field(default=5, ge=1, le=20)
    # JWT bearer grant: the connected app's certificate or public key (PEM text or a file path),
    # and the one user an assertion's ``sub`` may name.
    jwt_public_key: str | None = None
    username: str = DEMO_USERNAME
    # Waits before attempts 2, 3, ...; the last one repeats. Short: this is a sandbox.
    callout_backoff: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SalesforceSandboxSettings:
        env = os.environ if environ is None else environ
        values = {field: env[name] for field, name in _ENV.items() if env.get(name)}
        if "instance_url" in values:
            values["instance_url"] = values["instance_url"].rstrip("/")
        return cls.model_validate(values)
