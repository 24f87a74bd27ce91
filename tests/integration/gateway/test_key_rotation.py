"""Two gateway replicas on one keys directory rotate together, by an injected clock (no sleeps).

Each replica is the real app in-process (real Redis, the real experience API upstream, its own
token endpoint and JWKS); both share the keys directory as replicas share a volume.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from .conftest import SECRETS, InProcess, in_process_gateway

pytestmark = pytest.mark.integration

PERIOD, TTL, LEEWAY = 3600, 300, 30
VERSIONS = "/experience/v2/versions"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@contextmanager
def two_replicas(tmp_path, experience_api: str, clock: Clock) -> Iterator[tuple[InProcess, InProcess]]:
    options = {"key_rotation_seconds": PERIOD, "token_ttl_seconds": TTL, "leeway_seconds": LEEWAY}
    with (
        in_process_gateway(tmp_path, experience_url=experience_api, clock=clock, **options) as a,
        in_process_gateway(tmp_path, experience_url=experience_api, clock=clock, **options) as b,
    ):
        yield a, b


def token_from(replica: InProcess) -> str:
    response = replica.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("revops-dashboard", SECRETS["revops-dashboard"]),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def kids(replica: InProcess) -> list[str]:
    return [k["kid"] for k in replica.client.get("/.well-known/jwks.json").json()["keys"]]


def test_replicas_rotate_together_and_accept_each_others_tokens_across_the_rotation(experience_api, tmp_path):
    boundary = (int(time.time()) // PERIOD + 1) * PERIOD
    clock = Clock(boundary - 60)
    with two_replicas(tmp_path, experience_api, clock) as (a, b):
        before = token_from(a)
        assert kids(a) == kids(b) and len(kids(a)) == 2  # the signing key and the next one
        old_kid, next_kid = kids(a)
        assert b.call("GET", VERSIONS, before).status_code == 200

        clock.now = boundary + 10  # rotated: the pre-published key signs, on both replicas
        after = token_from(b)
        assert kids(a) == kids(b) and kids(b)[0] == next_kid and old_kid in kids(b)
        assert a.call("GET", VERSIONS, after).status_code == 200
        assert b.call("GET", VERSIONS, before).status_code == 200  # signed before, verifies after
        assert a.call("GET", VERSIONS, before).status_code == 200

        clock.now = boundary + TTL + LEEWAY - 1  # the old key's last tokens may still be in use
        assert old_kid in kids(a) and old_kid in kids(b)

        clock.now = boundary + TTL + LEEWAY  # every token the old key signed has expired
        assert old_kid not in kids(a) and old_kid not in kids(b)
        assert a.call("GET", VERSIONS, before).status_code == 401
        assert a.call("GET", VERSIONS, token_from(a)).status_code == 200
