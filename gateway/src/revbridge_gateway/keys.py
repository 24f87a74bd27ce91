"""The gateway's signing key (ES256, P-256) and the public keys it publishes as a JWKS.

The private key is a PEM file in ``GATEWAY_KEYS_DIR``. In sandbox mode a missing key is generated
on first start and published with ``os.link`` from a private temp file, which fails if the file
already exists: two replicas starting together both end up using whichever key landed first.
Outside sandbox mode a missing key refuses start-up (a fresh key per replica would make tokens
from one replica unverifiable at another). Files named ``retired-*.pem`` are still published and
accepted for verification, never used to sign, so a key can be rotated without cutting off
tokens already issued.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, KeySet

ALGORITHM = "ES256"
SIGNING_FILE = "signing-key.pem"
RETIRED_GLOB = "retired-*.pem"

log = logging.getLogger("revbridge.gateway.keys")


class KeyConfigError(Exception):
    """The signing key is missing (outside sandbox mode) or unreadable."""


def _import(pem: bytes, origin: Path) -> ECKey:
    try:
        raw = ECKey.import_key(pem)
    except Exception as exc:  # joserfc/cryptography raise several types for a bad PEM
        raise KeyConfigError(f"{origin}: not an EC key: {type(exc).__name__}") from exc
    if raw.curve_name != "P-256":
        raise KeyConfigError(f"{origin}: ES256 needs a P-256 key, found {raw.curve_name}")
    return ECKey.import_key(pem, {"use": "sig", "alg": ALGORITHM, "kid": raw.thumbprint()})


def _create_atomically(path: Path) -> None:
    """Write a new private key to ``path`` unless another process got there first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = ECKey.generate_key("P-256", private=True).as_pem(private=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
            log.info("gateway.key.generated", extra={"path": str(path)})
    finally:
        os.unlink(tmp)


@dataclass(frozen=True)
class KeyRing:
    signing: ECKey
    retired: tuple[ECKey, ...] = field(default=())

    @property
    def kid(self) -> str:
        return str(self.signing.kid)

    def verification_keys(self) -> KeySet:
        return KeySet([self.signing, *self.retired])

    def known_kids(self) -> set[str]:
        return {str(k.kid) for k in (self.signing, *self.retired)}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.as_dict(private=False) for k in (self.signing, *self.retired)]}


def load_keyring(keys_dir: Path, *, sandbox: bool) -> KeyRing:
    path = keys_dir / SIGNING_FILE
    if not path.exists():
        if not sandbox:
            raise KeyConfigError(f"{path}: no signing key (generated only in sandbox mode)")
        _create_atomically(path)
    try:
        signing = _import(path.read_bytes(), path)
        retired = tuple(_import(p.read_bytes(), p) for p in sorted(keys_dir.glob(RETIRED_GLOB)))
    except OSError as exc:
        raise KeyConfigError(f"{path}: cannot read: {exc}") from exc
    return KeyRing(signing=signing, retired=retired)
