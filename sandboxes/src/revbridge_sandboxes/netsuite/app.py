"""The NetSuite sandbox app: ``create_app()`` wires settings, state, routers and error handling.

Run it with ``python -m revbridge_sandboxes netsuite --port 12113``. All state lives on
``app.state.netsuite`` (records, nonces, jobs, faults, the request log).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import faults
from . import admin, async_jobs, oauth2
from .errors import NetSuiteError, error_body, error_response, netsuite_error_handler
from .middleware import ApiGate
from .records import metadata as record_metadata
from .records import routes as record_routes
from .records.kinds import registry
from .settings import NetSuiteSandboxSettings
from .state import new_state
from .suiteql import routes as suiteql_routes


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Unknown paths and methods under NetSuite's error shape, as the real service answers them."""
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "NONEXISTENT_ID", 405: "INVALID_METHOD"}.get(exc.status_code, "INVALID_REQUEST")
    # guess: the wording and codes for an unknown URL or method; what the sandbox does not serve
    # (SOAP, Restlets, other REST services) is answered here too, as a resource that does not exist
    detail = {404: "The requested resource does not exist.", 405: "The HTTP method is not allowed here."}
    text = detail.get(exc.status_code, str(exc.detail))
    return error_response(NetSuiteError(exc.status_code, code, text, headers=dict(exc.headers or {})))


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    detail = "Invalid request: " + "; ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg')}"
        for err in getattr(exc, "errors", list)()
    )
    return JSONResponse(error_body(400, "INVALID_PARAMETER", detail), status_code=400)


def create_app(settings: NetSuiteSandboxSettings | None = None) -> FastAPI:
    app = FastAPI(title="revbridge NetSuite sandbox (SuiteTalk REST)", docs_url="/__sandbox/docs")
    settings = settings or NetSuiteSandboxSettings()
    state = new_state(settings, faults.FaultPlan.from_env("netsuite"))
    app.state.netsuite = state
    app.state.netsuite_kinds = registry()
    app.add_exception_handler(NetSuiteError, netsuite_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_middleware(ApiGate, state=state)
    # the API first: routes are matched in order, and record writes are the hot path; the metadata
    # catalog before the records, whose ``/{record_type}`` would otherwise take its path
    app.include_router(record_metadata.build_router())
    app.include_router(record_routes.build_router())
    app.include_router(suiteql_routes.build_router())
    app.include_router(async_jobs.build_router())
    app.include_router(oauth2.build_router(settings))
    app.include_router(admin.build_router())
    app.include_router(admin.faults_router())
    return app
