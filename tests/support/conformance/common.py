"""What the three checkers share: the OAuth 2.0 error body and error messages with their JSON path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema_rs

RFC6749_CODES = (
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
)


def oauth_error(*more_codes: str) -> dict[str, Any]:
    """The token endpoint's error body (RFC 6749 section 5.2), with the platform's own extra codes."""
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"enum": [*RFC6749_CODES, *more_codes]},
            "error_description": {"type": "string"},
            "error_uri": {"type": "string"},
        },
    }


def messages(validator: jsonschema_rs.Validator, body: Any, prefix: str = "") -> Iterator[str]:
    """``"<json path>: <message>"`` for each way ``body`` fails ``validator``."""
    for error in validator.iter_errors(body):
        where = prefix + "".join(f"/{p}" for p in error.instance_path)
        yield f"{where or '/'}: {error.message[:300]}"
