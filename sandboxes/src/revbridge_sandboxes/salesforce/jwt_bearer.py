"""The OAuth 2.0 JWT bearer grant: check an RS256 assertion the way Salesforce does before a token.

The connected app's certificate (or bare public key) comes from settings; the claims must name the
consumer key (``iss``), the configured user (``sub``, legacy ``prn``), a login host (``aud``) and
expire within three minutes. Failures raise ``OAuthError`` with the codes Salesforce answers.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from .errors import OAuthError

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_LIFETIME = 180  # seconds: Salesforce refuses an exp further out than three minutes
CLOCK_SKEW = 5
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


def load_public_key(pem_or_path: str) -> RSAKey:
    """A PEM public key or certificate, given inline or as a file path."""
    text = pem_or_path if "-----BEGIN" in pem_or_path else Path(pem_or_path).read_text()
    if "CERTIFICATE" in text:
        cert = x509.load_pem_x509_certificate(text.encode())
        text = (
            cert.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
    return RSAKey.import_key(text)


def _invalid(description: str = "invalid assertion") -> OAuthError:
    return OAuthError("invalid_grant", description)


def verify_assertion(
    assertion: str, key: RSAKey | None, *, client_id: str, username: str, audiences: set[str]
) -> dict[str, Any]:
    """The assertion's claims when it is acceptable; otherwise the error Salesforce would give."""
    if key is None:
        raise _invalid("no certificate is configured for this connected app")
    try:
        token = jwt.decode(assertion, key, algorithms=["RS256"])
    except (JoseError, ValueError, TypeError, KeyError) as exc:  # untrusted text: any parse failure
        raise _invalid() from exc
    claims = token.claims
    if claims.get("iss") != client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    aud = claims.get("aud")
    aud_values = aud if isinstance(aud, list) else [aud]
    if not any(isinstance(a, str) and a.rstrip("/") in audiences for a in aud_values):
        raise _invalid("audience is invalid")
    try:
        exp = float(claims["exp"])  # simple-salesforce sends it as a string
    except (KeyError, TypeError, ValueError) as exc:
        raise _invalid() from exc
    now = time.time()
    if exp < now - CLOCK_SKEW:
        raise _invalid("expired authorization code")
    if exp > now + MAX_LIFETIME + CLOCK_SKEW:
        raise _invalid()
    if (claims.get("sub") or claims.get("prn")) != username:
        raise _invalid("user hasn't approved this consumer")
    return dict(claims)


def accepted_audiences(base_url: str, instance_url: str | None) -> set[str]:
    return {*LOGIN_AUDIENCES, base_url.rstrip("/"), *([instance_url] if instance_url else [])}
