"""``POST /composite``: up to 25 REST subrequests in one call, chained by ``@{referenceId.path}``.

Each subrequest runs through the same app (routes, validation, error rendering) with the caller's
session, marked so it is not counted, logged or faulted again: Salesforce counts a composite call as
one API call. With ``allOrNone`` a failed subrequest rolls the whole org back and every other
subrequest answers ``PROCESSING_HALTED``; the top-level status stays 200.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from starlette.types import Message

from ..deps import Session, json_object
from ..errors import SalesforceError
from ..middleware import SUBREQUEST
from ..state import SalesforceState

router = APIRouter()
MAX_SUBREQUESTS = 25
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])+)\}")
_NESTED = re.compile(r"^/services/data/[^/]+/composite/?(\?.*)?$")  # no composite inside composite
_REFERENCE_ID = re.compile(r"^[A-Za-z0-9_]{1,80}$")
ROLLED_BACK = "The transaction was rolled back since another operation in the same transaction failed."


class Unresolved(Exception):
    pass


def _lookup(results: dict[str, Any], ref: str, path: str) -> Any:
    value = results.get(ref)
    for attr, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        if attr and isinstance(value, dict) and attr in value:
            value = value[attr]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            raise Unresolved(f"{ref}{path}")
    if value is None or isinstance(value, dict | list):
        raise Unresolved(f"{ref}{path}")
    return value


def _substitute(value: Any, results: dict[str, Any]) -> Any:
    """``@{ref.id}`` / ``@{ref.records[0].Id}`` replaced by earlier answers, in strings anywhere."""
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _lookup(results, whole.group(1), whole.group(2))
        return _REFERENCE.sub(lambda m: str(_lookup(results, m.group(1), m.group(2))), value)
    if isinstance(value, dict):
        return {k: _substitute(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, results) for v in value]
    return value


async def _dispatch(request: Request, method: str, url: str, body: Any) -> tuple[int, dict[str, str], Any]:
    """One subrequest through the app, with the caller's Authorization header."""
    path, _, query = url.partition("?")
    payload = b"" if body is None else json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    auth = request.headers.get("authorization")
    if auth:
        headers.append((b"authorization", auth.encode()))
    inherited = ("type", "asgi", "http_version", "scheme", "server", "client", "root_path", "state")
    scope = {
        **{key: request.scope[key] for key in inherited if key in request.scope},
        "method": method,
        "path": unquote(path),  # ASGI: the decoded path; the raw one keeps encoded "/" in ids
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": headers,
        SUBREQUEST: True,
    }
    sent = False
    start: dict[str, Any] = {}
    chunks = bytearray()

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": payload, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.extend(message.get("body", b""))

    await request.app(scope, receive, send)
    out_headers = {k.decode().title(): v.decode() for k, v in start.get("headers", []) if k == b"location"}
    return start.get("status", 500), out_headers, json.loads(chunks) if chunks else None


def _entry(ref: str, status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {"body": body, "httpHeaders": headers or {}, "httpStatusCode": status, "referenceId": ref}


def _halted(ref: str, message: str = ROLLED_BACK) -> dict[str, Any]:
    return _entry(ref, 400, [{"errorCode": "PROCESSING_HALTED", "message": message}])


def _validate(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not items:
        raise SalesforceError("compositeRequest must be a non-empty array", error_code="INVALID_INPUT")
    if len(items) > MAX_SUBREQUESTS:
        raise SalesforceError(
            f"Composite request can have at most {MAX_SUBREQUESTS} subrequests", error_code="INVALID_INPUT"
        )
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            raise SalesforceError("Each subrequest must be a JSON object", error_code="JSON_PARSER_ERROR")
        ref, method, url = item.get("referenceId"), item.get("method"), item.get("url")
        if not isinstance(ref, str) or not _REFERENCE_ID.match(ref) or ref in seen:
            raise SalesforceError(f"Invalid or duplicate referenceId: {ref!r}", error_code="INVALID_INPUT")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise SalesforceError(f"Invalid HTTP method for {ref}: {method!r}", error_code="INVALID_INPUT")
        if not isinstance(url, str) or not url.startswith("/services/data/") or _NESTED.match(url):
            raise SalesforceError(f"Invalid url for {ref}: {url!r}", error_code="INVALID_INPUT")
        seen.add(ref)
    return items


@router.post("/services/data/{version}/composite")
@router.post("/services/data/{version}/composite/")
async def composite(request: Request, state: Session) -> dict[str, Any]:
    body = await json_object(request)
    items = _validate(body.get("compositeRequest"))
    all_or_none = body.get("allOrNone") is True
    snapshot = copy.deepcopy(state.store) if all_or_none else None
    results: dict[str, Any] = {}
    answers: list[dict[str, Any]] = []
    failed = False
    for item in items:
        ref = item["referenceId"]
        if failed:
            answers.append(_halted(ref))
            continue
        try:
            url = _substitute(item["url"], results)
            sub_body = _substitute(item.get("body"), results)
        except RecursionError:
            answers.append(
                _entry(ref, 400, [{"errorCode": "JSON_PARSER_ERROR", "message": "nested too deeply"}])
            )
            failed = all_or_none
            continue
        except Unresolved as exc:
            message = (
                f"Invalid reference specified. No value for {exc} found in {ref}. Provided referenceId "
                "is either invalid or an error occurred during its processing."
            )
            answers.append(_halted(ref, message))
            failed = all_or_none
            continue
        status, headers, answer = await _dispatch(request, item["method"].upper(), url, sub_body)
        answers.append(_entry(ref, status, answer, headers))
        if status < 300:
            results[ref] = answer
        else:
            failed = all_or_none
    if failed and snapshot is not None:
        _rollback(state, snapshot, answers)
    return {"compositeResponse": answers}


def _rollback(state: SalesforceState, snapshot: Any, answers: list[dict[str, Any]]) -> None:
    state.store = snapshot
    for i, answer in enumerate(answers):
        if answer["httpStatusCode"] < 300:
            answers[i] = _halted(answer["referenceId"])
