import pytest

from tests.integration.process.support import prefix, redis  # noqa: F401  (fixtures)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
