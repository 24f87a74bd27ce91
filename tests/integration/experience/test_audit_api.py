"""``GET /v2/audit`` on the experience API itself (real PostgreSQL, the app in-process): filters, time
bounds, paging; bad parameters are problem+json naming the field; a database that does not answer is
503 problem+json."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from revbridge_db import audit
from revbridge_db.engine import create_engine, sqlalchemy_url
from revbridge_experience.app import create_app
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from starlette.testclient import TestClient

from tests.support.procs import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def api(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    async def seed() -> None:
        engine = create_engine(url=database_url)
        for n, actor in enumerate(["alice", "bob", "alice", "alice"]):
            await audit.record(
                engine,
                source="gateway",
                operation="retryException",
                outcome="ok",
                actor=actor,
                business_key=f"exc-{n}",
                status=202,
            )
        await engine.dispose()

    asyncio.run(seed())
    monkeypatch.setenv("DATABASE_URL", database_url)  # what the lifespan opens
    with TestClient(create_app()) as client:
        yield client


def test_pages_newest_first_with_filters(api: TestClient) -> None:
    first = api.get("/v2/audit", params={"actor": "alice", "limit": 2}).json()
    assert [r["business_key"] for r in first["items"]] == ["exc-3", "exc-2"]
    rest = api.get("/v2/audit", params={"actor": "alice", "limit": 2, "cursor": first["next_cursor"]}).json()
    assert ([r["business_key"] for r in rest["items"]], rest["next_cursor"]) == (["exc-0"], None)
    assert [r["actor"] for r in api.get("/v2/audit", params={"business_key": "exc-1"}).json()["items"]] == [
        "bob"
    ]
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert api.get("/v2/audit", params={"since": later}).json()["items"] == []
    assert len(api.get("/v2/audit", params={"until": later}).json()["items"]) == 4


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 501}, "query.limit"),
        ({"cursor": "abc"}, "query.cursor"),
        ({"since": "1700000000"}, "query.since"),  # a bare number is not read as Unix time
        ({"until": "2026-13-45T00:00:00Z"}, "query.until"),
        ({"business_key": "a\x00b"}, "query.business_key"),  # PostgreSQL text holds no NUL
        ({"actr": "alice"}, "query.actr"),
    ],
)
def test_bad_parameters_are_problems_naming_the_field(api: TestClient, query: dict, field: str) -> None:
    answer = api.get("/v2/audit", params=query)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert [p["name"] for p in answer.json()["invalid_params"]] == [field]


def test_a_database_that_does_not_answer_is_503(database_url: str) -> None:
    parts = urlsplit(database_url)
    dead = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{free_port()}"))
    app = create_app()
    app.state.engine = create_async_engine(sqlalchemy_url(dead), poolclass=NullPool)  # no lifespan
    answer = TestClient(app).get("/v2/audit")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
