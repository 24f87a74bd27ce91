"""The Stripe sandbox's app factory: state, routers, the wire middleware and Stripe-shaped errors.

Launched by ``python -m revbridge_sandboxes stripe --port N`` (default 12111).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..faults import FaultPlan
from . import admin
from .errors import StripeError, unrecognized_url
from .middleware import StripeWire
from .resources import (
    authentication,
    balance,
    catalog,
    credit_notes,
    customer_balance,
    customers,
    discounts,
    disputes,
    events,
    invoiceitems,
    invoices,
    meters,
    payment_intents,
    payment_methods,
    payments,
    schedules,
    setup_intents,
    subscriptions,
    tax_rates,
    test_clocks,
)
from .settings import StripeSandboxSettings
from .state import SandboxState
from .webhooks import WebhookDispatcher


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def _stripe_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StripeError)
    return exc.response(_request_id(request))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (404, 405):
        return unrecognized_url(request.method, request.url.path).response(_request_id(request))
    return StripeError(exc.status_code, str(exc.detail)).response(_request_id(request))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
    return StripeError(400, str(first.get("msg", "Invalid request")), param=param).response(
        _request_id(request)
    )


def create_app(settings: StripeSandboxSettings | None = None) -> FastAPI:
    """Build the sandbox app; settings default to the ``STRIPE_SANDBOX_*`` environment."""
    settings = settings or StripeSandboxSettings()
    dispatcher = WebhookDispatcher(
        max_attempts=settings.webhook_max_attempts,
        base_delay=settings.webhook_retry_base_seconds,
        max_delay=settings.webhook_retry_max_seconds,
        timeout=settings.webhook_timeout_seconds,
        concurrency=settings.webhook_concurrency,
        log_size=settings.webhook_delivery_log_size,
    )
    state = SandboxState(settings=settings, webhooks=dispatcher, faults=FaultPlan.from_env("stripe"))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await dispatcher.start()
        try:
            yield
        finally:
            await dispatcher.stop()

    app = FastAPI(
        title="revbridge Stripe sandbox", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.sandbox = state
    app.add_middleware(StripeWire)
    app.add_exception_handler(StripeError, _stripe_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(admin.router)
    app.include_router(admin.fault_router)
    for module in (
        customers,
        catalog,
        subscriptions,
        invoices,
        invoiceitems,
        events,
        test_clocks,
        payments,
        payment_methods,
        payment_intents,
        setup_intents,
        credit_notes,
        schedules,
        meters,
        disputes,
        balance,
        discounts,
        tax_rates,
        customer_balance,
        authentication,
    ):
        app.include_router(module.router)
    return app
