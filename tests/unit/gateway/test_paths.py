"""Path normalisation: spelling variants of one path land on one policy, dot segments never pass."""

from __future__ import annotations

import pytest
from revbridge_gateway.errors import BadPath
from revbridge_gateway.paths import as_path, encode, normalise

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "raw",
    [
        "/experience/v1/revenue/summary",
        "//experience//v1/revenue///summary",
        "/experience/v1/revenue/summary/",
        "/%65xperience/v1/revenue/%73ummary",
    ],
)
def test_variants_normalise_to_one_path(raw):
    assert as_path(normalise(raw)) == "/experience/v1/revenue/summary"


@pytest.mark.parametrize(
    "raw",
    [
        "/process/v1/onboardings/../exceptions",
        "/process/v1/onboardings/%2e%2e/exceptions",
        "/process/v1/onboardings/%2E%2E/exceptions",
        "/process/v1/onboardings/a%2F..%2F..%2Fexceptions",
        "/process/v1/./exceptions",
        "/process/v1/a%5C..",
        "/process/v1/a%00b",
        "/process/v1/%ff",
    ],
)
def test_dot_segments_and_control_characters_are_rejected(raw):
    with pytest.raises(BadPath):
        normalise(raw)


def test_percent_decoding_happens_once():
    assert normalise("/p/v1/x/%252e%252e") == ("p", "v1", "x", "%2e%2e")


def test_encoded_slash_is_a_separator_for_policy_and_upstream_alike():
    segments = normalise("/process/v1/onboardings/a%2Fb")
    assert segments == ("process", "v1", "onboardings", "a", "b")
    assert encode(segments[1:]) == "/v1/onboardings/a/b"


def test_upstream_path_is_re_encoded_so_it_is_decoded_to_what_policy_saw():
    segments = normalise("/p/v1/x/%252e%252e%20y")
    assert encode(segments) == "/p/v1/x/%252e%252e%20y"
