"""Every tier records what the sandboxes answer and checks it against the platforms' schemas; a test
that needs PostgreSQL asks for ``database_url`` (a migrated database of its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest_plugins = ["tests.support.conformance.plugin"]


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """This run's migrated PostgreSQL database (the template of ``database_url``)."""
    from tests.support.postgres import template_database

    with template_database() as url:
        yield url


@pytest.fixture
def database_url(pg_template: str) -> Iterator[str]:
    """A database of this test's own, migrated, dropped afterwards."""
    from tests.support.postgres import fresh_database

    with fresh_database(pg_template) as url:
        yield url


@pytest.fixture(scope="session")
def run_database(pg_template: str) -> Iterator[str]:
    """This run's own database, made the default (``DATABASE_URL``) of every process a test starts
    without naming one, so nothing a test does lands in a database that outlives the run."""
    import os

    from tests.support.postgres import fresh_database

    before = os.environ.get("DATABASE_URL")
    with fresh_database(pg_template) as url:
        os.environ["DATABASE_URL"] = url
        try:
            yield url
        finally:
            if before is None:
                os.environ.pop("DATABASE_URL", None)
            else:
                os.environ["DATABASE_URL"] = before
