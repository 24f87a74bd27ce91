"""Everything one running sandbox remembers, hung on ``app.state.salesforce``.

Nothing lives in module globals: two apps in one process (tests) never share records, tokens,
counters or callouts, and ``reset`` returns an app to a fresh org without restarting it.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from joserfc.jwk import RSAKey

from ..faults import FaultPlan
from . import ids, jwt_bearer
from .callouts import CalloutDispatcher
from .settings import SalesforceSandboxSettings
from .store import Store

API_DAILY_LIMIT = 15000
MAX_CURSORS = 200
MAX_LOGGED_REQUESTS = 1000


@dataclass
class Cursor:
    records: list[dict[str, Any]]
    total_size: int
    batch_size: int
    resource: str = "query"  # or "queryAll": the resource nextRecordsUrl points back to


@dataclass
class SalesforceState:
    settings: SalesforceSandboxSettings
    callouts: CalloutDispatcher
    store: Store = field(default_factory=Store)
    org_id: str = field(
        default_factory=lambda: ids.to18("00DRB" + ids.encode62(secrets.randbelow(62**10), 10))
    )
    user_id: str = field(
        default_factory=lambda: ids.to18("005RB" + ids.encode62(secrets.randbelow(62**10), 10))
    )
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry (unix seconds)
    api_usage: int = 0
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_LOGGED_REQUESTS))
    faults: FaultPlan = field(default_factory=FaultPlan)
    cursors: OrderedDict[str, Cursor] = field(default_factory=OrderedDict)
    jwt_key: RSAKey | None = None
    _cursor_ids: ids.IdFactory = field(default_factory=ids.IdFactory)

    @classmethod
    def create(cls, settings: SalesforceSandboxSettings) -> SalesforceState:
        faults = FaultPlan.from_env("salesforce")
        key = jwt_bearer.load_public_key(settings.jwt_public_key) if settings.jwt_public_key else None
        return cls(settings=settings, callouts=CalloutDispatcher(settings), faults=faults, jwt_key=key)

    def issue_token(self) -> str:
        now = time.time()
        for expired in [t for t, expiry in self.tokens.items() if expiry <= now]:
            del self.tokens[expired]
        token = f"{self.org_id[:15]}!{secrets.token_urlsafe(48)}"
        self.tokens[token] = now + self.settings.token_ttl
        return token

    def token_valid(self, token: str) -> bool:
        expiry = self.tokens.get(token)
        if expiry is None:
            return False
        if expiry <= time.time():
            del self.tokens[token]
            return False
        return True

    def save_cursor(self, cursor: Cursor) -> str:
        cursor_id = self._cursor_ids.new("01g")
        self.cursors[cursor_id] = cursor
        while len(self.cursors) > MAX_CURSORS:
            self.cursors.popitem(last=False)
        return cursor_id

    def reset(self) -> None:
        """A fresh org: records, cursors, callouts, usage and the request log. Tokens stay valid.

        Fault rules go back to what the environment configured (none unless ``SALESFORCE_SANDBOX_FAULTS``
        is set), so a sandbox started for a chaos drill stays one across resets.
        """
        self.store = Store()
        self.cursors.clear()
        self.callouts.reset()
        self.faults = FaultPlan.from_env("salesforce")
        self.requests.clear()
        self.api_usage = 0

    def limit_info(self) -> str:
        return f"api-usage={self.api_usage}/{API_DAILY_LIMIT}"


def get_state(request: Request) -> SalesforceState:
    state = request.app.state.salesforce
    assert isinstance(state, SalesforceState)
    return state
