"""The dashboard page through the gateway: a public, GET-only static route to the experience API.

The page itself (HTML, script, the vendored chart library) holds no data and needs no token; the
data comes from contract operations the page calls with the signed-in user's bearer token. So this
route skips the pipeline's token and scope checks, but nothing else is loose: only GET, only under
``/dashboard/``, the path normalised the pipeline's way (no dot segments, no encoded tricks), no
query string and no caller headers forwarded, and the answer carries a Content-Security-Policy
that lets the page load only its own files and talk only to this origin. ``Referrer-Policy:
no-referrer`` keeps the sign-in redirect's ``?code=`` out of any Referer header.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from revbridge_gateway.deps import GatewayDep
from revbridge_gateway.paths import encode, normalise

PREFIX = "/dashboard"
PASSED = ("content-type", "cache-control", "etag")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter()


@router.get(PREFIX, include_in_schema=False)
async def dashboard_root() -> RedirectResponse:
    return RedirectResponse(PREFIX + "/", status_code=308)


@router.get(PREFIX + "/{rest:path}", include_in_schema=False)
async def dashboard_file(request: Request, gateway: GatewayDep) -> Response:
    request.state.operation_id = "dashboard.static"
    raw = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1").split("?", 1)[0]
    segments = normalise(raw)  # BadPath (400) for dot segments, control characters, bad encodings
    path = encode(segments) + ("/" if raw.endswith("/") else "")
    answer = await gateway.upstreams.forward("GET", "experience", path, "", {}, b"", "dashboard-page")
    headers = {h: v for h in PASSED if (v := answer.headers.get(h)) is not None}
    return Response(answer.body, status_code=answer.status, headers={**headers, **SECURITY_HEADERS})
