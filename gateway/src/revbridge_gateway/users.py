"""The demo users who may sign in to the dashboard through the browser sign-in (sandbox mode only).

Read from YAML at start-up like the clients file, with passwords stored only as salted scrypt
hashes (``secrets_hash``); a broken file stops start-up naming the file, the entry and the problem.
Outside sandbox mode the file is not read at all: people sign in with an external issuer there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from revbridge_gateway.clients import ClientsFileError
from revbridge_gateway.secrets_hash import burn_time, parse_hash, verify_secret

USERNAME = r"^[A-Za-z0-9._@-]{1,64}$"


class UsersFileError(ClientsFileError):
    """The users file is missing or invalid (a ``ClientsFileError``, so start-up refuses the same way)."""


class User(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str = Field(pattern=USERNAME)
    password_hash: str
    scopes: tuple[str, ...]
    name: str | None = None

    @field_validator("password_hash")
    @classmethod
    def _well_formed_hash(cls, value: str) -> str:
        parse_hash(value)
        return value

    @field_validator("scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: Any) -> Any:
        return value.split() if isinstance(value, str) else value


@dataclass(frozen=True)
class Users:
    users: dict[str, User]

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if ``password`` is theirs; None otherwise, in about the same time either way."""
        user = self.users.get(username)
        if user is None:
            burn_time(password)
            return None
        return user if verify_secret(password, user.password_hash) else None


def load_users(path: Path, known_scopes: set[str]) -> Users:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise UsersFileError(f"{path}: file: cannot read: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("users"), list):
        raise UsersFileError(f"{path}: file: expected a mapping with a 'users' list")
    users: dict[str, User] = {}
    for index, body in enumerate(raw["users"]):
        label = f"user #{index}" + (f" ({body.get('username')!r})" if isinstance(body, dict) else "")
        try:
            user = User.model_validate(body)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors()
            )
            raise UsersFileError(f"{path}: {label}: {problems}") from exc
        if user.username in users:
            raise UsersFileError(f"{path}: {label}: duplicate username")
        unknown = set(user.scopes) - known_scopes
        if unknown:
            raise UsersFileError(f"{path}: {label}: scopes not used by any contract: {sorted(unknown)}")
        users[user.username] = user
    return Users(users)
