"""What crosses the gateway to an upstream: an echoing stand-in process API records each request."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.procs import LOG_DIR, free_port
from tests.support.redis import isolated_prefix

from .conftest import in_process_gateway

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


def requests_counted(gw, operation: str, method: str, status: str) -> tuple[float, float]:
    """From the gateway's own ``/metrics``: the calls counted under these labels, and their latencies."""
    text = httpx.get(f"{gw.base}/metrics", timeout=15).text
    count = seconds = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if labels.get("operation") != operation:
                continue
            if sample.name == "revbridge_requests_total" and (labels["method"], labels["status"]) == (
                method,
                status,
            ):
                count = sample.value
            elif sample.name == "revbridge_request_duration_seconds_count":
                seconds = sample.value
    return count, seconds


def test_proxied_calls_are_counted_in_the_gateways_metrics_by_operation_never_by_path(echo_gateway):
    gw, _ = echo_gateway
    token = gw.token("partner-demo")
    before = requests_counted(gw, "getOnboarding", "GET", "2xx")
    refused_before = requests_counted(gw, "getOnboarding", "GET", "4xx")
    unmatched_before = requests_counted(gw, "unmatched", "GET", "4xx")
    for contract in ("metrics-probe-1", "metrics-probe-2"):
        assert gw.call("GET", f"/process/v1/onboardings/{contract}", token).status_code == 202
    assert gw.call("GET", "/process/v1/onboardings/metrics-probe-3", None).status_code == 401
    assert gw.call("GET", "/process/v1/no-such-route/metrics-probe-4", token).status_code == 404

    after = requests_counted(gw, "getOnboarding", "GET", "2xx")
    assert (after[0] - before[0], after[1] - before[1]) == (2, 3)  # the latency histogram has the 401 too
    assert requests_counted(gw, "getOnboarding", "GET", "4xx")[0] - refused_before[0] == 1
    assert requests_counted(gw, "unmatched", "GET", "4xx")[0] - unmatched_before[0] == 1
    assert "metrics-probe" not in httpx.get(f"{gw.base}/metrics", timeout=15).text


def test_a_signed_in_users_token_names_the_user_upstream_next_to_the_client(tmp_path, caplog):
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with in_process_gateway(tmp_path, process_url=f"http://127.0.0.1:{port}") as gw:
            gateway = gw.client.app.state.gateway  # type: ignore[attr-defined]
            web = gateway.registry.clients["revops-web"]
            user_token = gateway.tokens.issue(web, list(web.scopes), subject="revops-demo")
            Recorder.seen.clear()
            caplog.set_level(logging.INFO, logger="revbridge.gateway.audit")
            forged = {"X-Revbridge-User": "someone-else", "X-Revbridge-Client-Id": "someone-else"}
            for token in (user_token, gw.token("revops-dashboard")):
                answer = gw.call("POST", "/process/v1/exceptions/exc-1/retry", token, headers=forged)
                assert answer.status_code == 202, answer.text
    finally:
        server.shutdown()
        server.server_close()
    user, client = (request["headers"] for request in Recorder.seen)
    assert (user["x-revbridge-user"], user["x-revbridge-client-id"]) == ("revops-demo", "revops-web")
    # client credentials: the token's subject is the client itself; a caller's own headers never cross
    assert (client["x-revbridge-user"], client["x-revbridge-client-id"]) == (
        "revops-dashboard",
        "revops-dashboard",
    )
    # the audit line keeps both: the client, and the user when it is not the client itself
    lines = [r for r in caplog.records if r.getMessage() == "gateway.request"]
    assert [(r.client_id, getattr(r, "subject", None)) for r in lines] == [
        ("revops-web", "revops-demo"),
        ("revops-dashboard", None),
    ]
