"""One whole stack (sandboxes, services, workers, gateway) per e2e session, on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import seed
from scripts.stack import DEFAULT_PORTS, Stack, free_ports, running_stack
from tests.support.postgres import fresh_database
from tests.support.redis import REDIS_URL, isolated_prefix


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, pg_template: str) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("stack")
    with isolated_prefix() as prefix, fresh_database(pg_template) as database_url:
        s = Stack(
            database_url=database_url,
            ports=free_ports(DEFAULT_PORTS),
            redis_url=REDIS_URL,
            key_prefix=prefix,
            log_dir=tmp / "logs",
            keys_dir=tmp / "keys",
            # the push path only: the trace test must not race a poll of the same contract
            # the ramp test advances a test clock and sends usage at once: read the clock every batch
            extra_env={"SALESFORCE_POLL_INTERVAL_SECONDS": "300", "PROCESS_USAGE_CLOCK_CACHE_SECONDS": "0"},
        )
        with running_stack(s):
            yield s


@pytest.fixture(scope="session")
def demo(stack: Stack) -> seed.Demo:
    return seed.seed_demo(stack)


@pytest.fixture(scope="session", autouse=True)
def _run_database(run_database: str) -> str:
    """Every process started without a database of its own uses this run's."""
    return run_database
