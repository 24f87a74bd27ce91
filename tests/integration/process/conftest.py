import pytest

from tests.integration.process.support import engine, prefix, redis  # noqa: F401  (fixtures)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
