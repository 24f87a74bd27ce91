"""``POST /services/rest/query/v1/suiteql``: run a query and page the rows NetSuite's way.

Values come back as strings (NULL columns are left out of the item, as SuiteQL does), and the
``Prefer: transient`` header is mandatory.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..errors import NetSuiteError
from .errors import SuiteQLError
from .evaluate import execute
from .parser import parse
from .tables import build_tables

PATH = "/services/rest/query/v1/suiteql"
MAX_LIMIT = 1000


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def invalid_query(problem: str) -> NetSuiteError:
    """NetSuite's 400 for a query it cannot run: ``q`` is named as a query parameter (as NetSuite
    reports it, although it travels in the body), and the engine's message follows the prefix."""
    return NetSuiteError(
        400,
        "INVALID_PARAMETER",
        f"Invalid search query. Detailed unprocessed description follows. {problem}",
        query_param="q",
    )


def _paging(request: Request) -> tuple[int, int]:
    values = []
    for name, default, high in (("limit", MAX_LIMIT, MAX_LIMIT), ("offset", 0, 10**9)):
        raw = request.query_params.get(name)
        if raw is not None and (not raw.isdigit() or int(raw) > high or (name == "limit" and int(raw) < 1)):
            raise NetSuiteError(
                400,
                "INVALID_PARAMETER",
                f"Invalid value for query parameter '{name}': {raw}.",  # guess: the wording
                query_param=name,
            )
        values.append(default if raw is None else int(raw))
    return values[0], values[1]


def build_router() -> APIRouter:
    router = APIRouter()

    @router.post(PATH)
    async def suiteql(request: Request) -> JSONResponse:
        if "transient" not in request.headers.get("prefer", "").lower():
            raise NetSuiteError(
                400,
                "INVALID_HEADER",
                "The request is missing the 'Prefer: transient' header required for SuiteQL queries.",
            )
        limit, offset = _paging(request)
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError as exc:
            # guess: the wording
            raise NetSuiteError(400, "INVALID_CONTENT", "The request body is not valid JSON.") from exc
        q = body.get("q") if isinstance(body, dict) else None
        if not isinstance(q, str) or not q.strip():
            raise NetSuiteError(400, "INVALID_CONTENT", 'The request body must be {"q": "<SuiteQL query>"}.')
        try:
            rows = execute(parse(q), build_tables(request.app.state.netsuite))
        except SuiteQLError as exc:
            raise invalid_query(str(exc)) from exc
        except RecursionError as exc:
            raise invalid_query("The query is nested too deeply.") from exc
        page = rows[offset : offset + limit]
        href = f"{str(request.base_url).rstrip('/')}{PATH}"
        links = [{"rel": "self", "href": f"{href}?limit={limit}&offset={offset}"}]
        if offset + limit < len(rows):
            links.append({"rel": "next", "href": f"{href}?limit={limit}&offset={offset + limit}"})
        items = [
            {"links": [], **{name: as_text(v) for name, v in row.items() if v is not None}} for row in page
        ]
        return JSONResponse(
            {
                "links": links,
                "count": len(page),
                "hasMore": offset + limit < len(rows),
                "items": items,
                "offset": offset,
                "totalResults": len(rows),
            }
        )

    return router
