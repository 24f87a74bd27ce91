"""The registry of OAuth clients allowed to ask the gateway for tokens, read from YAML at start-up.

Secrets are stored only as salted scrypt hashes (see ``secrets_hash``). A broken file stops
start-up with a message naming the file, the entry and the problem, rather than failing later
on the first token request. ``python -m revbridge_gateway.clients hash <secret>`` prints a hash.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from revbridge_gateway.secrets_hash import burn_time, hash_secret, parse_hash, verify_secret

Audience = Literal["internal", "partner"]


class ClientsFileError(Exception):
    """The clients file is missing or invalid; the message names file, entry and problem."""


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests_per_minute: int = Field(gt=0)


class Client(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    secret_hash: str | None = None  # None: a public client (browser app), PKCE instead of a secret
    scopes: tuple[str, ...]
    audience: Audience
    plan: str
    redirect_uris: tuple[str, ...] = ()  # exact; "{issuer}" stands for GATEWAY_ISSUER (see authorize)

    @field_validator("secret_hash")
    @classmethod
    def _well_formed_hash(cls, value: str | None) -> str | None:
        if value is not None:
            parse_hash(value)
        return value

    @model_validator(mode="after")
    def _public_clients_redirect(self) -> Client:
        if self.secret_hash is None and not self.redirect_uris:
            raise ValueError("a client without secret_hash is public and needs redirect_uris")
        for uri in self.redirect_uris:
            parts = urlsplit(uri.replace("{issuer}", "https://issuer"))
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
                raise ValueError(f"redirect_uris: {uri!r} must be an absolute http(s) URI without fragment")
        return self

    @field_validator("scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: Any) -> Any:
        return value.split() if isinstance(value, str) else value


@dataclass(frozen=True)
class Registry:
    clients: dict[str, Client]
    plans: dict[str, Plan]

    def authenticate(self, client_id: str, secret: str) -> Client | None:
        """The client if ``secret`` is its secret; None otherwise, in about the same time either way."""
        client = self.clients.get(client_id)
        if client is None or client.secret_hash is None:  # public clients never authenticate
            burn_time(secret)
            return None
        return client if verify_secret(secret, client.secret_hash) else None

    def plan_of(self, client: Client) -> Plan:
        return self.plans[client.plan]


def _fail(path: Path, entry: str, problem: str) -> ClientsFileError:
    return ClientsFileError(f"{path}: {entry}: {problem}")


def _describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors())


def load_registry(path: Path, known_scopes: set[str] | None = None) -> Registry:
    """Parse and validate the clients file; ``known_scopes`` rejects scopes no contract uses."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise _fail(path, "file", f"cannot read: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("clients"), list):
        raise _fail(path, "file", "expected a mapping with 'plans' and a 'clients' list")
    plans: dict[str, Plan] = {}
    for name, body in (raw.get("plans") or {}).items():
        try:
            plans[str(name)] = Plan.model_validate(body)
        except ValidationError as exc:
            raise _fail(path, f"plan {name!r}", _describe(exc)) from exc
    clients: dict[str, Client] = {}
    for index, body in enumerate(raw["clients"]):
        label = f"client #{index}" + (f" ({body.get('client_id')!r})" if isinstance(body, dict) else "")
        try:
            client = Client.model_validate(body)
        except ValidationError as exc:
            raise _fail(path, label, _describe(exc)) from exc
        if client.client_id in clients:
            raise _fail(path, label, "duplicate client_id")
        if client.plan not in plans:
            raise _fail(path, label, f"unknown plan {client.plan!r}; known: {sorted(plans)}")
        unknown = set(client.scopes) - known_scopes if known_scopes is not None else set()
        if unknown:
            raise _fail(path, label, f"scopes not used by any contract: {sorted(unknown)}")
        clients[client.client_id] = client
    return Registry(clients=clients, plans=plans)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "hash":
        print("usage: python -m revbridge_gateway.clients hash <secret>", file=sys.stderr)
        return 2
    print(hash_secret(args[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
