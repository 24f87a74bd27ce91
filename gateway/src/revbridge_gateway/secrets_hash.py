"""Salted, parameterised client-secret hashes (scrypt), verified in constant time.

Format: ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` — the parameters travel with the hash so
they can be raised later without invalidating stored entries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
DKLEN = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str, *, n: int = N, r: int = R, p: int = P, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=DKLEN)
    return f"{SCHEME}${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def parse_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    """``(n, r, p, salt, digest)``; ValueError naming what is wrong."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError(f"expected '{SCHEME}$n$r$p$salt$hash'")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError as exc:
        raise ValueError("parameters must be integers and salt/hash base64url") from exc
    if n < 2**10 or n & (n - 1) or r < 1 or p < 1 or len(salt) < 8 or len(digest) < 16:
        raise ValueError("scrypt parameters too weak or malformed")
    return n, r, p, salt, digest


def verify_secret(secret: str, encoded: str) -> bool:
    n, r, p, salt, digest = parse_hash(encoded)
    candidate = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest))
    return hmac.compare_digest(candidate, digest)


def burn_time(secret: str) -> None:
    """Spend one verification's worth of time, so unknown clients answer as slowly as known ones."""
    hashlib.scrypt(secret.encode(), salt=b"revbridge-dummy-salt", n=N, r=R, p=P, dklen=DKLEN)
