"""Integration tests: every process they start without a database of its own uses this run's."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _run_database(run_database: str) -> str:
    return run_database
