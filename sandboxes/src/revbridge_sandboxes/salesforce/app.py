"""Composition root of the Salesforce sandbox: settings, state, routers, middleware, error handlers.

``create_app`` does all the wiring; nothing happens at import time. The callout HTTP client is
closed when the app shuts down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import faults
from .admin import router as admin_router
from .errors import OAuthError, SalesforceError, render_oauth_error, render_salesforce_error
from .middleware import SandboxMiddleware
from .routes import collections, composite, meta, oauth, query, replication, sobjects
from .settings import SalesforceSandboxSettings
from .state import SalesforceState, get_state


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Unknown paths and methods answer in Salesforce's array shape under /services."""
    assert isinstance(exc, StarletteHTTPException)
    if not request.url.path.startswith("/services"):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    if exc.status_code == 404:
        body = [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    else:
        body = [{"message": str(exc.detail), "errorCode": "METHOD_NOT_ALLOWED"}]
    return JSONResponse(body, status_code=exc.status_code)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Malformed parameters under /services answer 400 in the array shape, never FastAPI's 422."""
    assert isinstance(exc, RequestValidationError)
    if not request.url.path.startswith("/services"):
        return await request_validation_exception_handler(request, exc)
    problems = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors())
    return JSONResponse([{"message": problems, "errorCode": "INVALID_INPUT"}], status_code=400)


def create_app(settings: SalesforceSandboxSettings | None = None) -> FastAPI:
    settings = settings or SalesforceSandboxSettings.from_env()
    state = SalesforceState.create(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await state.callouts.aclose()

    app = FastAPI(title="revbridge Salesforce sandbox", lifespan=lifespan, redirect_slashes=False)
    app.state.salesforce = state
    app.add_middleware(SandboxMiddleware, state=state)
    app.add_exception_handler(SalesforceError, render_salesforce_error)
    app.add_exception_handler(OAuthError, render_oauth_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(admin_router)
    app.include_router(faults.admin_router(lambda request: get_state(request).faults))
    app.include_router(oauth.router)
    app.include_router(composite.router)
    app.include_router(collections.router)  # before sobjects' catch-all paths
    app.include_router(meta.router)  # before sobjects: /describe must win over /{record_id}
    app.include_router(replication.router)  # likewise /deleted/ and /updated/
    app.include_router(sobjects.router)
    app.include_router(query.router)
    return app
