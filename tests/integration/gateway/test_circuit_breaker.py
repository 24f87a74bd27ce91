"""A dead upstream trips its breaker (fast 503 with Retry-After); a recovered one closes it again."""

from __future__ import annotations

import time

import pytest

from tests.support.procs import wait_until

from .conftest import Upstream, in_process_gateway

pytestmark = pytest.mark.integration

ONBOARDING = "/process/v1/onboardings/800000000000001AAA"


def test_breaker_opens_on_a_closed_port_then_a_probe_closes_it_when_the_upstream_recovers(tmp_path):
    upstream = Upstream()  # its port is free: nothing listens yet
    with in_process_gateway(
        tmp_path, process_url=upstream.url, breaker_failures=3, breaker_cooldown_seconds=0.2
    ) as gw:
        token = gw.token("partner-demo")
        failing = [gw.call("GET", ONBOARDING, token) for _ in range(3)]
        assert [r.json()["type"].rsplit(":", 1)[1] for r in failing] == ["upstream_unavailable"] * 3
        started = time.perf_counter()
        refused = gw.call("GET", ONBOARDING, token)
        fast = time.perf_counter() - started
        assert refused.status_code == 503
        assert refused.json()["type"].endswith("circuit_open")
        assert int(refused.headers["retry-after"]) >= 1
        assert fast < 0.2
        other_api = gw.call("GET", "/experience/v1/revenue/summary", gw.token("revops-dashboard"))
        assert not other_api.json()["type"].endswith("circuit_open")  # one breaker per upstream

        with upstream.serving():
            recovered = wait_until(
                lambda: (r := gw.call("GET", ONBOARDING, token)).status_code == 202 and r,
                timeout=5,
                message="the half-open probe to reach the recovered upstream",
            )
            assert recovered.json() == {"echo": 1}
            assert gw.call("GET", ONBOARDING, token).status_code == 202  # closed: calls pass again
