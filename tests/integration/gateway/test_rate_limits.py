"""Rate limits counted per client in the real Redis, shared by replicas, and the Redis-down rules."""

from __future__ import annotations

import itertools

import pytest

from tests.support.procs import free_port
from tests.support.redis import isolated_prefix

pytestmark = pytest.mark.integration

ONBOARDING = "/process/v1/onboardings/800x"
TRIAL_LIMIT = 5


def rotating_ip(i: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.{i}", "X-Real-IP": f"198.51.100.{i}"}


def test_trial_client_gets_429_after_its_limit_despite_new_tokens_and_forwarded_for(start_gateway):
    with isolated_prefix() as prefix, start_gateway(prefix) as gw:
        tokens = [gw.token("partner-trial") for _ in range(TRIAL_LIMIT + 2)]
        responses = [gw.call("GET", ONBOARDING, t, headers=rotating_ip(i)) for i, t in enumerate(tokens)]
    admitted, refused = responses[:TRIAL_LIMIT], responses[TRIAL_LIMIT:]
    assert [r.status_code for r in admitted] == [503] * TRIAL_LIMIT  # passed on; the process API is down
    assert [r.headers["ratelimit-remaining"] for r in admitted] == ["4", "3", "2", "1", "0"]
    for r in refused:
        assert r.status_code == 429
        assert r.headers["content-type"] == "application/problem+json"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert r.headers["ratelimit-limit"] == r.headers["x-ratelimit-limit"] == str(TRIAL_LIMIT)
        assert r.headers["ratelimit-remaining"] == "0"


def test_two_gateway_replicas_share_one_budget(start_gateway, tmp_path):
    issuer = "http://gateway.replicas.test"
    with (
        isolated_prefix() as prefix,
        start_gateway(prefix, keys_dir=tmp_path, issuer=issuer) as a,
        start_gateway(prefix, keys_dir=tmp_path, issuer=issuer) as b,
    ):
        token = a.token("partner-trial")
        statuses = [
            gw.call("GET", ONBOARDING, token).status_code
            for gw in itertools.islice(itertools.cycle((a, b)), 3 * TRIAL_LIMIT)
        ]
    assert statuses.count(429) == 2 * TRIAL_LIMIT
    assert len(statuses) - statuses.count(429) == TRIAL_LIMIT
    assert 503 in statuses[1::2]  # replica b accepted replica a's token and admitted some calls


@pytest.fixture(scope="module")
def gateway_without_redis(start_gateway):
    with start_gateway("rb-down:", redis_url=f"redis://127.0.0.1:{free_port()}/0") as gw:
        yield gw


def test_redis_down_get_fails_open_to_the_upstream(gateway_without_redis):
    gw = gateway_without_redis
    response = gw.call("GET", "/experience/v1/revenue/summary", gw.token("revops-dashboard"))
    assert response.status_code == gw.direct("/v1/revenue/summary").status_code  # the upstream's answer
    assert response.headers["ratelimit-limit"] == "120"


def test_redis_down_get_is_still_limited_in_process(gateway_without_redis):
    gw = gateway_without_redis
    token = gw.token("partner-trial")
    statuses = [gw.call("GET", ONBOARDING, token).status_code for _ in range(TRIAL_LIMIT + 1)]
    assert statuses == [503] * TRIAL_LIMIT + [429]


def test_redis_down_post_fails_closed_with_503(gateway_without_redis):
    gw = gateway_without_redis
    response = gw.call(
        "POST",
        "/process/v1/onboardings",
        gw.token("partner-demo"),
        json={"contract_id": "800x"},
        headers={"Idempotency-Key": "k-1"},
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("rate_limiter_unavailable")
    assert "retry-after" in response.headers


def test_path_spellings_share_one_budget_and_case_variants_reach_nothing(start_gateway):
    """Double slashes, %2F and %76 are the same operation (same bucket); /Process/V1 is no route."""
    variants = [
        ONBOARDING,
        "//process//v1//onboardings/800x",
        "/process/%761/onboardings/800x",
        "/process/v1/onboardings%2F800x",
        "/process/v1/onboardings/800x/",
    ]
    with isolated_prefix() as prefix, start_gateway(prefix) as gw:
        token = gw.token("partner-trial")
        cased = [
            gw.call("GET", p, token).status_code
            for p in ("/Process/V1/onboardings/800x", "/PROCESS/v1/onboardings/800x")
        ]
        statuses = [
            gw.call("GET", p, token, headers=rotating_ip(i)).status_code for i, p in enumerate(variants)
        ]
        after = [gw.call("GET", p, gw.token("partner-trial")).status_code for p in variants[:2]]
    assert cased == [404, 404]  # routes are case-sensitive: no policy gap, and no upstream call
    assert statuses == [503] * TRIAL_LIMIT  # all admitted to the (down) upstream, all counted
    assert after == [429, 429]
