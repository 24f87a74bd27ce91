"""The operator CLI's view of the process API: HTTP calls, and failures as exit codes scripts can use.

The CLI never touches Redis: everything it does goes through the API, so the same validation,
lifecycle rules and history apply to a person at a terminal as to the dashboard.
"""

from __future__ import annotations

import getpass
from enum import IntEnum
from typing import Any

import httpx

DEFAULT_API = "http://127.0.0.1:8002"
CLIENT_ID_HEADER = "X-Revbridge-Client-Id"


class Exit(IntEnum):
    ok = 0
    nothing = 1
    """Not found, or nothing to do (an empty list, no dead letters)."""
    usage = 2
    unreachable = 3
    api_error = 4
    differences = 5
    """A reconciliation found differences (each is in the exception queue)."""


class CliFailure(Exception):
    """Ends the command with ``code`` and ``message`` on stderr; ``quiet`` when the command has
    already said what happened on stdout (an empty list is an answer, not an error)."""

    def __init__(self, code: Exit, message: str, quiet: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.quiet = quiet


def _problem_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} {response.reason_phrase}"
    detail = body.get("detail") or body.get("title") or response.reason_phrase
    params = "; ".join(f"{p['name']}: {p['reason']}" for p in body.get("invalid_params") or [])
    text = f"{response.status_code} {body.get('title', '')}: {detail}".strip()
    return f"{text} ({params})" if params and params not in text else text


class ProcessApi:
    """A small synchronous client of ``process-v1.yaml``'s operator operations."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        headers = {CLIENT_ID_HEADER: f"revbridge-cli:{_user()}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)
        self.base_url = base_url

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise CliFailure(Exit.unreachable, f"process API unreachable at {self.base_url}: {exc}") from exc
        except httpx.TransportError as exc:
            raise CliFailure(Exit.unreachable, f"process API at {self.base_url} failed: {exc!r}") from exc
        if response.status_code == 404:
            raise CliFailure(Exit.nothing, _problem_text(response))
        if response.status_code >= 400:
            raise CliFailure(Exit.api_error, _problem_text(response))
        return response.json()

    def pages(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item of a paged listing, following ``next_cursor``."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.call("GET", path, params={**params, **({"cursor": cursor} if cursor else {})})
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
