"""Path normalisation: one canonical form per request path, so spelling variants can't dodge policy.

The raw (still percent-encoded) path is decoded exactly once, split into segments (empty segments
from ``//`` are dropped), and rejected if any segment is ``.`` or ``..`` or carries a control
character or a backslash. Policy matches on the segments; the upstream path is rebuilt from the same
segments re-encoded, so the upstream sees what the policy saw. ``%2F`` decodes to ``/`` and so acts
as a separator in both places; a doubly-encoded ``%252e`` stays the literal text ``%2e``.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_to_bytes

from revbridge_gateway.errors import BadPath

SEGMENT_SAFE = "-._~!$&'()*+,;=:@"
FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\]")  # control characters and the backslash


def normalise(raw_path: str) -> tuple[str, ...]:
    """The path's decoded segments; BadPath if it can't be made canonical safely."""
    if not raw_path.startswith("/"):
        raise BadPath("path must start with '/'")
    try:
        decoded = unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadPath("path is not valid UTF-8 once decoded") from exc
    if FORBIDDEN.search(decoded):
        raise BadPath("path contains control characters or backslashes")
    segments = tuple(s for s in decoded.split("/") if s)
    if any(s in (".", "..") for s in segments):
        raise BadPath("dot segments are not allowed in paths")
    return segments


def as_path(segments: tuple[str, ...]) -> str:
    """Decoded canonical path, for matching and logs."""
    return "/" + "/".join(segments)


def encode(segments: tuple[str, ...]) -> str:
    """Percent-encoded path for the upstream request."""
    return "/" + "/".join(quote(s, safe=SEGMENT_SAFE) for s in segments)
