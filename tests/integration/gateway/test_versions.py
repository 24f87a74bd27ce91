"""Versions from the contracts: v1's summary is deprecated with headers, gone after its sunset; v2 routes."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.procs import free_port, running

from .conftest import in_process_gateway

pytestmark = pytest.mark.integration

SUMMARY_V1 = "/experience/v1/revenue/summary"
SUMMARY_V2 = "/experience/v2/revenue/summary"
SUNSET = dt.datetime(2027, 6, 30, tzinfo=dt.UTC).timestamp()


def test_deprecated_v1_summary_carries_deprecation_sunset_and_successor_headers(experience_api, tmp_path):
    with in_process_gateway(tmp_path, experience_url=experience_api) as gw:
        response = gw.call("GET", SUMMARY_V1, gw.token("revops-dashboard"))
        current = gw.call("GET", SUMMARY_V2, gw.token("revops-dashboard"))
    assert response.status_code == 503  # the experience API's own answer (its process API is down)
    assert response.headers["deprecation"] == "@1795651200"  # 2026-11-26, RFC 9745
    assert response.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"  # RFC 8594 HTTP-date
    assert response.headers["link"] == '</experience/v2/revenue/summary>; rel="successor-version"'
    assert current.status_code == 503 and "deprecation" not in current.headers


def test_after_the_sunset_the_deprecated_operation_is_410_problem(experience_api, tmp_path):
    with in_process_gateway(tmp_path, experience_url=experience_api, clock=lambda: SUNSET + 1) as gw:
        gone = gw.call("GET", SUMMARY_V1, gw.token("revops-dashboard"))
        v2 = gw.call("GET", SUMMARY_V2, gw.token("revops-dashboard"))
    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"
    assert gone.json()["type"].endswith("sunset")
    assert gone.headers["link"].startswith("</experience/v2/revenue/summary>")
    assert v2.status_code == 503  # the successor still reaches its upstream


class Positions(BaseHTTPRequestHandler):
    """The process API's revenue positions, as the experience API reads them."""

    def do_GET(self) -> None:
        body = {
            "as_of": "2026-11-26T12:00:00Z",
            "positions": [
                {"currency": "USD", "bookings": 100, "billings": 90, "collections": 50, "erp_invoiced": 90},
                {"currency": "EUR", "billings": 10, "erp_invoiced": 10},
            ],
        }
        payload = json.dumps(body).encode()
        self.send_response(200 if self.path == "/v1/revenue/positions" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def experience_with_positions() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Positions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = free_port()
    env = {
        "EXPERIENCE_PORT": str(port),
        "EXPERIENCE_PROCESS_API_URL": f"http://127.0.0.1:{server.server_address[1]}",
    }
    try:
        with running(
            "experience-api-v2",
            ["-m", "revbridge_experience.app"],
            f"http://127.0.0.1:{port}/healthz",
            env=env,
        ):
            yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def test_v2_summary_groups_amounts_per_currency_with_a_reporting_block(experience_with_positions, tmp_path):
    with in_process_gateway(tmp_path, experience_url=experience_with_positions) as gw:
        response = gw.call("GET", SUMMARY_V2, gw.token("revops-dashboard"))
        v1 = gw.call("GET", SUMMARY_V1, gw.token("revops-dashboard"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reporting"]["currencies"] == ["EUR", "USD"]
    assert body["reporting"]["reconciled"] is False  # USD collections were not posted to the ERP
    assert body["amounts"]["EUR"]["reconciled"] is True
    assert body["amounts"]["USD"]["billings"] == 90 and body["amounts"]["USD"]["posted_payments"] == 0
    assert v1.status_code == 200 and [c["currency"] for c in v1.json()["currencies"]] == ["EUR", "USD"]
