"""The NetSuite sandbox app: ``create_app()`` wires settings, state, routers and error handling.

Run it with ``python -m revbridge_sandboxes netsuite --port 12113``. All state lives on
``app.state.netsuite`` (records, nonces, jobs, faults, the request log).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from . import admin, async_jobs
from .errors import NetSuiteError, error_body, netsuite_error_handler
from .gate import api_gate
from .records import routes as record_routes
from .records.kinds import registry
from .settings import NetSuiteSandboxSettings
from .state import new_state
from .suiteql import routes as suiteql_routes


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    detail = "Invalid request: " + "; ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg')}"
        for err in getattr(exc, "errors", list)()
    )
    return JSONResponse(error_body(400, "INVALID_PARAMETER", detail), status_code=400)


def create_app(settings: NetSuiteSandboxSettings | None = None) -> FastAPI:
    app = FastAPI(title="revbridge NetSuite sandbox (SuiteTalk REST)", docs_url="/__sandbox/docs")
    app.state.netsuite = new_state(settings or NetSuiteSandboxSettings())
    app.state.netsuite_kinds = registry()
    app.add_exception_handler(NetSuiteError, netsuite_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.middleware("http")(api_gate)
    app.include_router(admin.build_router())
    app.include_router(record_routes.build_router())
    app.include_router(suiteql_routes.build_router())
    app.include_router(async_jobs.build_router())
    return app
