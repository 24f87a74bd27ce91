"""The dashboard page through the gateway: public, GET-only static files from the experience API.

A real experience API process serves the files; the gateway runs in-process on real Redis.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .conftest import InProcess, in_process_gateway

pytestmark = pytest.mark.integration

CHART = "/dashboard/vendor/chart.js-4.6.1/chart.umd.min.js"


@pytest.fixture(scope="module")
def gw(experience_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    with in_process_gateway(tmp_path_factory.mktemp("keys"), experience_url=experience_api) as gateway:
        yield gateway


def test_the_page_and_its_chart_library_are_served_without_a_token(gw):
    page = gw.client.get("/dashboard/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'src="vendor/chart.js-4.6.1/chart.umd.min.js"' in page.text
    policy = page.headers["content-security-policy"]
    assert (
        "script-src 'self'" in policy
        and "connect-src 'self'" in policy
        and "frame-ancestors 'none'" in policy
    )
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    chart = gw.client.get(CHART)
    assert chart.status_code == 200 and "javascript" in chart.headers["content-type"]
    assert chart.text.startswith("/*!\n * Chart.js v4.6.1")
    script = gw.client.get("/dashboard/js/auth.js")
    assert script.status_code == 200 and "code_challenge_method" in script.text


def test_the_bare_path_redirects_to_the_page(gw):
    response = gw.client.get("/dashboard", follow_redirects=False)
    assert response.status_code == 308 and response.headers["location"] == "/dashboard/"


@pytest.mark.parametrize("path", ["/dashboard/%2e%2e/healthz", "/dashboard/js/%2e%2e/%2e%2e/v2/versions"])
def test_dot_segments_are_refused_before_anything_is_forwarded(gw, path):
    response = gw.client.get(path)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


def test_only_get_is_allowed_and_missing_files_are_404(gw):
    assert gw.client.post("/dashboard/", content=b"x").status_code == 405
    assert gw.client.delete("/dashboard/index.html").status_code == 405
    assert gw.client.get("/dashboard/no-such-file.js").status_code == 404


def test_the_page_route_does_not_reach_the_api_without_a_token(gw):
    """Nothing under /dashboard/ is an API operation: a contract path there is just a missing file."""
    assert gw.client.get("/dashboard/v2/revenue/summary").status_code == 404
    assert gw.client.get("/experience/v2/revenue/summary").status_code == 401
