"""Fuzz the gateway with the process and experience contracts, as partners and internal apps call it.

The gateway serves each upstream contract under its own prefix (``/process/v1/...``,
``/experience/v1/...``, ``/experience/v2/...``), so each contract is aimed at that prefix. Every
request carries a token of the demo client whose scopes fit the operation's ``x-audience``: the
partner client for partner operations, the internal client for internal ones. The answers must hold
to the same contract as the service's own: no server error, documented statuses, documented shapes.
"""

from __future__ import annotations

import pytest
from revbridge_contracts.loader import openapi
from schemathesis import Case

from scripts.stack import Stack
from tests.contract.conftest import CHECKS, contract_schema
from tests.contract.stateful import open_an_exception, run_workflows

MAX_EXAMPLES = 15

process = contract_schema("process", MAX_EXAMPLES)
experience = contract_schema("experience", MAX_EXAMPLES)
experience_v2 = contract_schema("experience", MAX_EXAMPLES, openapi("experience", 2))


def bearer(case: Case, tokens: dict[str, str]) -> dict[str, str]:
    """The Authorization header of the client that may call this operation."""
    audience = case.operation.definition.raw["x-audience"]
    return {"Authorization": f"Bearer {tokens[audience]}"}


@process.parametrize()
def test_gateway_process_routes_answer_every_fuzzed_request_within_the_contract(
    case: Case, stack: Stack, tokens: dict[str, str]
) -> None:
    case.call_and_validate(
        base_url=f"{stack.url('gateway')}/process", headers=bearer(case, tokens), checks=CHECKS
    )


@experience.parametrize()
def test_gateway_experience_routes_answer_every_fuzzed_request_within_the_contract(
    case: Case, stack: Stack, tokens: dict[str, str]
) -> None:
    case.call_and_validate(
        base_url=f"{stack.url('gateway')}/experience", headers=bearer(case, tokens), checks=CHECKS
    )


@experience_v2.parametrize()
def test_gateway_experience_v2_routes_answer_every_fuzzed_request_within_the_contract(
    case: Case, stack: Stack, tokens: dict[str, str]
) -> None:
    case.call_and_validate(
        base_url=f"{stack.url('gateway')}/experience", headers=bearer(case, tokens), checks=CHECKS
    )


@pytest.fixture(scope="module")
def open_exception(stack: Stack, tokens: dict[str, str]) -> str:
    return open_an_exception(stack, tokens)


def test_gateway_onboarding_workflow_reads_back_what_it_started(stack: Stack, tokens: dict[str, str]) -> None:
    onboarding = process.include(operation_id=["startOnboarding", "getOnboarding"])
    run_workflows(onboarding, f"{stack.url('gateway')}/process", lambda case: bearer(case, tokens))


def test_gateway_exception_and_reconciliation_workflows_follow_the_contract_links(
    stack: Stack, tokens: dict[str, str], open_exception: str
) -> None:
    run_workflows(process, f"{stack.url('gateway')}/process", lambda case: bearer(case, tokens))


def test_gateway_experience_v2_exception_workflows_follow_the_contract_links(
    stack: Stack, tokens: dict[str, str], open_exception: str
) -> None:
    run_workflows(experience_v2, f"{stack.url('gateway')}/experience", lambda case: bearer(case, tokens))
