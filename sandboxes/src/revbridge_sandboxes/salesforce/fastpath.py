"""The sObject create as a bare ASGI handler on the shared fast route table (``..fastpath``).

Load tests and seeding scripts create records by the thousand; under FastAPI's router and
dependency machinery a create costs several times a health check. The middleware hands
``POST /services/data/vXX.X/sobjects/{Type}/`` here when no fault rule is active; the work itself is
``create_record``, shared with the FastAPI route so both paths behave the same.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Receive, Scope, Send

from ..fastpath import FastRoutes, header, read_body, respond
from .errors import InvalidSession, JsonParserError, SalesforceError
from .soql.evaluate import record_url
from .state import SalesforceState

CREATE_PATH = r"^/services/data/(?P<version>v\d{2,3}\.\d)/sobjects/(?P<sobject>[A-Za-z0-9_]+)/?$"


def parse_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or the JSON_PARSER_ERROR Salesforce returns."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise JsonParserError(f"Unexpected character in request body: {exc}") from exc
    except RecursionError as exc:
        raise JsonParserError("Request body is nested too deeply") from exc
    if not isinstance(body, dict):
        raise JsonParserError("Cannot deserialize instance of sObject from a non-object JSON value")
    return body


def create_record(state: SalesforceState, version: str, sobject: str, raw: bytes) -> tuple[str, str]:
    """Insert one record from a raw JSON body; returns (id, Location path). Callouts are scheduled."""
    obj = state.store.object_at_url(sobject)
    record, activated = state.store.create(obj, parse_object(raw))
    for contract in activated:
        state.callouts.contract_activated(contract, state.org_id)
    return record.id, record_url(version, obj.name, record.id)


def authorized(state: SalesforceState, authorization: str) -> bool:
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() in ("bearer", "oauth") and state.token_valid(token.strip())


def routes(state: SalesforceState) -> FastRoutes:
    """The Salesforce sandbox's hot calls: the sObject create."""
    fast = FastRoutes()

    @fast.pattern("POST", CREATE_PATH)
    async def serve_create(scope: Scope, receive: Receive, send: Send) -> None:
        version, sobject = scope["path_params"]["version"], scope["path_params"]["sobject"]
        authorization = header(scope, b"authorization") or b""
        headers = [(b"content-type", b"application/json")]
        try:
            if not authorized(state, authorization.decode("latin-1")):
                raise InvalidSession()
            record_id, location = create_record(state, version, sobject, await read_body(receive))
            status, payload = 201, {"id": record_id, "success": True, "errors": []}
            headers.append((b"location", location.encode()))
        except SalesforceError as exc:
            status, payload = exc.status, exc.body()  # type: ignore[assignment]
        content = json.dumps(payload, separators=(",", ":")).encode()
        headers.append((b"content-length", str(len(content)).encode()))
        await respond(send, status, headers, content)

    return fast
