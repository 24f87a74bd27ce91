"""What crosses the gateway to an upstream: an echoing stand-in process API records each request."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.procs import LOG_DIR, free_port
from tests.support.redis import isolated_prefix

pytestmark = pytest.mark.integration


class Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, object]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        Recorder.seen.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
        )
        payload = json.dumps({"echo": True}).encode()
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Location", "/v1/onboardings/800x")
        self.send_header("Set-Cookie", "upstream=leak")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def echo_gateway(start_gateway) -> Iterator[tuple]:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with isolated_prefix() as prefix, start_gateway(prefix, process_url=f"http://127.0.0.1:{port}") as gw:
            yield gw, Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


def test_post_forwards_body_and_allowed_headers_but_never_authorization(echo_gateway):
    gw, seen = echo_gateway
    seen.clear()
    response = gw.call(
        "POST",
        "/process/v1/onboardings?dry_run=1",
        gw.token("partner-demo"),
        content=b'{"contract_id": "800000000000001AAA"}',
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": "onb-800x",
            "X-Correlation-Id": "cid-1",
            "Cookie": "session=1",
            "X-Forwarded-For": "203.0.113.9",
        },
    )
    assert response.status_code == 202 and response.json() == {"echo": True}
    assert response.headers["location"] == "/v1/onboardings/800x"
    assert "set-cookie" not in response.headers
    assert "ratelimit-remaining" in response.headers
    (request,) = seen
    headers = request["headers"]
    assert (request["method"], request["path"], request["body"]) == (
        "POST",
        "/v1/onboardings?dry_run=1",
        '{"contract_id": "800000000000001AAA"}',
    )
    assert headers["idempotency-key"] == "onb-800x"
    assert headers["content-type"] == "application/json"
    assert headers["x-correlation-id"] == "cid-1"
    assert headers["x-revbridge-client-id"] == "partner-demo"
    assert headers["traceparent"].startswith("00-")
    assert "authorization" not in headers and "cookie" not in headers


def test_upstream_sees_the_normalised_path_and_the_callers_trace(echo_gateway):
    gw, seen = echo_gateway
    seen.clear()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = gw.call(
        "GET",
        "/process//v1/onboardings/800%20x",
        gw.token("partner-demo"),
        headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
    )
    assert response.status_code == 202
    assert seen[0]["path"] == "/v1/onboardings/800%20x"
    assert seen[0]["headers"]["x-correlation-id"]  # a new one when the caller sent none
    assert seen[0]["headers"]["traceparent"].split("-")[1] == trace_id  # the caller's trace continues


def test_audit_logs_one_event_per_call_and_never_a_token_or_secret(echo_gateway):
    gw, _ = echo_gateway
    token = gw.token("partner-demo")
    gw.call("GET", "/process/v1/onboardings/audit-me", token, headers={"X-Correlation-Id": "cid-audit"})
    log_path = LOG_DIR / f"gateway-{gw.base.rsplit(':', 1)[1]}-{os.getpid()}.log"
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    (event,) = [e for e in lines if e.get("correlation_id") == "cid-audit"]
    assert event["event"] == "gateway.request"
    assert (event["client_id"], event["operation_id"], event["method"], event["status"]) == (
        "partner-demo",
        "getOnboarding",
        "GET",
        202,
    )
    assert event["latency_ms"] >= 0
    text = log_path.read_text()
    assert token not in text and token.split(".")[2] not in text and "partner-demo-secret" not in text
