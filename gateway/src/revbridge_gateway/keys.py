"""The gateway's signing keys (ES256, P-256), rotated on a schedule and shared by replicas.

Rotation (``GATEWAY_KEY_ROTATION_SECONDS`` > 0; daily by default). Time is cut into periods of that
length aligned to the Unix epoch, so every replica derives the same schedule from its own clock
without talking to the others. The key of the period starting at ``s`` is ``rotating-<s>.pem`` in
``GATEWAY_KEYS_DIR``, one directory all replicas share (a volume, as the docker-compose file mounts
it). A replica that needs a key that doesn't exist yet generates it and publishes it with
``os.link`` from a private temp file, which fails if the file already exists: when replicas race,
all of them end up with whichever key landed first. So at any instant:

- the key of the current period signs;
- the next period's key already exists and is in JWKS and the verification set a whole period
  before it signs (verifiers that cache the JWKS for its ``max-age`` have it before its first token);
- a retired key stays in JWKS and verifies until every token it signed has expired — the end of its
  signing period + the token lifetime + the leeway — and is then dropped and its file removed.

Replicas' clocks must agree within the leeway (a replica ahead switches keys a little early; the
key it switches to is already published everywhere). Why a directory rather than Redis: a private
key is a secret, and Redis is the gateway's working set, not a secret store.

Static keys (``GATEWAY_KEY_ROTATION_SECONDS=0``): ``signing-key.pem`` signs, generated on first
start in sandbox mode the same race-safe way. In both modes files named ``retired-*.pem`` are
published and accepted, never used to sign (a manual rotation, or the static key kept after
switching rotation on). Outside sandbox mode a missing key (static) or a missing shared directory
(rotation) refuses start-up: replicas each inventing their own key would sign tokens the others
can't verify.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, KeySet

ALGORITHM = "ES256"
SIGNING_FILE = "signing-key.pem"
RETIRED_GLOB = "retired-*.pem"
ROTATING_PREFIX = "rotating-"

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
            log.info("gateway.key.generated", extra={"key_file": path.name})
    finally:
        os.unlink(tmp)


def _read(path: Path) -> ECKey | None:
    """The key in ``path``; None if another replica removed it meanwhile (it had expired)."""
    try:
        return _import(path.read_bytes(), path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyConfigError(f"{path}: cannot read: {exc}") from exc


@dataclass(frozen=True)
class Keys:
    """The keys in force over ``[valid_from, valid_until)``: one signs, all of them verify."""

    signing: ECKey
    published: tuple[ECKey, ...]  # the signing key first
    valid_from: float = -math.inf
    valid_until: float = math.inf

    @property
    def kid(self) -> str:
        return str(self.signing.kid)

    @functools.cached_property
    def key_set(self) -> KeySet:
        return KeySet(list(self.published))

    @functools.cached_property
    def kids(self) -> frozenset[str]:
        return frozenset(str(k.kid) for k in self.published)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.as_dict(private=False) for k in self.published]}


def _retired(keys_dir: Path) -> list[ECKey]:
    return [k for p in sorted(keys_dir.glob(RETIRED_GLOB)) if (k := _read(p)) is not None]


class StaticKeys:
    """``signing-key.pem`` signs for ever (plus any ``retired-*.pem``)."""

    def __init__(self, keys_dir: Path, *, sandbox: bool) -> None:
        path = keys_dir / SIGNING_FILE
        if not path.exists():
            if not sandbox:
                raise KeyConfigError(f"{path}: no signing key (generated only in sandbox mode)")
            _create_atomically(path)
        signing = _read(path)
        if signing is None:
            raise KeyConfigError(f"{path}: no signing key")
        self._keys = Keys(signing, (signing, *_retired(keys_dir)))

    def at(self, now: float) -> Keys:
        return self._keys


class RotatingKeys:
    """Keys on the shared schedule described in the module docstring, recomputed when it turns."""

    def __init__(self, keys_dir: Path, *, period: int, retain: int, sandbox: bool) -> None:
        if period <= 0 or retain < 0:
            raise ValueError("period must be positive and retain not negative")
        if not keys_dir.is_dir():
            if not sandbox:
                raise KeyConfigError(
                    f"{keys_dir}: no signing key directory (the replicas' shared keys volume must exist)"
                )
            keys_dir.mkdir(parents=True, exist_ok=True)
        self._dir, self._period, self._retain = keys_dir, period, retain
        self._lock = threading.Lock()
        self._keys: Keys | None = None

    def path(self, start: int) -> Path:
        return self._dir / f"{ROTATING_PREFIX}{start}.pem"

    def at(self, now: float) -> Keys:
        keys = self._keys
        if keys is not None and keys.valid_from <= now < keys.valid_until:
            return keys
        with self._lock:
            keys = self._keys
            if keys is None or not keys.valid_from <= now < keys.valid_until:
                keys = self._keys = self._compute(now)
        return keys

    def _generations(self) -> list[tuple[int, Path]]:
        found = []
        for path in self._dir.glob(f"{ROTATING_PREFIX}*.pem"):
            start = path.name[len(ROTATING_PREFIX) : -len(".pem")]
            if start.isdigit():
                found.append((int(start), path))
        return sorted(found)

    def _compute(self, now: float) -> Keys:
        current = int(now // self._period) * self._period
        for start in (current, current + self._period):  # this period's key and the next one
            if not self.path(start).exists():
                _create_atomically(self.path(start))
        generations = self._generations()
        signing: ECKey | None = None
        published: list[ECKey] = []
        valid_from, valid_until = float(current), float(current + self._period)
        for index, (start, path) in enumerate(generations):
            # a key signs from its start until the next key's start; its tokens live retain longer
            ends = generations[index + 1][0] if index + 1 < len(generations) else math.inf
            if ends + self._retain <= now:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    log.info("gateway.key.removed", extra={"key_file": path.name})
                continue
            key = _read(path)
            if key is None:
                continue
            published.append(key)
            if start <= now < ends:
                signing = key
                valid_from = max(valid_from, start)
            if ends <= now:
                valid_until = min(valid_until, ends + self._retain)  # when it leaves JWKS
        if signing is None:  # only if another replica removed files it shouldn't have
            raise KeyConfigError(f"{self._dir}: no key for the period starting at {current}")
        published.remove(signing)
        published.extend(_retired(self._dir))
        log.info(
            "gateway.keys.loaded", extra={"signing_kid": str(signing.kid), "published": len(published) + 1}
        )
        return Keys(signing, (signing, *published), valid_from=valid_from, valid_until=valid_until)


KeySource = StaticKeys | RotatingKeys
CHECK_SECONDS = 60.0


class KeyRing:
    """The keys in force now, by the injected clock; what ``TokenService`` signs and verifies with."""

    def __init__(self, source: KeySource, clock: Callable[[], float] = time.time) -> None:
        self._source, self._clock = source, clock

    def current(self, now: float | None = None) -> Keys:
        return self._source.at(self._clock() if now is None else now)

    @property
    def kid(self) -> str:
        return self.current().kid

    def jwks(self) -> dict[str, Any]:
        return self.current().jwks()


async def keep_current(ring: KeyRing, every: float = CHECK_SECONDS) -> None:
    """Ask for the current keys every ``every`` seconds, so that without any traffic the next key is
    still made (and published) a period ahead and expired keys still leave. Requests ask too."""
    while True:
        try:
            ring.current()
        except (KeyConfigError, OSError) as exc:  # a full or unmounted volume: say so, keep serving
            log.error("gateway.keys.refresh_failed", extra={"error": str(exc)[:200]})
        await asyncio.sleep(every)


def load_keyring(
    keys_dir: Path,
    *,
    sandbox: bool,
    rotation_seconds: int = 0,
    retain_seconds: int = 0,
    clock: Callable[[], float] = time.time,
) -> KeyRing:
    """The key ring for ``keys_dir``: static when ``rotation_seconds`` is 0, else rotating.

    ``retain_seconds`` is how long a token outlives the moment it was signed (lifetime + leeway).
    """
    source: KeySource
    if rotation_seconds:
        source = RotatingKeys(keys_dir, period=rotation_seconds, retain=retain_seconds, sandbox=sandbox)
    else:
        source = StaticKeys(keys_dir, sandbox=sandbox)
    ring = KeyRing(source, clock)
    ring.current()  # create and read the keys now, so a broken key directory stops start-up
    return ring
