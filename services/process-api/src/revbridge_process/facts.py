"""Writes ledger facts (``revbridge_contracts.facts``) to the ledger in PostgreSQL, append-only.

A fact is written after the record it describes was read or written, at least once: a re-run flow
writes a new version (a new ``recorded_at``), and a write retried after an ambiguous answer adds
nothing (one row per version). Each row carries the flow, source event and attempt that produced
it (``flow_context``, set by the consumer around each flow run) and the trace.

The ledger is revbridge's durable record, so a fact must land: while PostgreSQL does not answer the
write waits and retries (``ledger_wait_seconds``), then raises ``LedgerUnavailable``, a transient
error: the consumer leaves the stream entry pending and redelivers it, and the re-run flow (which
converges every write by its key) writes the facts again. The projector folds the ledger into the
read model (``revbridge_experience.projector``).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from opentelemetry import trace
from revbridge_contracts.facts import Fact
from revbridge_contracts.telemetry import correlation_id
from revbridge_db.engine import DatabaseUnavailable, retrying
from revbridge_db.ledger import append, fact_row
from sqlalchemy.ext.asyncio import AsyncEngine

from revbridge_process.errors import SystemUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlowContext:
    flow: str
    source_event_id: str | None = None
    attempt: int | None = None


_flow: contextvars.ContextVar[FlowContext | None] = contextvars.ContextVar("revbridge_flow", default=None)


@contextlib.contextmanager
def flow_context(flow: str, source_event_id: str | None, attempt: int | None) -> Iterator[None]:
    """Stamp the facts written inside with the flow, the event it runs for and the delivery count."""
    token = _flow.set(FlowContext(flow, source_event_id, attempt))
    try:
        yield
    finally:
        _flow.reset(token)


class LedgerUnavailable(SystemUnavailable):
    """The ledger did not answer within the wait: the flow is redelivered later."""


def current_trace_id() -> str | None:
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


class PgFacts:
    """Implements ``ports.FactSink`` on ``revbridge.ledger_fact``."""

    def __init__(self, engine: AsyncEngine, wait_seconds: float = 30.0) -> None:
        self._engine, self._wait = engine, wait_seconds

    async def publish(self, *facts: Fact) -> None:
        if not facts:
            return
        trace_id, corr, ctx = current_trace_id(), correlation_id(), _flow.get()
        stamps: dict[str, object] = {"trace_id": trace_id, "correlation_id": corr}
        if ctx:
            stamps |= {"flow": ctx.flow, "source_event_id": ctx.source_event_id, "attempt": ctx.attempt}
        rows = [fact_row(f, **stamps) for f in facts]
        try:
            await retrying(lambda: append(self._engine, rows), wait_seconds=self._wait)
        except DatabaseUnavailable as exc:
            log.warning("facts.ledger_unavailable", extra={"facts": len(facts)})
            raise LedgerUnavailable(str(exc)) from exc


class NoFacts:
    """A sink that keeps nothing (unit tests of flows that do not look at facts)."""

    async def publish(self, *facts: Fact) -> None:
        return None
