"""Redis keys of usage ingestion, under the deployment's prefix and one hash tag (``{usage}``), so the
intake's script (dedup marks and the stream) runs on one Redis Cluster slot."""

from __future__ import annotations

import hashlib


def stream(prefix: str) -> str:
    return f"{prefix}{{usage}}:events"


def seen(prefix: str, digest: str) -> str:
    return f"{prefix}{{usage}}:seen:{digest}"


def event_digest(sender: str, event_id: str) -> str:
    """The exactly-once unit (sender, event id) as 32 hex digits (no separator ambiguity)."""
    return hashlib.sha256(f"{len(sender)}:{sender}|{event_id}".encode()).hexdigest()[:32]


def identifier(sender: str, event_id: str) -> str:
    """The Stripe meter event ``identifier`` (at most 100 characters): the same for every resend."""
    return f"rbu_{event_digest(sender, event_id)}"
