"""RFC 9457 problem details, the one error body every revbridge API answers with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

PROBLEM_JSON = "application/problem+json"


class InvalidParam(BaseModel):
    name: str
    reason: str


class Problem(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    invalid_params: list[InvalidParam] | None = None


def validation_params(errors: list[dict]) -> list[InvalidParam]:
    """Name each invalid field as a dotted path, from FastAPI/pydantic error dicts."""
    params = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        params.append(InvalidParam(name=".".join(loc) or "body", reason=str(err.get("msg", "invalid"))))
    return params


class ServiceError(Exception):
    """Base of every service's own errors: each carries its HTTP status and problem type."""

    status = 500
    title = "Internal error"
    type = "about:blank"

    def __init__(self, detail: str | None = None, **extra: object) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> Problem:
        return Problem(
            type=self.type,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            **self.extra,
        )


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class BadRequest(ServiceError):
    status = 400
    title = "Bad request"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"


class UpstreamUnavailable(ServiceError):
    status = 503
    title = "Upstream unavailable"


def install_problem_handlers(app: Any) -> None:
    """Render every error of a FastAPI app as ``application/problem+json`` (one handler for all)."""
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    def render(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
        body = problem.model_dump(mode="json", exclude_none=True)
        return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)

    async def on_service_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        return render(exc.to_problem(request.url.path))

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        params = validation_params(list(exc.errors()))
        detail = "; ".join(f"{p.name}: {p.reason}" for p in params)
        return render(
            Problem(
                title="Invalid request",
                status=422,
                detail=detail,
                instance=request.url.path,
                invalid_params=params,
            )
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return render(
            Problem(title=str(exc.detail), status=exc.status_code, instance=request.url.path),
            headers=getattr(exc, "headers", None),
        )

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
