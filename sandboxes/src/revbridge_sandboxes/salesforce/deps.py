"""FastAPI dependencies shared by the REST routes: the session check and the API version check.

Every data call passes through ``Session``: a missing, unknown or expired bearer token is a 401
whose body is the array form simple-salesforce inspects before re-authenticating.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Request

from .errors import InvalidSession, NotFound
from .fastpath import authorized, parse_object
from .state import SalesforceState, get_state

_VERSION = re.compile(r"^v(\d{2,3})\.(\d)$")


async def require_session(request: Request, version: str) -> SalesforceState:
    state = get_state(request)
    if not authorized(state, request.headers.get("authorization", "")):
        raise InvalidSession()
    if not _VERSION.match(version):
        raise NotFound()
    return state


Session = Annotated[SalesforceState, Depends(require_session)]


def version_number(version: str) -> float:
    m = _VERSION.match(version)
    return float(f"{m.group(1)}.{m.group(2)}") if m else 0.0


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or the JSON_PARSER_ERROR Salesforce returns."""
    return parse_object(await request.body())
