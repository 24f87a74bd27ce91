"""One dispatch table drives routing, retries from the exception queue and replays, so a flow added
to the worker is replayable by key and by time range the day it ships."""

from __future__ import annotations

from revbridge_contracts.events import EventType
from revbridge_contracts.process import ReplayFlow
from revbridge_process.dispatch import EVENT_FOR_FLOW, FLOW_OF, FLOWS


def test_every_event_type_has_exactly_one_flow() -> None:
    routed = [event for events in FLOWS.values() for event in events]
    assert sorted(routed) == sorted(EventType) and len(routed) == len(set(routed))
    assert set(FLOW_OF) == set(EventType)


def test_every_flow_is_replayable_by_business_key_with_an_event_it_handles() -> None:
    assert {flow.value for flow in ReplayFlow} == set(FLOWS)
    for flow, event in EVENT_FOR_FLOW.items():
        assert FLOW_OF[event] == flow
