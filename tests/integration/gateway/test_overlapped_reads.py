"""Reads overlap their rate-limit decision with the upstream call, and the decision still has the last word.

Two in-process replicas share one Redis budget (and one keys directory); the upstream is a stand-in
that counts what reaches it. ``partner-trial`` may make 5 calls a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from .conftest import InProcess, Upstream, in_process_gateway

pytestmark = pytest.mark.integration

READ = "/process/v1/onboardings/800000000000001AAA"
LIMIT = 5


@contextmanager
def two_replicas(tmp_path) -> Iterator[tuple[InProcess, InProcess, Upstream]]:
    with (
        Upstream(status=200).serving() as upstream,
        in_process_gateway(tmp_path, process_url=upstream.url) as a,
        in_process_gateway(tmp_path, process_url=upstream.url, REVBRIDGE_KEY_PREFIX=a.prefix) as b,
    ):
        yield a, b, upstream


def spend_the_budget_elsewhere(a: InProcess, b: InProcess) -> None:
    """One call at ``a`` (which then believes most of the budget is left), the rest at ``b``."""
    assert a.call("GET", READ, a.token("partner-trial")).status_code == 200
    limiter = a.client.app.state.gateway.limiter  # type: ignore[attr-defined]
    assert limiter.has_headroom("partner-trial", "plan", LIMIT)  # so a's next read overlaps
    for _ in range(LIMIT - 1):
        assert b.call("GET", READ, b.token("partner-trial")).status_code == 200


def test_a_read_refused_while_its_upstream_call_runs_answers_429_never_the_upstream_answer(tmp_path):
    with two_replicas(tmp_path) as (a, b, _):
        spend_the_budget_elsewhere(a, b)
        refused = a.call("GET", READ, a.token("partner-trial"))
        again = a.call("GET", READ, a.token("partner-trial"))
    for response in (refused, again):
        assert response.status_code == 429
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("rate_limited") and "echo" not in response.json()
        assert response.headers["ratelimit-remaining"] == "0" and int(response.headers["retry-after"]) >= 1


def test_a_spent_budget_still_answers_429_before_a_failed_scope_check(tmp_path):
    with two_replicas(tmp_path) as (a, b, _):
        spend_the_budget_elsewhere(a, b)
        gateway = a.client.app.state.gateway  # type: ignore[attr-defined]
        scopeless = gateway.tokens.issue(gateway.registry.clients["partner-trial"], [])
        response = a.call("GET", READ, scopeless)
    assert response.status_code == 429  # as when the decision comes first, not 403


def test_near_the_limit_reads_wait_for_their_decision_so_refused_ones_never_reach_the_upstream(tmp_path):
    with (
        Upstream(status=200).serving() as upstream,
        in_process_gateway(tmp_path, process_url=upstream.url) as gw,
    ):
        statuses = [gw.call("GET", READ, gw.token("partner-trial")).status_code for _ in range(LIMIT + 3)]
        limiter = gw.client.app.state.gateway.limiter  # type: ignore[attr-defined]
        assert not limiter.has_headroom("partner-trial", "plan", LIMIT)
    assert statuses == [200] * LIMIT + [429] * 3
    assert len(upstream.seen) == LIMIT  # the refused reads were decided before any upstream call
